"""Dossiers on removable media: the export format, written by the kiosk, read by the back office.

A kiosk the back office refuses (revoked, certificate expired) or one out of
network reach still gets its queued dossiers delivered: ``kiosk export --to
DIR`` writes them to removable media, a technician carries the medium to the
back office, ``backoffice import DIR`` ingests them with the checks of an
upload and writes the signed acknowledgements back into the export, and the
kiosk, shown the medium again, purges what those acknowledge. Only ciphertext
(the age envelopes, byte for byte) and signed manifests travel.

**Layout (version 1)**::

    DIR/<kiosk id>-<YYYYMMDDTHHMMSSZ>/      one export, e.g. MAIRIE-01-20251122T150405Z/
        <name>.age                          an envelope, byte for byte the outbox's
        <name>.manifest                     its signed manifest blob, exactly as sent in the
                                            tus Upload-Metadata of an upload
        export.json                         the index, written last
        acks/<name>.ack                     acknowledgements, written by the back office
    DIR/.<kiosk id>-<time>.<random>.partial  an export being written: never read

``<name>`` is the deposit number in its canonical form (``XXXX-XXXX-XXXX``)
with the check character ``*`` written ``+`` (:func:`file_stem`): FAT and
exFAT, the file systems of most removable media, forbid ``*`` in a name, and
one deposit number in 37 ends with it. The index::

    {"format": "deposit-kiosk-export", "version": 1, "kiosk_id": "MAIRIE-01",
     "created": "2025-11-22T15:04:05Z",
     "deposits": [{"deposit_id": "K7QM-00A3-Z91X", "envelope": "K7QM-00A3-Z91X.age",
                   "manifest": "K7QM-00A3-Z91X.manifest", "envelope_sha256": "<64 hex>",
                   "envelope_size": 123456}, ...]}

The folder's name is informative (staff may copy the folder anywhere); the
index is what counts. Nothing in it is trusted by the back office: it checks
every manifest's signature with the enrolled kiosk's key and every envelope
against its manifest.

**Writing** (:func:`write_export`) is durable and atomic for a medium pulled
out at any instant: everything goes into a hidden temporary folder, every file
is fsynced as it is written, the index last, then the folder, which is renamed
to its final name, and the medium's folder is fsynced. A yanked medium holds
either a complete export or a hidden ``.partial`` folder that
:func:`find_exports` ignores. An envelope is copied with its SHA-256 computed on
the way; one that does not match its manifest (a failing kiosk disk) is not
exported and is reported through the ``progress`` callback (outcome
``skipped``, with the reason) and the log; the export goes on with the others.
A full, read-only or vanished medium raises :class:`MediumFullError`,
:class:`MediumReadOnlyError` or :class:`ExportError` after removing what was
written (nothing left looks like an export).

**Reading** (:func:`read_export`) checks the structure strictly, without
verifying signatures (that needs the kiosk keys the back office holds): the
format and version, deposit numbers valid per :mod:`deposit.ids`, file names
exactly the ones derived from them (so no path can leave the folder), regular
files only (symbolic links are never followed), sizes bounded and equal to the
index's, each manifest well formed and describing its index entry, no entry
that the index does not list (hidden entries, such as the ``._*`` files some
systems add, are ignored). Failures raise :class:`ExportFormatError`, whose
``problem`` and ``path`` say which file failed which check.

This module does its own file operations rather than :mod:`deposit.fsutil`'s:
it writes on a medium it does not own (no ``link``, which FAT lacks; directory
fsync tolerated where the file system does not support it) and reads files
that may be hostile (``O_NOFOLLOW``, bounded reads).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from deposit import ids
from deposit import manifest as mf
from deposit.errors import (
    ExportError,
    ExportFormatError,
    ExportProblem,
    ManifestError,
    MediumFullError,
    MediumReadOnlyError,
)

log = logging.getLogger(__name__)

FORMAT = "deposit-kiosk-export"
VERSION = 1
INDEX = "export.json"
ACKS = "acks"
ENVELOPE_SUFFIX = ".age"
MANIFEST_SUFFIX = ".manifest"
ACK_SUFFIX = ".ack"
PARTIAL_SUFFIX = ".partial"

#: Bounds a reader enforces (a hostile index or file cannot make it read without end).
MAX_INDEX_BYTES = 4 * 1024 * 1024
MAX_DEPOSITS = 10_000
MAX_ENVELOPE_BYTES = 2**32 - 1        # FAT32's largest file
MAX_MANIFEST_BYTES = mf.MAX_BLOB
MAX_ACK_BYTES = 4096

_BLOCK = 1 << 20
_KIOSK_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{0,31}")
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_INDEX_KEYS = frozenset({"format", "version", "kiosk_id", "created", "deposits"})
_ENTRY_KEYS = frozenset({"deposit_id", "envelope", "manifest", "envelope_sha256",
                         "envelope_size"})


# ------------------------------------------------------------------ names

def file_stem(deposit_id: str) -> str:
    """The name of a deposit's files on the medium, without suffix.

    The canonical deposit number with ``*`` written ``+`` (``+`` is never part
    of a deposit number, so the mapping goes both ways). ValueError unless
    ``deposit_id`` is a deposit number in its canonical form.
    """
    if not isinstance(deposit_id, str) or ids.canonical(deposit_id) != deposit_id:
        raise ValueError(f"{deposit_id!r} is not a deposit number in its canonical form")
    return deposit_id.replace("*", "+")


def deposit_id_of_stem(stem: str) -> str | None:
    """Inverse of :func:`file_stem`: the deposit number a file name stands for, or None."""
    if "*" in stem:
        return None
    deposit_id = stem.replace("+", "*")
    return deposit_id if ids.canonical(deposit_id) == deposit_id else None


# ------------------------------------------------------------------ writing

class QueuedEnvelope(Protocol):
    """What the outbox lists of a deposit (``deposit.outbox.Entry`` and ``Claim`` are ones)."""

    @property
    def deposit_id(self) -> str: ...
    @property
    def manifest(self) -> bytes: ...
    @property
    def envelope_path(self) -> Path: ...
    @property
    def envelope_sha256(self) -> str: ...
    @property
    def envelope_size(self) -> int: ...


@dataclass(frozen=True)
class ExportItem:
    """One deposit to write to the medium: its signed manifest and where its envelope is."""

    deposit_id: str
    manifest: bytes             # the signed blob, exactly as sent in tus Upload-Metadata
    envelope_path: Path
    envelope_sha256: str
    envelope_size: int

    @classmethod
    def of(cls, queued: QueuedEnvelope) -> ExportItem:
        """The item of an outbox entry or claim."""
        return cls(queued.deposit_id, queued.manifest, Path(queued.envelope_path),
                   queued.envelope_sha256, queued.envelope_size)


class ItemOutcome(StrEnum):
    """What became of one item. Crosses into ``kiosk export``'s report."""

    EXPORTED = "exported"
    SKIPPED = "skipped"      # not written; ``reason`` says why (the export goes on)


