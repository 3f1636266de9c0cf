"""The outbox: the kiosk's durable queue of sealed dossiers until the back office acknowledges.

Layout of the folder (``{data_dir}/outbox/``)::

    outbox.sqlite3 (+ -wal, -shm)   one row per deposit ever queued: its signed manifest,
                                     state, upload lease, delivery outcome, tus URL,
                                     acknowledgement, the citizen's contact sealed for the
                                     notifier (ciphertext, until acknowledged); and the kiosk's
                                     standing with its back office. No personal data in clear.
                                     Schema: deposit/outbox_schema.py
    drain-reserve.bin                disk space held for draining (see "Full disk");
                                     deleted when the disk is full, made again when it is not
    envelopes/<deposit id>.age       the age envelope (ciphertext only), while not yet purged
    envelopes/.<deposit id>.<random>.tmp   an envelope being written (never read)

**States and transitions** (:class:`deposit.status.OutboxState`)::

    sealed ──claim──▶ uploading ──mark_acknowledged──▶ acknowledged ──(envelope deleted)──▶ purged
      ▲   ▲              │  │
      │   └──release─────┘  └──refuse──▶ refused    (release: also when the lease expires;
      └──────requeue_refused─────────────┘           release(retry_after=) delays the next
                                                     claim of that deposit)

- *sealed*: the envelope is on disk (fsynced) and the row committed.
- *uploading*: an uploader holds a lease (owner, expiry); nobody else can
  claim it until the lease is released or expires. ``renew_lease`` extends it.
- *refused*: the back office refused this dossier as it is (it fails
  verification, it is too large): the envelope is kept, the reason too, and
  it is not sent again until a technician asks (``requeue_refused``). An
  acknowledgement still ends it (an export imported by staff).
- *acknowledged*: the back office's acknowledgement (bytes, verified by the
  uploader) is stored; the envelope is deleted right after.
- *purged*: the envelope is gone; the row stays as a tombstone with the
  acknowledgement, so a deposit id is never reused and the deposit-number
  sequence resumes from :meth:`Outbox.last_deposit_id` after a restart.

**Durability order of** :meth:`Outbox.seal_and_queue`: the envelope is
streamed to a temporary file (0600) while encrypted, fsynced, renamed to its
final name, the folder fsynced, and only then the row is committed (SQLite in
WAL mode, ``synchronous=FULL``, so the commit itself is on disk when it
returns). A power cut at any instant leaves either nothing of the deposit, or
a temporary file or an envelope without row (both removed at the next start,
the deposit having never been reported as queued), or the whole deposit.

**Start-up recovery** (:meth:`Outbox.recover`, run by the kiosk when it opens
the outbox): removes temporary files and envelopes without a row, finishes
the deletion of acknowledged envelopes, and reports rows whose envelope is
missing (that would be a disk fault; never produced by this code). A writer
holds an exclusive ``flock`` on its file until its row is committed, so a
recovery run by another process never removes a deposit being written.

**Delivery.** The uploader works by :meth:`Outbox.claim_next` and
:meth:`Outbox.release`: a deposit that fails is released with a delay (its
``retry_at``), so the deposits behind it go first; each claim counts an
attempt, each release records the :class:`~deposit.status.DeliveryOutcome`.
The tus URL of the upload under way is kept in the row (``set_upload_url``)
before its first byte is sent, so a restart resumes it. The kiosk's
:class:`~deposit.status.Standing` with its back office (``set_standing``) is
what the kiosk application reads to refuse new deposits when the back office
refuses the kiosk.

**Sharing.** The kiosk application and the uploader (another process) open
the same folder; every transaction is short and explicit (``BEGIN
IMMEDIATE`` … ``COMMIT`` with Python's implicit transactions switched off),
with a busy timeout. SQLite never sees personal data: the row holds the
manifest only.

**Disk budget.** A new deposit is refused with :class:`OutboxFullError` when
the free space could not hold one more dossier (``dossier_estimate_bytes``,
or the actual PDF if larger) plus ``reserve_bytes``; nothing queued is ever
dropped to make room.

**Full disk.** When another program takes the last byte of the disk, the
queue must still drain (delivering and purging is what gives space back), yet
each step of the drain is a write to SQLite. The outbox holds some space back
in ``drain-reserve.bin`` (``drain_reserve_bytes``, 8 MiB by default, at most
``reserve_bytes``); a write that fails for want of space deletes it and runs
once more, except the one that queues a new deposit (that is
:class:`OutboxFullError`). Why and how: deposit/outbox_storage.py.

**Errors.** Every public method translates the disk's and SQLite's errors
(``OSError``, ``sqlite3.Error``) into :class:`OutboxStorageError`, whose
``problem`` (:class:`~deposit.errors.StorageProblem`) and message say what
failed in a technician's words; the write that failed was rolled back.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import fcntl
import functools
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deposit import manifest as mf
from deposit import outbox_schema
from deposit.envelope import parse_recipients
from deposit.errors import (
    DuplicateDepositError,
    LeaseError,
    OutboxError,
    OutboxFullError,
    OutboxStorageError,
    StateError,
    StorageProblem,
    UnknownDepositError,
)
from deposit.fsutil import fsync_dir, make_private_dir, remove_durably
from deposit.outbox_storage import (
    DEFAULT_DRAIN_RESERVE_BYTES,
    DrainReserve,
    free_bytes,
    size_text,
    storage_problem,
)
from deposit.seal import seal_to_fd
from deposit.status import DeliveryOutcome, OutboxState, Standing

log = logging.getLogger(__name__)

DB_NAME = "outbox.sqlite3"
ENVELOPES = "envelopes"
SUFFIX = ".age"
TMP_SUFFIX = ".tmp"
MiB = 1024 * 1024
DEFAULT_RESERVE_BYTES = 200 * MiB
DEFAULT_DOSSIER_ESTIMATE_BYTES = 30 * MiB
DEFAULT_LEASE_SECONDS = 600.0
DEFAULT_BUSY_TIMEOUT_MS = 5000
_T = TypeVar("_T")
_P = ParamSpec("_P")

_ID_FILE = re.compile(r"[0-9A-Z*~$=][0-9A-Z*~$=-]{0,63}")


@dataclass(frozen=True)
class Entry:
    """One deposit of the outbox, as listed."""

    deposit_id: str
    state: OutboxState
    manifest: bytes
    envelope_size: int
    envelope_sha256: str
    queued_at: str
    envelope_path: Path
    lease_owner: str | None = None
    lease_until: float | None = None
    retry_at: float | None = None
    attempts: int = 0
    last_error: str | None = None
    last_outcome: DeliveryOutcome | None = None
    upload_url: str | None = None
    refused_at: str | None = None
    ack: bytes | None = None
    acknowledged_at: str | None = None


@dataclass(frozen=True)
class Claim:
    """An uploader's lease on one deposit: upload ``envelope_path`` before ``lease_until``."""

    deposit_id: str
    owner: str
    lease_until: float
    manifest: bytes
    envelope_path: Path
    envelope_size: int
    envelope_sha256: str
    attempts: int
    upload_url: str | None = None
    contact: bytes | None = None       # sealed for the notifier (deposit/contact.py), or None


