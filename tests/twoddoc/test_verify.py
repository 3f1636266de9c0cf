"""Signatures: a code signed here with the test key verifies; a changed field, a flipped
bit, an unknown authority or certificate, a certificate not valid on the signing date, each
gets its verdict; through a DataMatrix picture too."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import twoddoc
from devtools.twoddoc_samples import authority, datamatrix, encode
from drivers.codes import decode_image
from tests.twoddoc.kit import fr00_key, fr00_trust
from twoddoc import Outcome, Reason, TrustList
from twoddoc.trustlist import to_xml

ADDRESS = {"10": "MME/SPECIMEN/NATACHA", "22": "145 AVENUE DES SPECIMENS", "24": "75000",
           "25": "PARIS", "26": "FR"}
IN_VALIDITY = date(2014, 6, 2)          # the test certificate: 2012-11-01 to 2015-11-01


def verdict(payload: bytes, trust: TrustList) -> twoddoc.Verification:
    return twoddoc.verify(twoddoc.parse(payload), trust)


def test_a_code_signed_with_the_test_key_verifies_valid_read_off_its_datamatrix(
        twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY)
    codes = decode_image(datamatrix(payload), formats=["DataMatrix"])
    assert [c.raw for c in codes] == [payload]
    result = verdict(codes[0].raw or b"", fr00_trust())
    assert (result.outcome, result.reason) == (Outcome.VALID, Reason.VERIFIED)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_header_version_signed_here_verifies(twoddoc_data: Path, version: int) -> None:
    payload = encode(fr00_key(), ADDRESS, version=version, signed=IN_VALIDITY)
    doc = twoddoc.parse(payload)
    assert doc.header.version == version and doc.field_texts() == ADDRESS
    assert twoddoc.verify(doc, fr00_trust()).outcome is Outcome.VALID


def test_one_changed_field_is_invalid(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY)
    forged = payload.replace(b"PARIS", b"LILLE")
    assert forged != payload
    result = verdict(forged, fr00_trust())
    assert (result.outcome, result.reason) == (Outcome.INVALID, Reason.SIGNATURE_MISMATCH)


def test_a_changed_signing_date_is_invalid_not_a_validity_question(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY)
    later = payload.replace(f"{(IN_VALIDITY - date(2000, 1, 1)).days:04X}".encode(), b"2000", 1)
    assert verdict(later, fr00_trust()).outcome is Outcome.INVALID


@pytest.mark.parametrize("bit", [0, 7, 255, 511])
def test_one_flipped_signature_bit_is_invalid(twoddoc_data: Path, bit: int) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY)
    head, _, sig = payload.partition(b"\x1f")
    raw = bytearray(base64.b32decode(sig + b"=" * (-len(sig) % 8)))
    raw[bit // 8] ^= 1 << (bit % 8)
    flipped = head + b"\x1f" + base64.b32encode(bytes(raw)).rstrip(b"=")
    assert verdict(flipped, fr00_trust()).outcome is Outcome.INVALID


def test_an_unknown_authority_is_not_verifiable_never_invalid(twoddoc_data: Path) -> None:
    key, _cert = authority("FR99", "0042")
    payload = encode(key, ADDRESS, authority="FR99", certificate="0042",
                     signed=date(2024, 5, 1))
    result = verdict(payload, fr00_trust())
    assert (result.outcome, result.reason) == (Outcome.NOT_VERIFIABLE,
                                               Reason.UNKNOWN_AUTHORITY)
    # even one that was changed: without the certificate nothing can be said
    assert verdict(payload.replace(b"PARIS", b"LILLE"), fr00_trust()).outcome \
        is Outcome.NOT_VERIFIABLE


def test_an_unknown_certificate_of_a_known_authority_is_not_verifiable(
        twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, certificate="0002", signed=IN_VALIDITY)
    result = verdict(payload, fr00_trust())
    assert (result.outcome, result.reason) == (Outcome.NOT_VERIFIABLE,
                                               Reason.UNKNOWN_CERTIFICATE)


def test_a_certificate_expired_at_the_signing_date_is_not_verifiable(
        twoddoc_data: Path) -> None:
    from tests.twoddoc.kit import fr00_certificate
    # The same certificate listed as a production authority: judged at the signing date.
    listed = TrustList.from_xml(to_xml([("FR00", "AC DE TEST", fr00_certificate(), False)],
                                       issued=datetime(2026, 1, 1, tzinfo=UTC)))
    payload = encode(fr00_key(), ADDRESS, signed=date(2016, 1, 5))
    result = verdict(payload, listed)
    assert (result.outcome, result.reason) == (Outcome.NOT_VERIFIABLE,
                                               Reason.CERTIFICATE_EXPIRED)
    early = verdict(encode(fr00_key(), ADDRESS, signed=date(2012, 10, 1)), listed)
    assert early.reason is Reason.CERTIFICATE_NOT_YET_VALID
    undated = verdict(encode(fr00_key(), ADDRESS, signed=None), listed)
    assert undated.reason is Reason.NO_SIGNING_DATE
    assert verdict(encode(fr00_key(), ADDRESS, signed=IN_VALIDITY), listed).outcome \
        is Outcome.VALID
    # As the test authority (test-only), a code signed after 2015 still verifies.
    assert verdict(payload, fr00_trust()).outcome is Outcome.VALID


def test_a_changed_field_is_invalid_also_for_the_test_authority(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=date(2026, 12, 5))
    tampered = payload.replace(b"SPECIMEN", b"SPECIMEM", 1)
    assert tampered != payload
    assert verdict(tampered, fr00_trust()).outcome is Outcome.INVALID


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1()])
def test_p256_p384_and_p521_signatures_verify_by_their_length(curve: ec.EllipticCurve) -> None:
    key, cert = authority("FR77", "0A01", curve)
    trust = TrustList.from_xml(to_xml([("FR77", "AC TEST", cert, False)],
                                      issued=datetime(2026, 1, 1, tzinfo=UTC)))
    payload = encode(key, ADDRESS, authority="FR77", certificate="0A01",
                     signed=date(2024, 5, 1))
    assert len(twoddoc.parse(payload).signature) == {256: 64, 384: 96, 521: 132}[curve.key_size]
    assert verdict(payload, trust).outcome is Outcome.VALID
    assert verdict(payload.replace(b"PARIS", b"PARIZ"), trust).outcome is Outcome.INVALID


def test_a_binary_mode_signature_verifies_like_a_base32_one(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY, binary=True)
    doc = twoddoc.parse(payload)
    assert doc.mode is twoddoc.Mode.BINARY
    assert twoddoc.verify(doc, fr00_trust()).outcome is Outcome.VALID
    codes = decode_image(datamatrix(payload), formats=["DataMatrix"])
    assert [c.raw for c in codes] == [payload]


def test_the_annex_after_rs_is_read_but_not_signed(twoddoc_data: Path) -> None:
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY, annex={"25": "MARSEILLE"})
    doc = twoddoc.parse(payload)
    assert [(f.id, f.text) for f in doc.annex] == [("25", "MARSEILLE")]
    assert doc.field_texts()["25"] == "PARIS"
    changed = payload.replace(b"MARSEILLE", b"TOULOUSE")
    assert verdict(changed, fr00_trust()).outcome is Outcome.VALID   # annexes are not signed


def test_the_test_authority_is_trusted_only_when_asked(twoddoc_data: Path) -> None:
    from tests.twoddoc.kit import fr00_certificate
    xml = to_xml([("FR00", "AC DE TEST", fr00_certificate(), True)],
                 issued=datetime(2026, 1, 1, tzinfo=UTC))
    assert TrustList.from_xml(xml).authorities == []
    assert TrustList.from_xml(xml, include_test=True).authorities == ["FR00"]
    payload = encode(fr00_key(), ADDRESS, signed=IN_VALIDITY)
    assert verdict(payload, TrustList.from_xml(xml)).outcome is Outcome.NOT_VERIFIABLE
