"""Requests for missing documents (CRPA L114-5): what staff may ask, and how the dossier and
its deemed-decision date follow.

When a dossier is incomplete, the administration lists the missing documents and sets a
deadline; meanwhile the delay after which its silence becomes a decision is suspended
(silence means rejection) or starts again, whole, once the documents arrive (silence means
acceptance). backoffice/deadlines.py counts that; this module holds the requests themselves,
so that the staff API, the workspace, the status page and the complement ingest apply the
same rules:

- a request names at least one document, each a document of the dossier's procedure in the
  catalog (``[[documents]]``, backoffice/procedures.py): a citizen answers at a kiosk, which
  asks for exactly these documents by code;
- its deadline is a day of the service's calendar (Paris), the last day included, after
  today and at most :data:`MAX_DEADLINE` ahead. Three months is a choice, not a text: the
  CRPA sets no bound, but a longer deadline keeps a dossier suspended for a season, and a
  typo (2072 for 2027) must not;
- its note is shown on the public status page and goes through
  ``personaldata.check_message`` like every message to the citizen;
- one open request at a time per dossier (the deadlines module counts one suspension at a
  time): a second is refused until the first is withdrawn or answered;
- making it moves the dossier to ``incomplete`` with a generated message listing the
  documents and the deadline (then the note), through ``decisions.check`` so that the state
  machine stays in one place. A dossier still ``received`` is taken ``in review`` first
  (two entries in its history), as a staff decision would;
- withdrawing it (its requester or a supervisor) and answering it (a complement arrived at
  a kiosk; actor ``kiosk``) move the dossier back to ``in review``.

Each of these writes ``deposits.deemed_on`` again, in its own transaction, from the
procedure, the day of receipt and every request not withdrawn (:func:`recompute_deemed_on`;
None while suspended). A withdrawn request counts as never made: the service said it did not
need the documents, and the citizen must not lose the time it ran (a choice; the texts are
silent on withdrawal). Transactions and audit entries are in backoffice/store/requestsdb.py.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from backoffice import deadlines, decisions, procedures
from backoffice.errors import Refusal, StaffError
from backoffice.personaldata import MessageFormatError, PersonalDataError, check_message
from backoffice.procedures import ProcedureInfo
from backoffice.status import DossierStatus
from deposit.legal import Delay, DelayUnit, Silence, add

if TYPE_CHECKING:
    from backoffice.store.metadata import Cursor, MetadataStore

log = logging.getLogger(__name__)

#: The latest deadline a request may set, counted from today (a choice: see above).
MAX_DEADLINE = Delay(3, DelayUnit.MONTHS)
#: The longest note (the generated message and the note together stay within a status
#: page's 2000 characters, personaldata.MAX_LENGTH).
MAX_NOTE = 1000
#: A request id: ``"rq_" + secrets.token_urlsafe(12)``; read back from URLs with this shape.
REQUEST_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")
#: Who answers a request: the kiosk where the citizen brought the documents.
KIOSK_ACTOR = "kiosk"


class RequestState(StrEnum):
    """Stored in ``document_requests.state``, sent by the staff API: keep the values."""

    OPEN = "open"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


class RequestError(StaffError):
    """A request for documents outside the rules (422); ``code`` says which rule."""

    status = 422


class RequestConflict(RequestError):
    """The dossier's requests do not allow it now: one is open already, or the one named is
    not open (409)."""

    status = 409


@dataclass(frozen=True)
class DocumentRequest:
    request_id: str            # "rq_" + secrets.token_urlsafe(12): matches [0-9A-Za-z_-]{8,64}
    deposit_id: str
    requested_at: datetime     # aware UTC
    requested_by: str          # staff account name
    deadline: date             # last day included, Paris calendar
    documents: tuple[str, ...]  # document codes of the procedure
    note: str
    state: RequestState
    answered_at: datetime | None = None
    complement_id: str | None = None

    def expired(self, now: datetime) -> bool:
        """Whether ``now`` is past the deadline (its Paris day is after it)."""
        return deadlines.receipt_date(now) > self.deadline


def new_request_id() -> str:
    return "rq_" + secrets.token_urlsafe(12)


def is_request_id(text: str) -> bool:
    return 8 <= len(text) <= 64 and set(text) <= REQUEST_ID_CHARS


# ---------------------------------------------------------------------------- the rules
@dataclass(frozen=True)
class Asked:
    """A request that passed the rules that do not depend on the store."""

    documents: tuple[str, ...]
    deadline: date
    note: str
    message: str               # what the dossier's status message becomes (French)


def check_request(procedure: ProcedureInfo | None, documents: Sequence[str], deadline: date,
                  note: str, today: date) -> Asked:
    """The request, or :class:`RequestError` naming the rule it breaks (the unknown codes,
    the latest deadline, the kinds of personal data found)."""
    if not documents:
        raise RequestError("a request for documents names at least one document",
                           Refusal.NO_DOCUMENT)
    known = {d.code for d in procedure.documents} if procedure else set()
    unknown = list(dict.fromkeys(c for c in documents if c not in known))
    if unknown:
        name = procedure.code if procedure else "this dossier's procedure"
        raise RequestError(f"not a document of {name}: {', '.join(unknown)} (its documents: "
                           f"{', '.join(sorted(known)) or 'none known'})",
                           Refusal.UNKNOWN_DOCUMENT, {"codes": unknown, "known": sorted(known)})
    latest = add(today, MAX_DEADLINE)
    if not today < deadline <= latest:
        raise RequestError(f"the deadline {deadline} must be after today ({today}) and at the "
                           f"latest {latest} ({MAX_DEADLINE} ahead)", Refusal.DEADLINE,
                           {"earliest": [(today + timedelta(days=1)).isoformat()],
                            "latest": [latest.isoformat()]})
    note = _checked_note(note)
    assert procedure is not None
    codes = tuple(dict.fromkeys(documents))
    return Asked(codes, deadline, note, request_message(procedure, codes, deadline, note))


def _checked_note(note: str) -> str:
    if len(note) > MAX_NOTE:
        raise RequestError(f"the note is {len(note)} characters long, more than {MAX_NOTE}",
                           Refusal.MESSAGE_FORMAT, {"problem": ["too_long"]})
    try:
        return check_message(note).strip()
    except PersonalDataError as exc:
        kinds = list(dict.fromkeys(f.kind.value for f in exc.findings))
        raise RequestError(f"the note to the citizen is refused: {exc}", Refusal.PERSONAL_DATA,
                           {"kinds": kinds}) from None
    except MessageFormatError as exc:
        raise RequestError(f"the note to the citizen is refused: {exc}", Refusal.MESSAGE_FORMAT,
                           {"problem": [exc.problem.value]}) from None


def request_message(procedure: ProcedureInfo, documents: Sequence[str], deadline: date,
                    note: str) -> str:
    """The dossier's status message while the request is open, in French (the status page
    lists the documents in the citizen's language besides)."""
    names = [(procedure.document(c) or procedures.DocumentInfo(c, {"fr": c})).name("fr")
             for c in documents]
    lines = ["Pièces manquantes :", *(f"- {n}" for n in names),
             f"À apporter au plus tard le {format_date(deadline, 'long', locale='fr')}, à "
             "n'importe quelle borne de dépôt : montrez le code QR de votre reçu."]
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


