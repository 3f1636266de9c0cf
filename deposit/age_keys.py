"""age's native key types: post-quantum hybrid ``mlkem768x25519`` and X25519.

==================  ===========================  =========================================
type                recipient (public)           identity (secret)
==================  ===========================  =========================================
mlkem768x25519      ``age1pq1…`` (1216 bytes:    ``AGE-SECRET-KEY-PQ-1…`` (a 32-byte seed,
                    ML-KEM-768 key ‖ X25519)     expanded by SHAKE256 as in X-Wing)
X25519              ``age1…`` (32 bytes)         ``AGE-SECRET-KEY-1…`` (32 bytes)
==================  ===========================  =========================================

The hybrid stanza is HPKE base mode (RFC 9180) with the MLKEM768-X25519 KEM
(X-Wing, draft-ietf-hpke-pq), HKDF-SHA256 and ChaCha20-Poly1305, info
``age-encryption.org/mlkem768x25519``, empty aad: ``cryptography``'s
``hpke.Suite`` does exactly that, single-shot, which is all a file key needs.

Unwrapping follows the specification's rules: a stanza of another type is
ignored; a stanza of our type with the wrong arguments, a non-canonical or
wrong-length share, a body that is not 32 bytes, or a share that makes the
X25519 secret all zero is a header error; a stanza that does not decrypt is
"not for us".
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from deposit import bech32
from deposit.age_format import FILE_KEY_SIZE, TAG_SIZE, Stanza, b64decode, b64encode, hkdf_sha256
from deposit.errors import HeaderError, KeyFormatError, RecipientError

KeyKind = Literal["mlkem768x25519", "x25519"]
KINDS: tuple[KeyKind, ...] = ("mlkem768x25519", "x25519")

PQ_RECIPIENT_HRP = "age1pq"
PQ_IDENTITY_HRP = "age-secret-key-pq-"
X25519_RECIPIENT_HRP = "age"
X25519_IDENTITY_HRP = "age-secret-key-"

PQ_STANZA = "mlkem768x25519"
PQ_INFO = b"age-encryption.org/mlkem768x25519"
PQ_ENC_SIZE = 1120          # ML-KEM-768 ciphertext (1088) ‖ X25519 share (32)
PQ_PUBLIC_SIZE = 1216       # ML-KEM-768 encapsulation key (1184) ‖ X25519 public key (32)
MLKEM_PUBLIC_SIZE = 1184
MLKEM_CT_SIZE = 1088
X25519_STANZA = "X25519"
X25519_INFO = b"age-encryption.org/v1/X25519"
BODY_SIZE = FILE_KEY_SIZE + TAG_SIZE

_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
_ZERO_NONCE = bytes(12)


class NotForMe(Exception):
    """The stanza is not addressed to this identity (internal signal)."""


# ------------------------------------------------------------------ recipients

@dataclass(frozen=True)
class X25519Recipient:
    public: bytes
    kind: KeyKind = field(default="x25519", init=False)
    post_quantum: bool = field(default=False, init=False)

    def wrap(self, file_key: bytes) -> Stanza:
        ephemeral = x25519.X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes_raw()
        secret = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(self.public))
        key = hkdf_sha256(secret, share + self.public, X25519_INFO)
        body = ChaCha20Poly1305(key).encrypt(_ZERO_NONCE, file_key, None)
        return Stanza(X25519_STANZA, (b64encode(share),), body)

    def __str__(self) -> str:
        return bech32.encode(X25519_RECIPIENT_HRP, self.public)


@dataclass(frozen=True)
class HybridRecipient:
    public: bytes
    kind: KeyKind = field(default="mlkem768x25519", init=False)
    post_quantum: bool = field(default=True, init=False)

    def _key(self) -> hpke.MLKEM768X25519PublicKey:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.public[:MLKEM_PUBLIC_SIZE]),
            x25519.X25519PublicKey.from_public_bytes(self.public[MLKEM_PUBLIC_SIZE:]))

    def wrap(self, file_key: bytes) -> Stanza:
        sealed = _SUITE.encrypt(file_key, self._key(), info=PQ_INFO)
        enc, body = sealed[:PQ_ENC_SIZE], sealed[PQ_ENC_SIZE:]
        if len(body) != BODY_SIZE:  # pragma: no cover - would mean cryptography changed HPKE
            raise RecipientError("unexpected HPKE output length")
        return Stanza(PQ_STANZA, (b64encode(enc),), body)

    def __str__(self) -> str:
        return bech32.encode(PQ_RECIPIENT_HRP, self.public)


Recipient = X25519Recipient | HybridRecipient


def parse_recipient(text: str) -> Recipient:
    """``age1pq1…`` or ``age1…``; raises :class:`KeyFormatError` (or RecipientError for scrypt)."""
    text = text.strip()
    if text.upper().startswith("AGE-SECRET-KEY-"):
        raise KeyFormatError("a secret key (identity) was given where a recipient (public key) "
                             "is expected; use its recipient instead")
    try:
        hrp, data = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise KeyFormatError(f"malformed age recipient ({exc})") from None
    if hrp == PQ_RECIPIENT_HRP:
        if len(data) != PQ_PUBLIC_SIZE:
            raise KeyFormatError("malformed mlkem768x25519 recipient (wrong length)")
        recipient = HybridRecipient(data)
        try:
            recipient._key()
        except ValueError:
            raise KeyFormatError("malformed mlkem768x25519 recipient (invalid key)") from None
        return recipient
    if hrp == X25519_RECIPIENT_HRP:
        if len(data) != 32:
            raise KeyFormatError("malformed X25519 recipient (wrong length)")
        return X25519Recipient(data)
    raise KeyFormatError(f"unsupported age recipient type {hrp!r} (supported: age1pq1… "
                         "post-quantum, age1… X25519; passphrases and plugins are not)")


# ------------------------------------------------------------------ identities

@dataclass(frozen=True, repr=False)
class X25519Identity:
    secret: bytes
    kind: KeyKind = field(default="x25519", init=False)

    def __repr__(self) -> str:
        return "X25519Identity(<secret>)"

    def _key(self) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.from_private_bytes(self.secret)

    def recipient(self) -> X25519Recipient:
        return X25519Recipient(self._key().public_key().public_bytes_raw())

    def unwrap(self, stanza: Stanza) -> bytes:
        """The file key, or raise NotForMe / HeaderError."""
        if stanza.type != X25519_STANZA:
            raise NotForMe
        if len(stanza.args) != 1:
            raise HeaderError("malformed X25519 stanza: wrong number of arguments")
        try:
            share = b64decode(stanza.args[0])
        except ValueError:
            raise HeaderError("malformed X25519 stanza: share is not canonical base64") from None
        if len(share) != 32:
            raise HeaderError("malformed X25519 stanza: share is not 32 bytes")
        if len(stanza.body) != BODY_SIZE:
            raise HeaderError("malformed X25519 stanza: body is not 32 bytes")
        key = self._key()
        try:
            secret = key.exchange(x25519.X25519PublicKey.from_public_bytes(share))
        except ValueError:
            raise HeaderError("malformed X25519 stanza: low-order share") from None
        if secret == bytes(32):  # pragma: no cover - cryptography refuses it already
            raise HeaderError("malformed X25519 stanza: low-order share")
        public = key.public_key().public_bytes_raw()
        wrap_key = hkdf_sha256(secret, share + public, X25519_INFO)
        try:
            return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
        except InvalidTag:
            raise NotForMe from None

    def __str__(self) -> str:
        return bech32.encode(X25519_IDENTITY_HRP, self.secret, upper=True)


@dataclass(frozen=True, repr=False)
class HybridIdentity:
    seed: bytes
    kind: KeyKind = field(default="mlkem768x25519", init=False)

    def __repr__(self) -> str:
        return "HybridIdentity(<secret>)"

    def _parts(self) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
        # X-Wing / MLKEM768-X25519 key expansion: SHAKE256(seed) -> ML-KEM d‖z, X25519 key.
        expanded = hashlib.shake_256(self.seed).digest(96)
        return (mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
                x25519.X25519PrivateKey.from_private_bytes(expanded[64:]))

    def recipient(self) -> HybridRecipient:
        kem, dh = self._parts()
        return HybridRecipient(kem.public_key().public_bytes_raw()
                               + dh.public_key().public_bytes_raw())

    def unwrap(self, stanza: Stanza) -> bytes:
        if stanza.type != PQ_STANZA:
            raise NotForMe
        if len(stanza.args) != 1:
            raise HeaderError("malformed mlkem768x25519 stanza: wrong number of arguments")
        try:
            enc = b64decode(stanza.args[0])
        except ValueError:
            raise HeaderError("malformed mlkem768x25519 stanza: enc is not canonical base64"
                              ) from None
        if len(enc) != PQ_ENC_SIZE:
            raise HeaderError("malformed mlkem768x25519 stanza: enc is not 1120 bytes")
        if len(stanza.body) != BODY_SIZE:
            raise HeaderError("malformed mlkem768x25519 stanza: body is not 32 bytes")
        kem, dh = self._parts()
        try:
            # The X25519 half must not give the all-zero secret (low-order point).
            dh.exchange(x25519.X25519PublicKey.from_public_bytes(enc[MLKEM_CT_SIZE:]))
        except ValueError:
            raise HeaderError("malformed mlkem768x25519 stanza: low-order X25519 share") from None
        try:
            return _SUITE.decrypt(enc + stanza.body, hpke.MLKEM768X25519PrivateKey(kem, dh),
                                  info=PQ_INFO)
        except (InvalidTag, ValueError):
            raise NotForMe from None

    def __str__(self) -> str:
        return bech32.encode(PQ_IDENTITY_HRP, self.seed, upper=True)


Identity = X25519Identity | HybridIdentity


def parse_identity(text: str) -> Identity:
    """One ``AGE-SECRET-KEY-PQ-1…`` or ``AGE-SECRET-KEY-1…``; KeyFormatError otherwise."""
    text = text.strip()
    if text.lower().startswith("age1"):
        raise KeyFormatError("a recipient (public key) was given where an identity (secret key) "
                             "is expected")
    try:
        hrp, data = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise KeyFormatError(f"malformed age identity ({exc})") from None
    if hrp == PQ_IDENTITY_HRP:
        if len(data) != 32:
            raise KeyFormatError("malformed mlkem768x25519 identity (wrong length)")
        return HybridIdentity(data)
    if hrp == X25519_IDENTITY_HRP:
        if len(data) != 32:
            raise KeyFormatError("malformed X25519 identity (wrong length)")
        return X25519Identity(data)
    raise KeyFormatError("unsupported age identity type (supported: AGE-SECRET-KEY-PQ-1… and "
                         "AGE-SECRET-KEY-1…; passphrases, SSH keys and plugins are not)")


def parse_identity_file(text: str) -> list[Identity]:
    """Identities of an age identity file: one per line, ``#`` comments and blank lines ignored.

    Several strings may also be passed as one, one per line. The error names the
    line number, never its content (it may hold a secret).
    """
    identities: list[Identity] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except KeyFormatError as exc:
            raise KeyFormatError(f"identity line {number}: {exc}") from None
    if not identities:
        raise KeyFormatError("no identity found (expected lines starting with AGE-SECRET-KEY-)")
    return identities


def generate(kind: KeyKind = "mlkem768x25519") -> Identity:
    """A new identity of ``kind`` from the operating system's CSPRNG."""
    if kind == "mlkem768x25519":
        return HybridIdentity(os.urandom(32))
    if kind == "x25519":
        return X25519Identity(x25519.X25519PrivateKey.generate().private_bytes_raw())
    raise KeyFormatError(f"unknown key type {kind!r} (valid: {', '.join(KINDS)})")
