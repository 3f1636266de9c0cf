"""The metadata schema, versioned: each migration runs once, in order, in one transaction.

``schema_migrations`` records which versions a database has. A database made
before versions were recorded holds version 1's tables already (they are
created ``IF NOT EXISTS``, so running version 1 on it changes nothing); from
then on each migration is applied exactly once. Two processes starting at the
same time do not both migrate: the store takes its schema lock first
(:meth:`MetadataStore.lock_schema`).

A migration is SQL both engines accept (``{blob}`` is the engine's binary type)
and, where rows must be filled from Python, a ``backfill`` run in the same
transaction. Never edit a migration that shipped: add one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backoffice.store.metadata import Cursor


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    backfill: Callable[[Cursor], None] | None = field(default=None)

    def statements(self, blob: str) -> list[str]:
        return [s.strip() for s in self.sql.format(blob=blob).split(";") if s.strip()]


BASE = """
CREATE TABLE IF NOT EXISTS kiosks (
    kiosk_id          TEXT PRIMARY KEY,
    fleet_code        TEXT NOT NULL UNIQUE,
    cert_fingerprint  TEXT NOT NULL UNIQUE,
    cert_serial       TEXT NOT NULL,
    signing_key_pem   TEXT NOT NULL,
    enrolled_at       TEXT NOT NULL,
    revoked_at        TEXT
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id         TEXT PRIMARY KEY,
    kiosk_id          TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    deposit_id        TEXT NOT NULL,
    envelope_sha256   TEXT NOT NULL,
    length            BIGINT NOT NULL,
    upload_offset     BIGINT NOT NULL,
    metadata          TEXT NOT NULL,
    manifest          {blob} NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    state             TEXT NOT NULL,
    ack               {blob},
    reason            TEXT
);
CREATE INDEX IF NOT EXISTS uploads_by_deposit ON uploads (deposit_id, envelope_sha256);
CREATE INDEX IF NOT EXISTS uploads_by_expiry ON uploads (state, expires_at);
CREATE TABLE IF NOT EXISTS deposits (
    deposit_id            TEXT PRIMARY KEY,
    kiosk_id              TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    procedure             TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    received_at           TEXT NOT NULL,
    envelope_sha256       TEXT NOT NULL,
    envelope_size         BIGINT NOT NULL,
    tracking_token_sha256 TEXT NOT NULL,
    manifest              {blob} NOT NULL,
    object_key            TEXT NOT NULL,
    ack                   {blob} NOT NULL,
    status                TEXT NOT NULL,
    status_message        TEXT NOT NULL,
    status_at             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deposits_by_received ON deposits (received_at);
CREATE TABLE IF NOT EXISTS conflicts (
    deposit_id        TEXT NOT NULL,
    envelope_sha256   TEXT NOT NULL,
    kiosk_id          TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    procedure         TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    envelope_size     BIGINT NOT NULL,
    manifest          {blob} NOT NULL,
    object_key        TEXT NOT NULL,
    ack               {blob} NOT NULL,
    PRIMARY KEY (deposit_id, envelope_sha256)
);
CREATE TABLE IF NOT EXISTS status_history (
    deposit_id  TEXT NOT NULL REFERENCES deposits (deposit_id),
    at          TEXT NOT NULL,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (deposit_id, at)
);
CREATE TABLE IF NOT EXISTS agent_calls (
    call_id       TEXT PRIMARY KEY,
    kiosk_id      TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    step          TEXT NOT NULL,
    called_at     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    seen_at       TEXT,
    seen_by       TEXT
);
CREATE INDEX IF NOT EXISTS agent_calls_by_received ON agent_calls (received_at);
"""


#: The inbox's indexes follow its queries (benchmarks/bench_staff.py looked at the plans on
#: 100 000 dossiers): each filter with the default order (received, then deposit id) is one
#: index range read in order, with no sort; an assignee's dossiers by due date likewise, the
#: dossiers without a due date last as the query asks.
STAFF = """
ALTER TABLE deposits ADD COLUMN assignee TEXT;
ALTER TABLE deposits ADD COLUMN due_at TEXT;
ALTER TABLE status_history ADD COLUMN actor TEXT;
DROP INDEX IF EXISTS deposits_by_received;
CREATE INDEX IF NOT EXISTS deposits_by_received_id ON deposits (received_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_status ON deposits (status, received_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_procedure ON deposits (procedure, received_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_procedure_status
    ON deposits (procedure, status, received_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_kiosk ON deposits (kiosk_id, received_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_assignee_due
    ON deposits (assignee, (due_at IS NULL), due_at, deposit_id);
CREATE INDEX IF NOT EXISTS deposits_by_due ON deposits ((due_at IS NULL), due_at, deposit_id);
CREATE TABLE IF NOT EXISTS staff (
    name              TEXT PRIMARY KEY,
    full_name         TEXT NOT NULL,
    role              TEXT NOT NULL,
    cert_fingerprint  TEXT NOT NULL UNIQUE,
    cert_serial       TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    disabled_at       TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    entry_id    TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    deposit_id  TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at, entry_id);
CREATE INDEX IF NOT EXISTS audit_by_deposit ON audit (deposit_id, at);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, at);
CREATE TABLE IF NOT EXISTS annotations (
    annotation_id TEXT PRIMARY KEY,
    deposit_id    TEXT NOT NULL REFERENCES deposits (deposit_id),
    at            TEXT NOT NULL,
    author        TEXT NOT NULL,
    text          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_by_deposit ON annotations (deposit_id, at)
"""


#: The legal chain of a deposit (CRPA L112-3, R112-5, L114-5): the deposit's language (for
#: its accusé de réception), its deemed-decision date as it stands, the accusé de réception's
#: facts frozen when it was issued, the requests for missing documents, the complements that
#: answer them, the citizen's contact sealed for the notifier, and the notifications to send.
LEGAL = """
ALTER TABLE deposits ADD COLUMN language TEXT;
ALTER TABLE deposits ADD COLUMN deemed_on TEXT;
CREATE TABLE IF NOT EXISTS acknowledgements (
    deposit_id  TEXT PRIMARY KEY REFERENCES deposits (deposit_id),
    issued_at   TEXT NOT NULL,
    facts       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS document_requests (
    request_id     TEXT PRIMARY KEY,
    deposit_id     TEXT NOT NULL REFERENCES deposits (deposit_id),
    requested_at   TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    deadline       TEXT NOT NULL,
    documents      TEXT NOT NULL,
    note           TEXT NOT NULL,
    state          TEXT NOT NULL,
    answered_at    TEXT,
    complement_id  TEXT
);
CREATE INDEX IF NOT EXISTS document_requests_by_deposit
    ON document_requests (deposit_id, requested_at);
CREATE TABLE IF NOT EXISTS complements (
    complement_id     TEXT PRIMARY KEY,
    deposit_id        TEXT NOT NULL REFERENCES deposits (deposit_id),
    request_id        TEXT NOT NULL REFERENCES document_requests (request_id),
    kiosk_id          TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    created_at        TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    envelope_sha256   TEXT NOT NULL,
    envelope_size     BIGINT NOT NULL,
    manifest          {blob} NOT NULL,
    object_key        TEXT NOT NULL,
    ack               {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS complements_by_deposit ON complements (deposit_id, received_at);
CREATE TABLE IF NOT EXISTS contacts (
    deposit_id  TEXT PRIMARY KEY REFERENCES deposits (deposit_id),
    sealed      {blob} NOT NULL,
    stored_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    notification_id  TEXT PRIMARY KEY,
    deposit_id       TEXT NOT NULL REFERENCES deposits (deposit_id),
    event            TEXT NOT NULL,
    channel          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    sent_at          TEXT,
    given_up_at      TEXT,
    last_error       TEXT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (sent_at, given_up_at,
    next_attempt_at);
CREATE INDEX IF NOT EXISTS notifications_by_deposit ON notifications (deposit_id, created_at)
"""


#: The fleet's health (issue #16): each kiosk's signed heartbeats (history) and the latest one,
#: the alerts they raise (one row per occurrence: opened, mailed, cleared, mailed again),
#: the citizens' satisfaction ratings as aggregated counts (per kiosk, procedure, ISO week and
#: rating: never per deposit; a heartbeat carries the kiosk's running totals, so a replay
#: rewrites the same counts), and the technicians' badges (issued, expiring, revocable: the
#: revocations reach kiosks in the signed fleet state).
FLEET = """
CREATE TABLE IF NOT EXISTS heartbeats (
    kiosk_id     TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    sent_at      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (kiosk_id, sent_at)
);
CREATE INDEX IF NOT EXISTS heartbeats_by_received ON heartbeats (received_at);
CREATE TABLE IF NOT EXISTS kiosk_health (
    kiosk_id     TEXT PRIMARY KEY REFERENCES kiosks (kiosk_id),
    sent_at      TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fleet_alerts (
    alert_id             TEXT PRIMARY KEY,
    kiosk_id             TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    kind                 TEXT NOT NULL,
    subject              TEXT NOT NULL,
    detail               TEXT NOT NULL,
    opened_at            TEXT NOT NULL,
    cleared_at           TEXT,
    opened_notified_at   TEXT,
    cleared_notified_at  TEXT
);
CREATE INDEX IF NOT EXISTS fleet_alerts_open ON fleet_alerts (cleared_at, kiosk_id, kind);
CREATE TABLE IF NOT EXISTS ratings (
    kiosk_id   TEXT NOT NULL REFERENCES kiosks (kiosk_id),
    procedure  TEXT NOT NULL,
    week       TEXT NOT NULL,
    rating     INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (kiosk_id, procedure, week, rating)
);
CREATE TABLE IF NOT EXISTS badges (
    badge_id    TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    issued_by   TEXT NOT NULL,
    revoked_at  TEXT
)
"""


def _due_dates(cur: Cursor) -> None:
    """Deposits stored before version 2 get the due date of their procedure's delay."""
    from backoffice import procedures
    from backoffice.store.metadata import iso, parse_iso

    rows: list[Any] = cur.execute(
        "SELECT deposit_id, procedure, received_at FROM deposits WHERE due_at IS NULL").all()
    for row in rows:
        due: datetime | None = procedures.due_at(row["procedure"], parse_iso(row["received_at"]))
        if due is not None:
            cur.execute("UPDATE deposits SET due_at = ? WHERE deposit_id = ?",
                        (iso(due), row["deposit_id"]))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "kiosks, uploads, deposits, conflicts, statuses, agent calls", BASE),
    Migration(2, "staff accounts, audit trail, annotations, assignment, due dates", STAFF,
              backfill=_due_dates),
    Migration(3, "the legal chain: language, deemed dates, accusés de réception, requests for "
                 "documents, complements, contacts, notifications", LEGAL),
    Migration(4, "the fleet's health: heartbeats, alerts, satisfaction ratings, technicians' "
                 "badges", FLEET),
)

TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)
"""
