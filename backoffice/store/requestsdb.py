"""Requests for missing documents in the metadata store: each change in one transaction with
the dossier's status, its history, its deemed-decision date and its audit entry.

Works on the same database as :class:`~backoffice.store.metadata.MetadataStore` (both
engines), like backoffice/store/staffdb.py. The rules are not here: what a request may name
is checked before (backoffice/docrequests.py), and the statuses a change moves the dossier
through come in as a function of its current status (``moves``, built on
backoffice/decisions.py), run inside the transaction that holds the dossier's row, so a
refusal writes nothing. What is decided here is only what needs the rows: one open request
per dossier, and that the request withdrawn or answered is open.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta

from backoffice import deadlines
from backoffice.docrequests import (
    KIOSK_ACTOR,
    DocumentRequest,
    Moves,
    RequestConflict,
    RequestState,
    from_row,
    new_request_id,
    recompute_deemed_on,
)
from backoffice.errors import Refusal, StaleDossier, UnknownDepositError
from backoffice.roles import Action, Outcome
from backoffice.status import DossierStatus
from backoffice.store.metadata import Cursor, MetadataStore, iso, parse_iso


class RequestStore:
    """The requests of the dossiers, on the metadata store's database."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ reads
    def requests(self, deposit_id: str) -> list[DocumentRequest]:
        """Every request of a dossier, oldest first."""
        with self.store.read() as cur:
            rows = cur.execute("SELECT * FROM document_requests WHERE deposit_id = ? "
                               "ORDER BY requested_at, request_id", (deposit_id,)).all()
        return [from_row(r) for r in rows]

    def request(self, request_id: str) -> DocumentRequest | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT * FROM document_requests WHERE request_id = ?",
                              (request_id,)).one()
        return from_row(row) if row else None

    # ------------------------------------------------------------------ changes
    def create(self, deposit_id: str, *, documents: tuple[str, ...], deadline: date, note: str,
               actor: str, at: datetime, moves: Moves,
               expected: DossierStatus | None = None) -> DocumentRequest:
        """A new open request; the dossier moves as ``moves`` says (to ``incomplete``).

        :class:`RequestConflict` when the dossier has an open request already,
        :class:`StaleDossier` when its status is not ``expected`` (when given)."""
        request = DocumentRequest(new_request_id(), deposit_id, at, actor, deadline, documents,
                                  note, RequestState.OPEN)
        with self.store.transaction() as cur:
            current = self._locked(cur, deposit_id, expected)
            other = cur.execute("SELECT request_id FROM document_requests WHERE deposit_id = ? "
                                "AND state = ?", (deposit_id, RequestState.OPEN)).one()
            if other is not None:
                raise RequestConflict(
                    f"deposit {deposit_id} has an open request for documents already "
                    f"({other['request_id']}): withdraw it or wait for the documents first",
                    Refusal.OPEN_REQUEST, {"request": [other["request_id"]]})
            steps = moves(current)
            cur.execute("INSERT INTO document_requests (request_id, deposit_id, requested_at, "
                        "requested_by, deadline, documents, note, state) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (request.request_id, deposit_id, iso(at), actor,
                         deadline.isoformat(), json.dumps(list(documents)), note,
                         RequestState.OPEN))
            self._move(cur, deposit_id, current, steps, actor, at)
            deemed_on = recompute_deemed_on(cur, deposit_id, today=deadlines.receipt_date(at))
            _audit(cur, at, actor, Action.REQUEST_DOCUMENTS, deposit_id,
                   f"{request.request_id}: {', '.join(documents)} by {deadline}; "
                   f"deemed on {deemed_on or 'none (suspended)'}")
        return request

    def withdraw(self, deposit_id: str, request_id: str, actor: str, at: datetime,
                 moves: Moves) -> DocumentRequest:
        """Withdraw an open request; the dossier moves as ``moves`` says (back in review)."""
        with self.store.transaction() as cur:
            current = self._locked(cur, deposit_id)
            self._open(cur, deposit_id, request_id)
            steps = moves(current)
            cur.execute("UPDATE document_requests SET state = ? WHERE request_id = ?",
                        (RequestState.WITHDRAWN, request_id))
            self._move(cur, deposit_id, current, steps, actor, at)
            deemed_on = recompute_deemed_on(cur, deposit_id, today=deadlines.receipt_date(at))
            _audit(cur, at, actor, Action.WITHDRAW_REQUEST, deposit_id,
                   f"{request_id}; deemed on {deemed_on or 'none'}")
            row = cur.execute("SELECT * FROM document_requests WHERE request_id = ?",
                              (request_id,)).one()
        return from_row(row)

    def answer(self, deposit_id: str, request_id: str, complement_id: str, at: datetime,
               moves: Moves) -> DocumentRequest:
        """Mark an open request answered by ``complement_id``; the dossier moves as ``moves``
        says (back in review), by the kiosk."""
        with self.store.transaction() as cur:
            current = self._locked(cur, deposit_id)
            self._open(cur, deposit_id, request_id)
            steps = moves(current)
            cur.execute("UPDATE document_requests SET state = ?, answered_at = ?, "
                        "complement_id = ? WHERE request_id = ?",
                        (RequestState.ANSWERED, iso(at), complement_id, request_id))
            self._move(cur, deposit_id, current, steps, KIOSK_ACTOR, at)
            deemed_on = recompute_deemed_on(cur, deposit_id, today=deadlines.receipt_date(at))
            _audit(cur, at, KIOSK_ACTOR, Action.ANSWER_REQUEST, deposit_id,
                   f"{request_id} by complement {complement_id}; deemed on {deemed_on or 'none'}")
            row = cur.execute("SELECT * FROM document_requests WHERE request_id = ?",
                              (request_id,)).one()
        return from_row(row)

    # ------------------------------------------------------------------ plumbing
    def _locked(self, cur: Cursor, deposit_id: str,
                expected: DossierStatus | None = None) -> DossierStatus:
        row = cur.execute("SELECT status FROM deposits WHERE deposit_id = ?"  # noqa: S608 - a fixed suffix of the engine
                          + self.store.for_update, (deposit_id,)).one()
        if row is None:
            raise UnknownDepositError(f"no deposit {deposit_id} is stored")
        current = DossierStatus(row["status"])
        if expected is not None and current is not expected:
            raise StaleDossier(f"deposit {deposit_id} is now {current.words}, not "
                               f"{expected.words}: someone changed it meanwhile; look again")
        return current

    @staticmethod
    def _open(cur: Cursor, deposit_id: str, request_id: str) -> None:
        row = cur.execute("SELECT deposit_id, state FROM document_requests "
                          "WHERE request_id = ?", (request_id,)).one()
        if row is None or row["deposit_id"] != deposit_id:
            raise RequestConflict(f"deposit {deposit_id} has no request {request_id}",
                                  Refusal.REQUEST_STATE, {"state": []})
        if row["state"] != RequestState.OPEN:
            raise RequestConflict(f"the request {request_id} of deposit {deposit_id} is "
                                  f"{row['state']}, not open", Refusal.REQUEST_STATE,
                                  {"state": [row["state"]]})

    @staticmethod
    def _move(cur: Cursor, deposit_id: str, current: DossierStatus,
              steps: list[tuple[DossierStatus, str]], actor: str, at: datetime) -> None:
        """Write each status of ``steps`` with its history entry (a microsecond apart, and
        after the dossier's last entry: the history is keyed by time, and a clock that did
        not move must not collide); taking a dossier in review assigns it to ``actor`` when
        it was nobody's, as a staff decision does."""
        last = cur.execute("SELECT MAX(at) AS at FROM status_history WHERE deposit_id = ?",
                           (deposit_id,)).one()
        when = at
        if last is not None and last["at"] is not None and parse_iso(last["at"]) >= when:
            when = parse_iso(last["at"]) + timedelta(microseconds=1)
        for new, message in steps:
            cur.execute("UPDATE deposits SET status = ?, status_message = ?, status_at = ? "
                        "WHERE deposit_id = ?", (new, message, iso(when), deposit_id))
            if new is DossierStatus.IN_REVIEW and actor != KIOSK_ACTOR:
                cur.execute("UPDATE deposits SET assignee = ? WHERE deposit_id = ? "
                            "AND assignee IS NULL", (actor, deposit_id))
            cur.execute("INSERT INTO status_history (deposit_id, at, status, message, actor) "
                        "VALUES (?, ?, ?, ?, ?)", (deposit_id, iso(when), new, message, actor))
            _audit(cur, when, actor, Action.DECIDE, deposit_id, f"{current} -> {new}")
            current = new
            when += timedelta(microseconds=1)


def _audit(cur: Cursor, at: datetime, actor: str, action: Action, deposit_id: str,
           detail: str) -> None:
    cur.execute("INSERT INTO audit (entry_id, at, actor, action, outcome, deposit_id, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (secrets.token_hex(8), iso(at), actor, action, Outcome.DONE, deposit_id, detail))
