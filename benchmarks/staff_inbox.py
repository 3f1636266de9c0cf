"""A service's worth of dossiers in a metadata store, and the query plans of its inbox.

The staff inbox benchmark (``bench_staff.py``) needs a store holding 100 000
deposits that look like a service's quarter: ingesting them one by one over
tus would take hours, so :func:`fill` writes the rows the ingest would have
written (``deposits``, their ``status_history``, the kiosks and staff accounts
they point at) with multi-row INSERTs in one transaction of the store's own
cursor, on either engine. The mix (:data:`PROCEDURE_WEIGHTS`,
:data:`STATUS_WEIGHTS`, a third unassigned, 90 days of arrivals, due dates
from the catalog's delays) is drawn from a seeded generator, so two runs fill
the same store.

:func:`inbox_plans` explains the statements :meth:`StaffStore.inbox` really
runs, not a copy of them: a store that records the SQL it is handed
(:class:`RecordingSQLite`, :class:`RecordingPostgres`) runs the query once,
and each recorded statement is explained with its parameters.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from backoffice import procedures
from backoffice.roles import Role
from backoffice.status import DossierStatus
from backoffice.store.engines import PostgresStore, SQLiteStore, open_metadata
from backoffice.store.metadata import Cursor, MetadataStore, iso
from backoffice.store.staffdb import InboxQuery, StaffStore
from deposit import ack as ackmod
from deposit import manifest as manifestmod
from deposit.ids import DIGITS, SEQUENCE_EPOCH, DepositId
from deposit.status import AckDisposition


class Engine(StrEnum):
    """The metadata engines the benchmark compares (keys of its JSON)."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


KIOSKS = 40
DAYS = 90
#: The staff who hold dossiers; a third of the dossiers are nobody's.
ASSIGNEES = ("agnes", "bruno", "chloe", "driss", "elodie", "farid", "gaelle", "hugo")
UNASSIGNED_SHARE = 1 / 3
#: How often each procedure of the shipped catalog is deposited (relative weights).
PROCEDURE_WEIGHTS = {"caf-aide-logement": 30, "rsa": 20, "impots-justificatifs": 15,
                     "cni-predemande": 15, "listes-electorales": 10, "mdph": 10}
#: Most dossiers wait or are being read; a third are decided or waiting for papers.
STATUS_WEIGHTS = {DossierStatus.RECEIVED: 35, DossierStatus.IN_REVIEW: 30,
                  DossierStatus.INCOMPLETE: 10, DossierStatus.ACCEPTED: 14,
                  DossierStatus.REJECTED: 6, DossierStatus.CLOSED: 5}
#: What staff wrote to the citizen, by status (short, as the messages are; line breaks kept).
MESSAGES = {
    DossierStatus.RECEIVED: "",
    DossierStatus.IN_REVIEW: "",
    DossierStatus.INCOMPLETE: "Il manque le justificatif de domicile de moins de 3 mois.\n"
                              "Déposez-le à une borne avec votre reçu.",
    DossierStatus.ACCEPTED: "Votre demande est acceptée.",
    DossierStatus.REJECTED: "Les ressources déclarées dépassent le plafond.\n"
                            "Vous pouvez former un recours dans les deux mois.",
    DossierStatus.CLOSED: "Demande retirée à votre initiative.",
}
#: Rows per INSERT statement: 16 columns x 250 rows stays far below both engines' limits
#: on bound parameters (SQLite 32 766, PostgreSQL 65 535).
BATCH = 250
#: An Ed25519 signature's place in the blobs (base64): the size of the real thing, without
#: the 100 000 signatures (a benchmark of the inbox reads no signature).
_SIGNATURE = "A" * 86

_DEPOSIT_COLUMNS = ("deposit_id", "kiosk_id", "procedure", "created_at", "received_at",
                    "envelope_sha256", "envelope_size", "tracking_token_sha256", "manifest",
                    "object_key", "ack", "status", "status_message", "status_at", "assignee",
                    "due_at")
_HISTORY_COLUMNS = ("deposit_id", "at", "status", "message", "actor")


@dataclass(frozen=True)
class Filled:
    """What :func:`fill` wrote, and how long it took (one transaction, commit included)."""

    deposits: int
    history_rows: int
    seconds: float
    deposit_ids: list[str] = field(repr=False)
    statuses: dict[str, int]
    unassigned: int

    def as_dict(self) -> dict[str, Any]:
        return {"deposits": self.deposits, "status_history_rows": self.history_rows,
                "seconds": round(self.seconds, 2),
                "deposits_per_s": round(self.deposits / self.seconds) if self.seconds else None,
                "statuses": self.statuses, "unassigned": self.unassigned,
                "kiosks": KIOSKS, "assignees": len(ASSIGNEES), "days": DAYS}


def _fleet_code(n: int) -> str:
    return "".join(DIGITS[(n >> shift) % 32] for shift in (15, 10, 5, 0))


