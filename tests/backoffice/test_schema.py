"""The metadata schema is versioned: a database of any earlier version is migrated once, in
order, on both engines (backoffice/store/schema.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backoffice.errors import StoreError
from backoffice.store import schema
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore, iso

RECEIVED = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


@pytest.fixture
def url(metadata_url: str | None, tmp_path: Path) -> str:
    return metadata_url or f"sqlite://{tmp_path / 'meta.sqlite3'}"


def version_one(store: MetadataStore) -> None:
    """A database as the back office made it before versions were recorded, with dossiers."""
    with store.transaction() as cur:
        for statement in schema.MIGRATIONS[0].statements(store.blob_type):
            cur.execute(statement)
        cur.execute("INSERT INTO kiosks VALUES ('MAIRIE-01', '7Q2X', 'fp', '01', 'pem', ?, NULL)",
                    (iso(RECEIVED),))
        for deposit_id, procedure in (("7Q2X-0001-AAAA", "rsa"), ("7Q2X-0002-BBBB", "gone")):
            cur.execute("INSERT INTO deposits VALUES (?, 'MAIRIE-01', ?, ?, ?, 'sha', 10, 'tok', "
                        "?, 'key', ?, 'received', '', ?)",
                        (deposit_id, procedure, iso(RECEIVED), iso(RECEIVED), b"{}", b"ack",
                         iso(RECEIVED)))


def test_a_database_from_before_versions_is_migrated_once(url: str) -> None:
    store = open_metadata(url)
    try:
        version_one(store)
        assert store.init_schema() == [m.version for m in schema.MIGRATIONS]
        assert store.schema_version() == schema.MIGRATIONS[-1].version
        rsa = store.deposit("7Q2X-0001-AAAA")
        assert rsa is not None and rsa.due_at == RECEIVED + timedelta(days=30)
        assert rsa.assignee is None
        unknown = store.deposit("7Q2X-0002-BBBB")
        assert unknown is not None and unknown.due_at is None   # no catalog entry: no date
        assert store.init_schema() == []                          # nothing twice
    finally:
        store.close()


def test_a_fresh_database_gets_every_version(url: str) -> None:
    store = open_metadata(url)
    try:
        assert store.init_schema() == [m.version for m in schema.MIGRATIONS]
        with store.read() as cur:
            names = [r["name"] for r in cur.execute(
                "SELECT name FROM schema_migrations ORDER BY version").all()]
        assert names == [m.name for m in schema.MIGRATIONS]
    finally:
        store.close()


def test_two_processes_starting_together_migrate_once(url: str) -> None:
    stores = [open_metadata(url) for _ in range(2)]
    applied: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start(store: MetadataStore) -> None:
        barrier.wait()
        try:
            applied.append(store.init_schema())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert errors == []
    assert sorted(applied, key=len) == [[], [m.version for m in schema.MIGRATIONS]]


def test_a_database_newer_than_the_program_is_refused(url: str) -> None:
    store = open_metadata(url)
    try:
        store.init_schema()
        with store.transaction() as cur:
            cur.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', ?)",
                        (iso(RECEIVED),))
        with pytest.raises(StoreError, match="schema version 99 is newer than this program"):
            store.init_schema()
    finally:
        store.close()
