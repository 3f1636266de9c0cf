"""The two engines of the metadata store, chosen by URL (:func:`open_metadata`).

- ``sqlite:///PATH`` — one machine. WAL journal with ``synchronous=FULL`` (a
  committed transaction survives a power cut) and a busy timeout, one
  connection per thread. Reads use a deferred transaction: a WAL snapshot that
  never waits for, nor holds, the write lock.
- ``postgresql://USER@HOST:PORT/DB`` — many stateless ingest processes behind
  a load balancer (psycopg 3, a small pool of connections).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from backoffice.errors import StoreError, StoreURLError
from backoffice.store.metadata import Cursor, MetadataStore


def _wal(conn: sqlite3.Connection, attempts: int = 300) -> None:
    """Switch to WAL, waiting for another process doing the same on a new database.

    Changing the journal mode needs the database to itself, and SQLite answers
    "database is locked" at once, without its busy timeout, when another
    connection is in the middle of it (two processes starting together on a
    fresh database: ``serve`` and ``staff add``, two ingest processes).
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)


class SQLiteStore(MetadataStore):
    """SQLite in WAL mode, ``synchronous=FULL``; one connection per thread."""

    blob_type = "BLOB"

    def __init__(self, path: Path, url: str = "") -> None:
        self.path = path
        self.url = url or f"sqlite://{path}"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open {self.path}: {exc}") from None
            conn.row_factory = sqlite3.Row
            try:
                conn.execute("PRAGMA busy_timeout=30000")
                _wal(conn)
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                conn.close()
                raise StoreError(f"cannot open {self.path}: {exc}") from None
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _begin(self, statement: str) -> Iterator[Cursor]:
        conn = self._connection()
        try:
            conn.execute(statement)
            yield Cursor(self, conn.cursor())
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"{self.path}: {exc}") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front: no deadlock between
        # two readers that both want to write later.
        return self._begin("BEGIN IMMEDIATE")

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        # A deferred BEGIN that only reads takes a WAL snapshot, never the write lock.
        return self._begin("BEGIN")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class PostgresStore(MetadataStore):
    """PostgreSQL through psycopg 3, with a small pool of connections."""

    blob_type = "BYTEA"
    for_update = " FOR UPDATE"

    def __init__(self, url: str, pool_size: int = 8) -> None:
        self.url = url
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._size = pool_size
        self._made = 0
        self._lock = threading.Lock()

    def dialect_sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def lock_kiosk(self, cur: Cursor, kiosk_id: str) -> None:
        cur.execute("SELECT 1 FROM kiosks WHERE kiosk_id = ? FOR UPDATE", (kiosk_id,))

    def lock_schema(self, cur: Cursor) -> None:
        # A transaction-level advisory lock: released at COMMIT or ROLLBACK. The key is
        # arbitrary, fixed, and only this program takes it.
        cur.execute("SELECT pg_advisory_xact_lock(7270014) AS locked").one()

    def _get(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        try:
            return self._pool.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            make = self._made < self._size
            if make:
                self._made += 1
        if not make:
            return self._pool.get(timeout=60)
        try:
            return psycopg.connect(self.url, row_factory=dict_row, autocommit=False,
                                   connect_timeout=10)
        except psycopg.Error as exc:
            with self._lock:
                self._made -= 1
            raise StoreError(f"cannot connect to {self.describe()}: {exc}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        import psycopg

        conn = self._get()
        broken = False
        try:
            with conn.cursor() as raw:
                yield Cursor(self, raw)
            conn.commit()
        except psycopg.Error as exc:
            broken = conn.closed or conn.broken
            if not broken:
                conn.rollback()
            raise StoreError(f"{self.describe()}: {exc}") from exc
        except BaseException:
            if not (conn.closed or conn.broken):
                conn.rollback()
            raise
        finally:
            if broken or conn.closed:
                with self._lock:
                    self._made -= 1
                with contextlib.suppress(Exception):
                    conn.close()
            else:
                self._pool.put(conn)

    def close(self) -> None:
        while True:
            try:
                conn = self._pool.get_nowait()
            except queue.Empty:
                break
            conn.close()
            with self._lock:
                self._made -= 1


def open_metadata(url: str) -> MetadataStore:
    """The metadata store a URL names: ``sqlite:///PATH`` or ``postgresql://...``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise StoreURLError(f"metadata URL {url!r}: use sqlite:///ABSOLUTE/PATH")
        return SQLiteStore(Path(unquote(parts.path)), url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresStore(url)
    raise StoreURLError(f"metadata URL {url!r}: unknown scheme {parts.scheme!r} "
                        f"(accepted: sqlite, postgresql)")
