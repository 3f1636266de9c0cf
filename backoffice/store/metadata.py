"""Metadata of the back office in SQL: kiosks, tus uploads, deposits, conflicts, statuses,
agent calls.

One schema, two engines chosen by URL (backoffice/store/engines.py:
``open_metadata``): SQLite on one machine, PostgreSQL for many ingest
processes. This module holds the records and the queries.

Every method is synchronous and commits before it returns; the ASGI app calls
them from worker threads. Times are stored as RFC 3339 UTC text (they sort).
The SQL is written once with ``?`` placeholders; the PostgreSQL store
rewrites them to ``%s``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from backoffice.errors import StoreError
from backoffice.status import DossierStatus
from backoffice.store import schema

log = logging.getLogger(__name__)

#: The states a deposit's status can take, in the order staff usually set them.
#: Crossing into the status page (``backoffice/statuspage.py``) and the CLI.

#: Upload states: open (receiving bytes), complete (stored and acknowledged),
#: refused (failed verification at completion), terminated (DELETE), expired.
UPLOAD_STATES = ("open", "complete", "refused", "terminated", "expired")


def iso(when: datetime) -> str:
    """RFC 3339 UTC with microseconds: sortable as text."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class KioskRecord:
    kiosk_id: str
    fleet_code: str
    cert_fingerprint: str
    cert_serial: str
    signing_key_pem: str
    enrolled_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class UploadRecord:
    upload_id: str
    kiosk_id: str
    deposit_id: str
    envelope_sha256: str
    length: int
    offset: int
    metadata: str           # the Upload-Metadata header as received, for HEAD
    manifest: bytes         # the signed manifest, verified at creation
    created_at: datetime
    expires_at: datetime
    state: str = "open"
    ack: bytes | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DepositRecord:
    deposit_id: str
    kiosk_id: str
    procedure: str
    created_at: datetime            # on the kiosk, from the manifest
    received_at: datetime           # here
    envelope_sha256: str
    envelope_size: int
    tracking_token_sha256: str
    manifest: bytes
    object_key: str
    ack: bytes
    status: DossierStatus = DossierStatus.RECEIVED
    status_message: str = ""
    status_at: datetime | None = None
    assignee: str | None = None         # the staff account handling it
    due_at: datetime | None = None      # received + the procedure's committed delay
    language: str | None = None         # the citizen's language at the kiosk (manifest v2)
    deemed_on: date | None = None       # the deemed-decision date as it stands (deadlines.py)


@dataclass(frozen=True)
class ConflictRecord:
    """A second, different envelope under a deposit id already stored: kept apart."""

    deposit_id: str
    envelope_sha256: str
    kiosk_id: str
    procedure: str
    received_at: datetime
    envelope_size: int
    manifest: bytes
    object_key: str
    ack: bytes


@dataclass(frozen=True)
class AgentCallRecord:
    """A citizen's "call an agent" from a kiosk (backoffice/agentcalls.py): no one's identity
    but the staff member's who saw it."""

    call_id: str
    kiosk_id: str
    step: str
    called_at: datetime             # on the kiosk
    received_at: datetime           # here
    seen_at: datetime | None = None
    seen_by: str | None = None

    @property
    def seen(self) -> bool:
        return self.seen_at is not None




def _kiosk(row: Any) -> KioskRecord:
    return KioskRecord(
        kiosk_id=row["kiosk_id"], fleet_code=row["fleet_code"],
        cert_fingerprint=row["cert_fingerprint"], cert_serial=row["cert_serial"],
        signing_key_pem=row["signing_key_pem"], enrolled_at=parse_iso(row["enrolled_at"]),
        revoked_at=parse_iso(row["revoked_at"]) if row["revoked_at"] else None)


def _upload(row: Any) -> UploadRecord:
    return UploadRecord(
        upload_id=row["upload_id"], kiosk_id=row["kiosk_id"], deposit_id=row["deposit_id"],
        envelope_sha256=row["envelope_sha256"], length=int(row["length"]),
        offset=int(row["upload_offset"]), metadata=row["metadata"],
        manifest=bytes(row["manifest"]), created_at=parse_iso(row["created_at"]),
        expires_at=parse_iso(row["expires_at"]), state=row["state"],
        ack=bytes(row["ack"]) if row["ack"] is not None else None, reason=row["reason"])


