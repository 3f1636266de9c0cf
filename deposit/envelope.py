"""Envelopes: age v1 files (c2sp.org/age), post-quantum by default.

Public API (see docs/contracts.md, "Dossier")::

    encrypt(src, dst, recipients)              # streams, 64 KiB chunks, constant memory
    Encryptor(dst, recipients)                 # the same as a writable object (write/close)
    decrypt(src, dst, identities)              # writes nothing until everything authenticated
    decrypt_to_file(src, path, identities)     # temporary name, renamed when authenticated
    generate_identity(kind) -> (identity, recipient)
    recipient_of(identity) -> recipient
    load_identities(path) / format_identity_file(identity, created)

Recipients are age strings: ``age1pq1…`` (``mlkem768x25519``, the default
kind, hybrid ML-KEM-768 + X25519) or ``age1…`` (X25519). One file is never
encrypted to both kinds: a post-quantum file with a classical stanza would be
only as strong as X25519, so :func:`encrypt` refuses the mix
(:class:`RecipientError`), as the specification asks.

Identities are age strings too (``AGE-SECRET-KEY-PQ-1…``, ``AGE-SECRET-KEY-1…``);
a string may also hold a whole identity file (``#`` comments, one key a line).
Files may be binary or ASCII-armored. Passphrase (scrypt) files are refused
with :class:`PassphraseNotSupportedError`.

**What decryption releases, and when.** An age payload is a sequence of
independently authenticated 64 KiB chunks, the last one flagged; a truncated
file is only detectable at its end. Both decryption functions therefore make
sure a caller never acts on a file that does not authenticate as a whole:

- :func:`decrypt_to_file` writes into a new file with a temporary name in the
  destination folder (mode 0600), fsyncs it, and renames it to ``path`` only
  after the final chunk authenticated; on any failure the temporary file is
  removed and ``path`` is untouched.
- :func:`decrypt` (to a caller's stream) runs two passes. The first
  authenticates every chunk and writes nothing to ``dst``; when ``src`` cannot
  seek (a pipe, an armored file), the *ciphertext* is spooled meanwhile to an
  anonymous temporary file that has no name (``O_TMPFILE``/unlinked), so no
  plaintext is ever spooled to disk. The second pass decrypts again from the
  start and writes each chunk to ``dst`` once it authenticated. If the source
  was modified between the passes, the second pass raises
  :class:`PayloadError`; ``dst`` then holds an authentic prefix of the
  plaintext (never a forged byte), and the error says so.

Every failure is a :class:`DecryptionError` whose ``kind`` is one of
``armor``, ``header``, ``no match``, ``hmac``, ``payload``; no message says
which byte or chunk failed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from deposit import age_keys
from deposit.age_format import (
    CHUNK_SIZE,
    ArmorReader,
    Header,
    Source,
    StreamEncryptor,
    Writable,
    b64decode,
    decrypt_chunks,
    encode_header,
    header_mac,
    open_source,
    parse_header,
    payload_key,
    random_file_key,
    read_nonce,
)
from deposit.age_keys import Identity, KeyKind, NotForMe, Recipient
from deposit.errors import (
    HeaderError,
    HeaderMacError,
    KeyFormatError,
    NoIdentityMatchError,
    PassphraseNotSupportedError,
    PayloadError,
    RecipientError,
)

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_KIND",
    "Encryptor",
    "decrypt",
    "decrypt_to_file",
    "encrypt",
    "format_identity_file",
    "generate_identity",
    "load_identities",
    "parse_identities",
    "parse_recipients",
    "recipient_of",
]

DEFAULT_KIND: KeyKind = "mlkem768x25519"
MAX_SCRYPT_WORK_FACTOR = 22


# ------------------------------------------------------------------ keys

def parse_recipients(recipients: Iterable[str]) -> list[Recipient]:
    """Parse age recipient strings and check they may share one file.

    Raises :class:`KeyFormatError` for a malformed string and
    :class:`RecipientError` for none at all or a post-quantum/classical mix.
    """
    parsed = [age_keys.parse_recipient(r) for r in recipients]
    if not parsed:
        raise RecipientError("no recipient given: an envelope must be readable by someone")
    kinds = {r.post_quantum for r in parsed}
    if len(kinds) > 1:
        raise RecipientError(
            "post-quantum (age1pq1…) and classical X25519 (age1…) recipients cannot be mixed in "
            "one file: the file would be only as strong as X25519. Use one kind only.")
    return parsed


def parse_identities(identities: Iterable[str]) -> list[Identity]:
    """Parse identity strings; each may be one key or a whole identity file's text."""
    parsed: list[Identity] = []
    for text in identities:
        parsed += age_keys.parse_identity_file(text)
    if not parsed:
        raise KeyFormatError("no identity given")
    return parsed