def _hex(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


def _insert(cur: Cursor, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
            ) -> None:
    """``rows`` into ``table``, :data:`BATCH` rows per statement."""
    one = "(" + ", ".join("?" for _ in columns) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        cur.execute(head + ", ".join(one for _ in chunk),
                    [value for row in chunk for value in row])


def fill(store: MetadataStore, count: int, *, now: datetime, seed: int = 14) -> Filled:
    """Write ``count`` deposits (and their kiosks, staff accounts and status history) into
    ``store``, whose schema is up to date and which holds no deposit yet.

    The rows are built first (not timed), then written in one transaction (timed).
    """
    rng = random.Random(seed)
    catalog = procedures.shipped()
    missing = sorted(set(PROCEDURE_WEIGHTS) - set(catalog))
    if missing:
        raise ValueError(f"the shipped catalog lacks {', '.join(missing)}")
    enrolled = iso(now - timedelta(days=DAYS + 30))
    kiosks = [(f"BENCH-{i:02d}", _fleet_code(1000 + i)) for i in range(1, KIOSKS + 1)]
    kiosk_rows = [(kiosk_id, code, hashlib.sha256(kiosk_id.encode()).hexdigest(), f"{i:x}",
                   "(no key: benchmark)", enrolled)
                  for i, (kiosk_id, code) in enumerate(kiosks, 1)]
    staff_rows = [(name, name.title(), Role.INSTRUCTOR.value,
                   hashlib.sha256(b"staff:" + name.encode()).hexdigest(), f"{i:x}", enrolled)
                  for i, name in enumerate(ASSIGNEES, 1)]

    codes, code_weights = list(PROCEDURE_WEIGHTS), list(PROCEDURE_WEIGHTS.values())
    statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    arrivals = sorted((now - timedelta(seconds=rng.uniform(0, DAYS * 86400)),
                       rng.randrange(KIOSKS)) for _ in range(count))
    last_sequence = [0] * KIOSKS
    deposits: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    tally = {s.value: 0 for s in DossierStatus}
    unassigned = 0
    for received, k in arrivals:
        kiosk_id, fleet = kiosks[k]
        created = received - timedelta(seconds=1 + rng.expovariate(1 / 120))
        sequence = max(last_sequence[k] + 1, int(created.timestamp()) - SEQUENCE_EPOCH)
        last_sequence[k] = sequence
        deposit_id = str(DepositId(fleet, sequence))
        code = rng.choices(codes, code_weights)[0]
        status = rng.choices(statuses, status_weights)[0]
        assignee = None if rng.random() < UNASSIGNED_SHARE else rng.choice(ASSIGNEES)
        size = int(rng.lognormvariate(14.5, 0.6))     # about 2 MB, a few pages of scans
        sha, token = _hex(rng), _hex(rng)
        manifest = manifestmod.canonical_json({"manifest": manifestmod.Manifest(
            deposit_id=deposit_id, kiosk_id=kiosk_id, procedure=code,
            created=manifestmod.rfc3339(created), envelope_size=size, envelope_sha256=sha,
            tracking_token_sha256=token).to_dict(), "signature": _SIGNATURE})
        ack = manifestmod.canonical_json({**ackmod.Ack(
            deposit_id=deposit_id, kiosk_id=kiosk_id, envelope_sha256=sha, envelope_size=size,
            received=received, disposition=AckDisposition.STORED).fields(),
            "signature": _SIGNATURE + "=="})
        age = (now - received).total_seconds()
        status_at = received if status is DossierStatus.RECEIVED else \
            received + timedelta(seconds=60 + rng.uniform(0, min(age, 20 * 86400)))
        due = procedures.due_at(code, received)
        deposits.append((deposit_id, kiosk_id, code, iso(created), iso(received), sha, size,
                         token, manifest, f"envelopes/{sha[:2]}/{sha}.age", ack, status.value,
                         MESSAGES[status], iso(status_at), assignee,
                         iso(due) if due else None))
        history.append((deposit_id, iso(received), DossierStatus.RECEIVED.value, "", None))
        if status is not DossierStatus.RECEIVED:
            history.append((deposit_id, iso(status_at), status.value, MESSAGES[status],
                            assignee or rng.choice(ASSIGNEES)))
        tally[status.value] += 1
        unassigned += assignee is None

    start = time.perf_counter()
    with store.transaction() as cur:
        _insert(cur, "kiosks", ("kiosk_id", "fleet_code", "cert_fingerprint", "cert_serial",
                                "signing_key_pem", "enrolled_at"), kiosk_rows)
        _insert(cur, "staff", ("name", "full_name", "role", "cert_fingerprint", "cert_serial",
                               "created_at"), staff_rows)
        _insert(cur, "deposits", _DEPOSIT_COLUMNS, deposits)
        _insert(cur, "status_history", _HISTORY_COLUMNS, history)
    seconds = time.perf_counter() - start
    return Filled(deposits=len(deposits), history_rows=len(history), seconds=seconds,
                  deposit_ids=[row[0] for row in deposits], statuses=tally,
                  unassigned=unassigned)


# ---------------------------------------------------------------------- query plans
class _Recorder(MetadataStore):
    """A store that keeps, while :meth:`recording`, every SQL statement it is handed."""

    _recorded: list[str] | None = None

    def dialect_sql(self, sql: str) -> str:
        if self._recorded is not None:
            self._recorded.append(sql)
        return super().dialect_sql(sql)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        statements: list[str] = []
        self._recorded = statements
        try:
            yield statements
        finally:
            self._recorded = None


class RecordingSQLite(_Recorder, SQLiteStore):
    pass


class RecordingPostgres(_Recorder, PostgresStore):
    pass


def recording_store(url: str) -> RecordingSQLite | RecordingPostgres:
    """A store on the database ``url`` names that records its SQL."""
    plain = open_metadata(url)       # parses the URL; connects to nothing yet
    if isinstance(plain, SQLiteStore):
        return RecordingSQLite(plain.path, url)
    if isinstance(plain, PostgresStore):
        return RecordingPostgres(url)
    raise ValueError(f"no recording store for {type(plain).__name__}")


@dataclass(frozen=True)
class Plan:
    """How the engine runs one statement, and what that means for a table that grows."""

    sql: str
    lines: list[str]
    indexes: list[str]       # the indexes the plan reads
    table_scan: bool         # reads every row of ``deposits`` (no index at all)
    index_walk: bool         # walks an index from one end with no condition: all of it for
    #                          a count, OFFSET + LIMIT entries for a page
    sort: bool               # sorts rows in a temporary structure (no index gives the order)

    def as_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "plan": self.lines, "indexes": self.indexes,
                "uses_index": bool(self.indexes), "table_scan": self.table_scan,
                "index_walk": self.index_walk, "sort": self.sort}


