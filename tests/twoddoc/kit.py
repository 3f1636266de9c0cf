"""Making 2D-Docs for the tests: a small encoder, signing, DataMatrix rendering, trust lists.

The encoder writes what the parser reads (header of any version, fields
GS-ended unless fixed-length, base32 signature after US) but is written from
the specification, not from the parser: a fixed field is padded by its caller,
and a test that compared the parser with itself would prove nothing.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.conftest import SHARED
from twoddoc.trustlist import TrustList, to_xml

DATA = SHARED / "data" / "2ddoc"
FIXED = {"24": 5, "26": 2, "96": 8, "B7": 8, "BF": 3, "B9": 2}     # a few fixed lengths


def days(when: date | None) -> str:
    return "FFFF" if when is None else f"{(when - date(2000, 1, 1)).days:04X}"


def header(*, version: int = 4, authority: str = "FR00", certificate: str = "0001",
           issued: date | None = date(2014, 3, 1), signed: date | None = date(2014, 3, 2),
           document_type: str = "01") -> str:
    text = f"DC{version:02d}{authority}{certificate}{days(issued)}{days(signed)}{document_type}"
    if version >= 3:
        text += "01"
    if version >= 4:
        text += "FR"
    return text


def message(fields: dict[str, str]) -> str:
    out = ""
    for key, value in fields.items():
        out += key + value + ("" if key in FIXED else "\x1d")
    return out


def sign(signed: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA over ``signed``, r || s, the hash of the key's size."""
    size = (key.curve.key_size + 7) // 8
    algorithm = {32: hashes.SHA256(), 48: hashes.SHA384(), 66: hashes.SHA512()}[size]
    r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(algorithm)))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def encode(key: ec.EllipticCurvePrivateKey, fields: dict[str, str], *,
           annex: dict[str, str] | None = None, binary: bool = False, **head: object) -> bytes:
    """A whole signed 2D-Doc: header, message, US, signature (base32, or raw if ``binary``),
    and an annex after RS if given."""
    signed = (header(**head) + message(fields)).encode("ascii")  # type: ignore[arg-type]
    signature = sign(signed, key)
    tail = signature if binary else base64.b32encode(signature).rstrip(b"=")
    out = signed + b"\x1f" + tail
    if annex:
        out += b"\x1e" + message(annex).encode("ascii")
    return out


def datamatrix(payload: bytes, path: Path | None = None, scale: int = 4) -> np.ndarray:
    """The payload as a DataMatrix picture (zxing-cpp's writer), written to ``path`` if given."""
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix)
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    if path is not None:
        from PIL import Image
        Image.fromarray(image).save(path)
    return image


def fr00_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key((DATA / "test_key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def fr00_certificate() -> x509.Certificate:
    return x509.load_pem_x509_certificate((DATA / "test_cert.pem").read_bytes())


def fr00_trust() -> TrustList:
    """The test authority FR00, certificate 0001, as the only entry of a trust list."""
    xml = to_xml([("FR00", "AC DE TEST", fr00_certificate(), True)],
                 issued=datetime(2026, 1, 1, tzinfo=UTC))
    return TrustList.from_xml(xml, include_test=True)


def authority(name: str, cert_id: str, curve: ec.EllipticCurve | None = None, *,
              not_before: datetime = datetime(2020, 1, 1, tzinfo=UTC),
              days_valid: int = 3650) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A made-up authority ``name`` and its signing certificate ``cert_id`` (self-issued
    under the authority's name, as the ANTS certificates name their issuer)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(curve or ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                         x509.NameAttribute(NameOID.COMMON_NAME, cert_id)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                        x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + timedelta(days=days_valid))
            .sign(ca_key, hashes.SHA256()))
    return key, cert
