"""The staff's side of the metadata store: accounts, the inbox query, assignment, annotations,
status changes with their author, and the audit trail.

It works on the same database as :class:`~backoffice.store.metadata.MetadataStore`
(its transactions, both engines) and keeps the staff's queries out of the
ingest's module. What may be decided is not decided here: :meth:`StaffStore.decide`
takes the rule (backoffice/decisions.py) as a function of the current status,
and runs it inside the transaction that holds the dossier's row.

Every change is written with its audit entry in one transaction: there is no
change without its author. Refusals are audited too (:meth:`StaffStore.audit`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from backoffice.errors import AccountError, StaleDossier, UnknownDepositError
from backoffice.roles import Action, Outcome, Role
from backoffice.status import DossierStatus
from backoffice.store.metadata import Cursor, MetadataStore, iso, parse_iso

#: The most rows one inbox page holds.
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class StaffRecord:
    name: str
    full_name: str
    role: Role
    cert_fingerprint: str
    cert_serial: str
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class AuditEntry:
    entry_id: str
    at: datetime
    actor: str
    action: Action
    outcome: Outcome
    deposit_id: str | None
    detail: str


@dataclass(frozen=True)
class Annotation:
    annotation_id: str
    deposit_id: str
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    status: DossierStatus
    message: str
    actor: str | None         # None: the back office itself (the dossier arrived)


class SortKey(StrEnum):
    """What the inbox can be sorted by (each maps to one column: nothing else reaches SQL)."""

    RECEIVED = "received"
    DUE = "due"
    STATUS = "status"
    PROCEDURE = "procedure"
    KIOSK = "kiosk"
    ASSIGNEE = "assignee"
    DEPOSIT = "deposit"


_COLUMNS = {SortKey.RECEIVED: "received_at", SortKey.DUE: "due_at", SortKey.STATUS: "status",
            SortKey.PROCEDURE: "procedure", SortKey.KIOSK: "kiosk_id",
            SortKey.ASSIGNEE: "assignee", SortKey.DEPOSIT: "deposit_id"}

#: ``assignee`` filter values that are not account names (names start with [a-z0-9]).
UNASSIGNED = "@none"


@dataclass(frozen=True)
class InboxQuery:
    procedure: str | None = None
    status: DossierStatus | None = None
    kiosk: str | None = None
    assignee: str | None = None           # an account name, or UNASSIGNED
    due_before: datetime | None = None    # due strictly before
    due_after: datetime | None = None     # due at or after
    sort: SortKey = SortKey.RECEIVED
    descending: bool = False
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page is from 1 to {MAX_PER_PAGE}")

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("procedure", self.procedure), ("status", self.status),
                              ("kiosk_id", self.kiosk)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(str(value))
        if self.assignee == UNASSIGNED:
            clauses.append("assignee IS NULL")
        elif self.assignee is not None:
            clauses.append("assignee = ?")
            params.append(self.assignee)
        if self.due_before is not None:
            clauses.append("due_at < ?")
            params.append(iso(self.due_before))
        if self.due_after is not None:
            clauses.append("due_at >= ?")
            params.append(iso(self.due_after))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def order(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        column = _COLUMNS[self.sort]
        # NULLs (no due date, nobody assigned) last either way, on both engines.
        nulls = f"({column} IS NULL), " if self.sort in (SortKey.DUE, SortKey.ASSIGNEE) else ""
        tie = "" if self.sort is SortKey.DEPOSIT else f", deposit_id {direction}"
        return f" ORDER BY {nulls}{column} {direction}{tie}"


@dataclass(frozen=True)
class InboxRow:
    deposit_id: str
    kiosk_id: str
    procedure: str
    received_at: datetime
    due_at: datetime | None
    status: DossierStatus
    status_message: str
    status_at: datetime
    assignee: str | None
    envelope_size: int


@dataclass(frozen=True)
class InboxPage:
    query: InboxQuery
    total: int
    rows: list[InboxRow] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


_INBOX_COLUMNS = ("deposit_id, kiosk_id, procedure, received_at, due_at, status, "
                  "status_message, status_at, assignee, envelope_size")


def _row(r: Any) -> InboxRow:
    return InboxRow(
        deposit_id=r["deposit_id"], kiosk_id=r["kiosk_id"], procedure=r["procedure"],
        received_at=parse_iso(r["received_at"]),
        due_at=parse_iso(r["due_at"]) if r["due_at"] else None,
        status=DossierStatus(r["status"]), status_message=r["status_message"],
        status_at=parse_iso(r["status_at"]), assignee=r["assignee"],
        envelope_size=int(r["envelope_size"]))


def _staff(r: Any) -> StaffRecord:
    return StaffRecord(
        name=r["name"], full_name=r["full_name"], role=Role(r["role"]),
        cert_fingerprint=r["cert_fingerprint"], cert_serial=r["cert_serial"],
        created_at=parse_iso(r["created_at"]),
        disabled_at=parse_iso(r["disabled_at"]) if r["disabled_at"] else None)


def _audit(r: Any) -> AuditEntry:
    return AuditEntry(entry_id=r["entry_id"], at=parse_iso(r["at"]), actor=r["actor"],
                      action=Action(r["action"]), outcome=Outcome(r["outcome"]),
                      deposit_id=r["deposit_id"], detail=r["detail"])


def _new_id() -> str:
    return secrets.token_hex(8)


class StaffStore:
    """Queries of the staff, on the metadata store's database."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ accounts
    def add(self, s: StaffRecord) -> None:
        with self.store.transaction() as cur:
            cur.execute("INSERT INTO staff (name, full_name, role, cert_fingerprint, "
                        "cert_serial, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, NULL) "
                        "ON CONFLICT DO NOTHING",
                        (s.name, s.full_name, s.role, s.cert_fingerprint, s.cert_serial,
                         iso(s.created_at)))
            if cur.rowcount != 1:
                raise AccountError(f"an account named {s.name!r} exists already")
            self._audit(cur, s.created_at, "backoffice", Action.ACCOUNT, Outcome.DONE, None,
                        f"added {s.name} ({s.role})")

    def account(self, name: str) -> StaffRecord | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT * FROM staff WHERE name = ?", (name,)).one()
        return _staff(row) if row else None

    def by_fingerprint(self, fingerprint: str) -> StaffRecord | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT * FROM staff WHERE cert_fingerprint = ?",
                              (fingerprint,)).one()
        return _staff(row) if row else None

    def accounts(self) -> list[StaffRecord]:
        with self.store.read() as cur:
            return [_staff(r) for r in cur.execute("SELECT * FROM staff ORDER BY name").all()]

    def disable(self, name: str, at: datetime) -> StaffRecord:
        """Disable an account (its certificate stops working at once); disabling twice keeps
        the first time."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE staff SET disabled_at = COALESCE(disabled_at, ?) "
                        "WHERE name = ?", (iso(at), name))
            if cur.rowcount != 1:
                raise AccountError(f"no account named {name!r}")
            self._audit(cur, at, "backoffice", Action.ACCOUNT, Outcome.DONE, None,
                        f"disabled {name}")
            row = cur.execute("SELECT * FROM staff WHERE name = ?", (name,)).one()
        return _staff(row)

    def reissue(self, name: str, fingerprint: str, serial: str, at: datetime) -> None:
        """A new certificate for an account: the old one stops working; the account is enabled."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE staff SET cert_fingerprint = ?, cert_serial = ?, "
                        "disabled_at = NULL WHERE name = ?", (fingerprint, serial, name))
            if cur.rowcount != 1:
                raise AccountError(f"no account named {name!r}")
            self._audit(cur, at, "backoffice", Action.ACCOUNT, Outcome.DONE, None,
                        f"issued a new certificate to {name}")

    # ------------------------------------------------------------------ audit
    def _audit(self, cur: Cursor, at: datetime, actor: str, action: Action, outcome: Outcome,
               deposit_id: str | None, detail: str) -> None:
        cur.execute("INSERT INTO audit (entry_id, at, actor, action, outcome, deposit_id, "
                    "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_new_id(), iso(at), actor, action, outcome, deposit_id, detail))

    def audit(self, at: datetime, actor: str, action: Action, outcome: Outcome = Outcome.DONE,
              deposit_id: str | None = None, detail: str = "") -> None:
        """Record what a staff member did (or was refused) that changed nothing."""
        with self.store.transaction() as cur:
            self._audit(cur, at, actor, action, outcome, deposit_id, detail)

    def audit_trail(self, *, deposit_id: str | None = None, actor: str | None = None,
                    limit: int = 200) -> list[AuditEntry]:
        """The newest entries first."""
        sql = "SELECT * FROM audit WHERE 1 = 1"
        params: list[Any] = []
        if deposit_id is not None:
            sql += " AND deposit_id = ?"
            params.append(deposit_id)
        if actor is not None:
            sql += " AND actor = ?"
            params.append(actor)
        with self.store.read() as cur:
            return [_audit(r) for r in cur.execute(
                sql + " ORDER BY at DESC, entry_id DESC LIMIT ?", (*params, limit)).all()]

    # ------------------------------------------------------------------ inbox
    def inbox(self, query: InboxQuery) -> InboxPage:
        where, params = query.where()
        offset = (query.page - 1) * query.per_page
        with self.store.read() as cur:
            total = cur.execute(f"SELECT COUNT(*) AS n FROM deposits{where}",  # noqa: S608 - where holds placeholders only
                                params).scalar()
            rows = cur.execute(
                f"SELECT {_INBOX_COLUMNS} FROM deposits{where}{query.order()} "  # noqa: S608 - columns from an enum
                f"LIMIT ? OFFSET ?", (*params, query.per_page, offset)).all()
        return InboxPage(query, total, [_row(r) for r in rows])

    def inbox_rows(self, query: InboxQuery, chunk: int = 1000) -> Iterator[InboxRow]:
        """Every row the query matches (all pages), read ``chunk`` rows at a time."""
        where, params = query.where()
        offset = 0
        while True:
            with self.store.read() as cur:
                rows = cur.execute(
                    f"SELECT {_INBOX_COLUMNS} FROM deposits{where}{query.order()} "  # noqa: S608 - as in inbox()
                    f"LIMIT ? OFFSET ?", (*params, chunk, offset)).all()
            yield from (_row(r) for r in rows)
            if len(rows) < chunk:
                return
            offset += chunk

    def facets(self) -> dict[str, list[str]]:
        """The values the inbox's filters can take: procedures and kiosks seen, staff names."""
        with self.store.read() as cur:
            procedures = [r["procedure"] for r in cur.execute(
                "SELECT DISTINCT procedure FROM deposits ORDER BY procedure").all()]
            kiosks = [r["kiosk_id"] for r in cur.execute(
                "SELECT kiosk_id FROM kiosks ORDER BY kiosk_id").all()]
            staff = [r["name"] for r in cur.execute(
                "SELECT name FROM staff WHERE disabled_at IS NULL ORDER BY name").all()]
        return {"procedure": procedures, "kiosk": kiosks, "assignee": staff}

    # ------------------------------------------------------------------ one dossier
    def history(self, deposit_id: str) -> list[HistoryEntry]:
        with self.store.read() as cur:
            rows = cur.execute("SELECT at, status, message, actor FROM status_history "
                               "WHERE deposit_id = ? ORDER BY at", (deposit_id,)).all()
        return [HistoryEntry(parse_iso(r["at"]), DossierStatus(r["status"]), r["message"],
                             r["actor"]) for r in rows]

    def annotations(self, deposit_id: str) -> list[Annotation]:
        with self.store.read() as cur:
            rows = cur.execute("SELECT * FROM annotations WHERE deposit_id = ? "
                               "ORDER BY at, annotation_id", (deposit_id,)).all()
        return [Annotation(r["annotation_id"], r["deposit_id"], parse_iso(r["at"]), r["author"],
                           r["text"]) for r in rows]

    def _locked(self, cur: Cursor, deposit_id: str) -> Any:
        row = cur.execute("SELECT status, assignee FROM deposits WHERE deposit_id = ?"  # noqa: S608 - a fixed suffix of the engine
                          + self.store.for_update, (deposit_id,)).one()
        if row is None:
            raise UnknownDepositError(f"no deposit {deposit_id} is stored")
        return row

    def annotate(self, deposit_id: str, author: str, text: str, at: datetime) -> Annotation:
        note = Annotation(_new_id(), deposit_id, at, author, text)
        with self.store.transaction() as cur:
            self._locked(cur, deposit_id)
            cur.execute("INSERT INTO annotations (annotation_id, deposit_id, at, author, text) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (note.annotation_id, deposit_id, iso(at), author, text))
            self._audit(cur, at, author, Action.ANNOTATE, Outcome.DONE, deposit_id,
                        f"annotation {note.annotation_id} ({len(text)} characters)")
        return note

    def assign(self, deposit_id: str, assignee: str | None, actor: str, at: datetime, *,
               check: bool = False, expected: str | None = None) -> None:
        """Give a dossier to ``assignee`` (None: to nobody). With ``check``, ``expected`` is
        who the staff member saw holding it: :class:`StaleDossier` if that changed meanwhile."""
        with self.store.transaction() as cur:
            row = self._locked(cur, deposit_id)
            if check and row["assignee"] != expected:
                raise StaleDossier(f"deposit {deposit_id} was meanwhile assigned to "
                                   f"{row['assignee'] or 'nobody'}; look again")
            if assignee is not None:
                target = cur.execute("SELECT disabled_at FROM staff WHERE name = ?",
                                     (assignee,)).one()
                if target is None or target["disabled_at"] is not None:
                    raise AccountError(f"no active account named {assignee!r}")
            cur.execute("UPDATE deposits SET assignee = ? WHERE deposit_id = ?",
                        (assignee, deposit_id))
            self._audit(cur, at, actor, Action.ASSIGN, Outcome.DONE, deposit_id,
                        f"{row['assignee'] or 'nobody'} -> {assignee or 'nobody'}")

    def decide(self, deposit_id: str, new: DossierStatus, actor: str, at: datetime,
               rule: Callable[[DossierStatus], str], *,
               expected: DossierStatus | None = None) -> str:
        """Move a dossier to ``new``: ``rule(current)`` gives the message to store or raises
        (and nothing is written). Taking a dossier in review assigns it to ``actor`` when it
        was nobody's. Returns the message stored."""
        with self.store.transaction() as cur:
            row = self._locked(cur, deposit_id)
            current = DossierStatus(row["status"])
            if expected is not None and current is not expected:
                raise StaleDossier(f"deposit {deposit_id} is now {current.words}, not "
                                   f"{expected.words}: someone changed it meanwhile; look again")
            message = rule(current)
            assignee = row["assignee"]
            if new is DossierStatus.IN_REVIEW and assignee is None:
                assignee = actor
            cur.execute("UPDATE deposits SET status = ?, status_message = ?, status_at = ?, "
                        "assignee = ? WHERE deposit_id = ?",
                        (new, message, iso(at), assignee, deposit_id))
            cur.execute("INSERT INTO status_history (deposit_id, at, status, message, actor) "
                        "VALUES (?, ?, ?, ?, ?)", (deposit_id, iso(at), new, message, actor))
            self._audit(cur, at, actor, Action.DECIDE, Outcome.DONE, deposit_id,
                        f"{current} -> {new}")
        return message
