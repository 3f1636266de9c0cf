"""The two engines of the metadata store behave alike where the ingest depends on it: a read
never waits for a writer nor writes itself, on both; and PostgreSQL's pool replaces broken
connections, bounds its waits and says why it cannot connect (backoffice/store/engines.py).

The pool's tests open stores with a URL option ``application_name`` so that the server's
``pg_stat_activity`` tells their connections apart: libpq gets the options the store does
not take for its pool.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backoffice.errors import StoreError, StoreURLError
from backoffice.store.engines import PostgresStore, open_metadata
from backoffice.store.metadata import KioskRecord, MetadataStore
from devtools.backoffice import free_port
from tests.backoffice.postgres import PrivatePostgres

ENROLLED = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
KIOSK = KioskRecord("MAIRIE-01", "7Q2X", "fp-1", "01", "pem", ENROLLED)


@pytest.fixture
def url(metadata_url: str | None, tmp_path: Path) -> str:
    return metadata_url or f"sqlite://{tmp_path / 'meta.sqlite3'}"


@pytest.fixture
def pg_url(postgres_server: PrivatePostgres) -> Iterator[str]:
    with postgres_server.database() as url:
        yield url


def opened(url: str) -> MetadataStore:
    store = open_metadata(url)
    store.init_schema()
    store.add_kiosk(KIOSK)
    return store


def sessions(server: PrivatePostgres, application: str) -> int:
    """How many server sessions the stores named ``application`` hold."""
    import psycopg

    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s",
                           (application,)).fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------------- both engines
def test_a_read_is_not_blocked_by_a_write_transaction_holding_the_same_row(url: str) -> None:
    writer, reader = opened(url), open_metadata(url)
    seen: list[KioskRecord | None] = []
    try:
        with writer.transaction() as cur:
            # The row is now locked for writing (PostgreSQL) and so is the database (SQLite's
            # BEGIN IMMEDIATE), until this block ends.
            cur.execute("UPDATE kiosks SET revoked_at = ? WHERE kiosk_id = ?",
                        ("2026-02-01T00:00:00.000000Z", KIOSK.kiosk_id))
            started = time.monotonic()
            read = threading.Thread(target=lambda: seen.append(reader.kiosk(KIOSK.kiosk_id)))
            read.start()
            read.join(timeout=10)   # a read that waited would wait for the block's end
            waited = time.monotonic() - started
            assert not read.is_alive(), "the read waited for the write transaction"
        assert waited < 5
        assert seen == [KIOSK]                      # the last committed state: not revoked
        revoked = reader.kiosk(KIOSK.kiosk_id)      # and the commit is seen once made
        assert revoked is not None and not revoked.active
    finally:
        writer.close()
        reader.close()


def test_a_read_cannot_write_and_the_next_transaction_still_can(url: str) -> None:
    store = opened(url)
    try:
        with pytest.raises(StoreError, match=r"read-only|readonly"), store.read() as cur:
            cur.execute("UPDATE kiosks SET revoked_at = ? WHERE kiosk_id = ?",
                        ("2026-02-01T00:00:00.000000Z", KIOSK.kiosk_id))
        kiosk = store.kiosk(KIOSK.kiosk_id)
        assert kiosk is not None and kiosk.active
        # The same connection (SQLite: this thread's; PostgreSQL: a pool of one) writes again.
        assert store.revoke(KIOSK.kiosk_id, ENROLLED)
        kiosk = store.kiosk(KIOSK.kiosk_id)
        assert kiosk is not None and kiosk.revoked_at == ENROLLED
    finally:
        store.close()



def in_a_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked child; its exit code (0: it returned)."""
    with warnings.catch_warnings():
        # Python 3.12 warns that forking a process with threads (the pool's) may deadlock:
        # what the store does in the child is what these tests check.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:                                    # the child: never returns
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_forked_process_uses_connections_of_its_own(url: str) -> None:
    # One connection on PostgreSQL: the parent's transaction holds it.
    store = opened(url + ("?pool_max_size=1&pool_timeout=2" if url.startswith("postgres")
                          else ""))

    def read_and_close() -> None:
        assert store.kiosk(KIOSK.kiosk_id) == KIOSK
        store.close()

    try:
        # The parent is in a transaction: its connection (SQLite) or its pool's only one
        # (PostgreSQL) is busy; the child must not take it over.
        with store.transaction() as cur:
            cur.execute("SELECT 1 AS n").one()
            assert in_a_child(read_and_close) == 0
        assert store.kiosk(KIOSK.kiosk_id) == KIOSK
    finally:
        store.close()


