"""The two engines of the metadata store, chosen by URL (:func:`open_metadata`).

- ``sqlite:///PATH`` — one machine. WAL journal with ``synchronous=FULL`` (a
  committed transaction survives a power cut) and a busy timeout, one
  connection per thread. Reads use a deferred transaction: a WAL snapshot that
  never waits for, nor holds, the write lock.
- ``postgresql://USER@HOST:PORT/DB`` — many stateless ingest processes behind
  a load balancer: psycopg 3 and its pool (``psycopg_pool``), connections checked
  before use, a bounded wait, READ ONLY transactions for reads (see
  :class:`PostgresStore` for the sizes and why).

Both give the same interface (backoffice/store/metadata.py): ``transaction()``
commits when its block ends, ``read()`` can neither write nor wait for a writer.
No sqlite3 or psycopg exception leaves this module: they become StoreError.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from backoffice.errors import StoreError, StoreURLError
from backoffice.store.metadata import Cursor, MetadataStore

if TYPE_CHECKING:
    # Imported where used: psycopg and its pool take a tenth of a second to import, which
    # a command on a SQLite back office need not pay.
    from psycopg_pool import ConnectionPool


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
    """SQLite in WAL mode, ``synchronous=FULL``; one connection per thread, and per
    process: a process forked after using the store opens its own."""

    blob_type = "BLOB"

    def __init__(self, path: Path, url: str = "") -> None:
        self.path = path
        self.url = url or f"sqlite://{path}"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer = threading.Lock()      # this process's writers, one at a time
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self._after_fork()
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
    def _begin(self, statement: str, *, read_only: bool = False) -> Iterator[Cursor]:
        conn = self._connection()
        try:
            if read_only:
                conn.execute("PRAGMA query_only=ON")
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
        finally:
            if read_only:
                conn.execute("PRAGMA query_only=OFF")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front: no deadlock between
        # two readers that both want to write later. The threads of this process queue
        # for it on a mutex first: SQLite's busy handler makes a writer that finds the
        # lock taken *sleep* (1, 2, 5 ... 100 ms) and try again, so under 50 kiosks the
        # lock sat free while its waiters slept (deliveries' p99 2 s; a mutex hands it
        # over at once). Other processes still meet the busy handler, one thread each.
        with self._writer, self._begin("BEGIN IMMEDIATE") as cur:
            yield cur

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        # A deferred BEGIN that only reads takes a WAL snapshot, never the write lock;
        # query_only makes SQLite refuse a write in it, as PostgreSQL's READ ONLY does.
        return self._begin("BEGIN", read_only=True)

    def _after_fork(self) -> None:
        """In a child process: leave the parent's connections alone (SQLite must not use one
        across fork; closing it here could drop the parent's locks) and open new ones."""
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._inherited += self._all
        self._all = []
        self._local = threading.local()
        self._pid = os.getpid()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


#: The pool's options a ``postgresql://`` URL may carry (``?pool_max_size=40``), taken out of
#: it before the rest goes to libpq, with what each is and its default.
POOL_OPTIONS = {
    "pool_min_size": "connections kept open at rest",
    "pool_max_size": "connections at most",
    "pool_timeout": "seconds a request waits for a free connection",
}


