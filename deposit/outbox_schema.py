"""The outbox database's schema, its version, and the migrations from earlier versions.

One SQLite file, ``outbox.sqlite3``, holds the whole delivery state of a
kiosk (shared by the kiosk application and ``kiosk uploader``)::

    deposits   one row per deposit ever queued (see deposit/outbox.py for the states)
    meta       key/value: schema version, and the kiosk's standing with its back office

Versions:

1. the queue (states sealed, uploading, acknowledged, purged); the uploader
   kept tus URLs and outcomes in a second file, ``uploader.sqlite3``.
2. one schema for the delivery state: state ``refused``; ``last_outcome``
   (deposit.status.DeliveryOutcome), ``upload_url`` (the tus upload being
   resumed), ``refused_at``; the standing in ``meta``. :func:`migrate` rebuilds
   the table of version 1 (SQLite cannot widen a CHECK constraint in place)
   and takes over what ``uploader.sqlite3`` knew.
3. ``contact``: the citizen's contact card sealed to the back office's notifier
   (deposit/contact.py), only for a citizen who left a contact and consented;
   ciphertext, never the address in clear; cleared once the deposit is
   acknowledged. :func:`_migrate_2_to_3` adds the column (NULL for older rows).

:func:`setup` runs inside the caller's ``BEGIN IMMEDIATE`` transaction, so two
processes opening one outbox at once never both migrate it.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from deposit.errors import OutboxError
from deposit.status import DeliveryOutcome, OutboxState

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
#: The file where version 1's uploader kept tus URLs and outcomes (taken over by version 2).
LEGACY_UPLOAD_STATE = "uploader.sqlite3"


def _values(enum: type[OutboxState] | type[DeliveryOutcome]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


DEPOSITS_TABLE = f"""
CREATE TABLE deposits (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order, never reused
    deposit_id       TEXT    NOT NULL UNIQUE,
    manifest         BLOB    NOT NULL,                   -- signed blob (deposit.manifest)
    envelope_size    INTEGER NOT NULL,
    envelope_sha256  TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ({_values(OutboxState)})),
    queued_at        TEXT    NOT NULL,
    lease_owner      TEXT,
    lease_until      REAL,
    retry_at         REAL,                               -- sealed: not claimable before
    attempts         INTEGER NOT NULL DEFAULT 0,         -- delivery attempts (claims)
    last_error       TEXT,
    last_outcome     TEXT    CHECK (last_outcome IS NULL OR last_outcome IN
                                    ({_values(DeliveryOutcome)})),
    upload_url       TEXT,                               -- the tus upload being resumed
    refused_at       TEXT,
    ack              BLOB,
    acknowledged_at  TEXT,
    purged_at        TEXT
)"""

_INDEX = "CREATE INDEX IF NOT EXISTS deposits_state ON deposits (state, seq)"
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

#: Columns of version 1, copied as they are by the migration.
_V1_COLUMNS = ("seq", "deposit_id", "manifest", "envelope_size", "envelope_sha256", "state",
               "queued_at", "lease_owner", "lease_until", "retry_at", "attempts", "last_error",
               "ack", "acknowledged_at", "purged_at")


def setup(db: sqlite3.Connection, folder: Path) -> int:
    """Create or migrate the schema (in the caller's transaction); the version found before."""
    db.execute(_META)
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    has_table = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                           "name = 'deposits'").fetchone() is not None
    if row is None and not has_table:
        db.execute(DEPOSITS_TABLE)
        db.execute(_INDEX)
        _migrate_2_to_3(db)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        return 0
    found = int(row[0]) if row is not None else 1
    if found > SCHEMA_VERSION:
        raise OutboxError(f"{folder}: the outbox has schema version {found}, newer than this "
                          f"software knows ({SCHEMA_VERSION}); install the newer version again")
    if found < 1:
        raise OutboxError(f"{folder}: the outbox has an unknown schema version {found}")
    if found == 1:
        _migrate_1_to_2(db)
    if found <= 2:
        _migrate_2_to_3(db)
    if found < SCHEMA_VERSION:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)",
                   (str(SCHEMA_VERSION),))
        log.warning("outbox %s: schema migrated from version %d to %d", folder, found,
                    SCHEMA_VERSION)
    return found


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    columns = ", ".join(_V1_COLUMNS)
    db.execute("ALTER TABLE deposits RENAME TO deposits_v1")
    db.execute("DROP INDEX IF EXISTS deposits_state")
    db.execute(DEPOSITS_TABLE)
    db.execute(f"INSERT INTO deposits ({columns}) SELECT {columns} FROM deposits_v1")  # noqa: S608
    db.execute("DROP TABLE deposits_v1")
    db.execute(_INDEX)


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE deposits ADD COLUMN contact BLOB")   # the sealed card, or NULL


def take_over_legacy_upload_state(db: sqlite3.Connection, path: Path) -> int:
    """Copy what version 1's ``uploader.sqlite3`` knew into the outbox (in the caller's
    transaction): each deposit's tus URL, so uploads resume where they stood, and the
    dossiers the back office had refused as such (HTTP 422), which stay refused.
    Returns how many rows were taken over; the caller deletes the file once committed.
    """
    try:
        legacy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        log.error("cannot read the former upload state %s (%s): uploads start afresh", path, exc)
        return 0
    taken = 0
    try:
        try:
            urls = legacy.execute("SELECT deposit_id, envelope_sha256, url FROM tus_uploads"
                                  ).fetchall()
            refused = legacy.execute("SELECT deposit_id, envelope_sha256, reason FROM deliveries "
                                     "WHERE outcome = 'refused'").fetchall()
        except sqlite3.Error as exc:
            log.error("the former upload state %s is unreadable (%s): uploads start afresh",
                      path, exc)
            return 0
        for deposit_id, sha, url in urls:
            taken += db.execute(
                "UPDATE deposits SET upload_url = ? WHERE deposit_id = ? AND envelope_sha256 = ? "
                "AND state IN ('sealed', 'uploading')", (url, deposit_id, sha)).rowcount
        for deposit_id, sha, reason in refused:
            if "422" not in (reason or ""):
                continue     # version 1 sent again everything but a 422
            taken += db.execute(
                "UPDATE deposits SET state = 'refused', last_outcome = 'refused', "
                "last_error = ?, lease_owner = NULL, lease_until = NULL WHERE deposit_id = ? "
                "AND envelope_sha256 = ? AND state IN ('sealed', 'uploading')",
                (reason, deposit_id, sha)).rowcount
    finally:
        legacy.close()
    return taken
