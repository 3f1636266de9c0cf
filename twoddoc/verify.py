"""Checking a 2D-Doc's signature against the trust list: VALID, INVALID or NOT_VERIFIABLE.

- The certificate is the one the header names (authority id + certificate id)
  in the :class:`~twoddoc.trustlist.TrustList`. Not there: NOT_VERIFIABLE
  (``UNKNOWN_AUTHORITY`` or ``UNKNOWN_CERTIFICATE``): a genuine code from an
  issuer this kiosk does not know yet is not called forged.
- The signature is ECDSA ``r || s``; its length gives the curve and hash
  (64 bytes: P-256 and SHA-256; 96: P-384 and SHA-384; 132: P-521 and
  SHA-512), which must be the certificate key's. It covers every byte before
  the US. A signature that does not verify, or does not fit the key: INVALID.
- The certificate must have been valid **on the signing date** of the header
  (its X.509 validity, and its status in the list from the date the status
  began). A signature that verifies under a certificate not valid that day is
  NOT_VERIFIABLE (``CERTIFICATE_EXPIRED``, ``CERTIFICATE_NOT_YET_VALID``,
  ``CERTIFICATE_NOT_GRANTED``, ``NO_SIGNING_DATE``): the code was signed with
  that key, but nothing says the issuer stood behind it then. The math is
  checked first, so a changed code is INVALID whatever its dates. A
  *test-only* entry (the ANTS test authority, whose certificate ended in 2015
  while ANTS keeps signing specimens with its key) is not judged on its X.509
  dates: test codes verify wherever a configuration trusts the test authority.

The outcome crosses process boundaries (``kiosk codes --2ddoc``, deposit.json,
the staff workspace): its values are fixed strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from twoddoc.parse import TwoDDoc
from twoddoc.trustlist import TRUSTED_STATUSES, TrustedCertificate, TrustList

_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    64: hashes.SHA256, 96: hashes.SHA384, 132: hashes.SHA512}
_CURVES: dict[int, str] = {64: "secp256r1", 96: "secp384r1", 132: "secp521r1"}


class Outcome(StrEnum):
    """The verdict on a code's signature. Read by: kiosk codes' JSON, deposit.json's
    documents (kiosk/sealing.py), the staff workspace (backoffice/workspace/)."""

    VALID = "valid"
    INVALID = "invalid"
    NOT_VERIFIABLE = "not_verifiable"


class Reason(StrEnum):
    """Why: detail for the staff and the logs."""

    VERIFIED = "verified"
    SIGNATURE_MISMATCH = "signature_mismatch"         # INVALID: the code was changed
    KEY_MISMATCH = "key_mismatch"                     # INVALID: signature length vs key curve
    UNKNOWN_AUTHORITY = "unknown_authority"
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    UNSUPPORTED_KEY = "unsupported_key"               # not an EC key
    NO_SIGNING_DATE = "no_signing_date"               # FFFF: validity cannot be judged
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_GRANTED = "certificate_not_granted"


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    reason: Reason
    certificate: TrustedCertificate | None = None

    @property
    def valid(self) -> bool:
        return self.outcome is Outcome.VALID


def verify(doc: TwoDDoc, trust: TrustList) -> Verification:
    """The verdict on ``doc``'s signature under ``trust``; never raises for a parsed code."""
    header = doc.header
    entry = trust.find(header.authority, header.certificate)
    if entry is None:
        reason = (Reason.UNKNOWN_CERTIFICATE if trust.knows_authority(header.authority)
                  else Reason.UNKNOWN_AUTHORITY)
        return Verification(Outcome.NOT_VERIFIABLE, reason)
    key = entry.certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return Verification(Outcome.NOT_VERIFIABLE, Reason.UNSUPPORTED_KEY, entry)
    size = len(doc.signature)
    if size not in _HASHES or key.curve.name != _CURVES[size]:
        return Verification(Outcome.INVALID, Reason.KEY_MISMATCH, entry)
    half = size // 2
    r = int.from_bytes(doc.signature[:half], "big")
    s = int.from_bytes(doc.signature[half:], "big")
    try:
        key.verify(encode_dss_signature(r, s), doc.signed_bytes, ec.ECDSA(_HASHES[size]()))
    except (InvalidSignature, ValueError):
        return Verification(Outcome.INVALID, Reason.SIGNATURE_MISMATCH, entry)
    signed = header.signed
    if signed is None:
        return Verification(Outcome.NOT_VERIFIABLE, Reason.NO_SIGNING_DATE, entry)
    if entry.test_only:
        # ANTS's published test certificate (FR00 0001) ended on 2015-11-01 and ANTS still
        # signs its specimens with its key (the 2D-Doc spec's examples of 2017-2018): a test
        # entry, trusted only where a configuration asks for it, is judged on its signature
        # and its status in the list, not on its X.509 dates, so that test codes verify.
        return Verification(Outcome.VALID, Reason.VERIFIED, entry) \
            if entry.status in TRUSTED_STATUSES else \
            Verification(Outcome.NOT_VERIFIABLE, Reason.CERTIFICATE_NOT_GRANTED, entry)
    if signed < entry.not_before:
        return Verification(Outcome.NOT_VERIFIABLE, Reason.CERTIFICATE_NOT_YET_VALID, entry)
    if signed > entry.not_after:
        return Verification(Outcome.NOT_VERIFIABLE, Reason.CERTIFICATE_EXPIRED, entry)
    if entry.status not in TRUSTED_STATUSES or (
            entry.status_since is not None and signed < entry.status_since.date()):
        return Verification(Outcome.NOT_VERIFIABLE, Reason.CERTIFICATE_NOT_GRANTED, entry)
    return Verification(Outcome.VALID, Reason.VERIFIED, entry)