@dataclass(frozen=True)
class ExportProgress:
    """Told to ``write_export``'s ``progress`` callback once per item, in order."""

    deposit_id: str
    outcome: ItemOutcome
    reason: str              # why it was skipped; "" when exported
    done: int                # items handled so far, this one included
    total: int
    bytes_done: int          # envelope bytes handled so far (copied or skipped)
    bytes_total: int


class _SourceError(Exception):
    """The kiosk's own copy of an envelope cannot be read (the item is skipped)."""


def write_export(dest: Path, kiosk_id: str, items: Iterable[ExportItem], *, now: datetime,
                 progress: Callable[[ExportProgress], None] | None = None) -> Path:
    """Write a new export folder ``dest/<kiosk_id>-<YYYYMMDDTHHMMSSZ>/``; return its path.

    ``dest`` is the medium's folder and must exist (it is never created: a
    medium that is not mounted must not become a folder on the kiosk's own
    disk). Items whose manifest does not describe them, whose envelope cannot
    be read or does not match its manifest's SHA-256 and size are not written:
    ``progress`` hears of each item (exported or skipped, with the reason).

    Raises :class:`MediumFullError` (also before writing anything, when the
    free space cannot hold the export), :class:`MediumReadOnlyError`,
    :class:`ExportError` (no deposit could be exported, the folder exists, the
    medium failed or was removed); in every case nothing that looks like an
    export is left. ValueError for a malformed ``kiosk_id`` or a naive ``now``.
    """
    if not isinstance(kiosk_id, str) or not _KIOSK_ID.fullmatch(kiosk_id):
        raise ValueError(f"kiosk id {kiosk_id!r} is not 1-32 capital letters, digits or '-'")
    created = mf.rfc3339(now)
    todo = list(items)
    if not todo:
        raise ExportError("nothing to export")
    try:
        if not stat.S_ISDIR(dest.stat().st_mode):
            raise ExportError(f"{dest} is not a folder")
    except FileNotFoundError:
        raise ExportError(f"{dest} does not exist (is the medium mounted?)") from None
    except OSError as exc:
        raise _medium_error(exc, dest, 0) from None
    final = dest / f"{kiosk_id}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    if os.path.lexists(final):
        raise ExportError(f"{final} exists; an export is never overwritten (try again in a "
                          f"second)")
    needed = _check_space(dest, todo)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=PARTIAL_SUFFIX, dir=dest))
    except OSError as exc:
        raise _medium_error(exc, dest, needed) from None
    try:
        entries, skipped = _fill(work, kiosk_id, todo, progress)
        if not entries:
            raise ExportError("no deposit could be exported: " + "; ".join(skipped))
        index = {"format": FORMAT, "version": VERSION, "kiosk_id": kiosk_id,
                 "created": created, "deposits": entries}
        _write_file(work / INDEX, json.dumps(index, indent=2, ensure_ascii=True).encode()
                    + b"\n")
        _sync_dir(work)
        if os.path.lexists(final):
            raise ExportError(f"{final} appeared while the export was written")
        work.rename(final)
        _sync_dir(dest)
    except OSError as exc:
        _discard(work, dest)
        raise _medium_error(exc, dest, needed) from None
    except BaseException:
        _discard(work, dest)
        raise
    log.info("exported %d deposit(s) of kiosk %s to %s (%d skipped)", len(entries), kiosk_id,
             final, len(skipped))
    return final


