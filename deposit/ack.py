"""The back office's acknowledgement of a deposit, signed with Ed25519, verified by the kiosk.

The kiosk forgets a deposit only when it holds an acknowledgement that

- is signed by the back office's acknowledgement key (from the enrollment bundle),
- names the deposit id and the kiosk id it sent,
- names the SHA-256 (and size) of the very envelope it sent.

Wire form: one JSON object, UTF-8, keys sorted, no spaces::

    {"deposit_id": "...", "disposition": "stored", "envelope_sha256": "<64 hex>",
     "envelope_size": 1234, "kiosk_id": "...", "received": "2025-03-12T09:14:03Z",
     "signature": "<base64 of 64 bytes>", "version": 1}

The signature covers ``b"deposit-kiosk ack v1\\n"`` followed by the same object
without its ``signature`` key, in the same canonical form. ``disposition`` is
``stored`` (a new dossier), or ``conflict`` (a different envelope under a
deposit id already known: the back office keeps it apart for staff; the kiosk
may forget it, since the back office holds it, but reports it). Over HTTP the
blob travels base64url-encoded in the ``Deposit-Ack`` header.

A replayed deposit gets the very same blob back: the back office stores it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit.errors import AckError
from deposit.status import AckDisposition

VERSION = 1
DOMAIN = b"deposit-kiosk ack v1\n"
#: What the back office may say it did (deposit.status.AckDisposition).
DISPOSITIONS = tuple(d.value for d in AckDisposition)
HEADER = "Deposit-Ack"

#: The checks :func:`verify` makes, in order; ``AckError.check`` is one of them.
CHECKS = ("format", "signature", "deposit_id", "kiosk_id", "envelope")

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Ack:
    """What the back office acknowledges having stored durably."""

    deposit_id: str
    kiosk_id: str
    envelope_sha256: str
    envelope_size: int
    received: datetime
    disposition: AckDisposition = AckDisposition.STORED
    version: int = VERSION

    def __post_init__(self) -> None:
        # The enum's value is also accepted ("conflict"): ValueError for anything else.
        object.__setattr__(self, "disposition", AckDisposition(self.disposition))

    def fields(self) -> dict[str, Any]:
        return {
            "deposit_id": self.deposit_id,
            "disposition": self.disposition.value,
            "envelope_sha256": self.envelope_sha256,
            "envelope_size": self.envelope_size,
            "kiosk_id": self.kiosk_id,
            "received": _rfc3339(self.received),
            "version": self.version,
        }


def _rfc3339(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("acknowledgement times must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign(ack: Ack, key: Ed25519PrivateKey) -> bytes:
    """The signed wire form of ``ack``."""
    if ack.disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {DISPOSITIONS}, not "
                         f"{ack.disposition!r}")
    if not _HEX64.fullmatch(ack.envelope_sha256):
        raise ValueError("envelope_sha256 must be 64 lowercase hex digits")
    body = ack.fields()
    signature = key.sign(DOMAIN + _canonical(body))
    return _canonical({**body, "signature": base64.b64encode(signature).decode()})


def _parse(blob: bytes) -> tuple[Ack, bytes, dict[str, Any]]:
    try:
        obj = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AckError("format", f"not JSON ({exc})") from None
    expected = {"deposit_id", "disposition", "envelope_sha256", "envelope_size", "kiosk_id",
                "received", "signature", "version"}
    if not isinstance(obj, dict) or set(obj) != expected:
        raise AckError("format", f"keys must be exactly {sorted(expected)}")
    if obj["version"] != VERSION:
        raise AckError("format", f"unsupported version {obj['version']!r}")
    try:
        signature = base64.b64decode(obj["signature"], validate=True)
        received = datetime.strptime(obj["received"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (binascii.Error, ValueError, TypeError):
        raise AckError("format", "signature or received time malformed") from None
    if (not isinstance(obj["deposit_id"], str) or not isinstance(obj["kiosk_id"], str)
            or not isinstance(obj["envelope_sha256"], str)
            or not _HEX64.fullmatch(obj["envelope_sha256"])
            or not isinstance(obj["envelope_size"], int) or isinstance(obj["envelope_size"], bool)
            or obj["envelope_size"] < 0 or obj["disposition"] not in DISPOSITIONS):
        raise AckError("format", "a field has the wrong type or value")
    ack = Ack(deposit_id=obj["deposit_id"], kiosk_id=obj["kiosk_id"],
              envelope_sha256=obj["envelope_sha256"], envelope_size=obj["envelope_size"],
              received=received, disposition=AckDisposition(obj["disposition"]),
              version=obj["version"])
    body = {k: v for k, v in obj.items() if k != "signature"}
    return ack, signature, body


def verify(blob: bytes, key: Ed25519PublicKey, *, deposit_id: str | None = None,
           kiosk_id: str | None = None, envelope_sha256: str | None = None,
           envelope_size: int | None = None) -> Ack:
    """Check ``blob`` and return the acknowledgement it carries.

    Each expectation given must match exactly. Raises :class:`AckError`
    naming the first check that failed (see :data:`CHECKS`).
    """
    ack, signature, body = _parse(blob)
    try:
        key.verify(signature, DOMAIN + _canonical(body))
    except InvalidSignature:
        raise AckError("signature", "not signed by this back office's key") from None
    if deposit_id is not None and ack.deposit_id != deposit_id:
        raise AckError("deposit_id", f"names deposit {ack.deposit_id!r}, not {deposit_id!r}")
    if kiosk_id is not None and ack.kiosk_id != kiosk_id:
        raise AckError("kiosk_id", f"names kiosk {ack.kiosk_id!r}, not {kiosk_id!r}")
    if envelope_sha256 is not None and ack.envelope_sha256 != envelope_sha256:
        raise AckError("envelope", "names another envelope digest than the one sent")
    if envelope_size is not None and ack.envelope_size != envelope_size:
        raise AckError("envelope", f"names {ack.envelope_size} bytes, not {envelope_size}")
    return ack


def to_header(blob: bytes) -> str:
    """The blob as the value of a ``Deposit-Ack`` header (base64url, no padding)."""
    return base64.urlsafe_b64encode(blob).decode().rstrip("=")


def from_header(value: str) -> bytes:
    """Inverse of :func:`to_header`; raises :class:`AckError` ("format") on garbage."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise AckError("format", "the Deposit-Ack header is not base64url") from None


def generate_key() -> tuple[bytes, bytes]:
    """A new acknowledgement key pair: (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; :class:`AckError` ("format") otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AckError("format", "not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AckError("format", "the acknowledgement key must be Ed25519")
    return key


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; :class:`AckError` ("format") otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise AckError("format", "not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AckError("format", "the acknowledgement key must be Ed25519")
    return key