@dataclass(frozen=True)
class StandingRecord:
    """The kiosk's standing with its back office, as the uploader last recorded it."""

    standing: Standing = Standing.UNKNOWN
    reason: str = ""
    since: str | None = None           # when it became this standing (UTC, RFC 3339)
    last_contact: str | None = None    # the last time the back office answered


@dataclass(frozen=True)
class RecoveryReport:
    """What start-up recovery found and did; ``kiosk diagnostics`` shows it."""

    removed_temp_files: tuple[str, ...] = ()
    removed_orphan_envelopes: tuple[str, ...] = ()
    purged_acknowledged: tuple[str, ...] = ()
    missing_envelopes: tuple[str, ...] = ()
    stray_files: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not any((self.removed_temp_files, self.removed_orphan_envelopes,
                        self.purged_acknowledged, self.missing_envelopes, self.stray_files))

    def lines(self) -> list[str]:
        """One sentence per finding, for a technician."""
        out = []
        if self.removed_temp_files:
            out.append(f"removed {len(self.removed_temp_files)} unfinished envelope(s) of an "
                       "interrupted write (never reported as queued)")
        if self.removed_orphan_envelopes:
            out.append(f"removed {len(self.removed_orphan_envelopes)} envelope(s) whose queue "
                       f"entry was never committed: {', '.join(self.removed_orphan_envelopes)}")
        if self.purged_acknowledged:
            out.append(f"finished deleting {len(self.purged_acknowledged)} acknowledged "
                       "envelope(s)")
        if self.missing_envelopes:
            out.append(f"ERROR: {len(self.missing_envelopes)} queued deposit(s) have no envelope"
                       f" on disk (disk fault?): {', '.join(self.missing_envelopes)}")
        if self.stray_files:
            out.append(f"left alone {len(self.stray_files)} unexpected file(s) in the outbox: "
                       f"{', '.join(self.stray_files)}")
        return out


@dataclass(frozen=True)
class Stats:
    """Counts for diagnostics and the fleet's health report."""

    by_state: dict[str, int]
    queued_bytes: int
    oldest_queued_at: str | None
    last_deposit_id: str | None
    free_bytes: int
    needed_bytes: int
    accepting: bool
    recovery: RecoveryReport = field(default_factory=RecoveryReport)
    standing: StandingRecord = field(default_factory=StandingRecord)
    drain_reserve_bytes: int = 0    # held now for draining on a full disk (0: used or none)

    @property
    def pending(self) -> int:
        """Deposits the uploader will send (sealed or uploading)."""
        return self.by_state.get(OutboxState.SEALED, 0) + \
            self.by_state.get(OutboxState.UPLOADING, 0)

    @property
    def held(self) -> int:
        """Deposits on the kiosk not yet acknowledged (pending or refused)."""
        return self.pending + self.by_state.get(OutboxState.REFUSED, 0)


@dataclass(frozen=True)
class Sealer:
    """What sealing needs and an uploader does not: recipients, kiosk id and signing key."""

    recipients: tuple[str, ...]
    kiosk_id: str
    signing_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        # Fail at start-up, not at the first citizen.
        parse_recipients(self.recipients)
        mf.Manifest(deposit_id="0", kiosk_id=self.kiosk_id, procedure="check",
                    created="2000-01-01T00:00:00Z", envelope_size=0, envelope_sha256="0" * 64,
                    tracking_token_sha256="0" * 64)