def _fill(work: Path, kiosk_id: str, todo: list[ExportItem],
          progress: Callable[[ExportProgress], None] | None
          ) -> tuple[list[dict[str, Any]], list[str]]:
    """Copy every item into ``work``; returns (index entries, reasons of the skipped)."""
    entries: list[dict[str, Any]] = []
    skipped: list[str] = []
    seen: set[str] = set()
    bytes_total = sum(max(item.envelope_size, 0) for item in todo)
    bytes_done = 0
    for done, item in enumerate(todo, 1):
        stem = ""
        reason = _item_problem(item, kiosk_id, seen)
        if not reason:
            stem = file_stem(item.deposit_id)
            reason = _copy_envelope(item, work / (stem + ENVELOPE_SUFFIX))
        if reason:
            skipped.append(f"{item.deposit_id}: {reason}")
            log.error("deposit %s is not exported: %s", item.deposit_id, reason)
            outcome = ItemOutcome.SKIPPED
        else:
            _write_file(work / (stem + MANIFEST_SUFFIX), item.manifest)
            seen.add(item.deposit_id)
            entries.append({"deposit_id": item.deposit_id, "envelope": stem + ENVELOPE_SUFFIX,
                            "manifest": stem + MANIFEST_SUFFIX,
                            "envelope_sha256": item.envelope_sha256,
                            "envelope_size": item.envelope_size})
            outcome = ItemOutcome.EXPORTED
        bytes_done += max(item.envelope_size, 0)
        if progress is not None:
            progress(ExportProgress(item.deposit_id, outcome, reason, done, len(todo),
                                    bytes_done, bytes_total))
    return entries, skipped


