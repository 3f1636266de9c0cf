"""A database left by the first version of the schema, holding dossiers, upgrades to the newest
with nothing lost, on SQLite and on PostgreSQL (issue #18's acceptance).

The database is built as a back office of version 1 left it: only migration 1 applied and
recorded (``MetadataStore.migrate(to=1)``), then rows written in version 1's SQL, every
table of it filled: two kiosks (one revoked), uploads in each state, deposits of procedures
with different delays and of one the catalog no longer knows, their status history, a
conflicting envelope, agent calls seen and not. After the upgrade, every one of those rows
reads back the same, column by column; what the migrations fill in (due dates) is there;
and the store works through its API. tests/backoffice/test_schema.py covers the rest: a
database from before versions were recorded, a fresh one, two processes migrating at once,
a database newer than the program.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backoffice.status import DossierStatus
from backoffice.store import schema
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import (
    DepositRecord,
    MetadataStore,
    UploadRecord,
    iso,
    parse_iso,
)

NEWEST = schema.MIGRATIONS[-1].version
JAN31 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
T = [JAN31 + timedelta(minutes=m) for m in range(10)]
#: Bytes that are not UTF-8 text, with a NUL: what a blob column must keep as they are.
BLOB = bytes(range(256))

#: Version 1's tables, each with its columns as version 1 made them (in that order) and the
#: columns that order its rows.
V1_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kiosks": (("kiosk_id", "fleet_code", "cert_fingerprint", "cert_serial",
                "signing_key_pem", "enrolled_at", "revoked_at"), ("kiosk_id",)),
    "uploads": (("upload_id", "kiosk_id", "deposit_id", "envelope_sha256", "length",
                 "upload_offset", "metadata", "manifest", "created_at", "expires_at", "state",
                 "ack", "reason"), ("upload_id",)),
    "deposits": (("deposit_id", "kiosk_id", "procedure", "created_at", "received_at",
                  "envelope_sha256", "envelope_size", "tracking_token_sha256", "manifest",
                  "object_key", "ack", "status", "status_message", "status_at"),
                 ("deposit_id",)),
    "conflicts": (("deposit_id", "envelope_sha256", "kiosk_id", "procedure", "received_at",
                   "envelope_size", "manifest", "object_key", "ack"),
                  ("deposit_id", "envelope_sha256")),
    "status_history": (("deposit_id", "at", "status", "message"), ("deposit_id", "at")),
    "agent_calls": (("call_id", "kiosk_id", "step", "called_at", "received_at", "seen_at",
                     "seen_by"), ("call_id",)),
}

#: deposit id -> (procedure, received, its due date once migrated: the catalog's
#: processing_days after receipt, none for a procedure the catalog does not know).
DEPOSITS = {
    "7Q2X-0001-AAAA": ("rsa", T[1], T[1] + timedelta(days=30)),
    "7Q2X-0002-BBBB": ("mdph", T[2], T[2] + timedelta(days=120)),
    "7Q2X-0003-CCCC": ("listes-electorales", T[3], T[3] + timedelta(days=5)),
    "8R3Y-0001-DDDD": ("gone-from-the-catalog", T[4], None),
}


def version_one_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row written into version 1, by table, in version 1's column order."""
    deposits: list[tuple[Any, ...]] = []
    uploads: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    for n, (deposit_id, (procedure, received, _due)) in enumerate(DEPOSITS.items()):
        kiosk = "MAIRIE-01" if deposit_id.startswith("7Q2X") else "MAIRIE-02"
        status = ("received", "in_review", "incomplete", "accepted")[n]
        message = "" if status == "received" else f"état « {status} » posé à l'accueil"
        deposits.append((deposit_id, kiosk, procedure, iso(received - timedelta(minutes=1)),
                         iso(received), f"{n:064x}", 1000 + n, f"token-{n}", BLOB + bytes([n]),
                         f"objects/{deposit_id}.age", b"ack-" + BLOB, status, message,
                         iso(received + timedelta(hours=n))))
        uploads.append((f"up-{n}", kiosk, deposit_id, f"{n:064x}", 1000 + n, 1000 + n,
                        "filename ZGVwb3NpdA==", BLOB, iso(received - timedelta(seconds=30)),
                        iso(received + timedelta(days=1)), "complete", b"ack-" + BLOB, None))
        history.append((deposit_id, iso(received), "received", ""))
        if status != "received":
            history.append((deposit_id, iso(received + timedelta(hours=n)), status, message))
    uploads += [
        ("up-open", "MAIRIE-01", "7Q2X-0009-OPEN", "f" * 64, 5_000_000, 1_048_576,
         "filename b3Blbg==", BLOB, iso(T[5]), iso(T[5] + timedelta(days=1)), "open", None,
         None),
        ("up-refused", "MAIRIE-02", "8R3Y-0002-REFU", "e" * 64, 10, 10, "", BLOB, iso(T[6]),
         iso(T[6] + timedelta(days=1)), "refused", None, "digest: the envelope's SHA-256 …"),
        ("up-conflict", "MAIRIE-01", "7Q2X-0001-AAAA", "d" * 64, 12, 12, "", BLOB, iso(T[7]),
         iso(T[7] + timedelta(days=1)), "complete", b"ack-conflict", None),
    ]
    return {
        "kiosks": [
            ("MAIRIE-01", "7Q2X", "fp-1", "01", "-----BEGIN PUBLIC KEY-----\nAA\n", iso(T[0]),
             None),
            ("MAIRIE-02", "8R3Y", "fp-2", "02", "-----BEGIN PUBLIC KEY-----\nBB\n", iso(T[0]),
             iso(T[8])),
        ],
        "uploads": uploads,
        "deposits": deposits,
        "conflicts": [("7Q2X-0001-AAAA", "d" * 64, "MAIRIE-01", "rsa", iso(T[7]), 12, BLOB,
                       "conflicts/7Q2X-0001-AAAA/dddd.age", b"ack-conflict")],
        "status_history": history,
        "agent_calls": [
            ("call-1", "MAIRIE-01", "capture", iso(T[1]), iso(T[1]), iso(T[2]), "m.dupont"),
            ("call-2", "MAIRIE-02", "checklist", iso(T[3]), iso(T[3]), None, None),
        ],
    }


