"""The payload inside an envelope: one POSIX ustar archive of ``deposit.json`` and ``dossier.pdf``.

**Format.** A ustar archive (POSIX.1-1988, what ``tar --format=ustar``
writes and every tar reads) with exactly two regular files, in this order:

==================  =====================================================
``deposit.json``    the deposit's description (docs/contracts.md), UTF-8
                    JSON with sorted keys, mode 0600
``dossier.pdf``     the dossier PDF (a cover page then the pages), 0600
==================  =====================================================

Both members carry the deposit's creation time as mtime and uid/gid 0, so the
same deposit packs to the same bytes. The archive is *streamed*: :func:`pack`
yields its pieces (512-byte headers, the caller's own PDF buffer as a
zero-copy ``memoryview``, padding, the two zero blocks of the end) straight
into the encryptor; it is never assembled in memory nor written anywhere in
clear.

**Unpacking** (back office, after decryption) trusts nothing, because an
envelope only proves that *someone* holding a recipient key wrote it: the
recipients are public, so anyone can encrypt a hand-made archive to the back
office. :func:`unpack_safely` accepts exactly the archive :func:`pack` writes
and refuses, by looking at each header *before a byte of it is written*:

- any name other than ``deposit.json`` and ``dossier.pdf`` (so no path, no
  ``..``, no folder), and names with control or other non-printable
  characters (an ANSI escape in a name must never reach a terminal: every
  name an error quotes is escaped);
- sparse members, in every form :mod:`tarfile` understands: the old GNU type
  ``S`` and the pax ``GNU.sparse.*`` forms 0.0, 0.1 and 1.0. A sparse member
  declares a size its archive does not hold (an 11.9 KB envelope unpacked to
  2 GiB of zeros before this check existed); ``tarfile`` counts them as
  regular files, so ``isreg()`` alone lets them through;
- links, devices, FIFOs, folders, contiguous files and any other type than a
  plain regular file; any pax extended header (:func:`pack` writes plain
  ustar, and pax records can override sizes and names);
- a name seen twice, and a member over its own cap (``deposit.json``
  :data:`MAX_JSON_BYTES`, ``dossier.pdf`` :data:`MAX_MEMBER_BYTES`) or over
  :data:`MAX_TOTAL_BYTES` in all.

It writes into a temporary folder beside ``dest``, renamed into place only at
the end, and removed on any failure, so a refused archive leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from deposit.errors import ArchiveError

DEPOSIT_JSON = "deposit.json"
DOSSIER_PDF = "dossier.pdf"
MEMBERS = (DEPOSIT_JSON, DOSSIER_PDF)
BLOCK = 512
MAX_JSON_BYTES = 1024**2             # 1 MiB: a deposit.json is a few KiB
MAX_MEMBER_BYTES = 2 * 1024**3       # 2 GiB: dossier.pdf, far above any dossier
MAX_TOTAL_BYTES = 4 * 1024**3
_PLAIN_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE)   # not CONTTYPE nor GNUTYPE_SPARSE

_ZEROS = bytes(2 * BLOCK)


def encode_deposit_json(deposit_json: dict[str, Any]) -> bytes:
    """``deposit.json`` as packed: UTF-8 JSON, sorted keys, indented for people."""
    return json.dumps(deposit_json, sort_keys=True, ensure_ascii=False, indent=1,
                      allow_nan=False).encode("utf-8") + b"\n"


def _header(name: str, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = mtime
    info.type = tarfile.REGTYPE
    info.uname = info.gname = ""
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def _member(name: str, data: bytes | memoryview, mtime: int) -> Iterator[bytes | memoryview]:
    yield _header(name, len(data), mtime)
    yield data
    pad = -len(data) % BLOCK
    if pad:
        yield _ZEROS[:pad]


def pack(deposit_json: dict[str, Any], pdf: bytes | bytearray | memoryview, *,
         mtime: datetime | None = None) -> Iterator[bytes | memoryview]:
    """The archive's pieces, in order; write each to the encryptor. Nothing is copied."""
    stamp = int(mtime.timestamp()) if mtime is not None else 0
    yield from _member(DEPOSIT_JSON, encode_deposit_json(deposit_json), stamp)
    yield from _member(DOSSIER_PDF, memoryview(pdf), stamp)
    yield _ZEROS


def packed_size(deposit_json: dict[str, Any], pdf_size: int) -> int:
    """The archive's size in bytes, without building it."""
    def member(n: int) -> int:
        return BLOCK + n + (-n % BLOCK)
    return member(len(encode_deposit_json(deposit_json))) + member(pdf_size) + 2 * BLOCK