def _item_problem(item: ExportItem, kiosk_id: str, seen: set[str]) -> str:
    """Why ``item`` cannot be exported as it is described, or ""."""
    if not isinstance(item.deposit_id, str) or ids.canonical(item.deposit_id) != item.deposit_id:
        return "not a deposit number in its canonical form"
    if item.deposit_id in seen:
        return "listed twice"
    try:
        manifest, _signature = mf.parse_unverified(item.manifest)
    except ManifestError as exc:
        return f"its manifest is unusable ({exc})"
    if ids.canonical(manifest.deposit_id) != item.deposit_id:
        return f"its manifest names deposit {manifest.deposit_id}"
    if manifest.kiosk_id != kiosk_id:
        return f"its manifest names kiosk {manifest.kiosk_id}, not {kiosk_id}"
    if (manifest.envelope_sha256, manifest.envelope_size) != (item.envelope_sha256,
                                                               item.envelope_size):
        return "its manifest describes another envelope than the outbox lists"
    if item.envelope_size > MAX_ENVELOPE_BYTES:
        return f"its envelope is larger than {MAX_ENVELOPE_BYTES} bytes"
    return ""


def _copy_envelope(item: ExportItem, target: Path) -> str:
    """Copy the envelope, hashing it on the way; "" when it matches its manifest, else why.

    Errors writing on the medium propagate (OSError); errors reading the
    kiosk's copy, and a copy that does not match, skip the item.
    """
    try:
        src = item.envelope_path.open("rb")
    except OSError as exc:
        return f"its envelope cannot be read on this kiosk ({exc.strerror})"
    with src:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o600)
        try:
            size, digest = _copy(src, fd, item.envelope_size)
            if size == item.envelope_size and secrets.compare_digest(digest,
                                                                     item.envelope_sha256):
                os.fsync(fd)
                return ""
            reason = ("its envelope on this kiosk does not match its manifest (size or "
                      "SHA-256 differs): the kiosk's disk may be failing")
        except _SourceError as exc:
            reason = f"its envelope cannot be read on this kiosk ({exc})"
        finally:
            os.close(fd)
    target.unlink()
    return reason


def _copy(src: BinaryIO, fd: int, limit: int) -> tuple[int, str]:
    """Stream ``src`` to ``fd`` in 1 MiB blocks; (size, SHA-256). Stops past ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(_BLOCK)
    view = memoryview(buffer)
    while True:
        try:
            n = src.readinto(view)  # type: ignore[attr-defined]  # binary files have it
        except OSError as exc:
            raise _SourceError(exc.strerror or str(exc)) from None
        if not n:
            return size, digest.hexdigest()
        size += n
        if size > limit:
            return size, ""
        digest.update(view[:n])
        _write_all(fd, view[:n])


def _write_all(fd: int, data: memoryview | bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_file(path: Path, data: bytes) -> None:
    """Create ``path`` (never over anything) with ``data``, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(folder: Path) -> None:
    """fsync a folder; tolerated where the file system cannot (EINVAL: some FUSE mounts)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _check_space(dest: Path, todo: list[ExportItem]) -> int:
    """Bytes the export needs on ``dest``; MediumFullError when they are not free."""
    try:
        vfs = os.statvfs(dest)
    except OSError as exc:
        raise _medium_error(exc, dest, 0) from None
    unit = vfs.f_frsize or vfs.f_bsize or 4096

    def rounded(n: int) -> int:
        return -(-max(n, 1) // unit) * unit

    needed = sum(rounded(i.envelope_size) + rounded(len(i.manifest)) for i in todo)
    needed += rounded(1024 + 256 * len(todo)) + 4 * unit     # index, folders
    free = vfs.f_bavail * vfs.f_frsize
    if needed > free:
        raise MediumFullError(
            f"the medium at {dest} has {_mb(free)} free; these {len(todo)} dossier(s) need "
            f"{_mb(needed)}: use a larger medium or export fewer at a time",
            free_bytes=free, needed_bytes=needed)
    return needed


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _free(dest: Path) -> int:
    try:
        vfs = os.statvfs(dest)
    except OSError:
        return 0
    return vfs.f_bavail * vfs.f_frsize


def _medium_error(exc: OSError, dest: Path, needed: int) -> ExportError:
    """The project's error for an OSError met writing on the medium at ``dest``."""
    what = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return MediumFullError(f"the medium at {dest} is full ({what}); nothing was exported",
                               free_bytes=_free(dest), needed_bytes=needed)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return MediumReadOnlyError(f"cannot write on {dest} ({what}): is the medium "
                                   f"write-protected or mounted read-only?")
    if exc.errno == errno.EFBIG:
        return ExportError(f"a file is too large for the file system at {dest} ({what}; "
                           f"FAT32 holds at most 4 GiB per file); nothing was exported")
    return ExportError(f"writing on {dest} failed ({what}): was the medium removed? "
                       f"Nothing was exported")