_SQLITE_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
_PG_INDEX = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)?"
                       r"(?: using| on) (\w+)")
#: A sort node ("Sort", "Incremental Sort"), not its "Sort Key:" detail line.
_PG_SORT = re.compile(r"(?:->\s+)?(?:Incremental )?Sort\s+\(")


def _pg_index_walk(lines: list[str]) -> bool:
    """Whether an index scan node of a PostgreSQL plan has no ``Index Cond`` among its
    detail lines (those indented deeper, up to the next node)."""
    for n, line in enumerate(lines):
        if not _PG_INDEX.search(line):
            continue
        depth = len(line) - len(line.lstrip())
        details = []
        for below in lines[n + 1:]:
            if len(below) - len(below.lstrip()) <= depth or "->" in below:
                break
            details.append(below)
        if not any("Index Cond:" in d for d in details):
            return True
    return False


def _parameters(sql: str, query: InboxQuery) -> list[Any]:
    """The parameters StaffStore.inbox bound to ``sql``: the filters', then LIMIT and OFFSET
    for the page (the count has only the filters')."""
    _, params = query.where()
    marks = sql.count("?")
    if marks == len(params):
        return params
    if marks == len(params) + 2 and "LIMIT" in sql:
        return [*params, query.per_page, (query.page - 1) * query.per_page]
    raise ValueError(f"StaffStore.inbox ran a statement with {marks} parameters that this "
                     f"benchmark cannot rebuild: {sql}")


def explain(store: RecordingSQLite | RecordingPostgres, sql: str, params: Sequence[Any]
            ) -> Plan:
    with store.read() as cur:
        if isinstance(store, RecordingSQLite):
            lines = [str(r["detail"]) for r in cur.execute("EXPLAIN QUERY PLAN " + sql,
                                                           params).all()]
            indexes = [m.group(1) for line in lines for m in [_SQLITE_INDEX.search(line)] if m]
            table_scan = any(re.fullmatch(r"SCAN deposits", line) for line in lines)
            index_walk = any(line.startswith("SCAN deposits USING") for line in lines)
            sort = any("TEMP B-TREE" in line for line in lines)
        else:
            lines = [str(r["QUERY PLAN"]) for r in cur.execute("EXPLAIN " + sql, params).all()]
            indexes = [m.group(1) for line in lines for m in [_PG_INDEX.search(line)] if m]
            table_scan = any("Seq Scan on deposits" in line for line in lines)
            index_walk = _pg_index_walk(lines)
            sort = any(_PG_SORT.match(line.strip()) for line in lines)
    return Plan(sql=" ".join(sql.split()), lines=lines, indexes=indexes,
                table_scan=table_scan, index_walk=index_walk, sort=sort)


def inbox_plans(url: str, query: InboxQuery) -> list[Plan]:
    """The plans of the statements ``StaffStore.inbox(query)`` runs (the count, the page)."""
    store = recording_store(url)
    try:
        with store.recording() as statements:
            StaffStore(store).inbox(query)
        return [explain(store, sql, _parameters(sql, query)) for sql in statements
                if sql.lstrip().upper().startswith("SELECT")]
    finally:
        store.close()