def load_identities(path: str | os.PathLike[str]) -> list[str]:
    """The identity strings of an age identity file (comments and blank lines skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFormatError(f"{path}: cannot read the identity file ({exc})") from None
    try:
        return [str(i) for i in age_keys.parse_identity_file(text)]
    except KeyFormatError as exc:
        raise KeyFormatError(f"{path}: {exc}") from None


def generate_identity(kind: KeyKind | str = DEFAULT_KIND) -> tuple[str, str]:
    """A new key pair as ``(identity, recipient)`` age strings."""
    if kind not in age_keys.KINDS:
        raise KeyFormatError(f"unknown key type {kind!r} (valid: {', '.join(age_keys.KINDS)})")
    identity = age_keys.generate(kind)
    return str(identity), str(identity.recipient())


def recipient_of(identity: str) -> str:
    """The recipient (public key) of one identity string."""
    return str(age_keys.parse_identity(identity).recipient())


def format_identity_file(identity: str, created: datetime) -> str:
    """An identity file as ``age-keygen`` writes it: created, public key, secret key."""
    return (f"# created: {created.isoformat(timespec='seconds')}\n"
            f"# public key: {recipient_of(identity)}\n"
            f"{identity}\n")


# ------------------------------------------------------------------ encryption

class Encryptor:
    """A writable age file: the header is written at once, the payload as data comes.

    ``close()`` seals the final chunk; without it (an exception inside a
    ``with`` block) the file stays unfinished and will never authenticate,
    which is the safe outcome. Memory: two 64 KiB buffers.
    """

    def __init__(self, dst: Writable, recipients: Sequence[str]) -> None:
        parsed = parse_recipients(recipients)
        file_key = random_file_key()
        stanzas = [r.wrap(file_key) for r in parsed]
        dst.write(encode_header(stanzas, file_key))
        nonce = secrets.token_bytes(16)
        dst.write(nonce)
        self._stream = StreamEncryptor(payload_key(file_key, nonce), dst)
        self.plaintext_size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        n = self._stream.write(data)
        self.plaintext_size += n
        return n

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Encryptor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()


def _readinto_full(src: BinaryIO, view: memoryview) -> int:
    pos = 0
    while pos < len(view):
        n = src.readinto(view[pos:])  # type: ignore[attr-defined]  # every binary stream has it
        if not n:
            break
        pos += n
    return pos


def encrypt(src: BinaryIO, dst: BinaryIO, recipients: Sequence[str]) -> None:
    """Encrypt everything ``src`` holds to ``dst`` for ``recipients`` (age strings).

    Streams in 64 KiB chunks; memory does not depend on the size. Raises
    :class:`KeyFormatError` or :class:`RecipientError` before writing anything.
    """
    buffer = bytearray(CHUNK_SIZE * 16)
    view = memoryview(buffer)
    with Encryptor(dst, recipients) as enc:
        while n := _readinto_full(src, view):
            enc.write(view[:n])


# ------------------------------------------------------------------ decryption

def _check_scrypt(header: Header) -> None:
    for stanza in header.stanzas:
        if stanza.type != "scrypt":
            continue
        if len(stanza.args) != 2:
            raise HeaderError("malformed scrypt stanza: wrong number of arguments")
        try:
            salt = b64decode(stanza.args[0])
        except ValueError:
            raise HeaderError("malformed scrypt stanza: salt is not canonical base64") from None
        factor = stanza.args[1]
        if len(salt) != 16 or not (factor.isascii() and factor.isdigit()) or factor[0] == "0":
            raise HeaderError("malformed scrypt stanza: bad salt or work factor")
        if int(factor) > MAX_SCRYPT_WORK_FACTOR:
            raise HeaderError("scrypt work factor too large")
        if len(stanza.body) != 32:
            raise HeaderError("malformed scrypt stanza: body is not 32 bytes")
        raise PassphraseNotSupportedError(
            "this file is encrypted with a passphrase (scrypt); the deposit tools open only "
            "files encrypted to age keys (age1pq1…, age1…)")


def _file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    for identity in identities:
        for stanza in header.stanzas:
            try:
                file_key = identity.unwrap(stanza)
            except NotForMe:
                continue
            if header_mac(file_key, header.mac_input) != header.mac:
                raise HeaderMacError("the header does not authenticate: the file was altered")
            return file_key
    types = sorted({s.type for s in header.stanzas})
    raise NoIdentityMatchError(
        f"none of the {len(identities)} identities given opens this file (its recipient "
        f"stanzas are of type {', '.join(types)})")


def _open(src: Source, identities: Sequence[str]) -> bytes:
    """Parse the header, find the file key, read the nonce: the payload key."""
    header = parse_header(src)
    _check_scrypt(header)
    if not any(text.strip() for text in identities):
        raise NoIdentityMatchError("no identity was given to open this file")
    parsed = parse_identities(identities)
    file_key = _file_key(header, parsed)
    return payload_key(file_key, read_nonce(src))


def _raw_position(raw: BinaryIO, src: Source) -> int | None:
    """Where ``src`` stands in ``raw`` when that is a seekable binary file, else None."""
    try:
        if not raw.seekable():
            return None
        return raw.tell() - src.buffered()
    except (OSError, AttributeError, ValueError):
        return None


def decrypt(src: BinaryIO, dst: BinaryIO, identities: Sequence[str]) -> None:
    """Decrypt ``src`` into ``dst``; nothing reaches ``dst`` before the whole file authenticated.

    See the module docstring for the two passes and the ciphertext spool.
    Raises a :class:`DecryptionError` subclass (``kind`` tells which), or
    :class:`KeyFormatError` for unusable identities.
    """
    source = open_source(src)
    key = _open(source, identities)
    start = None if isinstance(source.raw, ArmorReader) else _raw_position(src, source)
    spool: BinaryIO | None = None
    try:
        if start is None:
            spool = tempfile.TemporaryFile(prefix="deposit-spool-")  # noqa: SIM115 - closed below
        for _ in decrypt_chunks(key, source, spool=spool):
            pass
        if spool is not None:
            spool.seek(0)
            second = Source(spool)  # type: ignore[arg-type]  # binary files have readinto
        else:
            assert start is not None
            src.seek(start)
            second = Source(src)  # type: ignore[arg-type]
        try:
            for chunk in decrypt_chunks(key, second):
                dst.write(chunk)
        except PayloadError:
            raise PayloadError("the source changed while it was being decrypted; what was "
                               "written is authentic but incomplete") from None
    finally:
        if spool is not None:
            spool.close()


def decrypt_to_file(src: BinaryIO, path: str | os.PathLike[str], identities: Sequence[str], *,
                    overwrite: bool = False) -> None:
    """Decrypt ``src`` into a new file ``path``, which appears only once all authenticated.

    The plaintext goes to a temporary file (mode 0600) in ``path``'s folder,
    fsynced, then renamed; on any failure it is removed. Refuses to replace an
    existing ``path`` unless ``overwrite``. Raises like :func:`decrypt`, and
    FileExistsError.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    source = open_source(src)
    key = _open(source, identities)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                    dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in decrypt_chunks(key, source):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            tmp.replace(target)
        else:
            os.link(tmp, target)   # atomic, and fails if target appeared meanwhile
            tmp.unlink()
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