# ---------------------------------------------------------------------- PostgreSQL's pool
@pytest.mark.postgres
def test_connections_broken_by_a_server_restart_are_replaced_not_handed_out(
        postgres_server: PrivatePostgres, pg_url: str) -> None:
    store = opened(pg_url + "?pool_min_size=2&pool_max_size=2")
    try:
        with store.transaction(), store.read():
            pass                                    # both connections made and idle
        postgres_server.restart()                   # each idle connection is now dead
        assert store.kiosks() == [KIOSK]
        assert store.kiosks() == [KIOSK]
        assert store.add_kiosk(KioskRecord("MAIRIE-02", "8R3Y", "fp-2", "02", "pem", ENROLLED))
    finally:
        store.close()


@pytest.mark.postgres
def test_all_connections_busy_gives_a_clear_error_after_the_timeout(pg_url: str) -> None:
    store = opened(pg_url + "?pool_max_size=1&pool_timeout=0.5")
    try:
        with store.transaction():
            started = time.monotonic()
            with pytest.raises(StoreError, match=r"all 1 connections busy for 0\.5 s"):
                store.kiosks()
            assert 0.4 < time.monotonic() - started < 5
        assert store.kiosks() == [KIOSK]            # free again once the block ended
    finally:
        store.close()


@pytest.mark.postgres
def test_an_unreachable_server_stops_the_start_with_libpq_reason() -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing?pool_timeout=1"
    store = open_metadata(url)                      # parses the URL, connects to nothing
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot connect to .* within 1 s: .*refused"):
        store.init_schema()
    assert time.monotonic() - started < 10
    store.close()


@pytest.mark.postgres
def test_the_pool_options_of_the_url_are_the_pools_and_the_others_go_to_libpq(
        postgres_server: PrivatePostgres, pg_url: str) -> None:
    store = open_metadata(pg_url + "?pool_min_size=3&pool_max_size=5&pool_timeout=2.5"
                                   "&application_name=kiosk-pool-options")
    assert isinstance(store, PostgresStore)
    assert (store.min_size, store.max_size, store.timeout) == (3, 5, 2.5)
    try:
        store.init_schema()
        with store.read() as cur:
            row = cur.execute("SELECT current_setting('application_name') AS name").one()
        assert row is not None and row["name"] == "kiosk-pool-options"
        assert sessions(postgres_server, "kiosk-pool-options") >= 3     # min_size, kept open
    finally:
        store.close()
    assert sessions(postgres_server, "kiosk-pool-options") == 0         # close() closes all


def test_an_argument_wins_over_the_url_option() -> None:
    store = PostgresStore("postgresql://h/db?pool_max_size=5", max_size=7, min_size=0)
    assert (store.min_size, store.max_size) == (0, 7)


@pytest.mark.parametrize(("query", "complaint"), [
    ("pool_max_size=many", "pool_max_size='many': a number of connections at most expected"),
    ("pool_min_size=9&pool_max_size=4", r"0 <= min_size \(9\) <= max_size \(4\)"),
    ("pool_timeout=0", r"a timeout > 0 \(0\.0\)"),
])
def test_a_bad_pool_option_is_refused_when_the_url_is_read(query: str, complaint: str) -> None:
    with pytest.raises(StoreURLError, match=complaint):
        open_metadata(f"postgresql://h/db?{query}")


@pytest.mark.postgres
def test_a_forked_process_gets_sessions_of_its_own_and_leaves_the_parents_alone(
        pg_url: str) -> None:
    store = opened(pg_url + "?pool_min_size=1&pool_max_size=1")

    def session() -> int:
        with store.read() as cur:
            return cur.execute("SELECT pg_backend_pid() AS n").scalar()

    try:
        parent = session()
        readable, writable = os.pipe()

        def report() -> None:
            os.close(readable)
            os.write(writable, str(session()).encode())
            store.add_kiosk(KioskRecord("MAIRIE-02", "8R3Y", "fp-2", "02", "pem", ENROLLED))
            store.close()                           # the parent's pool too, in the child

        code = in_a_child(report)
        os.close(writable)
        with os.fdopen(readable) as pipe:
            child = int(pipe.read() or 0)
        assert code == 0
        assert child not in (0, parent)             # its own session
        assert session() == parent                  # the parent's survived the child's close
        assert [k.kiosk_id for k in store.kiosks()] == ["MAIRIE-01", "MAIRIE-02"]
    finally:
        store.close()