class PostgresStore(MetadataStore):
    """PostgreSQL through psycopg 3 and a ``psycopg_pool.ConnectionPool``.

    Sizing: ``backoffice serve`` runs the store's calls in starlette's thread pool, 40
    threads per process, and a thread holds a connection only for one transaction, which
    on the request paths does nothing but SQL (a few milliseconds; the fleet alerts'
    delivery lock, in the background, holds one while it mails): far fewer than 40 need
    one at the same moment. ``max_size`` 20, half the threads, lets four processes (80
    connections: ``serve --workers 3`` and its supervisor) stay under PostgreSQL's default
    ``max_connections`` of 100 with room for the commands and ``psql``; a process that
    finds them all busy makes its threads wait, in order, rather than the server refuse
    connections. ``min_size`` 2 keeps a process at rest cheap on the server (the sweeper
    and one request); the pool grows on demand and closes, after ten idle minutes, what it
    grew. Both, and the wait, can be set by URL option (:data:`POOL_OPTIONS`) or by
    argument (which wins).

    Every connection is checked (an empty query) when it leaves the pool, so one broken by a
    PostgreSQL restart or an idle timeout is dropped and replaced, never handed out. A
    request that finds all connections busy waits ``timeout`` seconds at most, then gets a
    :class:`StoreError` saying so. The pool opens on first use (``init_schema`` when
    ``serve`` starts), waiting ``timeout`` seconds for its first connections: a server that
    does not answer then stops the start with libpq's reason, rather than hanging.
    ``open_metadata`` itself connects to nothing, and a process forked after using the
    store opens its own pool (the parent's cannot be shared).
    """

    blob_type = "BYTEA"
    for_update = " FOR UPDATE"

    min_size = 2
    max_size = 20
    timeout = 10.0

    def __init__(self, url: str, *, min_size: int | None = None, max_size: int | None = None,
                 timeout: float | None = None) -> None:
        self.url = url
        self._conninfo, options = _pool_options(url)
        self.max_size = max_size if max_size is not None else options.get(
            "pool_max_size", self.max_size)
        # A pool made smaller than the default minimum keeps all it has open.
        self.min_size = min_size if min_size is not None else options.get(
            "pool_min_size", min(self.min_size, self.max_size))
        self.timeout = timeout if timeout is not None else options.get(
            "pool_timeout", self.timeout)
        if not 0 <= self.min_size <= self.max_size or self.max_size < 1 or self.timeout <= 0:
            raise StoreURLError(f"metadata URL {self.describe()}: the pool needs "
                                f"0 <= min_size ({self.min_size}) <= max_size "
                                f"({self.max_size}), max_size >= 1 and a timeout > 0 "
                                f"({self.timeout})")
        self._pool: ConnectionPool[Any] | None = None
        self._lock = threading.Lock()
        self._writer = threading.Lock()      # this process's writers, one at a time
        self._pid = os.getpid()
        self._inherited: list[ConnectionPool[Any]] = []
        self._made: weakref.WeakSet[Any] = weakref.WeakSet()    # every connection opened

    def dialect_sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def lock_kiosk(self, cur: Cursor, kiosk_id: str) -> None:
        cur.execute("SELECT 1 FROM kiosks WHERE kiosk_id = ? FOR UPDATE", (kiosk_id,))

    def lock_schema(self, cur: Cursor) -> None:
        # A transaction-level advisory lock: released at COMMIT or ROLLBACK. The key is
        # arbitrary, fixed, and only this program takes it.
        cur.execute("SELECT pg_advisory_xact_lock(7270014) AS locked").one()

    # ------------------------------------------------------------------ the pool
    def _connections(self) -> ConnectionPool[Any]:
        if self._pid != os.getpid():
            self._after_fork()
        pool = self._pool
        if pool is not None:
            return pool
        with self._lock:
            if self._pool is None:
                self._pool = self._open_pool()
            return self._pool

    def _open_pool(self) -> ConnectionPool[Any]:
        import psycopg
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        kwargs: dict[str, Any] = {"row_factory": dict_row, "autocommit": False}
        if "connect_timeout" not in self._conninfo:
            kwargs["connect_timeout"] = max(2, round(self.timeout))
        pool: ConnectionPool[Any] = ConnectionPool(
            self._conninfo, kwargs=kwargs, min_size=self.min_size, max_size=self.max_size,
            timeout=self.timeout, check=ConnectionPool.check_connection,
            configure=self._made.add, name="backoffice-metadata", open=True)
        try:
            pool.wait(timeout=self.timeout)       # closes the pool when it times out
        except psycopg.Error:
            raise StoreError(f"cannot connect to {self.describe()} within {self.timeout:g} s: "
                             f"{self._why_unreachable()}") from None
        return pool

    def _why_unreachable(self) -> str:
        """libpq's reason (refused, unknown database, bad password...): the pool only logs it."""
        import psycopg

        try:
            psycopg.connect(self._conninfo, connect_timeout=2).close()
        except psycopg.Error as exc:
            return str(exc).strip()
        return "the server answers now, but did not in time"

    def _after_fork(self) -> None:
        """In a child process: a pool of its own, opened on first use.

        The parent's pool cannot serve here (its threads did not survive the fork, and its
        sockets are the parent's sessions). Closing one of its connections, now or when it
        is collected, would send PostgreSQL the end of the parent's session; so each
        inherited socket is first pointed at /dev/null in this process only (the parent's
        stays as it is), and the pool is kept, unused, until :meth:`close`.
        """
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for conn in list(self._made):
                with contextlib.suppress(Exception):
                    os.dup2(devnull, conn.pgconn.socket)
        finally:
            os.close(devnull)
        self._made = weakref.WeakSet()
        self._lock = threading.Lock()
        if self._pool is not None:
            self._inherited.append(self._pool)
        self._pool = None
        self._pid = os.getpid()

    def _getconn(self) -> Any:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._connections()
        try:
            return pool.getconn()
        except PoolTimeout:
            stats = pool.get_stats()
            if stats.get("pool_size", 0) >= self.max_size:
                raise StoreError(f"{self.describe()}: all {self.max_size} connections busy "
                                 f"for {self.timeout:g} s") from None
            raise StoreError(f"{self.describe()}: no connection within {self.timeout:g} s: "
                             f"{self._why_unreachable()}") from None
        except psycopg.Error as exc:
            raise StoreError(f"{self.describe()}: {exc}") from None

    @contextlib.contextmanager
    def _session(self, *, read_only: bool) -> Iterator[Cursor]:
        import psycopg

        conn = self._getconn()
        try:
            # Client-side only: psycopg sends it with the BEGIN of the block's first statement.
            conn.read_only = read_only
            with conn.cursor() as raw:
                yield Cursor(self, raw)
            conn.commit()
        except psycopg.Error as exc:
            _rollback(conn)
            raise StoreError(f"{self.describe()}: {exc}") from exc
        except BaseException:
            _rollback(conn)
            raise
        finally:
            # A broken connection is discarded by the pool, which opens another in the back.
            self._connections().putconn(conn)

    def transaction(self) -> contextlib.AbstractContextManager[Cursor]:
        return self._session(read_only=False)

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        # READ ONLY: PostgreSQL refuses a write in it. A SELECT never waits for row locks
        # anyway (MVCC); no read here asks for one (FOR UPDATE/SHARE is refused too).
        return self._session(read_only=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            inherited, self._inherited = self._inherited, []
        if pool is not None:
            pool.close(timeout=5)
        for old in inherited:       # its sockets point at /dev/null here: see _after_fork
            old.close(timeout=0)


def _rollback(conn: Any) -> None:
    import psycopg

    if not (conn.closed or conn.broken):
        with contextlib.suppress(psycopg.Error):
            conn.rollback()


def _pool_options(url: str) -> tuple[str, dict[str, Any]]:
    """The URL without the pool's options (what libpq gets), and those options."""
    parts = urlsplit(url)
    kept: list[tuple[str, str]] = []
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in POOL_OPTIONS:
            kept.append((key, value))   # libpq's own (sslmode...): libpq checks them
            continue
        try:
            options[key] = float(value) if key == "pool_timeout" else int(value)
        except ValueError:
            raise StoreURLError(f"metadata URL option {key}={value!r}: a number of "
                                f"{POOL_OPTIONS[key]} expected") from None
    return parts._replace(query=urlencode(kept)).geturl(), options


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