def _deposit(row: Any) -> DepositRecord:
    return DepositRecord(
        deposit_id=row["deposit_id"], kiosk_id=row["kiosk_id"], procedure=row["procedure"],
        created_at=parse_iso(row["created_at"]), received_at=parse_iso(row["received_at"]),
        envelope_sha256=row["envelope_sha256"], envelope_size=int(row["envelope_size"]),
        tracking_token_sha256=row["tracking_token_sha256"], manifest=bytes(row["manifest"]),
        object_key=row["object_key"], ack=bytes(row["ack"]),
        status=DossierStatus(row["status"]),
        status_message=row["status_message"], status_at=parse_iso(row["status_at"]),
        assignee=row["assignee"], due_at=parse_iso(row["due_at"]) if row["due_at"] else None,
        language=row["language"],
        deemed_on=date.fromisoformat(row["deemed_on"]) if row["deemed_on"] else None)


def _conflict(row: Any) -> ConflictRecord:
    return ConflictRecord(
        deposit_id=row["deposit_id"], envelope_sha256=row["envelope_sha256"],
        kiosk_id=row["kiosk_id"], procedure=row["procedure"],
        received_at=parse_iso(row["received_at"]), envelope_size=int(row["envelope_size"]),
        manifest=bytes(row["manifest"]), object_key=row["object_key"], ack=bytes(row["ack"]))


def _agent_call(row: Any) -> AgentCallRecord:
    return AgentCallRecord(
        call_id=row["call_id"], kiosk_id=row["kiosk_id"], step=row["step"],
        called_at=parse_iso(row["called_at"]), received_at=parse_iso(row["received_at"]),
        seen_at=parse_iso(row["seen_at"]) if row["seen_at"] else None, seen_by=row["seen_by"])


class Cursor:
    """What a transaction hands out: ``execute`` returning rows as mappings."""

    def __init__(self, store: MetadataStore, raw: Any) -> None:
        self._store = store
        self._raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._raw.execute(self._store.dialect_sql(sql), tuple(params))
        return self

    def one(self) -> Any | None:
        row: Any = self._raw.fetchone()
        return row

    def scalar(self) -> int:
        row: Any = self._raw.fetchone()
        return int(row["n"])

    def all(self) -> list[Any]:
        return list(self._raw.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._raw.rowcount)