def printable(text: str) -> str:
    """``text`` with every control or other non-printable character escaped.

    ESC, CSI (U+009B), DEL, bidi overrides, line separators and the lone
    surrogates that stand for undecodable bytes in file names become ``\\xNN``,
    ``\\uNNNN`` or ``\\UNNNNNNNN``, as :func:`repr` writes them; everything
    else (accented letters, spaces) is left as it is. Backslashes are not
    doubled, so escaping twice changes nothing and a message that already
    quotes names with ``!r`` can be passed through again at the edge where it
    reaches a terminal.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _safe_name(name: str) -> str:
    """``name`` when it is a plain relative POSIX path; :class:`ArchiveError` if not.

    Error messages quote the name with ``!r``: control characters are escaped.
    """
    if not name or "\x00" in name or "\\" in name:
        raise ArchiveError(f"member name {name!r} is empty or has a NUL or backslash")
    if not name.isprintable():
        raise ArchiveError(f"member name {name!r} has control or non-printable characters")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise ArchiveError(f"member {name!r} has an absolute path")
    if any(part in ("..", "") for part in name.split("/")) or ".." in path.parts:
        raise ArchiveError(f"member {name!r} leaves the folder ('..' or an empty component)")
    if name != path.as_posix() or name.startswith("./"):
        raise ArchiveError(f"member name {name!r} is not in normal form")
    return name


def _check_member(member: tarfile.TarInfo, caps: Mapping[str, int]) -> str:
    """The member's name once its header passed every check; nothing is read or written."""
    name = _safe_name(member.name)
    if member.issparse() or member.type == tarfile.GNUTYPE_SPARSE or any(
            key.startswith("GNU.sparse.") for key in member.pax_headers):
        raise ArchiveError(f"member {name!r} is a sparse file, whose declared size is not "
                           "in the archive: sparse members are refused")
    if member.type not in _PLAIN_FILE_TYPES:
        raise ArchiveError(f"member {name!r} is not a regular file "
                           "(links, devices, FIFOs and folders are refused)")
    if member.pax_headers:
        keys = ", ".join(sorted(printable(key) for key in member.pax_headers))
        raise ArchiveError(f"member {name!r} has pax extended headers ({keys}); the payload "
                           "is plain ustar")
    if name not in caps:
        raise ArchiveError(f"member {name!r} is not expected (only "
                           f"{', '.join(caps)})")
    if member.size < 0:
        raise ArchiveError(f"member {name!r} declares a negative size")
    if member.size > caps[name]:
        raise ArchiveError(f"member {name!r} is {member.size} bytes, over the limit of "
                           f"{caps[name]}")
    return name


def unpack_safely(src: BinaryIO, dest: str | os.PathLike[str], *,
                  max_member_bytes: int = MAX_MEMBER_BYTES,
                  max_total_bytes: int = MAX_TOTAL_BYTES,
                  max_json_bytes: int = MAX_JSON_BYTES) -> dict[str, Path]:
    """Extract a payload archive read from ``src`` into the new folder ``dest``.

    Returns ``{member name: path}``: exactly ``deposit.json`` and
    ``dossier.pdf``. ``dest`` must not exist; it appears only once every
    member was checked and written. Each header is checked (see the module's
    docstring) before any of its data is written; ``deposit.json`` is capped
    at ``min(max_json_bytes, max_member_bytes)``, ``dossier.pdf`` at
    ``max_member_bytes``. Raises :class:`ArchiveError` (nothing left behind;
    names in its message are escaped) or FileExistsError.
    """
    target = Path(dest)
    if target.exists():
        raise FileExistsError(f"{printable(str(target))} already exists")
    caps = {DEPOSIT_JSON: min(max_json_bytes, max_member_bytes), DOSSIER_PDF: max_member_bytes}
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    written: dict[str, Path] = {}
    total = 0
    try:
        try:
            archive = tarfile.open(fileobj=src, mode="r|")  # noqa: SIM115 - closed below
        except (tarfile.TarError, ValueError, EOFError) as exc:  # opening parses the first header
            raise ArchiveError(f"not a tar archive ({printable(str(exc))})") from None
        with archive:
            try:
                for member in archive:
                    name = _check_member(member, caps)
                    if name in written:
                        raise ArchiveError(f"member {name!r} appears twice")
                    total += member.size
                    if total > max_total_bytes:
                        raise ArchiveError(f"the members add up to more than {max_total_bytes}"
                                           " bytes")
                    data = archive.extractfile(member)
                    if data is None:  # pragma: no cover - regular members always have data
                        raise ArchiveError(f"member {name!r} has no data")
                    fd = os.open(work / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        copied = _copy_limited(data, out, member.size)
                    if copied != member.size:
                        raise ArchiveError(f"member {name!r} is truncated")
                    written[name] = target / name
            except (tarfile.TarError, ValueError, EOFError) as exc:
                # tarfile lets ValueError out of hostile pax and sparse records (int() of
                # garbage, a sparse map without its numbers); all of it is a damaged archive.
                raise ArchiveError(f"damaged tar archive ({printable(str(exc))})") from None
        missing = [name for name in MEMBERS if name not in written]
        if missing:
            raise ArchiveError(f"the archive lacks {', '.join(missing)}")
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return written


def _copy_limited(src: IO[bytes], dst: IO[bytes], limit: int) -> int:
    copied = 0
    while copied <= limit:
        block = src.read(min(1 << 20, limit - copied + 1))
        if not block:
            break
        dst.write(block)
        copied += len(block)
    return copied


def read_deposit_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load an unpacked ``deposit.json``; ArchiveError when it is not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(f"{DEPOSIT_JSON} cannot be read ({exc})") from None
    if not isinstance(data, dict):
        raise ArchiveError(f"{DEPOSIT_JSON} is not a JSON object")
    return data
