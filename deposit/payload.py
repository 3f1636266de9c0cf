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

**Unpacking** (back office, after decryption) trusts nothing:
:func:`unpack_safely` refuses absolute paths, ``..``, links, devices, FIFOs,
directories, duplicate names and members beyond a size limit (each, and in
total), and writes into a temporary folder renamed into place only at the end
(removed on failure).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from deposit.errors import ArchiveError

DEPOSIT_JSON = "deposit.json"
DOSSIER_PDF = "dossier.pdf"
MEMBERS = (DEPOSIT_JSON, DOSSIER_PDF)
BLOCK = 512
MAX_MEMBER_BYTES = 2 * 1024**3       # 2 GiB: far above any dossier
MAX_TOTAL_BYTES = 4 * 1024**3
MAX_MEMBERS = 16

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


def _safe_name(name: str) -> str:
    if not name or "\x00" in name or "\\" in name:
        raise ArchiveError(f"member name {name!r} is empty or has a NUL or backslash")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise ArchiveError(f"member {name!r} has an absolute path")
    if any(part in ("..", "") for part in name.split("/")) or ".." in path.parts:
        raise ArchiveError(f"member {name!r} leaves the folder ('..' or an empty component)")
    if name != path.as_posix() or name.startswith("./"):
        raise ArchiveError(f"member name {name!r} is not in normal form")
    return name


def unpack_safely(src: BinaryIO, dest: str | os.PathLike[str], *,
                  max_member_bytes: int = MAX_MEMBER_BYTES,
                  max_total_bytes: int = MAX_TOTAL_BYTES,
                  required: tuple[str, ...] = MEMBERS) -> dict[str, Path]:
    """Extract a payload archive read from ``src`` into the new folder ``dest``.

    Returns ``{member name: path}``. ``dest`` must not exist; it appears only
    once every member was checked and written. Raises :class:`ArchiveError`
    (nothing left behind) or FileExistsError.
    """
    target = Path(dest)
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    written: dict[str, Path] = {}
    total = 0
    try:
        try:
            archive = tarfile.open(fileobj=src, mode="r|")  # noqa: SIM115 - closed below
        except tarfile.TarError as exc:
            raise ArchiveError(f"not a tar archive ({exc})") from None
        with archive:
            try:
                for member in archive:
                    name = _safe_name(member.name)
                    if not member.isreg():
                        raise ArchiveError(f"member {name!r} is not a regular file "
                                           "(links, devices, FIFOs and folders are refused)")
                    if name in written:
                        raise ArchiveError(f"member {name!r} appears twice")
                    if len(written) >= MAX_MEMBERS:
                        raise ArchiveError(f"more than {MAX_MEMBERS} members")
                    if member.size > max_member_bytes:
                        raise ArchiveError(f"member {name!r} is {member.size} bytes, over the "
                                           f"limit of {max_member_bytes}")
                    total += member.size
                    if total > max_total_bytes:
                        raise ArchiveError(f"the members add up to more than {max_total_bytes}"
                                           " bytes")
                    out_path = work / name
                    out_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    data = archive.extractfile(member)
                    if data is None:  # pragma: no cover - isreg() members always have data
                        raise ArchiveError(f"member {name!r} has no data")
                    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        copied = _copy_limited(data, out, member.size)
                    if copied != member.size:
                        raise ArchiveError(f"member {name!r} is truncated")
                    written[name] = target / name
            except tarfile.TarError as exc:
                raise ArchiveError(f"damaged tar archive ({exc})") from None
        missing = [name for name in required if name not in written]
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
