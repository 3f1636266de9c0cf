"""The 2D-Doc tests' access to ../shared/data/2ddoc: the test authority's key, certificate
and trust list. The encoder itself is devtools/twoddoc_samples.py."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import SHARED
from twoddoc.trustlist import TrustList, to_xml

DATA = SHARED / "data" / "2ddoc"


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
