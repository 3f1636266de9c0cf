"""The outbox on a full disk: the drain reserve, and what the disk's and SQLite's errors mean.

**Why a reserve.** ``reserve_bytes`` keeps the outbox from filling the disk,
but another program (a runaway log, a core dump) can take the last byte
anyway. The queue must then still drain, since delivering and purging
acknowledged envelopes is what gives space back, yet every step of the
drain writes to SQLite: claiming, releasing and acknowledging are UPDATEs,
and in WAL mode each commit appends frames to ``-wal`` (which grows until a
checkpoint lets it start over, and is created anew, with its ``-shm``
index, when a process opens an outbox nobody had open). With no free page,
SQLite answers ``SQLITE_FULL`` even to an UPDATE that makes nothing larger.

**The mechanism.** The outbox holds some space back in a file of its own,
``drain-reserve.bin`` in its folder (:class:`DrainReserve`; 8 MiB by
default, never more than ``reserve_bytes``; 0 turns it off), allocated with
``posix_fallocate`` so that its blocks are really taken (a sparse file would
free nothing). A write of the outbox that fails because the disk is full
(``SQLITE_FULL``, ENOSPC, or an I/O error with almost nothing free: SQLite
reports a ``-shm`` it cannot grow as an I/O error) deletes that file and
runs once more (deposit/outbox.py, ``_on_full_disk_drain``).

8 MiB covers what the drain needs: SQLite checkpoints the WAL every 1000
pages (about 4 MiB) and then reuses it from its start, so a WAL that has to
grow needs at most that; the ``-shm`` grows 32 KiB at a time; each
deposit's tombstone adds well under a page to the database. The file is
made again (by whichever process next opens the outbox, claims or
acknowledges a deposit) once the disk has twice its size free, so that
taking it back does not fill the disk again.

Why a file and not SQLite settings: no PRAGMA reserves space on disk
(``journal_size_limit`` only shrinks the WAL, and the WAL is deleted anyway
when the last connection closes); the file-control that would keep it
(``SQLITE_FCNTL_PERSIST_WAL``) is not reachable from Python's sqlite3; and
a file of one's own is space no other program can take.

**Sealing never uses it.** The INSERT that queues a new deposit does not
release the reserve (a full disk there is ``OutboxFullError``, nothing
queued), and since the reserve is at most ``reserve_bytes``, the space it
frees is never enough for ``Outbox.check_space`` to accept a new dossier:
the citizen is turned away cleanly while the queue drains.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from pathlib import Path

from deposit.errors import StorageProblem
from deposit.fsutil import fsync_dir

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: The file of disk space held for draining the queue on a full disk, in the outbox's folder.
DRAIN_RESERVE = "drain-reserve.bin"
DEFAULT_DRAIN_RESERVE_BYTES = 8 * MiB
#: Below this much free space, an I/O error of SQLite is taken for a full disk: SQLite reports
#: a ``-shm`` index it cannot grow (32 KiB at a time) as SQLITE_IOERR_SHMSIZE, not SQLITE_FULL.
NEARLY_FULL_BYTES = 1 * MiB

# SQLite's primary result codes (the low byte of sqlite3.Error.sqlite_errorcode).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_AUTH, _SQLITE_NOTADB = 23, 26

_OS_PROBLEMS = {errno.ENOSPC: StorageProblem.DISK_FULL, errno.EDQUOT: StorageProblem.DISK_FULL,
                errno.EROFS: StorageProblem.READ_ONLY, errno.EACCES: StorageProblem.PERMISSION,
                errno.EPERM: StorageProblem.PERMISSION}
_SQLITE_PROBLEMS = {_SQLITE_FULL: StorageProblem.DISK_FULL,
                    _SQLITE_READONLY: StorageProblem.READ_ONLY,
                    _SQLITE_PERM: StorageProblem.PERMISSION,
                    _SQLITE_AUTH: StorageProblem.PERMISSION,
                    _SQLITE_BUSY: StorageProblem.BUSY, _SQLITE_LOCKED: StorageProblem.BUSY,
                    _SQLITE_CORRUPT: StorageProblem.DAMAGED, _SQLITE_NOTADB: StorageProblem.DAMAGED}


def storage_problem(exc: OSError | sqlite3.Error, free_bytes: int | None) -> StorageProblem:
    """What an error of the disk or of SQLite means for a technician (``free_bytes``: the
    free space measured just after, None if unknown)."""
    if isinstance(exc, OSError):
        return _OS_PROBLEMS.get(exc.errno or 0, StorageProblem.IO)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _SQLITE_PROBLEMS:
        return _SQLITE_PROBLEMS[primary]
    if (primary in (_SQLITE_IOERR, _SQLITE_CANTOPEN) and free_bytes is not None
            and free_bytes < NEARLY_FULL_BYTES):
        return StorageProblem.DISK_FULL
    return StorageProblem.IO


def free_bytes(folder: Path) -> int:
    """Free space for this user on the disk of ``folder`` (OSError if it cannot be read)."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def size_text(n: int) -> str:
    """A size for a technician's message."""
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n // 1024} KiB"


class DrainReserve:
    """``folder/drain-reserve.bin``, ``size`` bytes really allocated (see the module docstring).

    Shared by the processes that open the outbox: making it goes through a
    locked temporary file linked into place, so a half-made reserve never
    carries the final name and two processes never make it at once.
    """

    def __init__(self, folder: Path, size: int) -> None:
        self.path = folder / DRAIN_RESERVE
        self.size = max(0, size)
        self._tmp = folder / f".{DRAIN_RESERVE}.tmp"

    def held(self) -> int:
        """Bytes it holds now: 0 once released on a full disk (or when off). OSError if its
        folder cannot be read."""
        try:
            return self.path.stat().st_blocks * 512
        except FileNotFoundError:
            return 0

    def keep(self) -> bool:
        """Make it if it is missing and the disk has room for it twice over; True when it is
        held on return. Never raises: without it the outbox works, it only loses its margin
        on a full disk (logged)."""
        if self.size <= 0:
            return False
        if self.path.exists():
            return True
        try:
            free = free_bytes(self.path.parent)
        except OSError:
            return False
        if free < 2 * self.size:
            return False
        try:
            fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning("%s: cannot make the drain reserve (%s)", self.path.parent, exc)
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False           # the other process (kiosk or uploader) is making it
            if self.path.exists() or os.fstat(fd).st_nlink == 0:
                return self.path.exists()      # made meanwhile by the process that held it
            try:
                os.ftruncate(fd, 0)
                os.posix_fallocate(fd, 0, self.size)   # blocks really taken, not a sparse file
                os.fsync(fd)
                with contextlib.suppress(FileExistsError):
                    os.link(self._tmp, self.path)
                self._tmp.unlink()
                fsync_dir(self.path.parent)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    self._tmp.unlink()
                log.warning("%s: cannot make the %s drain reserve (%s): a full disk could stop "
                            "the queue from draining", self.path.parent, size_text(self.size),
                            exc)
                return False
        finally:
            os.close(fd)
        log.info("%s: %s drain reserve held (%s free before)", self.path.parent,
                 size_text(self.size), size_text(free))
        return True

    def release(self) -> int:
        """Delete it (and a half-made one) to give its space to the outbox's writes; the bytes
        freed (0: there was none). Never raises."""
        freed = 0
        for path in (self.path, self._tmp):
            try:
                size = path.stat().st_blocks * 512
                path.unlink()
                freed += size
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.error("cannot delete %s: %s", path, exc)
        if freed:
            with contextlib.suppress(OSError):
                fsync_dir(self.path.parent)
        return freed
