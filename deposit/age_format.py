"""The age v1 file format (c2sp.org/age): header, ASCII armor, STREAM payload.

This module knows the bytes on the wire and nothing about keys
(:mod:`deposit.age_keys` wraps and unwraps file keys; :mod:`deposit.envelope`
is the public API). Parsing is strict, as the specification requires, so that
an age file has exactly one encoding: canonical unpadded base64, LF line ends,
body lines of exactly 64 columns but the last, which is shorter (maybe empty).

Memory is bounded whatever the file's size: the header is limited to
:data:`MAX_HEADER_BYTES`, the payload is handled one 64 KiB chunk at a time in
buffers allocated once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from deposit.errors import ArmorError, HeaderError, PayloadError

INTRO = b"age-encryption.org/v1\n"
VERSION_PREFIX = b"age-encryption.org/"
STANZA_PREFIX = b"->"
MAC_PREFIX = b"---"
COLUMNS = 64
BYTES_PER_LINE = COLUMNS // 4 * 3            # 48 bytes of body per full base64 line
FILE_KEY_SIZE = 16
NONCE_SIZE = 16
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
MAX_HEADER_BYTES = 1 << 20                   # far above any real header (a PQ stanza is ~1.6 kB)
MAX_LINE = 16 * 1024

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
MAX_ARMOR_WHITESPACE = 1024

_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


# ------------------------------------------------------------------ base64

def b64encode(data: bytes) -> str:
    """Canonical unpadded standard base64, as age writes it."""
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str | bytes) -> bytes:
    """Decode canonical unpadded base64; ValueError on padding, bad characters, non-canonical."""
    raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    if not _B64_ALPHABET.issuperset(raw):
        raise ValueError("invalid base64 character")
    if len(raw) % 4 == 1:
        raise ValueError("invalid base64 length")
    try:
        data = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from None
    if base64.b64encode(data).rstrip(b"=") != raw:
        raise ValueError("non-canonical base64")
    return data


def _b64decode_padded(line: bytes) -> bytes:
    """Strict padded base64 (the armor's): canonical, padding only at the end."""
    if len(line) % 4:
        raise ValueError("base64 line length is not a multiple of 4")
    body = line.rstrip(b"=")
    if len(line) - len(body) > 2 or not _B64_ALPHABET.issuperset(body):
        raise ValueError("invalid base64 character or padding")
    data = base64.b64decode(line, validate=True)
    if base64.b64encode(data) != line:
        raise ValueError("non-canonical base64")
    return data


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 with 32 bytes of output, as every key of the format is derived."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


# ------------------------------------------------------------------ sources

class Readable(Protocol):
    def readinto(self, buffer: memoryview) -> int | None: ...


class Source:
    """A reader with a small look-ahead buffer over any binary stream.

    ``readinto`` fills the whole view unless the end of the stream comes first,
    so callers never see short reads from pipes or sockets.
    """

    def __init__(self, raw: Readable) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._scratch = bytearray(8192)

    def _fill(self, want: int) -> None:
        view = memoryview(self._scratch)
        while len(self._buf) < want:
            n = self._raw.readinto(view)
            if not n:
                return
            self._buf += view[:n]

    @property
    def raw(self) -> Readable:
        return self._raw

    def buffered(self) -> int:
        """How many bytes were read from the raw stream but not yet consumed."""
        return len(self._buf)

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self._buf[:n])

    def readline(self, limit: int = MAX_LINE) -> bytes:
        """One line with its LF, or what is left at the end (no LF); ValueError past ``limit``."""
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                if end + 1 > limit:
                    raise ValueError("line too long")
                line = bytes(self._buf[: end + 1])
                del self._buf[: end + 1]
                return line
            if len(self._buf) > limit:
                raise ValueError("line too long")
            start = len(self._buf)
            before = len(self._buf)
            self._fill(before + 1)
            if len(self._buf) == before:
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` completely, or as far as the stream goes; the count read."""
        pos = 0
        if self._buf:
            pos = min(len(self._buf), len(view))
            view[:pos] = self._buf[:pos]
            del self._buf[:pos]
        while pos < len(view):
            n = self._raw.readinto(view[pos:])
            if not n:
                break
            pos += n
        return pos

    def at_eof(self) -> bool:
        return not self.peek(1)


class ArmorReader:
    """Strict decoder of age's ASCII armor (RFC 7468 strict PEM, label AGE ENCRYPTED FILE).

    Accepts LF or CRLF line ends and whitespace before and after the block,
    nothing else: no headers, no checksum line, lines of exactly 64 columns but
    the last, canonical padded base64. Raises :class:`ArmorError`.
    """

    def __init__(self, src: Source) -> None:
        self._src = src
        self._pending = b""
        self._started = False
        self._done = False

    def _line(self) -> bytes:
        try:
            line = self._src.readline(limit=MAX_LINE)
        except ValueError:
            raise ArmorError("invalid armor: line too long") from None
        if not line:
            raise ArmorError("invalid armor: unexpected end of file before the END line")
        line = line.removesuffix(b"\n")
        return line.removesuffix(b"\r")

    def _drain_trailing(self) -> None:
        rest = self._src.peek(MAX_ARMOR_WHITESPACE + 1)
        if rest.strip():
            raise ArmorError("invalid armor: data after the END line")
        if len(rest) > MAX_ARMOR_WHITESPACE:
            raise ArmorError("invalid armor: too much trailing whitespace")
        self._done = True

    def _start(self) -> None:
        skipped = 0
        while True:
            line = self._line()
            if line.strip():
                break
            skipped += len(line) + 1
            if skipped > MAX_ARMOR_WHITESPACE:
                raise ArmorError("invalid armor: too much leading whitespace")
        if line != ARMOR_BEGIN:
            raise ArmorError("not an age file: it starts neither with 'age-encryption.org/' nor "
                             "with the line '-----BEGIN AGE ENCRYPTED FILE-----'")
        self._started = True

    def _next_block(self) -> bytes:
        line = self._line()
        if line == ARMOR_END:
            self._drain_trailing()
            return b""
        if not line:
            raise ArmorError("invalid armor: empty line in the armored data")
        if len(line) > COLUMNS:
            raise ArmorError("invalid armor: line longer than 64 columns")
        try:
            data = _b64decode_padded(line)
        except ValueError as exc:
            raise ArmorError(f"invalid armor: {exc}") from None
        if len(data) < BYTES_PER_LINE:
            if self._line() != ARMOR_END:
                raise ArmorError("invalid armor: short line not followed by the END line")
            self._drain_trailing()
        return data

    def readinto(self, view: memoryview) -> int:
        if not self._started:
            self._start()
        pos = 0
        while pos < len(view):
            if not self._pending:
                if self._done:
                    break
                self._pending = self._next_block()
                if not self._pending:
                    continue
            n = min(len(self._pending), len(view) - pos)
            view[pos:pos + n] = self._pending[:n]
            self._pending = self._pending[n:]
            pos += n
        return pos


def open_source(raw: BinaryIO) -> Source:
    """The binary age stream of ``raw``, decoding ASCII armor when the file is armored.

    A binary age file starts with ``age-encryption.org/``; anything else (but
    an empty file, which is a header failure) is read as armor.
    """
    src = Source(raw)  # type: ignore[arg-type]  # binary files all have readinto
    head = src.peek(len(VERSION_PREFIX))
    if not head or head == VERSION_PREFIX:
        return src
    return Source(ArmorReader(src))


# ------------------------------------------------------------------ header

@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: ``-> type args...`` and its body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        parts = [STANZA_PREFIX, self.type.encode("ascii"), *(a.encode("ascii") for a in self.args)]
        text = b64encode(self.body).encode("ascii")
        lines = [text[i:i + COLUMNS] for i in range(0, len(text), COLUMNS)]
        if not lines or len(lines[-1]) == COLUMNS:
            lines.append(b"")
        return b" ".join(parts) + b"\n" + b"".join(line + b"\n" for line in lines)


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes   # the header bytes up to and including "---"


def header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    key = hkdf_sha256(file_key, b"", b"header")
    return hmac.new(key, mac_input, sha256).digest()


def encode_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    mac_input = INTRO + b"".join(s.encode() for s in stanzas) + MAC_PREFIX
    return mac_input + b" " + b64encode(header_mac(file_key, mac_input)).encode("ascii") + b"\n"


def _valid_arg(arg: bytes) -> bool:
    return bool(arg) and all(33 <= c <= 126 for c in arg)


def parse_header(src: Source) -> Header:
    """Read and check the header's syntax; the source is left at the payload's first byte."""
    seen = 0

    def line() -> bytes:
        nonlocal seen
        try:
            text = src.readline(limit=MAX_LINE)
        except ValueError:
            raise HeaderError("malformed header: line too long") from None
        seen += len(text)
        if seen > MAX_HEADER_BYTES:
            raise HeaderError("malformed header: header too large")
        if not text.endswith(b"\n"):
            raise HeaderError("malformed header: unexpected end of file")
        return text

    raw = bytearray()
    try:
        first = src.readline(limit=MAX_LINE)
    except ValueError:
        raise HeaderError("malformed header: bad version line") from None
    if not first:
        raise HeaderError("malformed header: the file is empty")
    seen += len(first)
    if first != INTRO:
        if first.startswith(VERSION_PREFIX) and first.endswith(b"\n") and b"\r" not in first:
            raise HeaderError("unsupported age version "
                              f"{first[len(VERSION_PREFIX):-1].decode('ascii', 'replace')!r}")
        raise HeaderError("malformed header: bad version line")
    raw += first
    stanzas: list[Stanza] = []
    while True:
        if src.peek(len(MAC_PREFIX)) == MAC_PREFIX:
            text = line()
            parts = text[:-1].split(b" ")
            if parts[0] != MAC_PREFIX or len(parts) != 2:
                raise HeaderError("malformed header: bad MAC line")
            try:
                mac = b64decode(parts[1])
            except ValueError:
                raise HeaderError("malformed header: MAC is not canonical base64") from None
            if len(mac) != 32:
                raise HeaderError("malformed header: MAC has the wrong length")
            raw += MAC_PREFIX
            break
        text = line()
        raw += text
        parts = text[:-1].split(b" ")
        if parts[0] != STANZA_PREFIX or len(parts) < 2 or not all(map(_valid_arg, parts[1:])):
            raise HeaderError("malformed header: bad stanza line")
        body = bytearray()
        while True:
            text = line()
            raw += text
            try:
                chunk = b64decode(text[:-1])
            except ValueError:
                raise HeaderError("malformed header: bad stanza body line") from None
            if len(chunk) > BYTES_PER_LINE:
                raise HeaderError("malformed header: stanza body line longer than 64 columns")
            body += chunk
            if len(chunk) < BYTES_PER_LINE:
                break
        args = [p.decode("ascii") for p in parts[1:]]
        stanzas.append(Stanza(args[0], tuple(args[1:]), bytes(body)))
    if not stanzas:
        raise HeaderError("malformed header: no recipient stanza")
    if any(s.type == "scrypt" for s in stanzas) and len(stanzas) > 1:
        raise HeaderError("malformed header: an scrypt stanza must be the only stanza")
    return Header(tuple(stanzas), mac, bytes(raw))


def check_shape(head: bytes, size: int, stanza_types: frozenset[str]) -> Header:
    """Check, without any key, that ``size`` bytes beginning with ``head`` are an age file.

    For a receiver that cannot decrypt (the back office holds no identity): a
    binary (not armored) v1 header whose stanzas are all of ``stanza_types``,
    then a nonce, then a payload whose length is a possible STREAM length (every
    chunk carries its tag; only the last may be short). ``head`` must hold the
    whole header (the first 64 KiB of the file are plenty for a few recipients).
    :class:`HeaderError` says what is wrong.
    """
    if not head.startswith(INTRO):
        raise HeaderError("not a binary age v1 file")
    stream = io.BytesIO(head)
    src = Source(stream)
    header = parse_header(src)
    consumed = stream.tell() - src.buffered()
    strange = sorted({s.type for s in header.stanzas} - stanza_types)
    if strange:
        shown = ", ".join(repr(t[:32]) for t in strange)
        raise HeaderError(f"recipient stanzas of unexpected types {shown} (expected "
                          f"{', '.join(sorted(stanza_types))})")
    payload = size - consumed - NONCE_SIZE
    if payload < TAG_SIZE:
        raise HeaderError("no payload after the header")
    last = payload % ENC_CHUNK_SIZE
    if 0 < last < TAG_SIZE:
        raise HeaderError("the payload's length is not a whole number of chunks")
    return header


# ------------------------------------------------------------------ payload (STREAM)

def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return hkdf_sha256(file_key, nonce, b"payload")


def _set_counter(nonce: bytearray, counter: int, last: bool) -> None:
    nonce[0:11] = counter.to_bytes(11, "big")
    nonce[11] = 1 if last else 0


class Writable(Protocol):
    def write(self, data: memoryview | bytes, /) -> object: ...


class ChunkSink(Writable, Protocol):
    """A sink that lends the encryptor its own buffers, so ciphertext is never copied.

    ``acquire()`` returns a writable view of at least :data:`ENC_CHUNK_SIZE`
    bytes; ``commit(view, n)`` hands its first ``n`` bytes back, in order.
    """

    def acquire(self) -> memoryview: ...

    def commit(self, buffer: memoryview, n: int, /) -> None: ...


class StreamEncryptor:
    """Encrypts a payload chunk by chunk; ``write`` as often as needed, then ``close``.

    A full chunk is held back until more data arrives (or ``close``), because
    only then is it known whether it is the last one. Two 64 KiB buffers are
    allocated once; caller data is copied only to fill a partial chunk, and a
    :class:`ChunkSink` receives ciphertext encrypted straight into its buffers.
    """

    def __init__(self, key: bytes, dst: Writable) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._dst = dst
        self._lender: ChunkSink | None = dst if hasattr(dst, "acquire") else None  # type: ignore[assignment]
        self._plain = bytearray(CHUNK_SIZE)
        self._plain_view = memoryview(self._plain)
        self._fill = 0
        self._out = bytearray(ENC_CHUNK_SIZE)
        self._out_view = memoryview(self._out)
        self._nonce = bytearray(12)
        self._counter = 0
        self._closed = False

    def _encrypt(self, plain: memoryview, last: bool) -> None:
        _set_counter(self._nonce, self._counter, last)
        size = len(plain) + TAG_SIZE
        if self._lender is not None:
            buffer = self._lender.acquire()
            self._aead.encrypt_into(self._nonce, plain, None, buffer[:size])
            self._lender.commit(buffer, size)
        else:
            out = self._out_view[:size]
            self._aead.encrypt_into(self._nonce, plain, None, out)
            self._dst.write(out)
        self._counter += 1

    def _seal(self, last: bool) -> None:
        self._encrypt(self._plain_view[:self._fill], last)
        self._fill = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed encryptor")
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            if self._fill == CHUNK_SIZE:
                self._seal(last=False)
            if self._fill == 0 and len(view) > CHUNK_SIZE:
                # Whole chunks straight from the caller's buffer, no copy, keeping the
                # last full chunk back (it may be the final one).
                self._encrypt(view[:CHUNK_SIZE], last=False)
                view = view[CHUNK_SIZE:]
                continue
            n = min(CHUNK_SIZE - self._fill, len(view))
            self._plain_view[self._fill:self._fill + n] = view[:n]
            self._fill += n
            view = view[n:]
        return total

    def close(self) -> None:
        """Seal the final chunk (empty only when the whole payload is empty)."""
        if not self._closed:
            self._seal(last=True)
            self._closed = True


def decrypt_chunks(key: bytes, src: Source, *, spool: Writable | None = None
                   ) -> Iterator[memoryview]:
    """Yield each authenticated plaintext chunk of the payload in order.

    The view is only valid until the next one is asked for (one buffer, reused).
    Raises :class:`PayloadError` on the first chunk that fails, on a missing
    final chunk, an empty final chunk (but for an empty payload) and trailing
    data; nothing after an error is yielded. With ``spool``, every ciphertext
    chunk is also written there as it is read (ciphertext only).
    """
    aead = ChaCha20Poly1305(key)
    enc = bytearray(ENC_CHUNK_SIZE + 1)     # one extra byte to look ahead for the end
    enc_view = memoryview(enc)
    plain = bytearray(CHUNK_SIZE)
    plain_view = memoryview(plain)
    nonce = bytearray(12)
    counter = 0
    carry = 0                               # bytes already in enc from the look-ahead
    while True:
        n = carry + src.readinto(enc_view[carry:])
        if n <= ENC_CHUNK_SIZE:
            last = True
            size = n
            if size < TAG_SIZE or (size == TAG_SIZE and counter > 0):
                raise PayloadError("the payload is truncated or its final chunk is empty")
        else:
            last = False
            size = ENC_CHUNK_SIZE
        _set_counter(nonce, counter, last)
        out = plain_view[:size - TAG_SIZE]
        try:
            aead.decrypt_into(nonce, enc_view[:size], None, out)
        except InvalidTag:
            raise PayloadError("the payload does not authenticate: the file was altered, "
                               "truncated or damaged") from None
        if spool is not None:
            spool.write(enc_view[:size])
        yield out
        if last:
            return
        enc[0] = enc[ENC_CHUNK_SIZE]
        carry = 1
        counter += 1


def read_nonce(src: Source) -> bytes:
    nonce = bytearray(NONCE_SIZE)
    if src.readinto(memoryview(nonce)) != NONCE_SIZE:
        raise HeaderError("malformed file: the payload nonce is missing or short")
    return bytes(nonce)


def random_file_key() -> bytes:
    return os.urandom(FILE_KEY_SIZE)
