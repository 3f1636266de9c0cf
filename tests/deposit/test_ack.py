"""The back office's signed acknowledgement, as the kiosk checks it before forgetting a deposit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from deposit import ack
from deposit.errors import AckError

SHA = "ab" * 32


def make(**changes: object) -> ack.Ack:
    fields = {"deposit_id": "ABCD-0000-001X", "kiosk_id": "MAIRIE-01", "envelope_sha256": SHA,
                  "envelope_size": 1234, "received": datetime(2025, 3, 12, 9, 14, 3, tzinfo=UTC)}
    fields.update(changes)
    return ack.Ack(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keys():
    private, public = ack.generate_key()
    return ack.load_private_key(private), ack.load_public_key(public)


def test_a_signed_acknowledgement_verifies_and_round_trips(keys) -> None:
    private, public = keys
    blob = ack.sign(make(), private)
    got = ack.verify(blob, public, deposit_id="ABCD-0000-001X", kiosk_id="MAIRIE-01",
                     envelope_sha256=SHA, envelope_size=1234)
    assert got == make()
    assert ack.from_header(ack.to_header(blob)) == blob
    assert json.loads(blob)["disposition"] == "stored"


@pytest.mark.parametrize(("expect", "check"), [
    ({"deposit_id": "ABCD-0000-002Y"}, "deposit_id"),
    ({"kiosk_id": "MAIRIE-02"}, "kiosk_id"),
    ({"envelope_sha256": "cd" * 32}, "envelope"),
    ({"envelope_size": 1235}, "envelope"),
])
def test_an_acknowledgement_for_something_else_is_refused(keys, expect, check) -> None:
    private, public = keys
    with pytest.raises(AckError) as err:
        ack.verify(ack.sign(make(), private), public, **expect)
    assert err.value.check == check


def test_another_key_or_any_altered_byte_is_refused(keys) -> None:
    private, public = keys
    blob = ack.sign(make(), private)
    _other_private, other_public = ack.generate_key()
    with pytest.raises(AckError) as err:
        ack.verify(blob, ack.load_public_key(other_public))
    assert err.value.check == "signature"
    altered = blob.replace(b'"envelope_size":1234', b'"envelope_size":1235')
    with pytest.raises(AckError) as err:
        ack.verify(altered, public)
    assert err.value.check == "signature"
    for i in range(0, len(blob), 7):
        flipped = bytearray(blob)
        flipped[i] ^= 0x01
        with pytest.raises(AckError):
            ack.verify(bytes(flipped), public)


@pytest.mark.parametrize("blob", [b"", b"not json", b"[]", b'{"version": 1}',
                                  b'{"deposit_id":1}'])
def test_garbage_is_a_format_error(keys, blob) -> None:
    with pytest.raises(AckError) as err:
        ack.verify(blob, keys[1])
    assert err.value.check == "format"


def test_a_conflict_disposition_is_signed_like_any_other(keys) -> None:
    private, public = keys
    got = ack.verify(ack.sign(make(disposition="conflict"), private), public)
    assert got.disposition == "conflict"
    with pytest.raises(ValueError):
        ack.sign(make(disposition="maybe"), private)
