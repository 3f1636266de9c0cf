"""2D-Docs for development: a small encoder, ECDSA signing, DataMatrix pictures, pages.

Used by the tests (tests/twoddoc/), the UI test of the review screen and the
workspace screenshot (devtools/twoddoc_screens.py). The encoder is written from
the ANTS specification, not from the parser (:mod:`twoddoc.parse`): fields are
ended by GS unless their length is fixed, and the caller gives fixed fields at
their length, so a test that parses what it encoded checks two readings of
the specification against each other.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

import assets

#: Fixed-length identifiers the samples use (the ANTS table's minimum = maximum).
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


def datamatrix(payload: bytes, path: Path | None = None, scale: int = 4
               ) -> npt.NDArray[np.uint8]:
    """The payload as a DataMatrix picture (zxing-cpp's writer), written to ``path`` if given."""
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.DataMatrix)
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale), dtype=np.uint8)
    if path is not None:
        from PIL import Image
        Image.fromarray(image).save(path)
    return image


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


def page_with_code(payload: bytes, *, page: str = "proof-of-address", size_mm: float = 35.0
                   ) -> npt.NDArray[np.uint8]:
    """A sample page (assets/pages, A4) with ``payload`` as a DataMatrix ``size_mm`` wide
    in its top right corner, BGR. At 1080p the camera simulator's rectified page holds
    about 4.6 pixels per millimetre: a code needs about 3 pixels per module, hence the
    default size (docs/2ddoc.md, "figures")."""
    picture = cv2.imread(str(assets.path("pages", f"{page}.png")))
    if picture is None:
        raise FileNotFoundError(f"no sample page {page!r}")
    per_mm = picture.shape[1] / 210.0
    side = int(size_mm * per_mm)
    code = cv2.resize(datamatrix(payload, scale=1), (side, side),
                      interpolation=cv2.INTER_NEAREST)
    top, left = int(12 * per_mm), picture.shape[1] - side - int(12 * per_mm)
    picture[top:top + side, left:left + side] = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)
    return np.asarray(picture, dtype=np.uint8)