def _discard(work: Path, dest: Path) -> None:
    """Remove a half-written export (best effort: a removed medium keeps its hidden folder)."""
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        _sync_dir(dest)


# ------------------------------------------------------------------ reading

@dataclass(frozen=True)
class ExportEntry:
    """One deposit of an export as read: its manifest (unverified) and where its envelope is."""

    deposit_id: str
    envelope: Path
    manifest_path: Path
    manifest: bytes              # the signed blob, read (bounded); its signature is unchecked
    envelope_sha256: str
    envelope_size: int

    def open_envelope(self) -> BinaryIO:
        """The envelope, opened without following links; ExportFormatError if it changed.

        The caller reads it in blocks (envelopes can be large) and closes it.
        """
        where = str(self.envelope)
        fd = _open_nofollow(None, self.envelope, where)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ExportFormatError(where, ExportProblem.LINK, "not a regular file")
            if st.st_size != self.envelope_size:
                raise ExportFormatError(where, ExportProblem.SIZE,
                                        f"{st.st_size} bytes, the index says "
                                        f"{self.envelope_size}")
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise


@dataclass(frozen=True)
class Export:
    """An export folder whose structure :func:`read_export` checked."""

    folder: Path
    kiosk_id: str
    created: str                 # RFC 3339 UTC, when the kiosk wrote it
    deposits: tuple[ExportEntry, ...]


def find_exports(root: Path) -> list[Path]:
    """The export folders at ``root``: ``root`` itself if it is one, else its sub-folders that are.

    An export folder is one holding ``export.json``. Hidden folders (an export
    whose writing was interrupted) and symbolic links are passed over, with a
    warning in the log. ExportError if ``root`` is not a folder.
    """
    try:
        if not stat.S_ISDIR(root.stat().st_mode):
            raise ExportError(f"{root} is not a folder")
    except FileNotFoundError:
        raise ExportError(f"{root} does not exist (is the medium mounted?)") from None
    except OSError as exc:
        raise ExportError(f"{root}: cannot be read ({exc.strerror})") from None
    if os.path.lexists(root / INDEX):
        return [root]
    found = []
    try:
        with os.scandir(root) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    if entry.name.endswith(PARTIAL_SUFFIX):
                        log.warning("passing over %s: an export whose writing was interrupted "
                                    "(the medium was removed?)", entry.path)
                    continue
                if entry.is_symlink():
                    log.warning("passing over %s: a symbolic link", entry.path)
                    continue
                if entry.is_dir(follow_symlinks=False) and os.path.lexists(
                        Path(entry.path) / INDEX):
                    found.append(Path(entry.path))
    except OSError as exc:
        raise ExportError(f"{root}: cannot be read ({exc.strerror})") from None
    return sorted(found)


def read_export(folder: Path) -> Export:
    """Parse and check an export folder's structure (not the signatures); see the module doc.

    Raises :class:`ExportFormatError` naming the file and the check that failed,
    :class:`ExportError` when the medium cannot be read.
    """
    dfd = _open_dir(None, folder, str(folder))
    try:
        return _read(folder, dfd)
    finally:
        os.close(dfd)


