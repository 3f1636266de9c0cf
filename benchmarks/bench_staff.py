"""The staff inbox with 100 000 dossiers in the store, on SQLite and on PostgreSQL.

Issue #14 asks that the inbox stay usable for a service's quarter of dossiers.
For each engine a fresh back office (``backoffice init``) gets 100 000 deposits
(5 000 with ``--quick``) written straight into its metadata store
(:mod:`benchmarks.staff_inbox`: 6 procedures, 40 kiosks, 90 days, 8 staff and
a third unassigned), then these are timed, median and p99 over 200 runs (30
with ``--quick``):

- ``first_page``: the default inbox (everything, oldest first), page 1 of 50;
- ``procedure_status``: one procedure in one status;
- ``assignee_by_due``: one staff member's dossiers, soonest due first;
- ``deep_page``: the default inbox, page 1000 of 50 (OFFSET 49 950);
- ``http_first_page``: ``first_page`` through the staff API end to end: a
  served back office, mutual TLS with a staff certificate (a kept-alive
  connection, as the workspace holds one), the audit entry every request
  writes, JSON decoded by :class:`~backoffice.staffclient.StaffClient`.

Each figure is also a ratio to a reference timed in the same rounds (the
calls take turns, so a noisy neighbour slows them alike): for the store's
queries, one deposit read by its primary key (``store.deposit(id)``); for the
HTTP figure, ``GET /staff/v1/me``, the API's fixed cost (TLS, the account
found by its certificate, an audit entry). Also reported: how long the fill
took, the database's size, and the plans of the statements
:meth:`StaffStore.inbox` runs (a count, then the page), with the indexes they
use. PostgreSQL is a private server (tests/backoffice/postgres.py) whose
database gets VACUUM ANALYZE after the fill, as its autovacuum would soon do
(with statistics alone, and no visibility map, every unfiltered count is a
sequential scan of the table); SQLite is measured as the back office leaves
it (it never runs ANALYZE). When PostgreSQL cannot start, its half says why
and the SQLite half stands.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from backoffice.status import DossierStatus
from backoffice.store.engines import SQLiteStore, open_metadata
from backoffice.store.metadata import MetadataStore
from backoffice.store.staffdb import InboxQuery, SortKey, StaffStore
from benchmarks.common import Context
from benchmarks.staff_inbox import ASSIGNEES, Engine, fill, inbox_plans

DOSSIERS = 100_000
QUICK_DOSSIERS = 5_000
RUNS = 200
QUICK_RUNS = 30
WARMUP = 3
PER_PAGE = 50
DEEP_PAGE = 1000
PROCEDURE = "caf-aide-logement"
STATUS = DossierStatus.IN_REVIEW
ASSIGNEE = ASSIGNEES[0]


class Case(StrEnum):
    """What is timed (keys of the JSON)."""

    DEPOSIT_BY_ID = "deposit_by_id"              # the store's reference
    FIRST_PAGE = "first_page"
    PROCEDURE_STATUS = "procedure_status"
    ASSIGNEE_BY_DUE = "assignee_by_due"
    DEEP_PAGE = "deep_page"
    HTTP_ME = "http_me"                          # the API's reference
    HTTP_FIRST_PAGE = "http_first_page"


def inbox_queries(count: int) -> dict[Case, InboxQuery]:
    # With fewer dossiers than 1000 pages (--quick), the deepest page there is.
    deep = min(DEEP_PAGE, max(1, count // PER_PAGE))
    return {
        Case.FIRST_PAGE: InboxQuery(per_page=PER_PAGE),
        Case.PROCEDURE_STATUS: InboxQuery(procedure=PROCEDURE, status=STATUS,
                                          per_page=PER_PAGE),
        Case.ASSIGNEE_BY_DUE: InboxQuery(assignee=ASSIGNEE, sort=SortKey.DUE,
                                         per_page=PER_PAGE),
        Case.DEEP_PAGE: InboxQuery(page=deep, per_page=PER_PAGE),
    }


def percentiles_ms(times: list[float]) -> dict[str, float]:
    """Median, p99 (nearest rank) and max of seconds, in milliseconds."""
    ordered = sorted(times)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(p99 * 1000, 3), "max_ms": round(ordered[-1] * 1000, 3),
            "n": len(ordered)}


def take_turns(calls: dict[Case, Callable[[], object]], runs: int, warmup: int = WARMUP
               ) -> dict[Case, list[float]]:
    """Seconds of each call, ``runs`` rounds in which every call runs once in turn."""
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    times: dict[Case, list[float]] = {case: [] for case in calls}
    for _ in range(runs):
        for case, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[case].append(time.perf_counter() - start)
    return times


def with_ratios(times: dict[Case, list[float]], reference: Case) -> dict[str, Any]:
    """Each case's figures, and (but the reference's) their ratios to the reference's."""
    ref = percentiles_ms(times[reference])
    out: dict[str, Any] = {}
    for case, seconds in times.items():
        figures: dict[str, Any] = percentiles_ms(seconds)
        if case is not reference:
            figures["median_ratio"] = round(figures["median_ms"] / ref["median_ms"], 2)
            figures["p99_ratio"] = round(figures["p99_ms"] / ref["p99_ms"], 2)
            figures["reference"] = reference.value
        out[case.value] = figures
    return out