Move = tuple[DossierStatus, str]
#: A rule for the store: from the dossier's current status, the statuses it goes through,
#: each with its message; raises (DecisionError) what the state machine does not allow.
Moves = Callable[[DossierStatus], list[Move]]


def request_moves(message: str) -> Moves:
    """The rule of a new request, for the store: the statuses the dossier goes through from
    its current one, each with its message (``decisions.check`` refuses what the state
    machine does not allow)."""
    def moves(current: DossierStatus) -> list[Move]:
        if current is DossierStatus.RECEIVED:
            taken = decisions.check(current, DossierStatus.IN_REVIEW, "")
            return [(DossierStatus.IN_REVIEW, taken),
                    (DossierStatus.INCOMPLETE,
                     decisions.check(DossierStatus.IN_REVIEW, DossierStatus.INCOMPLETE, message))]
        return [(DossierStatus.INCOMPLETE,
                 decisions.check(current, DossierStatus.INCOMPLETE, message))]
    return moves


def back_in_review(message: str) -> Moves:
    """The rule of a withdrawal or an answer: back ``in review`` from ``incomplete``."""
    def moves(current: DossierStatus) -> list[Move]:
        return [(DossierStatus.IN_REVIEW,
                 decisions.check(current, DossierStatus.IN_REVIEW, message))]
    return moves


#: The messages of the dossier's history when a request ends.
WITHDRAWN_MESSAGE = "La demande de pièces est retirée : le service reprend l'examen du dossier."
ANSWERED_MESSAGE = "Les pièces demandées sont arrivées : le service reprend l'examen du dossier."


# ---------------------------------------------------------------------------- the date
def events(requests: Sequence[DocumentRequest]) -> list[deadlines.Event]:
    """The requests not withdrawn, and their answers, as deadlines.py's events, in order."""
    out: list[deadlines.Event] = []
    for r in sorted(requests, key=lambda r: r.requested_at):
        if r.state is RequestState.WITHDRAWN:
            continue
        out.append(deadlines.DocumentsRequested(deadlines.receipt_date(r.requested_at),
                                                r.deadline))
        if r.state is RequestState.ANSWERED and r.answered_at is not None:
            out.append(deadlines.DocumentsReceived(deadlines.receipt_date(r.answered_at)))
    return out