def _now_text(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _storage(doing: str) -> Callable[[Callable[Concatenate[Outbox, _P], _T]],
                                     Callable[Concatenate[Outbox, _P], _T]]:
    """Translate the disk's and SQLite's errors at a public method of :class:`Outbox` into
    :class:`OutboxStorageError`; ``doing`` completes "cannot ..." in its message."""
    def wrap(method: Callable[Concatenate[Outbox, _P], _T]
             ) -> Callable[Concatenate[Outbox, _P], _T]:
        @functools.wraps(method)
        def guarded(self: Outbox, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
            try:
                return method(self, *args, **kwargs)
            except (OSError, sqlite3.Error) as exc:
                raise self.storage_error(doing, exc) from None
        return guarded
    return wrap


class Outbox:
    """The durable queue in ``folder``. One instance per process; thread-safe.

    ``sealer`` is needed only by the process that seals (the kiosk); the
    uploader opens the same folder without one. ``recover`` runs the
    start-up recovery at once (the kiosk does; an uploader need not).
    ``drain_reserve_bytes``: the space held for draining on a full disk (module
    docstring), at most ``reserve_bytes``.
    Raises :class:`OutboxError` (:class:`OutboxStorageError` for the disk or
    the database) when the outbox cannot be opened or set up.
    """

    def __init__(self, folder: str | os.PathLike[str], *, sealer: Sealer | None = None,
                 reserve_bytes: int = DEFAULT_RESERVE_BYTES,
                 dossier_estimate_bytes: int = DEFAULT_DOSSIER_ESTIMATE_BYTES,
                 drain_reserve_bytes: int = DEFAULT_DRAIN_RESERVE_BYTES,
                 busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                 clock: Callable[[], float] = time.time, recover: bool = False) -> None:
        self.folder = Path(folder)
        self.envelopes = self.folder / ENVELOPES
        self.sealer = sealer
        self.reserve_bytes = reserve_bytes
        self.dossier_estimate_bytes = dossier_estimate_bytes
        # Part of the reserve, so that what it frees never lets a dossier be sealed.
        self.drain_reserve = DrainReserve(self.folder, min(drain_reserve_bytes, reserve_bytes))
        self._clock = clock
        self._lock = threading.RLock()
        self.recovery = RecoveryReport()
        self._db: sqlite3.Connection | None = None
        try:
            make_private_dir(self.folder)
            make_private_dir(self.envelopes)
            self._on_full_disk_drain(lambda: self._open(busy_timeout_ms))
        except (OSError, sqlite3.Error) as exc:
            error = self.storage_error("open the outbox database", exc)
            self.close()
            raise error from None
        except BaseException:
            self.close()
            raise
        self.drain_reserve.keep()
        if recover:
            self.recovery = self.recover()

    # -------------------------------------------------------------- database

    @property
    def _conn(self) -> sqlite3.Connection:
        """The connection (open for as long as the outbox is)."""
        if self._db is None:
            raise OutboxError(f"outbox {self.folder}: used after it was closed")
        return self._db

    def _open(self, busy_timeout_ms: int) -> None:
        if self._db is None:
            self._db = sqlite3.connect(self.folder / DB_NAME, isolation_level=None,
                                       check_same_thread=False,
                                       timeout=busy_timeout_ms / 1000)
            self._db.row_factory = sqlite3.Row
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OutboxError(f"{self.folder / DB_NAME}: SQLite refused WAL mode ({mode})")
        db.execute("PRAGMA synchronous = FULL")
        if db.execute("PRAGMA synchronous").fetchone()[0] != 2:
            raise OutboxError("SQLite refused synchronous=FULL")
        legacy = self.folder / outbox_schema.LEGACY_UPLOAD_STATE

        def setup(db: sqlite3.Connection) -> tuple[int, int | None]:
            found = outbox_schema.setup(db, self.folder)
            return found, outbox_schema.take_over_legacy_upload_state(db, legacy) \
                if found == 1 and legacy.exists() else None

        _, taken = self._run_transaction(setup)
        if taken is not None:
            log.warning("outbox %s: took over %d row(s) of %s; removing it", self.folder, taken,
                        legacy.name)
            for suffix in ("", "-wal", "-shm"):
                remove_durably(legacy.with_name(legacy.name + suffix))

    def _run_transaction(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """``body`` in one short write transaction: BEGIN IMMEDIATE … COMMIT, rolled back when
        ``body`` or the COMMIT fails (unless SQLite already did: a full disk may)."""
        with self._lock:
            db = self._conn
            db.execute("BEGIN IMMEDIATE")
            try:
                result = body(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    # The error that brought us here is the one to report.
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise
            return result

    def _write(self, body: Callable[[sqlite3.Connection], _T], *, drain: bool = True) -> _T:
        """``body`` in one write transaction; ``drain``: on a full disk, release the drain
        reserve and run it once more (every write but sealing's)."""
        if not drain:
            return self._run_transaction(body)
        return self._on_full_disk_drain(lambda: self._run_transaction(body))

    def _on_full_disk_drain(self, attempt: Callable[[], _T]) -> _T:
        """``attempt()``; if it fails for want of disk space, release the drain reserve (the
        module docstring) and try once more. A second failure is raised as it is."""
        try:
            return attempt()
        except (OSError, sqlite3.Error) as exc:
            free = self._free_or_none()
            if (self.drain_reserve.size <= 0
                    or storage_problem(exc, free) is not StorageProblem.DISK_FULL):
                raise
            freed = self.drain_reserve.release()
            if freed:
                log.warning("outbox %s: the data disk is full (%s free); released the %s drain "
                            "reserve so that deliveries are still recorded and acknowledged "
                            "envelopes deleted. New deposits stay refused until there is room.",
                            self.folder, size_text(free or 0), size_text(freed))
            # Released here or by the other process (kiosk or uploader): try once more.
        return attempt()

    # -------------------------------------------------------------- errors

    def _free_or_none(self) -> int | None:
        try:
            return self.free_bytes()
        except OSError:
            return None

    def storage_error(self, doing: str, exc: OSError | sqlite3.Error) -> OutboxStorageError:
        """The project's error for a failure of the disk or of SQLite while ``doing`` (it
        completes "cannot ..."), in a technician's words with the raw error at the end."""
        free = self._free_or_none()
        problem = storage_problem(exc, free)
        facts = [f"{size_text(free)} free on its disk" if free is not None
                 else "free space unknown"]
        if problem is StorageProblem.DISK_FULL and self.drain_reserve.size > 0:
            facts.append("no drain reserve left to release")
        name = getattr(exc, "sqlite_errorname", None)
        raw = f"{name}: {exc}" if name else f"{type(exc).__name__}: {exc}"
        return OutboxStorageError(
            f"outbox {self.folder}: cannot {doing}: {problem.advice} ({'; '.join(facts)}; "
            f"{raw})", problem, free_bytes=free)

    @_storage("read the database's settings")
    def sqlite_settings(self) -> dict[str, str]:
        """The durability settings in force on this connection (for diagnostics and tests)."""
        names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        with self._lock:
            journal = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
            sync = self._conn.execute("PRAGMA synchronous").fetchone()[0]
            busy = self._conn.execute("PRAGMA busy_timeout").fetchone()[0]
        return {"journal_mode": str(journal), "synchronous": names.get(sync, str(sync)),
                "busy_timeout_ms": str(busy)}

    def close(self) -> None:
        """Close the database (the last process to close it checkpoints and deletes its WAL;
        an error doing so is logged: nothing is lost, the WAL stays for the next opening)."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error as exc:
                    log.warning("outbox %s: closing the database: %s", self.folder, exc)

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _path(self, deposit_id: str) -> Path:
        if not _ID_FILE.fullmatch(deposit_id):
            raise OutboxError(f"deposit id {deposit_id!r} has characters outside 0-9 A-Z * ~ $ = -")
        return self.envelopes / f"{deposit_id}{SUFFIX}"

    def _entry(self, row: sqlite3.Row) -> Entry:
        return Entry(deposit_id=row["deposit_id"], state=OutboxState(row["state"]),
                     manifest=bytes(row["manifest"]), envelope_size=row["envelope_size"],
                     envelope_sha256=row["envelope_sha256"], queued_at=row["queued_at"],
                     envelope_path=self._path(row["deposit_id"]), lease_owner=row["lease_owner"],
                     lease_until=row["lease_until"], retry_at=row["retry_at"],
                     attempts=row["attempts"],
                     last_error=row["last_error"],
                     last_outcome=DeliveryOutcome(row["last_outcome"])
                     if row["last_outcome"] is not None else None,
                     upload_url=row["upload_url"], refused_at=row["refused_at"],
                     ack=bytes(row["ack"]) if row["ack"] is not None else None,
                     acknowledged_at=row["acknowledged_at"])

    # -------------------------------------------------------------- space

    @_storage("measure the free space")
    def free_bytes(self) -> int:
        return free_bytes(self.folder)

    def needed_bytes(self, dossier_bytes: int = 0) -> int:
        """Free space a new deposit needs: the reserve plus one dossier (estimate or actual)."""
        return self.reserve_bytes + max(self.dossier_estimate_bytes, dossier_bytes + 64 * 1024)

    def space_ok(self, dossier_bytes: int = 0) -> bool:
        return self.free_bytes() >= self.needed_bytes(dossier_bytes)

    def check_space(self, dossier_bytes: int = 0) -> None:
        """Raise :class:`OutboxFullError` unless one more dossier fits above the reserve."""
        free = self.free_bytes()
        needed = self.needed_bytes(dossier_bytes)
        if free < needed:
            raise OutboxFullError(
                f"outbox {self.folder}: {free // MiB} MiB free, a new dossier needs "
                f"{needed // MiB} MiB ({self.reserve_bytes // MiB} MiB reserve + "
                f"{(needed - self.reserve_bytes) // MiB} MiB for the dossier); "
                f"{self.stats(quick=True).pending} dossier(s) wait for upload. Restore the "
                "network so the queue drains, or free space on the data disk.",
                free_bytes=free, needed_bytes=needed)

    @_storage("look at the drain reserve")
    def drain_reserve_held(self) -> int:
        """Bytes the drain reserve holds now: 0 once released on a full disk (or when off)."""
        return self.drain_reserve.held()

    # -------------------------------------------------------------- sealing

    @_storage("seal a deposit")
    def seal_and_queue(self, *, deposit_id: str, procedure: str, deposit_json: dict[str, Any],
                       pdf: bytes | bytearray | memoryview, tracking_token: str,
                       created: datetime | None = None, language: str = "fr",
                       complement_of: str | None = None,
                       request_id: str | None = None,
                       sealed_contact: bytes | None = None) -> Entry:
        """Seal one deposit from memory and queue it durably; return its entry once committed.

        The manifest is version 2: it names the citizen's ``language``, and for a
        complement the original deposit and the request it answers (whose tracking
        token, read from the receipt, is ``tracking_token``).

        ``sealed_contact``: the citizen's contact card already sealed to the notifier
        (deposit/contact.py), queued in the same row and sent with the upload; ciphertext
        only, as the envelope.

        Only when this returns is the deposit queued (the kiosk then prints the
        receipt). Raises :class:`OutboxFullError` (nothing written; also when the
        disk fills up on the way), :class:`DuplicateDepositError`, or
        :class:`OutboxError`; on any error nothing of the deposit is left on disk.
        Sealing never uses the drain reserve (module docstring).
        """
        sealer = self.sealer
        if sealer is None:
            raise OutboxError("this outbox was opened without a sealer (recipients and signing "
                              "key); only the kiosk seals")
        final = self._path(deposit_id)
        moment = created or datetime.fromtimestamp(self._clock(), UTC)
        # Check the manifest's fields before any byte is written (ManifestError "format").
        draft = mf.Manifest(deposit_id=deposit_id, kiosk_id=sealer.kiosk_id, procedure=procedure,
                            created=mf.rfc3339(moment), envelope_size=0,
                            envelope_sha256="0" * 64,
                            tracking_token_sha256=mf.tracking_token_sha256(tracking_token),
                            version=mf.VERSION, language=language,
                            complement_of=complement_of, request_id=request_id)
        if self._has_row(deposit_id):
            raise DuplicateDepositError(f"deposit id {deposit_id} was already used")
        self.check_space(len(pdf))
        tmp = self.envelopes / f".{deposit_id}.{secrets.token_hex(6)}{TMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise self._full_while_sealing(deposit_id, len(pdf), exc) from None
        linked = False
        try:
            # Held until the row is committed: recovery elsewhere skips a locked file.
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                sealed = seal_to_fd(fd, deposit_json, pdf, sealer.recipients, mtime=moment)
                os.fsync(fd)
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    raise DuplicateDepositError(f"an envelope for {deposit_id} already exists"
                                                ) from None
                linked = True
                tmp.unlink()
                fsync_dir(self.envelopes)
            except OSError as exc:
                raise self._full_while_sealing(deposit_id, len(pdf), exc) from None
            manifest = dataclasses.replace(draft, envelope_size=sealed.size,
                                           envelope_sha256=sealed.sha256)
            blob = mf.sign(manifest, sealer.signing_key)
            queued_at = _now_text(self._clock)

            def insert(db: sqlite3.Connection) -> None:
                db.execute(
                    "INSERT INTO deposits (deposit_id, manifest, envelope_size, "
                    "envelope_sha256, state, queued_at, contact) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (deposit_id, blob, sealed.size, sealed.sha256, OutboxState.SEALED,
                     queued_at, sealed_contact))

            try:
                self._write(insert, drain=False)
            except sqlite3.IntegrityError:
                raise DuplicateDepositError(f"deposit id {deposit_id} was already used"
                                            ) from None
            except sqlite3.Error as exc:
                if storage_problem(exc, self._free_or_none()) is StorageProblem.DISK_FULL:
                    raise self._full_while_sealing(deposit_id, len(pdf), exc) from None
                raise self.storage_error(f"queue deposit {deposit_id}", exc) from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if linked:
                remove_durably(final)
            raise
        finally:
            os.close(fd)   # releases the flock
        log.info("deposit %s sealed and queued (%d bytes)", deposit_id, sealed.size)
        return Entry(deposit_id=deposit_id, state=OutboxState.SEALED, manifest=blob,
                     envelope_size=sealed.size, envelope_sha256=sealed.sha256,
                     queued_at=queued_at, envelope_path=final)

    def _full_while_sealing(self, deposit_id: str, pdf_bytes: int,
                            exc: OSError | sqlite3.Error) -> OutboxError:
        """A new deposit that met a full disk: OutboxFullError (nothing queued), or the storage
        error when the cause was something else."""
        free = self._free_or_none()
        if storage_problem(exc, free) is not StorageProblem.DISK_FULL:
            return self.storage_error(f"seal deposit {deposit_id}", exc)
        return OutboxFullError(
            f"outbox {self.folder}: the disk filled up while sealing deposit {deposit_id} "
            f"({size_text(free or 0)} free); nothing was queued. Free space on the data disk.",
            free_bytes=free or 0, needed_bytes=self.needed_bytes(pdf_bytes))

    # -------------------------------------------------------------- queries

    @_storage("read a deposit")
    def get(self, deposit_id: str) -> Entry:
        with self._lock:
            row = self._conn.execute("SELECT * FROM deposits WHERE deposit_id = ?",
                                  (deposit_id,)).fetchone()
        if row is None:
            raise UnknownDepositError(f"no deposit {deposit_id} in the outbox")
        return self._entry(row)

    @_storage("list the deposits")
    def list(self, states: Sequence[OutboxState] | None = None) -> list[Entry]:
        """Entries in queue order, optionally only those in ``states``."""
        wanted = [OutboxState(s) for s in (states or list(OutboxState))]
        marks = ", ".join("?" * len(wanted))
        with self._lock:
            # Only "?" placeholders are interpolated; the values are bound.
            rows = self._conn.execute(f"SELECT * FROM deposits WHERE state IN ({marks}) "  # noqa: S608
                                   "ORDER BY seq", [str(s) for s in wanted]).fetchall()
        return [self._entry(r) for r in rows]

    def pending(self) -> builtins.list[Entry]:
        """Deposits the uploader will send (sealed or uploading), oldest first."""
        return self.list([OutboxState.SEALED, OutboxState.UPLOADING])

    def held(self) -> builtins.list[Entry]:
        """Deposits on the kiosk not yet acknowledged (pending or refused), oldest first: what
        ``kiosk export`` writes to removable media."""
        return self.list([OutboxState.SEALED, OutboxState.UPLOADING, OutboxState.REFUSED])

    @_storage("read the last deposit id")
    def last_deposit_id(self) -> str | None:
        """The id of the last deposit ever queued (tombstones included), or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT deposit_id FROM deposits ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    @_storage("count the deposits")
    def stats(self, *, quick: bool = False) -> Stats:
        with self._lock:
            counts = {str(r[0]): int(r[1]) for r in self._conn.execute(
                "SELECT state, COUNT(*) FROM deposits GROUP BY state")}
            queued = self._conn.execute(
                "SELECT COALESCE(SUM(envelope_size), 0), MIN(queued_at) FROM deposits "
                "WHERE state IN ('sealed', 'uploading')").fetchone()
        free = self.free_bytes()
        needed = self.needed_bytes()
        return Stats(by_state={s.value: counts.get(s.value, 0) for s in OutboxState},
                     queued_bytes=int(queued[0]), oldest_queued_at=queued[1],
                     last_deposit_id=None if quick else self.last_deposit_id(),
                     free_bytes=free, needed_bytes=needed, accepting=free >= needed,
                     recovery=self.recovery, standing=self.standing(),
                     drain_reserve_bytes=self.drain_reserve_held())

    # -------------------------------------------------------------- uploader side

    @_storage("claim the next deposit to upload")
    def claim_next(self, owner: str, lease_seconds: float = DEFAULT_LEASE_SECONDS, *,
                   exclude: Collection[str] = ()) -> Claim | None:
        """Lease the oldest deposit waiting for upload to ``owner``; None when there is none.

        A deposit is waiting when sealed (and past the ``retry_after`` of its last
        release), or uploading under a lease that expired. Two uploaders never
        hold the same deposit at once; a deposit that keeps failing, released with
        a delay, does not block those behind it. ``exclude``: deposits this pass
        already tried. Each claim counts one attempt.
        """
        now = self._clock()
        skip = sorted(exclude)
        marks = ", ".join("?" * len(skip))
        # Only "?" placeholders are interpolated; the values are bound.
        query = ("SELECT * FROM deposits WHERE ((state = 'sealed' AND (retry_at IS NULL OR "  # noqa: S608
                 "retry_at <= ?)) OR (state = 'uploading' AND lease_until < ?))"
                 + (f" AND deposit_id NOT IN ({marks})" if skip else "")
                 + " ORDER BY seq LIMIT 1")

        def lease(db: sqlite3.Connection) -> Claim | None:
            row = db.execute(query, (now, now, *skip)).fetchone()
            if row is None:
                return None
            return self._lease(db, row, owner, now + lease_seconds)

        claim = self._write(lease)
        self.drain_reserve.keep()      # space may have come back (another program freed it)
        return claim

    @_storage("claim a deposit")
    def claim(self, deposit_id: str, owner: str,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> Claim:
        """Lease one given deposit; LeaseError if another uploader holds a live lease."""
        now = self._clock()

        def lease(db: sqlite3.Connection) -> Claim:
            row = db.execute("SELECT * FROM deposits WHERE deposit_id = ?",
                             (deposit_id,)).fetchone()
            if row is None:
                raise UnknownDepositError(f"no deposit {deposit_id} in the outbox")
            state = OutboxState(row["state"])
            if state not in (OutboxState.SEALED, OutboxState.UPLOADING):
                raise StateError(f"deposit {deposit_id} is {state}, not waiting for upload")
            if (state == OutboxState.UPLOADING and row["lease_owner"] != owner
                    and row["lease_until"] >= now):
                raise LeaseError(f"deposit {deposit_id} is being uploaded by "
                                 f"{row['lease_owner']}")
            return self._lease(db, row, owner, now + lease_seconds)

        return self._write(lease)

    def _lease(self, db: sqlite3.Connection, row: sqlite3.Row, owner: str,
               until: float) -> Claim:
        db.execute("UPDATE deposits SET state = 'uploading', lease_owner = ?, lease_until = ?, "
                   "retry_at = NULL, attempts = attempts + 1 WHERE deposit_id = ?",
                   (owner, until, row["deposit_id"]))
        return Claim(deposit_id=row["deposit_id"], owner=owner, lease_until=until,
                     manifest=bytes(row["manifest"]),
                     envelope_path=self._path(row["deposit_id"]),
                     envelope_size=row["envelope_size"], envelope_sha256=row["envelope_sha256"],
                     attempts=row["attempts"] + 1, upload_url=row["upload_url"],
                     contact=bytes(row["contact"]) if row["contact"] is not None else None)

    def _held(self, db: sqlite3.Connection, deposit_id: str, owner: str) -> sqlite3.Row:
        row: sqlite3.Row | None = db.execute("SELECT * FROM deposits WHERE deposit_id = ?",
                                             (deposit_id,)).fetchone()
        if row is None:
            raise UnknownDepositError(f"no deposit {deposit_id} in the outbox")
        if row["state"] != OutboxState.UPLOADING or row["lease_owner"] != owner:
            raise LeaseError(f"{owner} holds no upload lease on deposit {deposit_id}")
        return row

    @_storage("renew an upload lease")
    def renew_lease(self, deposit_id: str, owner: str,
                    lease_seconds: float = DEFAULT_LEASE_SECONDS) -> float:
        """Extend a held lease; the new expiry. LeaseError if it is no longer held."""
        until = self._clock() + lease_seconds

        def renew(db: sqlite3.Connection) -> None:
            self._held(db, deposit_id, owner)
            db.execute("UPDATE deposits SET lease_until = ? WHERE deposit_id = ?",
                       (until, deposit_id))

        self._write(renew)
        return until

    @_storage("record the upload's address")
    def set_upload_url(self, deposit_id: str, owner: str, url: str | None) -> None:
        """Remember (or forget, with None) the tus upload of a held deposit, durably: set
        before the first byte is sent to it, so that a restart resumes it."""
        def remember(db: sqlite3.Connection) -> None:
            self._held(db, deposit_id, owner)
            db.execute("UPDATE deposits SET upload_url = ? WHERE deposit_id = ?",
                       (url, deposit_id))

        self._write(remember)

    @_storage("release a deposit after a failed upload")
    def release(self, deposit_id: str, owner: str, error: str | None = None, *,
                retry_after: float = 0.0,
                outcome: DeliveryOutcome = DeliveryOutcome.RETRY) -> None:
        """Give a claimed deposit back (not delivered this time); ``error`` and ``outcome``
        are kept for diagnostics.

        ``retry_after`` (seconds; the uploader's backoff) keeps it from being
        claimed again before then, so the deposits behind it go first.
        """
        retry_at = self._clock() + retry_after if retry_after > 0 else None

        def give_back(db: sqlite3.Connection) -> None:
            self._held(db, deposit_id, owner)
            db.execute("UPDATE deposits SET state = 'sealed', lease_owner = NULL, "
                       "lease_until = NULL, retry_at = ?, last_error = ?, last_outcome = ? "
                       "WHERE deposit_id = ?", (retry_at, error, outcome, deposit_id))

        self._write(give_back)

    @_storage("record a refused deposit")
    def refuse(self, deposit_id: str, owner: str, reason: str) -> None:
        """The back office refused this dossier as it is: keep it, with the reason, and do not
        offer it for upload again (→ refused) until :meth:`requeue_refused`."""
        def keep(db: sqlite3.Connection) -> None:
            self._held(db, deposit_id, owner)
            db.execute("UPDATE deposits SET state = 'refused', lease_owner = NULL, "
                       "lease_until = NULL, retry_at = NULL, last_error = ?, last_outcome = ?, "
                       "upload_url = NULL, refused_at = ? WHERE deposit_id = ?",
                       (reason, DeliveryOutcome.REFUSED, _now_text(self._clock), deposit_id))

        self._write(keep)
        log.error("deposit %s refused by the back office and kept on the kiosk: %s",
                  deposit_id, reason)

    @_storage("offer refused deposits again")
    def requeue_refused(self, deposit_ids: Collection[str] | None = None) -> builtins.list[str]:
        """Offer refused deposits (all, or those named) for upload again (a technician's
        decision, once the cause is fixed). Returns the ids requeued."""
        def requeue(db: sqlite3.Connection) -> builtins.list[str]:
            rows = db.execute("SELECT deposit_id FROM deposits WHERE state = 'refused' "
                              "ORDER BY seq").fetchall()
            ids = [str(r[0]) for r in rows
                   if deposit_ids is None or str(r[0]) in set(deposit_ids)]
            for deposit_id in ids:
                db.execute("UPDATE deposits SET state = 'sealed', retry_at = NULL "
                           "WHERE deposit_id = ?", (deposit_id,))
            return ids

        ids = self._write(requeue)
        if ids:
            log.warning("refused deposit(s) offered for upload again: %s", ", ".join(ids))
        return ids

    @_storage("read when the next deposit is due")
    def next_claimable_at(self) -> float | None:
        """When :meth:`claim_next` could next succeed (clock seconds; <= now: at once), or
        None when nothing waits. For the uploader's sleep between rounds."""
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(CASE WHEN state = 'sealed' THEN COALESCE(retry_at, 0) "
                "ELSE lease_until END) FROM deposits "
                "WHERE state IN ('sealed', 'uploading')").fetchone()
        return None if row[0] is None else float(row[0])

    @_storage("record an acknowledgement")
    def mark_acknowledged(self, deposit_id: str, ack: bytes, *, owner: str | None = None,
                          outcome: DeliveryOutcome = DeliveryOutcome.DELIVERED) -> bool:
        """Record the back office's acknowledgement, then delete the envelope (→ purged).

        The caller has verified ``ack``. Accepted from sealed, refused or
        uploading (with ``owner``, the lease must be this uploader's if held);
        a second acknowledgement of the same deposit is a no-op returning False.
        """
        now = _now_text(self._clock)

        def acknowledge(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT * FROM deposits WHERE deposit_id = ?",
                             (deposit_id,)).fetchone()
            if row is None:
                raise UnknownDepositError(f"no deposit {deposit_id} in the outbox")
            state = OutboxState(row["state"])
            if state in (OutboxState.ACKNOWLEDGED, OutboxState.PURGED):
                return False
            if (owner is not None and state == OutboxState.UPLOADING
                    and row["lease_owner"] not in (None, owner)
                    and row["lease_until"] >= self._clock()):
                raise LeaseError(f"deposit {deposit_id} is leased to {row['lease_owner']}")
            db.execute("UPDATE deposits SET state = 'acknowledged', ack = ?, "
                       "acknowledged_at = ?, lease_owner = NULL, lease_until = NULL, "
                       "last_outcome = ?, upload_url = NULL, contact = NULL "
                       "WHERE deposit_id = ?",
                       (ack, now, outcome, deposit_id))
            return True

        if not self._write(acknowledge):
            return False
        self._purge(deposit_id)
        log.info("deposit %s acknowledged by the back office; envelope deleted", deposit_id)
        self.drain_reserve.keep()
        return True

    # -------------------------------------------------------------- standing

    @_storage("read the back office's standing")
    def standing(self) -> StandingRecord:
        """The kiosk's standing with its back office, as the uploader last recorded it."""
        with self._lock:
            rows = dict(self._conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('standing', 'standing_reason', "
                "'standing_since', 'last_contact')").fetchall())
        try:
            standing = Standing(rows.get("standing", Standing.UNKNOWN))
        except ValueError:
            standing = Standing.UNKNOWN
        return StandingRecord(standing, rows.get("standing_reason", ""),
                              rows.get("standing_since"), rows.get("last_contact"))

    @_storage("record the back office's standing")
    def set_standing(self, standing: Standing, reason: str = "") -> bool:
        """Record the kiosk's standing (the uploader, after each exchange or failure to
        have one). Returns True when it changed (then the caller alerts the technician)."""
        now = _now_text(self._clock)

        def record(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT value FROM meta WHERE key = 'standing'").fetchone()
            changed = row is None or row[0] != standing
            values = [("standing", standing.value), ("standing_reason", reason)]
            if changed:
                values.append(("standing_since", now))
            if standing is Standing.ONLINE:
                values.append(("last_contact", now))
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values)
            return changed

        return self._write(record)

    def _purge(self, deposit_id: str) -> None:
        remove_durably(self._path(deposit_id))
        self._write(lambda db: db.execute(
            "UPDATE deposits SET state = 'purged', purged_at = ? "
            "WHERE deposit_id = ? AND state = 'acknowledged'",
            (_now_text(self._clock), deposit_id)))

    # -------------------------------------------------------------- recovery

    @_storage("recover the outbox after an interrupted run")
    def recover(self) -> RecoveryReport:
        """Clean up after an interrupted run; see the module docstring. Logged and returned."""
        temp: builtins.list[str] = []
        orphans: builtins.list[str] = []
        strays: builtins.list[str] = []
        for path in sorted(self.envelopes.iterdir()):
            name = path.name
            if name.startswith(".") and name.endswith(TMP_SUFFIX):
                if self._remove_if_unlocked(path, lambda: True):
                    temp.append(name)
            elif name.endswith(SUFFIX) and _ID_FILE.fullmatch(name[:-len(SUFFIX)]):
                deposit_id = name[:-len(SUFFIX)]
                if self._remove_if_unlocked(path, self._without_row(deposit_id)):
                    orphans.append(deposit_id)
            else:
                strays.append(name)
        purged = []
        for entry in self.list([OutboxState.ACKNOWLEDGED]):
            self._purge(entry.deposit_id)
            purged.append(entry.deposit_id)
        missing = [e.deposit_id for e in self.pending() if not e.envelope_path.exists()]
        report = RecoveryReport(tuple(temp), tuple(orphans), tuple(purged), tuple(missing),
                                tuple(strays))
        for line in report.lines():
            (log.error if line.startswith("ERROR") else log.warning)("outbox recovery: %s", line)
        self.drain_reserve.keep()
        return report

    def _without_row(self, deposit_id: str) -> Callable[[], bool]:
        return lambda: not self._has_row(deposit_id)

    def _has_row(self, deposit_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM deposits WHERE deposit_id = ?",
                                   (deposit_id,)).fetchone() is not None

    def _remove_if_unlocked(self, path: Path, should_remove: Callable[[], bool]) -> bool:
        """Remove ``path`` if no live writer holds its lock and ``should_remove()`` says so."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False     # a live writer is still on it
            if not should_remove():
                return False
            return remove_durably(path)
        finally:
            os.close(fd)