def _vacuum_analyze(url: str) -> None:
    """What autovacuum does to a table after a load: statistics for the planner, and the
    visibility map that lets a count read an index alone. VACUUM cannot run inside a
    transaction, hence a connection of its own in autocommit mode."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _size(store: MetadataStore) -> dict[str, int]:
    if isinstance(store, SQLiteStore):
        wal = Path(f"{store.path}-wal")
        return {"database_bytes": store.path.stat().st_size,
                "wal_bytes": wal.stat().st_size if wal.exists() else 0}
    with store.read() as cur:
        return {"database_bytes": cur.execute(
                    "SELECT pg_database_size(current_database()) AS n").scalar(),
                "deposits_with_indexes_bytes": cur.execute(
                    "SELECT pg_total_relation_size('deposits') AS n").scalar()}


def _store_figures(store: MetadataStore, queries: dict[Case, InboxQuery], deposit_ids: list[str],
                   runs: int) -> dict[str, Any]:
    staff = StaffStore(store)
    sample = deposit_ids[:: max(1, len(deposit_ids) // 997)]
    turn = itertools.count()

    def by_id() -> None:
        if store.deposit(sample[next(turn) % len(sample)]) is None:
            raise RuntimeError("a deposit just written is not found by its id")

    calls: dict[Case, Callable[[], object]] = {Case.DEPOSIT_BY_ID: by_id}
    shapes: dict[str, Any] = {}
    for case, query in queries.items():
        page = staff.inbox(query)
        if not page.rows:
            raise RuntimeError(f"{case}: the page is empty (total {page.total})")
        shapes[case.value] = {"page": query.page, "rows": len(page.rows), "total": page.total}
        calls[case] = functools.partial(staff.inbox, query)
    return {"pages": shapes, "figures": with_ratios(take_turns(calls, runs), Case.DEPOSIT_BY_ID)}


def _http_figures(root: Path, data: Path, port: int, runs: int) -> dict[str, Any]:
    from tests.backoffice.harness import RunningServer

    server = RunningServer(data, port).start()
    try:
        client = server.add_staff(root / "staff", "bench")
        try:
            first = client.inbox(per_page=PER_PAGE)
            if len(first["rows"]) != PER_PAGE:
                raise RuntimeError(f"the API's first page holds {len(first['rows'])} rows")
            times = take_turns({Case.HTTP_ME: client.me,
                                Case.HTTP_FIRST_PAGE: lambda: client.inbox(per_page=PER_PAGE)},
                               runs)
        finally:
            client.close()
    finally:
        server.stop()
    return with_ratios(times, Case.HTTP_ME)


def engine_run(ctx: Context, engine: Engine, metadata: str | None, count: int, runs: int
               ) -> dict[str, Any]:
    """A back office on ``metadata`` (None: its own SQLite file) filled with ``count``
    dossiers: the fill, the size, the plans, the store's and the API's figures."""
    from backoffice.settings import load_settings
    from tests.backoffice.harness import free_port, init_backoffice

    root = ctx.scratch / engine.value
    root.mkdir()
    port = free_port()
    data = init_backoffice(root, port, metadata=metadata)
    url = load_settings(data).metadata
    queries = inbox_queries(count)
    out: dict[str, Any] = {}
    store = open_metadata(url)
    try:
        store.init_schema()
        filled = fill(store, count, now=datetime.now(UTC))
        out["fill"] = filled.as_dict()
        if engine is Engine.POSTGRESQL:
            _vacuum_analyze(url)
        out["size"] = _size(store)
        out["plans"] = {case.value: [p.as_dict() for p in inbox_plans(url, query)]
                        for case, query in queries.items()}
        out["store"] = _store_figures(store, queries, filled.deposit_ids, runs)
    finally:
        store.close()
    out["http"] = _http_figures(root, data, port, runs)
    return out


def run(ctx: Context) -> dict[str, Any]:
    from tests.backoffice.postgres import private_postgres

    count = QUICK_DOSSIERS if ctx.quick else DOSSIERS
    runs = QUICK_RUNS if ctx.quick else RUNS
    out: dict[str, Any] = {
        "dossiers": count, "runs": runs, "per_page": PER_PAGE,
        "filters": {"procedure": PROCEDURE, "status": STATUS.value, "assignee": ASSIGNEE},
        "postgresql_after_fill": "VACUUM ANALYZE (autovacuum's steady state)",
        "note": ("store figures: ratio to one deposit read by primary key; HTTP figures: "
                 "ratio to GET /staff/v1/me; same rounds, calls taking turns, same machine"),
    }
    out[Engine.SQLITE.value] = engine_run(ctx, Engine.SQLITE, None, count, runs)
    with contextlib.ExitStack() as stack:
        try:
            pg = stack.enter_context(private_postgres())
        except RuntimeError as exc:
            out[Engine.POSTGRESQL.value] = {"skipped": str(exc)}
        else:
            out[Engine.POSTGRESQL.value] = engine_run(
                ctx, Engine.POSTGRESQL, pg.new_database("inbox"), count, runs)
    return out