def _read(folder: Path, dfd: int) -> Export:
    where = str(folder / INDEX)
    doc = _strict_json(_read_bounded(dfd, INDEX, MAX_INDEX_BYTES, where), where)
    if not isinstance(doc, dict):
        raise ExportFormatError(where, ExportProblem.FORMAT, "the index is not a JSON object")
    if doc.get("format") != FORMAT:
        raise ExportFormatError(where, ExportProblem.FORMAT,
                                f"'format' is not {FORMAT!r}: not a kiosk export")
    version = doc.get("version")
    if not _is_int(version):
        raise ExportFormatError(where, ExportProblem.FORMAT, "'version' is not an integer")
    if version != VERSION:
        raise ExportFormatError(where, ExportProblem.VERSION,
                                f"version {version} is not one this code reads ({VERSION})")
    if set(doc) != _INDEX_KEYS:
        raise ExportFormatError(where, ExportProblem.FORMAT,
                                f"keys missing {sorted(_INDEX_KEYS - set(doc))} or unexpected "
                                f"{sorted(set(doc) - _INDEX_KEYS)}")
    kiosk_id, created, listed = doc["kiosk_id"], doc["created"], doc["deposits"]
    if not isinstance(kiosk_id, str) or not _KIOSK_ID.fullmatch(kiosk_id):
        raise ExportFormatError(where, ExportProblem.FORMAT, "'kiosk_id' is not a kiosk id")
    if not isinstance(created, str) or not _CREATED.fullmatch(created) or not _valid_time(
            created):
        raise ExportFormatError(where, ExportProblem.FORMAT,
                                "'created' is not an RFC 3339 UTC time like "
                                "2025-11-22T15:04:05Z")
    if not isinstance(listed, list):
        raise ExportFormatError(where, ExportProblem.FORMAT, "'deposits' is not a list")
    if len(listed) > MAX_DEPOSITS:
        raise ExportFormatError(where, ExportProblem.SIZE,
                                f"{len(listed)} deposits, more than {MAX_DEPOSITS}")
    rows = _index_entries(listed, where)
    _check_listing(folder, dfd, rows)
    deposits = tuple(_entry(folder, dfd, kiosk_id, row) for row in rows)
    return Export(folder=folder, kiosk_id=kiosk_id, created=created, deposits=deposits)


