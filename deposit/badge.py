"""A technician's badge: a QR code signed by the back office; with a PIN, it opens service mode.

``backoffice badge issue NAME --days N`` makes one (backoffice/badges.py); the
kiosk's gate checks it (kiosk/service/access.py). The QR code's text is::

    KIOSK-BADGE1:<base64url of the payload>.<base64url of the signature>

The fixed prefix lets the kiosk tell a badge from a convocation or a receipt
without parsing anything else. The payload is canonical JSON
(:func:`deposit.manifest.canonical_json`)::

    {"expires": 1767225600, "holder": "Jeanne Martin", "id": "<16 hex>",
     "issued": 1764633600, "issuer": "https://backoffice.example:8443",
     "pin": {"hash": "<b64url 32 bytes>", "log2_n": 14, "p": 1, "r": 8,
             "salt": "<b64url 16 bytes>"},
     "version": 1}

(times: UNIX seconds, UTC). The signature is Ed25519 by the back office's
**acknowledgement key** (the one whose public half ``ack.pub`` every kiosk holds
in its enrollment bundle) over :data:`SIGNING_CONTEXT` followed by the payload's
bytes exactly as they travel. The context differs from the acknowledgements'
(deposit/ack.py), the fleet state's (deposit/fleetstate.py) and the heartbeats':
a signature made for one never passes for another.

The PIN (6 to 8 digits) is not in the badge: only a verifier, scrypt of the PIN
with a random salt, the parameters stored beside it. :data:`LOG2_N`, :data:`R`,
:data:`P` (N = 2^14, r = 8, p = 1: 16 MiB) were chosen so that one check costs
about 0.2 s on a Raspberry Pi 4: 0.047 s measured on one core of an x86-64
server (AMD EPYC, shared), assuming a Pi 4's Cortex-A72 with its LPDDR4 is about
four times slower at this memory-hard work. Measure on the kiosk's hardware with
``python -c "import deposit.badge as b; print(b.measure_check_s())"``.

Threat note. Whoever finds or steals a badge can try every PIN offline against
its verifier, at scrypt's cost: 10^6 PINs of 6 digits times about 0.05 s is
about 14 core-hours here, far less with many cores or GPUs. So a lost badge
must be revoked at once (``backoffice badge revoke``; kiosks learn it with the
fleet state, deposit/fleetstate.py), and badges are short-lived (at most 90
days) so that one nobody reported lost stops working by itself, even on a
kiosk that never heard of the revocation. At the kiosk itself, wrong PINs are
rate-limited per kiosk (kiosk/service/access.py). A PIN alone opens nothing:
it is checked only against a badge whose signature holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit.errors import DepositError
from deposit.manifest import canonical_json

#: What every badge's QR text starts with (and nothing else's does).
PREFIX = "KIOSK-BADGE1:"
VERSION = 1
#: What is signed: this context, then the payload's bytes.
SIGNING_CONTEXT = b"deposit-kiosk badge v1\n"
#: A PIN is 6 to 8 digits, typed on the kiosk's touchscreen.
PIN_PATTERN = re.compile(r"[0-9]{6,8}")
#: scrypt's parameters for new badges (see the module docstring for why).
LOG2_N = 14
R = 8
P = 1
SALT_BYTES = 16
HASH_BYTES = 32
#: What a kiosk accepts from a badge (signed, so only a mistaken issuer could exceed them):
#: at most 2^17 x 16 x 128 bytes = 256 MiB of memory, not enough to exhaust a Pi 4.
MAX_LOG2_N = 17
MAX_R = 16
MAX_P = 4
#: A QR text longer than this is not a badge; nothing is decoded.
MAX_TEXT = 2048
#: A holder's name as printed on the card and shown in the kiosk's logs.
MAX_HOLDER = 64
MAX_ISSUER = 200
_ID = re.compile(r"[0-9a-f]{16}")


class BadgeProblem(StrEnum):
    """Why a QR text is not a usable badge (the kiosk's gate turns these into its refusals)."""

    NOT_A_BADGE = "not_a_badge"      # no badge prefix: a convocation, a receipt, anything
    MALFORMED = "malformed"          # the prefix, but not the format: damaged or made up
    SIGNATURE = "signature"          # well formed, not signed by this back office's key


class BadgeError(DepositError):
    """A QR text that is not a usable badge; ``problem`` says why."""

    def __init__(self, problem: BadgeProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def valid_pin(pin: str) -> bool:
    return isinstance(pin, str) and PIN_PATTERN.fullmatch(pin) is not None


def _scrypt(pin: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    # maxmem: OpenSSL refuses above 32 MiB by default; give what these parameters need.
    need = 128 * r * (2 ** log2_n) * (p + 1) + 2**20
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=2 ** log2_n, r=r, p=p,
                          dklen=HASH_BYTES, maxmem=need)


@dataclass(frozen=True)
class PinVerifier:
    """scrypt(PIN, salt) with its parameters: checks a PIN, never gives it back."""

    salt: bytes
    digest: bytes
    log2_n: int = LOG2_N
    r: int = R
    p: int = P

    @classmethod
    def make(cls, pin: str, *, log2_n: int = LOG2_N, r: int = R, p: int = P) -> PinVerifier:
        """A verifier for ``pin`` with a new random salt; ValueError for a PIN that is not
        6 to 8 digits."""
        if not valid_pin(pin):
            raise ValueError("a PIN is 6 to 8 digits")
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(salt, _scrypt(pin, salt, log2_n, r, p), log2_n, r, p)

    def matches(self, pin: str) -> bool:
        """Whether ``pin`` is the PIN (costs one scrypt: about 0.2 s on a Pi 4)."""
        if not valid_pin(pin):
            return False
        candidate = _scrypt(pin, self.salt, self.log2_n, self.r, self.p)
        return hmac.compare_digest(candidate, self.digest)

    def to_json(self) -> dict[str, Any]:
        return {"hash": _b64(self.digest), "log2_n": self.log2_n, "p": self.p, "r": self.r,
                "salt": _b64(self.salt)}


@dataclass(frozen=True)
class Badge:
    """What a badge says, once its signature held."""

    badge_id: str
    holder: str
    issued_at: datetime        # UTC, to the second
    expires_at: datetime
    pin: PinVerifier
    issuer: str                # the back office's kiosk URL (informative: the key decides)
    version: int = VERSION

    def payload(self) -> bytes:
        return canonical_json({
            "expires": _unix(self.expires_at), "holder": self.holder, "id": self.badge_id,
            "issued": _unix(self.issued_at), "issuer": self.issuer, "pin": self.pin.to_json(),
            "version": self.version})


def new_badge_id() -> str:
    """A random badge id: 16 hex digits (64 bits)."""
    return secrets.token_hex(8)


def encode(badge: Badge, key: Ed25519PrivateKey) -> str:
    """The QR text of ``badge``, signed with the back office's acknowledgement key."""
    _check_fields(badge)
    payload = badge.payload()
    signature = key.sign(SIGNING_CONTEXT + payload)
    return f"{PREFIX}{_b64(payload)}.{_b64(signature)}"


def decode(text: str, key: Ed25519PublicKey) -> Badge:
    """The badge a QR text carries, its signature checked (not its dates: the gate does).

    Raises :class:`BadgeError`: NOT_A_BADGE without the prefix, MALFORMED for
    anything that is not exactly the format, SIGNATURE when the back office's
    key did not sign it.
    """
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise BadgeError(BadgeProblem.NOT_A_BADGE, "not a technician's badge")
    if len(text) > MAX_TEXT:
        raise BadgeError(BadgeProblem.MALFORMED, f"badge text longer than {MAX_TEXT} characters")
    body = text[len(PREFIX):].strip()
    parts = body.split(".")
    if len(parts) != 2:
        raise BadgeError(BadgeProblem.MALFORMED, "a badge is PAYLOAD.SIGNATURE after its prefix")
    payload, signature = _unb64(parts[0], "payload"), _unb64(parts[1], "signature")
    if len(signature) != 64:
        raise BadgeError(BadgeProblem.MALFORMED, "the badge's signature is not 64 bytes")
    try:
        key.verify(signature, SIGNING_CONTEXT + payload)
    except InvalidSignature:
        raise BadgeError(BadgeProblem.SIGNATURE,
                         "the badge is not signed by this back office's key") from None
    return _parse(payload)


def measure_check_s(rounds: int = 3) -> float:
    """Seconds one PIN check takes here with the parameters of new badges (the best of
    ``rounds``): to check :data:`LOG2_N` on a kiosk's hardware."""
    verifier = PinVerifier.make("000000")
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        verifier.matches("000001")
        best = min(best, time.perf_counter() - start)
    return best


# ------------------------------------------------------------------ encoding and checking

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadgeError(BadgeProblem.MALFORMED, f"the badge's {what} is not base64url") from None
    # Refuse any other spelling of the same bytes (unused low bits set, padding): one badge,
    # one text.
    if _b64(data) != text:
        raise BadgeError(BadgeProblem.MALFORMED, f"the badge's {what} is not canonical base64url")
    return data


def _unix(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("badge times must be timezone-aware")
    return int(when.timestamp())


def _check_fields(badge: Badge) -> None:
    problems = [
        (not _ID.fullmatch(badge.badge_id), "badge id is not 16 hex digits"),
        (not _printable(badge.holder, MAX_HOLDER), f"holder is not 1 to {MAX_HOLDER} printable "
                                                   f"characters"),
        (not _printable(badge.issuer, MAX_ISSUER), "issuer is not printable text"),
        (badge.expires_at <= badge.issued_at, "a badge expires after it is issued"),
        (badge.version != VERSION, f"badge version {badge.version} is not {VERSION}"),
    ]
    for bad, message in problems:
        if bad:
            raise ValueError(message)


def _printable(text: Any, limit: int) -> bool:
    return isinstance(text, str) and 0 < len(text) <= limit and text == text.strip() \
        and all(c.isprintable() for c in text)


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    return None


def _parse(payload: bytes) -> Badge:
    def bad(message: str) -> BadgeError:
        return BadgeError(BadgeProblem.MALFORMED, f"badge payload: {message}")

    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("not UTF-8 JSON") from None
    keys = {"expires", "holder", "id", "issued", "issuer", "pin", "version"}
    if not isinstance(data, dict) or set(data) != keys:
        raise bad(f"fields must be exactly {sorted(keys)}")
    if data["version"] != VERSION:
        raise bad(f"unknown version {data['version']!r}")
    pin = data["pin"]
    if not isinstance(pin, dict) or set(pin) != {"hash", "log2_n", "p", "r", "salt"}:
        raise bad("pin must be {hash, log2_n, p, r, salt}")
    log2_n, r, p = _int(pin["log2_n"], 10, MAX_LOG2_N), _int(pin["r"], 1, MAX_R), \
        _int(pin["p"], 1, MAX_P)
    if log2_n is None or r is None or p is None:
        raise bad(f"scrypt parameters out of bounds (log2_n 10..{MAX_LOG2_N}, r 1..{MAX_R}, "
                  f"p 1..{MAX_P})")
    if not isinstance(pin["salt"], str) or not isinstance(pin["hash"], str):
        raise bad("salt and hash are base64url text")
    salt, digest = _unb64(pin["salt"], "salt"), _unb64(pin["hash"], "PIN hash")
    if len(salt) < 8 or len(digest) != HASH_BYTES:
        raise bad(f"salt shorter than 8 bytes or hash not {HASH_BYTES} bytes")
    issued, expires = _int(data["issued"], 0, 2**40), _int(data["expires"], 0, 2**40)
    if issued is None or expires is None or expires <= issued:
        raise bad("issued and expires are UNIX seconds, expires after issued")
    badge = Badge(
        badge_id=data["id"] if isinstance(data["id"], str) else "",
        holder=data["holder"] if isinstance(data["holder"], str) else "",
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        pin=PinVerifier(salt, digest, log2_n, r, p),
        issuer=data["issuer"] if isinstance(data["issuer"], str) else "")
    try:
        _check_fields(badge)
    except ValueError as exc:
        raise bad(str(exc)) from None
    return badge