class MetadataStore:
    """The queries; subclasses give connections, a placeholder style and a blob type."""

    url: str = ""
    blob_type = "BLOB"
    #: Appended to a SELECT that must hold its rows until the transaction ends (SQLite's
    #: BEGIN IMMEDIATE already holds the whole database).
    for_update = ""

    # ------------------------------------------------------------------ engine
    def dialect_sql(self, sql: str) -> str:
        return sql

    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        """A transaction committed when the block ends, rolled back if it raises."""
        raise NotImplementedError

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        """A transaction that only reads: it never waits for, nor holds, the write lock."""
        return self.transaction()

    def lock_kiosk(self, cur: Cursor, kiosk_id: str) -> None:
        """Serialise, until the transaction ends, the writers that count this kiosk's uploads.

        SQLite's ``BEGIN IMMEDIATE`` already serialises every writer.
        """

    def close(self) -> None:
        """Release connections."""

    def lock_schema(self, cur: Cursor) -> None:
        """Serialise, until the transaction ends, the processes that migrate the schema.

        SQLite's ``BEGIN IMMEDIATE`` already serialises every writer.
        """

    def init_schema(self) -> list[int]:
        """Bring the schema to the newest version (backoffice/store/schema.py); the versions
        applied now (none when it was up to date)."""
        return self.migrate()

    def migrate(self, to: int | None = None) -> list[int]:
        """Apply, in order and in one transaction, the migrations after the database's version
        up to ``to`` (the newest when None); the versions applied now.

        ``to`` exists for the migration tests, which build a database as an older back
        office left it; the program itself always goes to the newest.
        """
        newest = schema.MIGRATIONS[-1].version
        target = newest if to is None else to
        if not 1 <= target <= newest:
            raise ValueError(f"schema version {target}: this program knows 1 to {newest}")
        applied: list[int] = []
        with self.transaction() as cur:
            self.lock_schema(cur)
            cur.execute(schema.TABLE)
            row = cur.execute("SELECT COALESCE(MAX(version), 0) AS n "
                              "FROM schema_migrations").one()
            current = int(row["n"]) if row is not None else 0
            if current > newest:
                raise StoreError(f"{self.describe()}: schema version {current} is newer than "
                                 f"this program knows ({newest}); upgrade the back office")
            for migration in schema.MIGRATIONS:
                if not current < migration.version <= target:
                    continue
                for statement in migration.statements(self.blob_type):
                    cur.execute(statement)
                if migration.backfill is not None:
                    migration.backfill(cur)
                cur.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (?, ?, ?)",
                            (migration.version, migration.name, iso(datetime.now(UTC))))
                applied.append(migration.version)
        for version in applied:
            log.info("%s: schema migrated to version %d", self.describe(), version)
        return applied

    def schema_version(self) -> int:
        with self.read() as cur:
            row = cur.execute("SELECT COALESCE(MAX(version), 0) AS n "
                              "FROM schema_migrations").one()
        return int(row["n"]) if row is not None else 0

    def describe(self) -> str:
        """The URL without a password, for logs."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url

    def ping(self) -> None:
        with self.read() as cur:
            cur.execute("SELECT 1").one()

    # ------------------------------------------------------------------ kiosks
    def add_kiosk(self, k: KioskRecord) -> bool:
        """Add a kiosk; False if its id, fleet code or certificate is taken."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO kiosks (kiosk_id, fleet_code, cert_fingerprint, cert_serial, "
                "signing_key_pem, enrolled_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL) "
                "ON CONFLICT DO NOTHING",
                (k.kiosk_id, k.fleet_code, k.cert_fingerprint, k.cert_serial, k.signing_key_pem,
                 iso(k.enrolled_at)))
            return cur.rowcount == 1

    def kiosk(self, kiosk_id: str) -> KioskRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)).one()
        return _kiosk(row) if row else None

    def kiosk_by_fingerprint(self, fp: str) -> KioskRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM kiosks WHERE cert_fingerprint = ?", (fp,)).one()
        return _kiosk(row) if row else None

    def fleet_code_taken(self, code: str) -> bool:
        with self.read() as cur:
            return cur.execute("SELECT 1 FROM kiosks WHERE fleet_code = ?", (code,)).one() \
                is not None

    def kiosks(self) -> list[KioskRecord]:
        with self.read() as cur:
            return [_kiosk(r) for r in cur.execute(
                "SELECT * FROM kiosks ORDER BY kiosk_id").all()]

    def revoke(self, kiosk_id: str, at: datetime) -> bool:
        """Mark a kiosk revoked; False if unknown. Revoking twice keeps the first time."""
        with self.transaction() as cur:
            cur.execute("UPDATE kiosks SET revoked_at = COALESCE(revoked_at, ?) "
                        "WHERE kiosk_id = ?", (iso(at), kiosk_id))
            return cur.rowcount == 1

    # ------------------------------------------------------------------ uploads
    def create_upload(self, u: UploadRecord, *, max_open: int | None = None,
                      max_in_flight: int | None = None) -> str | None:
        """Record a new upload, unless the kiosk's quota refuses it: then why, in words.

        The quota counts this kiosk's unfinished uploads not yet expired, and the
        bytes they declared and have not received yet; counting and inserting
        are one transaction, so concurrent creations never pass the caps.
        """
        with self.transaction() as cur:
            self.lock_kiosk(cur, u.kiosk_id)
            if max_open is not None or max_in_flight is not None:
                row = cur.execute(
                    "SELECT COUNT(*) AS n, COALESCE(SUM(length - upload_offset), 0) AS b "
                    "FROM uploads WHERE kiosk_id = ? AND state = 'open' AND expires_at > ?",
                    (u.kiosk_id, iso(u.created_at))).one()
                assert row is not None  # an aggregate always returns a row
                count, pending = int(row["n"]), int(row["b"])
                if max_open is not None and count >= max_open:
                    return (f"kiosk {u.kiosk_id} has {count} unfinished uploads, the most "
                            f"allowed (finish or terminate one first)")
                if max_in_flight is not None and pending + u.length - u.offset > max_in_flight:
                    return (f"kiosk {u.kiosk_id} has {pending} bytes declared and not yet "
                            f"sent; {u.length - u.offset} more would pass the quota of "
                            f"{max_in_flight}")
            cur.execute(
                "INSERT INTO uploads (upload_id, kiosk_id, deposit_id, envelope_sha256, length, "
                "upload_offset, metadata, manifest, created_at, expires_at, state, ack, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (u.upload_id, u.kiosk_id, u.deposit_id, u.envelope_sha256, u.length, u.offset,
                 u.metadata, u.manifest, iso(u.created_at), iso(u.expires_at), u.state, u.ack,
                 u.reason))
        return None

    def upload(self, upload_id: str) -> UploadRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM uploads WHERE upload_id = ?", (upload_id,)).one()
        return _upload(row) if row else None

    def find_upload(self, kiosk_id: str, deposit_id: str, envelope_sha256: str,
                    states: Sequence[str]) -> UploadRecord | None:
        """The newest upload of this kiosk for this envelope in one of ``states``."""
        marks = ", ".join("?" for _ in states)
        with self.read() as cur:
            row = cur.execute(
                f"SELECT * FROM uploads WHERE kiosk_id = ? AND deposit_id = ? "  # noqa: S608 - only placeholders are interpolated
                f"AND envelope_sha256 = ? AND state IN ({marks}) "
                f"ORDER BY created_at DESC LIMIT 1",
                (kiosk_id, deposit_id, envelope_sha256, *states)).one()
        return _upload(row) if row else None

    def advance(self, upload_id: str, old: int, new: int, expires_at: datetime) -> bool:
        """Move an open upload's offset from ``old`` to ``new``; False if it was not at ``old``."""
        with self.transaction() as cur:
            cur.execute("UPDATE uploads SET upload_offset = ?, expires_at = ? "
                        "WHERE upload_id = ? AND upload_offset = ? AND state = 'open'",
                        (new, iso(expires_at), upload_id, old))
            return cur.rowcount == 1

    def end_upload(self, upload_id: str, state: str, *, ack: bytes | None = None,
                   reason: str | None = None) -> None:
        if state not in UPLOAD_STATES:
            raise ValueError(f"unknown upload state {state!r}")
        with self.transaction() as cur:
            cur.execute("UPDATE uploads SET state = ?, ack = ?, reason = ? WHERE upload_id = ?",
                        (state, ack, reason, upload_id))

    def expired_uploads(self, now: datetime, limit: int = 100) -> list[UploadRecord]:
        with self.read() as cur:
            return [_upload(r) for r in cur.execute(
                "SELECT * FROM uploads WHERE state = 'open' AND expires_at < ? "
                "ORDER BY expires_at LIMIT ?", (iso(now), limit)).all()]

    # ------------------------------------------------------------------ deposits
    def store_deposit(self, d: DepositRecord, upload_id: str) -> DepositRecord:
        """Record a new deposit and complete its upload, in one transaction.

        Returns the deposit now stored under that id: ``d`` itself, or the
        one stored earlier (by another request) when the id was taken.
        """
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO deposits (deposit_id, kiosk_id, procedure, created_at, received_at, "
                "envelope_sha256, envelope_size, tracking_token_sha256, manifest, object_key, "
                "ack, status, status_message, status_at, assignee, due_at, language, deemed_on) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (d.deposit_id, d.kiosk_id, d.procedure, iso(d.created_at), iso(d.received_at),
                 d.envelope_sha256, d.envelope_size, d.tracking_token_sha256, d.manifest,
                 d.object_key, d.ack, d.status, d.status_message, iso(d.received_at),
                 d.assignee, iso(d.due_at) if d.due_at else None, d.language,
                 d.deemed_on.isoformat() if d.deemed_on else None))
            if cur.rowcount == 1:
                cur.execute("INSERT INTO status_history (deposit_id, at, status, message) "
                            "VALUES (?, ?, ?, ?)",
                            (d.deposit_id, iso(d.received_at), d.status, d.status_message))
                cur.execute("UPDATE uploads SET state = 'complete', ack = ? WHERE upload_id = ?",
                            (d.ack, upload_id))
                return d
            row = cur.execute("SELECT * FROM deposits WHERE deposit_id = ?",
                              (d.deposit_id,)).one()
        if row is None:  # pragma: no cover - a deposit is never deleted
            raise StoreError(f"deposit {d.deposit_id} vanished while being stored")
        return _deposit(row)

    def store_conflict(self, c: ConflictRecord, upload_id: str) -> ConflictRecord:
        """Record a conflicting envelope and complete its upload; returns the stored record."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO conflicts (deposit_id, envelope_sha256, kiosk_id, procedure, "
                "received_at, envelope_size, manifest, object_key, ack) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (c.deposit_id, c.envelope_sha256, c.kiosk_id, c.procedure, iso(c.received_at),
                 c.envelope_size, c.manifest, c.object_key, c.ack))
            row = cur.execute("SELECT * FROM conflicts WHERE deposit_id = ? "
                              "AND envelope_sha256 = ?", (c.deposit_id, c.envelope_sha256)).one()
            stored = _conflict(row)
            cur.execute("UPDATE uploads SET state = 'complete', ack = ? WHERE upload_id = ?",
                        (stored.ack, upload_id))
        return stored

    def deposit(self, deposit_id: str) -> DepositRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM deposits WHERE deposit_id = ?", (deposit_id,)).one()
        return _deposit(row) if row else None

    def conflict(self, deposit_id: str, envelope_sha256: str) -> ConflictRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM conflicts WHERE deposit_id = ? "
                              "AND envelope_sha256 = ?", (deposit_id, envelope_sha256)).one()
        return _conflict(row) if row else None

    def deposits(self, limit: int | None = None) -> list[DepositRecord]:
        sql = "SELECT * FROM deposits ORDER BY received_at, deposit_id"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        with self.read() as cur:
            return [_deposit(r) for r in cur.execute(sql, params).all()]

    def conflicts(self) -> list[ConflictRecord]:
        with self.read() as cur:
            return [_conflict(r) for r in cur.execute(
                "SELECT * FROM conflicts ORDER BY received_at, deposit_id").all()]

    # ------------------------------------------------------------------ agent calls
    def add_agent_call(self, c: AgentCallRecord) -> tuple[AgentCallRecord, bool]:
        """Record a call unless its id is known; the call stored under that id, and whether it
        is new (the id is the idempotency key: a call posted twice is one call)."""
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO agent_calls (call_id, kiosk_id, step, called_at, received_at, "
                "seen_at, seen_by) VALUES (?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT DO NOTHING",
                (c.call_id, c.kiosk_id, c.step, iso(c.called_at), iso(c.received_at)))
            created = cur.rowcount == 1
            row = cur.execute("SELECT * FROM agent_calls WHERE call_id = ?", (c.call_id,)).one()
        if row is None:  # pragma: no cover - a call is never deleted
            raise StoreError(f"agent call {c.call_id} vanished while being stored")
        return _agent_call(row), created

    def recent_agent_calls(self, kiosk_id: str, since: datetime) -> int:
        """How many calls ``kiosk_id`` made that arrived after ``since``."""
        with self.read() as cur:
            return cur.execute("SELECT COUNT(*) AS n FROM agent_calls WHERE kiosk_id = ? "
                               "AND received_at > ?", (kiosk_id, iso(since))).scalar()

    def agent_call(self, call_id: str) -> AgentCallRecord | None:
        with self.read() as cur:
            row = cur.execute("SELECT * FROM agent_calls WHERE call_id = ?", (call_id,)).one()
        return _agent_call(row) if row else None

    def agent_calls(self, *, open_only: bool = True,
                    received_after: datetime | None = None) -> list[AgentCallRecord]:
        """Calls, oldest first: the open ones (no one saw them yet), or all; only those received
        after ``received_after`` when it is given."""
        sql = "SELECT * FROM agent_calls WHERE 1 = 1"
        params: list[Any] = []
        if open_only:
            sql += " AND seen_at IS NULL"
        if received_after is not None:
            sql += " AND received_at > ?"
            params.append(iso(received_after))
        with self.read() as cur:
            return [_agent_call(r) for r in cur.execute(
                sql + " ORDER BY received_at, call_id", params).all()]

    def ack_agent_call(self, call_id: str, by: str, at: datetime) -> AgentCallRecord | None:
        """Mark a call seen by ``by``; the call as stored (the first acknowledgement stays),
        None if unknown."""
        with self.transaction() as cur:
            cur.execute("UPDATE agent_calls SET seen_at = ?, seen_by = ? "
                        "WHERE call_id = ? AND seen_at IS NULL", (iso(at), by, call_id))
            row = cur.execute("SELECT * FROM agent_calls WHERE call_id = ?", (call_id,)).one()
        return _agent_call(row) if row else None

    def counts(self) -> dict[str, int]:
        """Figures for /metrics: deposits by status, conflicts, open uploads, kiosks."""
        out: dict[str, int] = {f"deposits:{s.value}": 0 for s in DossierStatus}
        with self.read() as cur:
            for row in cur.execute("SELECT status, COUNT(*) AS n FROM deposits "
                                   "GROUP BY status").all():
                out[f"deposits:{row['status']}"] = int(row["n"])
            out["conflicts"] = cur.execute("SELECT COUNT(*) AS n FROM conflicts").scalar()
            out["uploads:open"] = cur.execute(
                "SELECT COUNT(*) AS n FROM uploads WHERE state = 'open'").scalar()
            out["kiosks:active"] = cur.execute(
                "SELECT COUNT(*) AS n FROM kiosks WHERE revoked_at IS NULL").scalar()
            out["kiosks:revoked"] = cur.execute(
                "SELECT COUNT(*) AS n FROM kiosks WHERE revoked_at IS NOT NULL").scalar()
        return out