def deemed(procedure: ProcedureInfo | None, received_at: datetime,
           requests: Sequence[DocumentRequest], today: date) -> deadlines.DeemedDecision | None:
    """Where the deemed decision stands on ``today``; None when the procedure's silence means
    nothing or the catalog does not say (no date rather than a wrong one)."""
    if procedure is None or procedure.silence in (None, Silence.NONE) \
            or procedure.decision_delay is None:
        return None
    received = deadlines.receipt_date(received_at)
    timeline = events(requests)
    days = [received, today, *(e.asked_on if isinstance(e, deadlines.DocumentsRequested)
                               else e.received_on for e in timeline)]
    return deadlines.deemed_decision(received, procedure.decision_delay, procedure.silence,
                                     timeline, today=max(days))


def recompute_deemed_on(cur: Cursor, deposit_id: str, *, today: date | None = None
                        ) -> date | None:
    """Write ``deposits.deemed_on`` again from the procedure, the day of receipt and the
    requests (inside the caller's transaction); the date written. ``today`` defaults to the
    day of the latest event: an open request then counts as suspended (None). A history
    deadlines.py cannot count gets None, logged, and never fails the caller's change."""
    from backoffice.store.metadata import parse_iso

    row = cur.execute("SELECT procedure, received_at FROM deposits WHERE deposit_id = ?",
                      (deposit_id,)).one()
    if row is None:
        return None
    received_at = parse_iso(row["received_at"])
    rows = cur.execute("SELECT * FROM document_requests WHERE deposit_id = ? "
                       "ORDER BY requested_at", (deposit_id,)).all()
    requests = [from_row(r) for r in rows]
    try:
        outcome = deemed(procedures.shipped().get(row["procedure"]), received_at, requests,
                         today or deadlines.receipt_date(received_at))
    except deadlines.TimelineError as exc:
        # Not a history the rules can count (a request dated before the receipt, written
        # by hand): no date rather than a wrong one, and the change still goes through.
        log.warning("deposit %s: no deemed-decision date (%s)", deposit_id, exc)
        outcome = None
    deemed_on = outcome.deemed_on if outcome else None
    cur.execute("UPDATE deposits SET deemed_on = ? WHERE deposit_id = ?",
                (deemed_on.isoformat() if deemed_on else None, deposit_id))
    return deemed_on


def from_row(r: Any) -> DocumentRequest:
    """A ``document_requests`` row as a request."""
    from backoffice.store.metadata import parse_iso

    return DocumentRequest(
        request_id=r["request_id"], deposit_id=r["deposit_id"],
        requested_at=parse_iso(r["requested_at"]), requested_by=r["requested_by"],
        deadline=date.fromisoformat(r["deadline"]), documents=tuple(json.loads(r["documents"])),
        note=r["note"], state=RequestState(r["state"]),
        answered_at=parse_iso(r["answered_at"]) if r["answered_at"] else None,
        complement_id=r["complement_id"])


# ---------------------------------------------------------------------------- the store
def open_request(store: MetadataStore, deposit_id: str) -> DocumentRequest | None:
    """The dossier's open request, if it has one."""
    return next((r for r in requests_of(store, deposit_id) if r.state is RequestState.OPEN),
                None)


def requests_of(store: MetadataStore, deposit_id: str) -> list[DocumentRequest]:
    """Every request of the dossier, oldest first."""
    from backoffice.store.requestsdb import RequestStore

    return RequestStore(store).requests(deposit_id)


def answer(store: MetadataStore, *, deposit_id: str, request_id: str, complement_id: str,
           at: datetime) -> None:
    """A complement answered the request: it is marked answered, the dossier goes back
    ``in review`` (actor ``kiosk``) and its deemed-decision date is written again, in one
    transaction. :class:`RequestConflict` when the request is not open (answered, withdrawn,
    or another dossier's), :class:`~backoffice.errors.UnknownDepositError` for no dossier,
    :class:`~backoffice.errors.DecisionError` when the dossier's status does not allow it.

    The deadline is not checked here: the complement ingest refuses a complement that comes
    after it (:meth:`DocumentRequest.expired`) before calling this; documents that arrive
    late anyway change nothing of a rejection's date (backoffice/deadlines.py)."""
    from backoffice.store.requestsdb import RequestStore

    RequestStore(store).answer(deposit_id, request_id, complement_id, at,
                               back_in_review(ANSWERED_MESSAGE))


__all__ = ["ANSWERED_MESSAGE", "MAX_DEADLINE", "MAX_NOTE", "WITHDRAWN_MESSAGE", "Asked",
           "DocumentRequest", "RequestConflict", "RequestError",
           "RequestState", "answer", "check_request", "deemed", "open_request",
           "recompute_deemed_on", "requests_of"]
