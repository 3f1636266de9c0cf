"""The manifest: the clear, signed description of one deposit.

It travels beside the envelope (the outbox row, the upload, the back office's
store) and holds no personal data: ids, the procedure's code, the creation
time, the envelope's size and SHA-256, and the SHA-256 of the tracking token
(the token itself is printed on the citizen's receipt only).

**Canonical encoding (version 1).** A manifest is a JSON object whose keys are
exactly :data:`FIELDS`, serialised with sorted keys, no whitespace
(separators ``,`` and ``:``), UTF-8, and integers only (no floats, no
booleans). The kiosk signs, with its Ed25519 key, the bytes
``b"deposit-kiosk/manifest/v1\\n" + canonical_json(manifest)`` (the prefix
keeps a manifest signature from being mistaken for any other signature of the
same key). The signed blob is itself canonical JSON::

    {"manifest":{...},"signature":"<unpadded standard base64 of 64 bytes>"}

:func:`verify` accepts only that exact encoding (it re-encodes and compares),
so a manifest has one byte representation and flipping any bit of a blob is
caught by one of the checks. :class:`ManifestError` ``.check`` says which:

``format``     not the canonical encoding, a field missing, extra or malformed
``version``    a version this code does not know
``signature``  the signature does not verify with the kiosk's key
``kiosk``      signed by a kiosk other than the one expected
``size``       the envelope's size differs from the manifest's
``digest``     the envelope's SHA-256 differs from the manifest's

**Version 2** adds ``language``, the language the citizen used at the kiosk
(the kiosk's codes: ``fr``, ``en``, ``ar``, ``fr-falc``...: the back office writes the accusé de
réception in it, beside French), and, for a *complement* (documents brought in
answer to a request for missing documents), ``complement_of`` (the original
deposit's id) and ``request_id`` (the request answered), present together or
not at all. A complement's ``tracking_token_sha256`` is the original's: the
kiosk read the token from the citizen's receipt, so the back office can tell
that whoever brought the documents holds the receipt. Version 2 is signed with
its own prefix ``b"deposit-kiosk/manifest/v2\n"``. The back office accepts both
versions (kiosks in the field keep version 1 manifests queued); a kiosk seals
version 2, so the back office must be updated first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit.errors import KeyFormatError, ManifestError
from deposit.fsutil import PRIVATE, write_new_file

VERSION = 2          # what a kiosk seals now
VERSIONS = (1, 2)
SIGNING_CONTEXTS = {1: b"deposit-kiosk/manifest/v1\n", 2: b"deposit-kiosk/manifest/v2\n"}
FIELDS = ("created", "deposit_id", "envelope_sha256", "envelope_size", "kiosk_id", "procedure",
          "tracking_token_sha256", "version")
#: The field sets a manifest may have, by version (a complement adds the last two).
FIELD_SETS: dict[int, tuple[frozenset[str], ...]] = {
    1: (frozenset(FIELDS),),
    2: (frozenset(FIELDS) | {"language"},
        frozenset(FIELDS) | {"language", "complement_of", "request_id"}),
}
CHECKS = ("format", "version", "signature", "kiosk", "size", "digest")
MAX_BLOB = 4096

_DEPOSIT_ID = re.compile(r"[0-9A-Z*~$=][0-9A-Z*~$=-]{0,63}")
_KIOSK_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
_PROCEDURE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
_REQUEST_ID = re.compile(r"[0-9A-Za-z_-]{8,64}")
_MAX_SIZE = 2**53 - 1   # exact in every JSON reader


def rfc3339(moment: datetime) -> str:
    """A UTC time as the manifest writes it: ``2025-11-22T15:04:05Z`` (whole seconds)."""
    if moment.tzinfo is None:
        raise ValueError("a manifest time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Manifest:
    """What the back office may know of a deposit without opening it."""

    deposit_id: str
    kiosk_id: str
    procedure: str
    created: str                 # RFC 3339 UTC, whole seconds, "Z"
    envelope_size: int
    envelope_sha256: str         # lowercase hex
    tracking_token_sha256: str   # lowercase hex of SHA-256(token as ASCII)
    version: int = 1                   # 2 with a language (what the outbox seals)
    language: str | None = None        # version 2: the citizen's language at the kiosk
    complement_of: str | None = None   # version 2, a complement: the original deposit's id
    request_id: str | None = None      # version 2, a complement: the request it answers

    def __post_init__(self) -> None:
        problem = _field_problem(self)
        if problem:
            raise ManifestError("format", problem)

    @property
    def is_complement(self) -> bool:
        return self.complement_of is not None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def canonical(self) -> bytes:
        """The canonical JSON bytes of this manifest (what is signed)."""
        return canonical_json(self.to_dict())

    def created_at(self) -> datetime:
        return datetime.strptime(self.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8; refuses floats (integers only)."""
    def no_float(obj: Any) -> None:
        if isinstance(obj, float):
            raise ValueError("floats are not allowed in canonical JSON")
        if isinstance(obj, dict):
            for v in obj.values():
                no_float(v)
        elif isinstance(obj, list):
            for v in obj:
                no_float(v)

    no_float(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_problem(m: Manifest) -> str | None:
    checks: list[tuple[bool, str]] = [
        (_is_int(m.version), "version is not an integer"),
        (isinstance(m.deposit_id, str) and bool(_DEPOSIT_ID.fullmatch(m.deposit_id)),
         "deposit_id is not 1-64 characters of 0-9 A-Z * ~ $ = -"),
        (isinstance(m.kiosk_id, str) and bool(_KIOSK_ID.fullmatch(m.kiosk_id)),
         "kiosk_id is not 1-32 capital letters, digits or '-'"),
        (isinstance(m.procedure, str) and bool(_PROCEDURE.fullmatch(m.procedure)),
         "procedure is not a code of 1-64 letters, digits, '_', '.' or '-'"),
        (isinstance(m.created, str) and bool(_CREATED.fullmatch(m.created)),
         "created is not an RFC 3339 UTC time like 2025-11-22T15:04:05Z"),
        (_is_int(m.envelope_size) and 0 <= m.envelope_size <= _MAX_SIZE,
         "envelope_size is not a non-negative integer"),
        (isinstance(m.envelope_sha256, str) and bool(_SHA256.fullmatch(m.envelope_sha256)),
         "envelope_sha256 is not 64 lowercase hex digits"),
        (isinstance(m.tracking_token_sha256, str)
         and bool(_SHA256.fullmatch(m.tracking_token_sha256)),
         "tracking_token_sha256 is not 64 lowercase hex digits"),
    ]
    if m.version == 1:
        checks.append((m.language is None and m.complement_of is None and m.request_id is None,
                       "a version 1 manifest has no language, complement_of or request_id"))
    elif m.version == 2:
        checks += [
            (isinstance(m.language, str) and bool(_LANGUAGE.fullmatch(m.language)),
             "language is not a language code such as fr, en, ar or fr-falc"),
            ((m.complement_of is None) == (m.request_id is None),
             "complement_of and request_id go together"),
            (m.complement_of is None or (isinstance(m.complement_of, str)
                                         and bool(_DEPOSIT_ID.fullmatch(m.complement_of))),
             "complement_of is not a deposit id"),
            (m.request_id is None or (isinstance(m.request_id, str)
                                      and bool(_REQUEST_ID.fullmatch(m.request_id))),
             "request_id is not 8-64 letters, digits, '_' or '-'"),
            (m.complement_of != m.deposit_id, "a complement cannot complete itself"),
        ]
    for ok, problem in checks:
        if not ok:
            return problem
    try:
        m.created_at()
    except ValueError:
        return "created is not a valid date and time"
    return None


# ------------------------------------------------------------------ signing

#: A kiosk's manifest-signing key (the type, for modules that may not touch the hazmat layer).
SigningKey = Ed25519PrivateKey


def sign(manifest: Manifest, key: Ed25519PrivateKey) -> bytes:
    """The signed, canonical blob of ``manifest``."""
    signature = key.sign(SIGNING_CONTEXTS[manifest.version] + manifest.canonical())
    blob = {"manifest": manifest.to_dict(),
            "signature": base64.b64encode(signature).rstrip(b"=").decode("ascii")}
    return canonical_json(blob)


def _decode_signature(text: Any) -> bytes:
    if not isinstance(text, str) or len(text) != 86:
        raise ManifestError("format", "signature is not 86 characters of base64")
    try:
        raw = base64.b64decode(text + "==", validate=True)
    except (binascii.Error, ValueError):
        raise ManifestError("format", "signature is not base64") from None
    if base64.b64encode(raw).rstrip(b"=").decode("ascii") != text:
        raise ManifestError("format", "signature is not canonical base64")
    return raw


def parse_unverified(blob: bytes) -> tuple[Manifest, bytes]:
    """The manifest and signature of a blob, checking the format only (no signature check)."""
    if len(blob) > MAX_BLOB:
        raise ManifestError("format", f"blob larger than {MAX_BLOB} bytes")
    try:
        data = json.loads(blob.decode("utf-8"), parse_float=_refuse_float,
                          parse_constant=_refuse_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError("format", f"not UTF-8 JSON ({exc})") from None
    if not isinstance(data, dict) or sorted(data) != ["manifest", "signature"]:
        raise ManifestError("format", "the blob must have exactly 'manifest' and 'signature'")
    fields = data["manifest"]
    if not isinstance(fields, dict):
        raise ManifestError("format", "'manifest' is not an object")
    version = fields.get("version")
    if _is_int(version) and version not in VERSIONS:
        raise ManifestError("version", f"unknown manifest version {version}")
    allowed = FIELD_SETS[version] if version in VERSIONS else FIELD_SETS[1]
    if frozenset(fields) not in allowed:
        nearest = min(allowed, key=lambda s: len(s ^ set(fields)))
        missing = sorted(nearest - set(fields))
        extra = sorted(set(fields) - nearest)
        raise ManifestError("format", f"fields missing {missing} or unexpected {extra}")
    manifest = Manifest(**fields)
    signature = _decode_signature(data["signature"])
    if canonical_json(data) != blob:
        raise ManifestError("format", "not in canonical form (sorted keys, no whitespace, UTF-8)")
    return manifest, signature


def _refuse_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text!r}")


def verify(blob: bytes, key: Ed25519PublicKey, *, kiosk_id: str | None = None,
           envelope: BinaryIO | str | os.PathLike[str] | None = None) -> Manifest:
    """Check a signed blob and return its manifest; ManifestError names the failed check.

    With ``kiosk_id``, the manifest must name that kiosk; with ``envelope``
    (an open binary file or a path), its size and SHA-256 must match.
    """
    manifest, signature = parse_unverified(blob)
    try:
        key.verify(signature, SIGNING_CONTEXTS[manifest.version] + manifest.canonical())
    except InvalidSignature:
        raise ManifestError("signature", "the signature does not match the kiosk's key"
                            ) from None
    if kiosk_id is not None and manifest.kiosk_id != kiosk_id:
        raise ManifestError("kiosk", f"signed for kiosk {manifest.kiosk_id!r}, "
                                     f"expected {kiosk_id!r}")
    if envelope is not None:
        check_envelope(manifest, envelope)
    return manifest


def digest_file(envelope: BinaryIO | str | os.PathLike[str]) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file or open binary stream, read in 1 MiB blocks."""
    if isinstance(envelope, str | os.PathLike):
        with Path(envelope).open("rb") as f:
            return digest_file(f)
    h = hashlib.sha256()
    size = 0
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    while n := envelope.readinto(view):  # type: ignore[attr-defined]  # binary files have it
        h.update(view[:n])
        size += n
    return size, h.hexdigest()


def check_envelope(manifest: Manifest, envelope: BinaryIO | str | os.PathLike[str]) -> None:
    """ManifestError ``size`` or ``digest`` unless the envelope is the one described."""
    size, digest = digest_file(envelope)
    if size != manifest.envelope_size:
        raise ManifestError("size", f"the envelope has {size} bytes, the manifest says "
                                    f"{manifest.envelope_size}")
    if not secrets.compare_digest(digest, manifest.envelope_sha256):
        raise ManifestError("digest", "the envelope's SHA-256 differs from the manifest's")


# ------------------------------------------------------------------ tracking token

def new_tracking_token() -> str:
    """A fresh tracking token: 192 random bits, URL-safe base64 (32 characters)."""
    return secrets.token_urlsafe(24)


def tracking_token_sha256(token: str) -> str:
    """What the manifest stores of a tracking token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# ------------------------------------------------------------------ kiosk signing keys

def generate_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def save_signing_key(key: Ed25519PrivateKey, path: str | os.PathLike[str]) -> None:
    """Write the key as unencrypted PKCS#8 PEM, mode 0600; never overwrites (FileExistsError)."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_new_file(path, pem, PRIVATE)


def load_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load the kiosk's Ed25519 key; KeyFormatError if unreadable, not Ed25519, or readable by
    others than its owner (as ssh refuses such keys)."""
    target = Path(path)
    try:
        mode = target.stat().st_mode
        pem = target.read_bytes()
    except OSError as exc:
        raise KeyFormatError(f"{target}: cannot read the signing key ({exc.strerror})") from None
    if mode & 0o077:
        raise KeyFormatError(f"{target}: the signing key is readable by others "
                             f"(mode {mode & 0o777:o}); chmod 600 it")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyFormatError(f"{target}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"{target}: not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from SubjectPublicKeyInfo PEM; KeyFormatError otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise KeyFormatError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFormatError("not an Ed25519 public key")
    return key