def fill_version_one(store: MetadataStore) -> None:
    with store.transaction() as cur:
        for table, rows in version_one_rows().items():
            columns = V1_TABLES[table][0]
            marks = ", ".join("?" for _ in columns)
            for row in rows:
                cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                            f"VALUES ({marks})", row)


def version_one_contents(store: MetadataStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of version 1's tables, by table, in version 1's columns only."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as cur:
        for table, (columns, order) in V1_TABLES.items():
            rows = cur.execute(f"SELECT {', '.join(columns)} FROM {table} "
                               f"ORDER BY {', '.join(order)}").all()
            out[table] = [tuple(bytes(r[c]) if isinstance(r[c], memoryview) else r[c]
                                for c in columns) for r in rows]
    return out


def due_dates(store: MetadataStore) -> dict[str, datetime | None]:
    """Each deposit's due date, in SQL: the records want columns of later versions."""
    with store.read() as cur:
        return {r["deposit_id"]: parse_iso(r["due_at"]) if r["due_at"] else None
                for r in cur.execute("SELECT deposit_id, due_at FROM deposits").all()}


@pytest.fixture
def store(metadata_url: str | None, tmp_path: Path) -> Iterator[MetadataStore]:
    """A store on a database at version 1, filled with version 1's rows."""
    opened = open_metadata(metadata_url or f"sqlite://{tmp_path / 'meta.sqlite3'}")
    try:
        assert opened.migrate(to=1) == [1]
        assert opened.schema_version() == 1
        fill_version_one(opened)
        yield opened
    finally:
        opened.close()


def test_the_version_one_database_holds_what_was_written(store: MetadataStore) -> None:
    """The comparison below is only as good as this: what is read back is what was written."""
    written, read = version_one_rows(), version_one_contents(store)
    assert set(read) == set(written)
    for table, rows in written.items():
        columns, order = V1_TABLES[table]
        key = operator.itemgetter(*(columns.index(c) for c in order))
        # Sorted here alike: the server's collation need not sort text as Python does.
        assert sorted(read[table], key=key) == sorted(rows, key=key), table


def test_a_version_one_database_upgrades_to_the_newest_with_nothing_lost(
        store: MetadataStore) -> None:
    before = version_one_contents(store)

    assert store.init_schema() == [m.version for m in schema.MIGRATIONS[1:]]

    assert store.schema_version() == NEWEST
    assert version_one_contents(store) == before
    assert due_dates(store) == {d: due for d, (_p, _r, due) in DEPOSITS.items()}
    for deposit in store.deposits():     # what later versions added, and nothing filled it
        assert (deposit.assignee, deposit.language, deposit.deemed_on) == (None, None, None)
    with store.read() as cur:
        assert cur.execute("SELECT COUNT(*) AS n FROM status_history "
                           "WHERE actor IS NOT NULL").scalar() == 0
    assert store.init_schema() == []
    assert store.schema_version() == NEWEST


def test_each_version_upgrades_to_the_next_one_step_at_a_time(store: MetadataStore) -> None:
    before = version_one_contents(store)
    for migration in schema.MIGRATIONS[1:]:
        assert store.migrate(to=migration.version) == [migration.version]
        assert store.schema_version() == migration.version
        assert version_one_contents(store) == before
        assert store.migrate(to=migration.version) == []
    assert store.migrate() == []
    assert due_dates(store) == {d: due for d, (_p, _r, due) in DEPOSITS.items()}


def test_the_due_dates_are_filled_by_version_two(store: MetadataStore) -> None:
    store.migrate(to=2)
    assert due_dates(store) == {d: due for d, (_p, _r, due) in DEPOSITS.items()}


def test_an_upgraded_store_reads_the_old_dossiers_and_takes_new_ones(
        store: MetadataStore) -> None:
    store.init_schema()

    old = store.deposit("7Q2X-0002-BBBB")
    assert old is not None
    assert (old.kiosk_id, old.procedure, old.status, old.received_at, old.manifest,
            old.ack) == ("MAIRIE-01", "mdph", DossierStatus.IN_REVIEW, T[2], BLOB + bytes([1]),
                         b"ack-" + BLOB)
    assert [k.kiosk_id for k in store.kiosks() if k.active] == ["MAIRIE-01"]
    assert [(c.deposit_id, c.ack) for c in store.conflicts()] == [("7Q2X-0001-AAAA",
                                                                    b"ack-conflict")]
    assert [(c.call_id, c.seen) for c in store.agent_calls(open_only=False)] == [
        ("call-1", True), ("call-2", False)]
    still_open = store.upload("up-open")
    assert still_open is not None and (still_open.state, still_open.offset) == ("open", 1_048_576)

    received = T[9] + timedelta(days=1)
    upload = UploadRecord("up-new", "MAIRIE-01", "7Q2X-0010-NEWW", "a" * 64, 20, 0, "", BLOB,
                          received, received + timedelta(days=1))
    assert store.create_upload(upload, max_open=10) is None
    assert store.advance("up-new", 0, 20, received + timedelta(days=1))
    new = DepositRecord(
        deposit_id="7Q2X-0010-NEWW", kiosk_id="MAIRIE-01", procedure="rsa",
        created_at=received, received_at=received, envelope_sha256="a" * 64,
        envelope_size=20, tracking_token_sha256="token-new", manifest=BLOB,
        object_key="objects/7Q2X-0010-NEWW.age", ack=b"ack-new", status_at=received,
        due_at=received + timedelta(days=30), language="fr")
    assert store.store_deposit(new, "up-new") == new
    assert store.deposit("7Q2X-0010-NEWW") == new
    done = store.upload("up-new")
    assert done is not None and (done.state, done.ack) == ("complete", b"ack-new")
    assert store.counts()["deposits:received"] == 2


@pytest.mark.parametrize("to", [0, NEWEST + 1])
def test_a_version_the_program_does_not_know_is_refused(store: MetadataStore, to: int) -> None:
    with pytest.raises(ValueError, match=f"schema version {to}: this program knows 1 to"):
        store.migrate(to=to)
    assert store.schema_version() == 1
