"""The outbox seen from outside, read-only: what a technician may see of the queue.

``kiosk diag`` and the service screen's queue page show how the queue stands
while the kiosk application seals and ``kiosk uploader`` delivers, two other
processes writing the same SQLite file (deposit/outbox.py). This view must
never get in their way, so it does not use :class:`deposit.outbox.Outbox`
(which creates the folder, migrates the schema, writes the drain reserve and
takes ``BEGIN IMMEDIATE`` locks): it opens ``outbox.sqlite3`` with a
``file:…?mode=ro`` URI and runs one ``SELECT`` transaction. In WAL mode a
reader never waits for a writer and a writer never waits for a reader, so the
view works while the uploader holds a write transaction, and it cannot change
a byte of the queue even by mistake.

What it lists is nothing personal: per deposit its id, procedure code (from
the signed manifest, read but not verified: this is a display), state, time it
was sealed, size, delivery attempts and the class of its last outcome
(:class:`deposit.status.DeliveryOutcome`). The free text of the last error
(a server's answer) and the citizen's sealed contact are not read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from deposit import manifest as mf
from deposit.errors import DepositError, OutboxError
from deposit.outbox import DB_NAME, StandingRecord
from deposit.status import DeliveryOutcome, OutboxState, Standing

#: How long the view waits for SQLite's own short locks (a checkpoint); readers in WAL mode
#: otherwise never wait.
DEFAULT_BUSY_TIMEOUT_MS = 2000
#: States still on the kiosk and not yet acknowledged: what the view lists one by one (the
#: query in :func:`_read` spells them out).
HELD_STATES = (OutboxState.SEALED, OutboxState.UPLOADING, OutboxState.REFUSED)
_PENDING = (OutboxState.SEALED, OutboxState.UPLOADING)


@dataclass(frozen=True)
class QueuedDeposit:
    """One deposit not yet acknowledged, as a technician may see it."""

    deposit_id: str
    procedure: str                        # the procedure code; "" if the manifest is unreadable
    state: OutboxState
    sealed_at: str                        # UTC, RFC 3339 (the outbox's queued_at)
    envelope_size: int
    attempts: int
    last_outcome: DeliveryOutcome | None  # None: never tried yet

    def to_dict(self) -> dict[str, object]:
        return {"deposit_id": self.deposit_id, "procedure": self.procedure,
                "state": self.state, "sealed_at": self.sealed_at,
                "envelope_size": self.envelope_size, "attempts": self.attempts,
                "last_outcome": self.last_outcome}


@dataclass(frozen=True)
class QueueView:
    """The queue at one instant. ``exists`` is False when nothing was ever sealed here."""

    folder: Path
    exists: bool
    by_state: dict[OutboxState, int] = field(default_factory=dict)
    deposits: tuple[QueuedDeposit, ...] = ()   # held deposits, oldest first (maybe truncated)
    queued_bytes: int = 0                      # envelopes waiting for upload
    oldest_sealed_at: str | None = None        # of the deposits waiting for upload
    standing: StandingRecord = field(default_factory=StandingRecord)

    @property
    def pending(self) -> int:
        """Deposits the uploader will send (sealed or uploading)."""
        return sum(self.by_state.get(s, 0) for s in _PENDING)

    @property
    def refused(self) -> int:
        return self.by_state.get(OutboxState.REFUSED, 0)

    def oldest_age(self, now: float) -> float | None:
        """Seconds since the oldest waiting deposit was sealed, or None when none waits."""
        if self.oldest_sealed_at is None:
            return None
        sealed = datetime.strptime(self.oldest_sealed_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return max(0.0, now - sealed.timestamp())


def read_queue(folder: Path, *, limit: int = 100,
               busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> QueueView:
    """The queue of the outbox in ``folder`` (``{data_dir}/outbox``), read-only.

    ``limit``: at most this many deposits listed (the oldest); the counts cover all.
    Raises :class:`OutboxError` when the database exists but cannot be read.
    """
    path = folder / DB_NAME
    if not path.exists():
        return QueueView(folder, exists=False)
    try:
        # mode=ro: this connection can never write; no journal_mode pragma either (that
        # would be a write).
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                             timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise OutboxError(f"outbox {folder}: cannot open {DB_NAME} read-only ({exc})") from None
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("BEGIN")     # one snapshot for the counts and the list
        try:
            return _read(db, folder, limit)
        finally:
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise OutboxError(f"outbox {folder}: cannot read {DB_NAME} ({exc})") from None
    finally:
        db.close()


def _read(db: sqlite3.Connection, folder: Path, limit: int) -> QueueView:
    counts = {OutboxState(str(r[0])): int(r[1]) for r in db.execute(
        "SELECT state, COUNT(*) FROM deposits GROUP BY state")}
    queued = db.execute("SELECT COALESCE(SUM(envelope_size), 0), MIN(queued_at) FROM deposits "
                        "WHERE state IN ('sealed', 'uploading')").fetchone()
    rows = db.execute(
        "SELECT deposit_id, manifest, state, queued_at, envelope_size, attempts, last_outcome "
        "FROM deposits WHERE state IN ('sealed', 'uploading', 'refused') ORDER BY seq LIMIT ?",
        (limit,)).fetchall()
    meta = dict(db.execute(
        "SELECT key, value FROM meta WHERE key IN ('standing', 'standing_reason', "
        "'standing_since', 'last_contact')").fetchall())
    try:
        standing = Standing(meta.get("standing", Standing.UNKNOWN))
    except ValueError:
        standing = Standing.UNKNOWN
    return QueueView(
        folder, exists=True,
        by_state={s: counts.get(s, 0) for s in OutboxState},
        deposits=tuple(_deposit(r) for r in rows),
        queued_bytes=int(queued[0]), oldest_sealed_at=queued[1],
        standing=StandingRecord(standing, meta.get("standing_reason", ""),
                                meta.get("standing_since"), meta.get("last_contact")))


def _deposit(row: sqlite3.Row) -> QueuedDeposit:
    try:
        procedure = mf.parse_unverified(bytes(row["manifest"]))[0].procedure
    except DepositError:
        procedure = ""
    outcome = row["last_outcome"]
    return QueuedDeposit(deposit_id=row["deposit_id"], procedure=procedure,
                         state=OutboxState(row["state"]), sealed_at=row["queued_at"],
                         envelope_size=int(row["envelope_size"]), attempts=int(row["attempts"]),
                         last_outcome=DeliveryOutcome(outcome) if outcome is not None else None)