def _index_entries(listed: list[Any], where: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, row in enumerate(listed):
        if not isinstance(row, dict) or set(row) != _ENTRY_KEYS:
            raise ExportFormatError(where, ExportProblem.FORMAT,
                                    f"deposit #{n}: keys must be exactly {sorted(_ENTRY_KEYS)}")
        deposit_id = row["deposit_id"]
        if not isinstance(deposit_id, str) or ids.canonical(deposit_id) != deposit_id:
            raise ExportFormatError(where, ExportProblem.NAME,
                                    f"deposit #{n}: {deposit_id!r} is not a deposit number "
                                    f"in its canonical form XXXX-XXXX-XXXX")
        if deposit_id in seen:
            raise ExportFormatError(where, ExportProblem.DUPLICATE,
                                    f"deposit {deposit_id} is listed twice")
        seen.add(deposit_id)
        stem = file_stem(deposit_id)
        for key, suffix in (("envelope", ENVELOPE_SUFFIX), ("manifest", MANIFEST_SUFFIX)):
            if row[key] != stem + suffix:
                raise ExportFormatError(where, ExportProblem.NAME,
                                        f"deposit {deposit_id}: its {key} must be named "
                                        f"{stem + suffix!r}, not {row[key]!r}")
        sha, size = row["envelope_sha256"], row["envelope_size"]
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise ExportFormatError(where, ExportProblem.FORMAT,
                                    f"deposit {deposit_id}: envelope_sha256 is not 64 "
                                    f"lowercase hex digits")
        if not _is_int(size) or size < 0:
            raise ExportFormatError(where, ExportProblem.FORMAT,
                                    f"deposit {deposit_id}: envelope_size is not a "
                                    f"non-negative integer")
        if size > MAX_ENVELOPE_BYTES:
            raise ExportFormatError(where, ExportProblem.SIZE,
                                    f"deposit {deposit_id}: envelope_size {size} is over "
                                    f"{MAX_ENVELOPE_BYTES}")
        rows.append(row)
    return rows


def _check_listing(folder: Path, dfd: int, rows: list[dict[str, Any]]) -> None:
    """Nothing in the folder that the index does not list (hidden entries aside)."""
    allowed = {INDEX, ACKS} | {row[k] for row in rows for k in ("envelope", "manifest")}
    for name in sorted(os.listdir(dfd)):
        if name.startswith("."):
            continue
        if name not in allowed:
            raise ExportFormatError(str(folder / name), ExportProblem.UNEXPECTED,
                                    "not listed in export.json")
        if name == ACKS:
            mode = os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode
            if not stat.S_ISDIR(mode):
                raise ExportFormatError(str(folder / name), ExportProblem.LINK,
                                        "acks must be a folder, not a link or a file")


def _entry(folder: Path, dfd: int, kiosk_id: str, row: dict[str, Any]) -> ExportEntry:
    deposit_id: str = row["deposit_id"]
    env_name, man_name = row["envelope"], row["manifest"]
    size: int = row["envelope_size"]
    sha: str = row["envelope_sha256"]
    where = str(folder / env_name)
    st = _lstat(dfd, env_name, where)
    if st.st_size != size:
        raise ExportFormatError(where, ExportProblem.SIZE,
                                f"{st.st_size} bytes, the index says {size}")
    where = str(folder / man_name)
    blob = _read_bounded(dfd, man_name, MAX_MANIFEST_BYTES, where)
    try:
        manifest, _signature = mf.parse_unverified(blob)
    except ManifestError as exc:
        raise ExportFormatError(where, ExportProblem.MANIFEST, str(exc)) from None
    if ids.canonical(manifest.deposit_id) != deposit_id:
        raise ExportFormatError(where, ExportProblem.MANIFEST,
                                f"names deposit {manifest.deposit_id}, the index {deposit_id}")
    if manifest.kiosk_id != kiosk_id:
        raise ExportFormatError(where, ExportProblem.MANIFEST,
                                f"names kiosk {manifest.kiosk_id}, the index {kiosk_id}")
    if (manifest.envelope_size, manifest.envelope_sha256) != (size, sha):
        raise ExportFormatError(where, ExportProblem.MANIFEST,
                                "describes another envelope (size or SHA-256) than the index")
    return ExportEntry(deposit_id=deposit_id, envelope=folder / env_name,
                       manifest_path=folder / man_name, manifest=blob, envelope_sha256=sha,
                       envelope_size=size)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_time(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text!r}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _strict_json(raw: bytes, where: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExportFormatError(where, ExportProblem.INDEX, "not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_no_float,
                          parse_constant=_no_float)
    except (ValueError, RecursionError) as exc:
        raise ExportFormatError(where, ExportProblem.INDEX, f"not valid JSON ({exc})") from None


def _open_nofollow(dfd: int | None, name: str | Path, where: str) -> int:
    """A file opened for reading without following a link (nor blocking on a FIFO)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=dfd)
    except FileNotFoundError:
        raise ExportFormatError(where, ExportProblem.MISSING, "absent") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ExportFormatError(where, ExportProblem.LINK,
                                    "a symbolic link (never followed)") from None
        raise ExportError(f"{where}: cannot be read ({exc.strerror})") from None


def _open_dir(dfd: int | None, name: str | Path, where: str) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=dfd)
    except FileNotFoundError:
        raise ExportFormatError(where, ExportProblem.MISSING, "absent") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ExportFormatError(where, ExportProblem.LINK,
                                    "not a folder (a symbolic link or a file)") from None
        raise ExportError(f"{where}: cannot be read ({exc.strerror})") from None


def _lstat(dfd: int, name: str, where: str) -> os.stat_result:
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        raise ExportFormatError(where, ExportProblem.MISSING, "absent") from None
    except OSError as exc:
        raise ExportError(f"{where}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ExportFormatError(where, ExportProblem.LINK,
                                "not a regular file (a symbolic link, folder or device)")
    return st


def _read_bounded(dfd: int, name: str, limit: int, where: str) -> bytes:
    """A regular file's bytes, at most ``limit`` of them (ExportFormatError beyond)."""
    fd = _open_nofollow(dfd, name, where)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ExportFormatError(where, ExportProblem.LINK, "not a regular file")
        if st.st_size > limit:
            raise ExportFormatError(where, ExportProblem.SIZE,
                                    f"{st.st_size} bytes, more than the {limit} allowed")
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _BLOCK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ExportError(f"{where}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ExportFormatError(where, ExportProblem.SIZE, f"more than the {limit} bytes allowed")
    return data


# ------------------------------------------------------------------ acknowledgements

def write_acks(folder: Path, acks: Mapping[str, bytes]) -> list[Path]:
    """Write ``acks/<name>.ack`` for each deposit id into an export folder, durably.

    An acknowledgement already there is replaced (atomically: temporary file,
    fsync, rename, folder fsync). Returns the files written. ValueError for a
    key that is not a canonical deposit number or a blob over
    :data:`MAX_ACK_BYTES`; :class:`ExportError` (or a subclass) when ``folder``
    is not an export or the medium cannot be written.
    """
    for deposit_id, blob in acks.items():
        file_stem(deposit_id)
        if not blob or len(blob) > MAX_ACK_BYTES:
            raise ValueError(f"the acknowledgement of {deposit_id} is empty or over "
                             f"{MAX_ACK_BYTES} bytes")
    try:
        index_mode = (folder / INDEX).lstat().st_mode
    except OSError:
        index_mode = 0
    if not stat.S_ISREG(index_mode):
        raise ExportError(f"{folder} is not an export folder (no {INDEX})")
    if not acks:
        return []
    target = folder / ACKS
    written: list[Path] = []
    tmp: Path | None = None
    try:
        try:
            target.mkdir(mode=0o700)
            _sync_dir(folder)
        except FileExistsError:
            if not stat.S_ISDIR(target.lstat().st_mode):
                raise ExportFormatError(str(target), ExportProblem.LINK,
                                        "acks must be a folder, not a link or a file") from None
        for deposit_id, blob in sorted(acks.items()):
            name = file_stem(deposit_id) + ACK_SUFFIX
            tmp = target / f".{name}.{secrets.token_hex(4)}.tmp"
            _write_file(tmp, blob)
            tmp.replace(target / name)
            tmp = None
            written.append(target / name)
        _sync_dir(target)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise _medium_error(exc, folder, sum(len(b) for b in acks.values())) from None
    return written


def read_acks(folder: Path) -> dict[str, bytes]:
    """The acknowledgements in an export folder's ``acks/``, by deposit id (unverified).

    The kiosk verifies each with the back office's acknowledgement key
    (:func:`deposit.ack.verify`) before purging anything. Empty when there is
    no ``acks/``. ExportFormatError for a link, an unknown name or an
    oversized file.
    """
    dfd = _open_dir(None, folder, str(folder))
    try:
        try:
            afd = _open_dir(dfd, ACKS, str(folder / ACKS))
        except ExportFormatError as exc:
            if exc.problem is ExportProblem.MISSING:
                return {}
            raise
    finally:
        os.close(dfd)
    out: dict[str, bytes] = {}
    try:
        for name in sorted(os.listdir(afd)):  # noqa: PTH208 - through the descriptor
            if name.startswith("."):
                continue
            where = str(folder / ACKS / name)
            deposit_id = (deposit_id_of_stem(name.removesuffix(ACK_SUFFIX))
                          if name.endswith(ACK_SUFFIX) else None)
            if deposit_id is None:
                raise ExportFormatError(where, ExportProblem.NAME,
                                        "not <deposit number>.ack")
            out[deposit_id] = _read_bounded(afd, name, MAX_ACK_BYTES, where)
    finally:
        os.close(afd)
    return out


__all__ = [
    "ACKS", "FORMAT", "INDEX", "MAX_ACK_BYTES", "MAX_DEPOSITS", "MAX_ENVELOPE_BYTES",
    "MAX_INDEX_BYTES", "VERSION", "Export", "ExportEntry", "ExportItem", "ExportProgress",
    "ItemOutcome", "QueuedEnvelope", "deposit_id_of_stem", "file_stem", "find_exports",
    "read_acks", "read_export", "write_acks", "write_export",
]
