"""Manifests: canonical encoding, Ed25519 signature, and the checks that report what failed."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deposit import manifest as mf
from deposit.errors import KeyFormatError, ManifestError

KEY = mf.generate_signing_key()
ENVELOPE = os.urandom(5000)


def sample(**changes: object) -> mf.Manifest:
    size, digest = mf.digest_file(io.BytesIO(ENVELOPE))
    fields: dict[str, object] = {
        "deposit_id": "D3M0-0001-234X", "kiosk_id": "DEMO-01", "procedure": "carte-grise",
        "created": mf.rfc3339(datetime(2025, 11, 22, 15, 4, 5, tzinfo=UTC)),
        "envelope_size": size, "envelope_sha256": digest,
        "tracking_token_sha256": mf.tracking_token_sha256("tok")}
    fields.update(changes)
    return mf.Manifest(**fields)  # type: ignore[arg-type]


BLOB = mf.sign(sample(), KEY)


def test_blob_is_canonical_json_with_sorted_keys_and_no_whitespace() -> None:
    text = BLOB.decode("utf-8")
    assert " " not in text and "\n" not in text
    data = json.loads(text)
    assert list(data) == ["manifest", "signature"]
    assert list(data["manifest"]) == sorted(data["manifest"])
    assert data["manifest"]["version"] == 1
    assert data["manifest"]["created"] == "2025-11-22T15:04:05Z"


def test_verify_returns_the_manifest_and_checks_the_envelope() -> None:
    got = mf.verify(BLOB, KEY.public_key(), kiosk_id="DEMO-01", envelope=io.BytesIO(ENVELOPE))
    assert got == sample()


@pytest.mark.parametrize(("kwargs", "check"), [
    ({"kiosk_id": "OTHER-02"}, "kiosk"),
    ({"envelope": io.BytesIO(ENVELOPE + b"x")}, "size"),
    ({"envelope": io.BytesIO(bytes(len(ENVELOPE)))}, "digest"),
])
def test_verify_says_which_check_failed(kwargs: dict[str, Any], check: str) -> None:
    with pytest.raises(ManifestError) as info:
        mf.verify(BLOB, KEY.public_key(), **kwargs)
    assert info.value.check == check


def test_another_kiosks_key_fails_the_signature_check() -> None:
    with pytest.raises(ManifestError) as info:
        mf.verify(BLOB, mf.generate_signing_key().public_key())
    assert info.value.check == "signature"


@pytest.mark.parametrize("blob", [
    b"", b"{}", b"not json", json.dumps({"manifest": {}, "signature": ""}).encode(),
    BLOB.replace(b'"version":1', b'"version":1.0'),
    BLOB.replace(b",", b", ", 1),
    BLOB.replace(b'"envelope_size":5000', b'"envelope_size":"5000"'),
])
def test_malformed_blobs_fail_the_format_check(blob: bytes) -> None:
    with pytest.raises(ManifestError) as info:
        mf.verify(blob, KEY.public_key())
    assert info.value.check == "format"


def test_unknown_version_fails_the_version_check() -> None:
    with pytest.raises(ManifestError) as info:
        mf.verify(BLOB.replace(b'"version":1', b'"version":3'), KEY.public_key())
    assert info.value.check == "version"


# -- version 2: the citizen's language, and complements

def test_a_version_2_manifest_carries_the_language_and_verifies() -> None:
    blob = mf.sign(sample(version=2, language="ar"), KEY)
    manifest = mf.verify(blob, KEY.public_key())
    assert (manifest.version, manifest.language, manifest.is_complement) == (2, "ar", False)
    assert b'"language":"ar"' in blob and b"complement_of" not in blob


def test_a_complement_names_the_original_deposit_and_the_request() -> None:
    blob = mf.sign(sample(version=2, language="fr", deposit_id="C0MP-0001-234X",
                          complement_of="D3M0-0001-234X", request_id="rq_0123456789"), KEY)
    manifest = mf.verify(blob, KEY.public_key())
    assert manifest.is_complement
    assert (manifest.complement_of, manifest.request_id) == ("D3M0-0001-234X", "rq_0123456789")


def test_a_version_1_signature_does_not_verify_as_version_2() -> None:
    """Each version signs with its own prefix: a v1 signature over the same fields is no v2."""
    v2 = sample(version=2, language="fr")
    forged = mf.canonical_json({"manifest": v2.to_dict(), "signature": json.loads(
        mf.sign(sample(), KEY))["signature"]})
    with pytest.raises(ManifestError) as info:
        mf.verify(forged, KEY.public_key())
    assert info.value.check == "signature"


@pytest.mark.parametrize("changes, problem", [
    ({"version": 2}, "language"),
    ({"version": 2, "language": "Français"}, "language"),
    ({"version": 1, "language": "fr"}, "version 1"),
    ({"version": 2, "language": "fr", "complement_of": "D3M0-0002-234X"}, "go together"),
    ({"version": 2, "language": "fr", "complement_of": "D3M0-0001-234X",
      "request_id": "rq_0123456789"}, "itself"),
    ({"version": 2, "language": "fr", "complement_of": "d3m0 0002", "request_id": "rq_01234567"},
     "complement_of"),
    ({"version": 2, "language": "fr", "complement_of": "D3M0-0002-234X", "request_id": "x"},
     "request_id"),
])
def test_malformed_version_2_fields_are_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ManifestError, match=problem) as info:
        sample(**changes)
    assert info.value.check == "format"


def test_a_version_2_blob_missing_its_language_fails_the_format_check() -> None:
    blob = mf.sign(sample(version=2, language="fr"), KEY)
    stripped = blob.replace(b'"language":"fr",', b"")
    with pytest.raises(ManifestError, match="missing") as info:
        mf.verify(stripped, KEY.public_key())
    assert info.value.check == "format"


@pytest.mark.parametrize("field", ["deposit_id", "kiosk_id", "procedure", "created",
                                   "envelope_sha256", "tracking_token_sha256"])
def test_fields_with_personal_or_free_text_are_refused(field: str) -> None:
    with pytest.raises(ManifestError, match=field):
        sample(**{field: "Jeanne Dupont, 3 rue des Lilas"})


def test_no_float_no_negative_size() -> None:
    with pytest.raises(ManifestError):
        sample(envelope_size=-1)
    with pytest.raises(ManifestError):
        sample(envelope_size=1.5)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(BLOB) * 8 - 1))
def test_flipping_any_single_bit_of_a_manifest_is_detected(position: int) -> None:
    flipped = bytearray(BLOB)
    flipped[position // 8] ^= 1 << (position % 8)
    with pytest.raises(ManifestError):
        mf.verify(bytes(flipped), KEY.public_key())


def test_every_bit_flip_of_a_manifest_is_detected_exhaustively() -> None:
    for position in range(len(BLOB) * 8):
        flipped = bytearray(BLOB)
        flipped[position // 8] ^= 1 << (position % 8)
        with pytest.raises(ManifestError):
            mf.verify(bytes(flipped), KEY.public_key())


def test_tracking_tokens_are_long_url_safe_and_unique() -> None:
    tokens = {mf.new_tracking_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) >= 22   # >= 128 bits of base64
        assert all(c.isalnum() or c in "-_" for c in token)
    assert len(mf.tracking_token_sha256("x")) == 64


def test_signing_key_saved_private_loaded_back_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    mf.save_signing_key(KEY, path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = mf.load_signing_key(path)
    assert mf.public_key_pem(loaded) == mf.public_key_pem(KEY)
    with pytest.raises(FileExistsError):
        mf.save_signing_key(mf.generate_signing_key(), path)
    assert mf.load_public_key(mf.public_key_pem(KEY)) == KEY.public_key()


def test_signing_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    mf.save_signing_key(KEY, path)
    path.chmod(0o644)
    with pytest.raises(KeyFormatError, match="readable by others"):
        mf.load_signing_key(path)


@settings(max_examples=300, deadline=None)
@given(blob=st.one_of(st.binary(max_size=600), st.text(max_size=600).map(str.encode)))
def test_any_bytes_give_a_manifest_error_and_nothing_else(blob: bytes) -> None:
    with pytest.raises(ManifestError):
        mf.verify(blob, KEY.public_key())
