"""Where a dossier may go next: the decisions of the staff as a state machine.

::

    received ──▶ in review ──▶ accepted
                   │  ▲   ├──▶ rejected            (a motive is required)
                   │  │   └──▶ closed without follow-up
                   ▼  │
                 incomplete ──▶ closed without follow-up   (the citizen never answered)
                 (a motive is required: what is missing)

A dossier is taken *in review* before anything is decided: the state the
citizen sees says someone is on it, and the assignment goes with it. An
incomplete dossier goes back *in review* (the documents came, or the staff
resume it). Accepted, rejected and closed are final: a decision taken by
mistake is corrected by a new deposit or by an appeal, not by rewriting the
history the citizen has already been shown.

Every message to the citizen (the motive of a rejection, what is missing, a
note with any decision) goes on a public page and is checked for personal data
(backoffice/personaldata.py) before anything is stored.
"""

from __future__ import annotations

from backoffice.errors import DecisionError, Refusal
from backoffice.personaldata import MessageFormatError, PersonalDataError, check_message
from backoffice.status import DossierStatus

S = DossierStatus

#: Each status and the statuses a staff decision may take it to.
TRANSITIONS: dict[DossierStatus, frozenset[DossierStatus]] = {
    S.RECEIVED: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.INCOMPLETE, S.ACCEPTED, S.REJECTED, S.CLOSED}),
    S.INCOMPLETE: frozenset({S.IN_REVIEW, S.CLOSED}),
    S.ACCEPTED: frozenset(),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
}

#: Decisions that mean nothing to the citizen without their reason (CRPA L211-2 asks
#: rejections to be motivated; an incomplete dossier must say what is missing, L114-5).
NEEDS_MOTIVE: frozenset[DossierStatus] = frozenset({S.REJECTED, S.INCOMPLETE})


def allowed(current: DossierStatus) -> list[DossierStatus]:
    """The statuses reachable from ``current``, in the order of the enum."""
    return [s for s in DossierStatus if s in TRANSITIONS[current]]


def check(current: DossierStatus, new: DossierStatus, message: str) -> str:
    """The message to store with the move ``current`` → ``new``, or :class:`DecisionError`.

    Refuses a move outside :data:`TRANSITIONS`, a missing motive, and a
    message carrying personal data (the error names what was found, never the
    value). The message comes back with its line breaks (``\\r\\n`` made ``\\n``)
    and without surrounding blank space.
    """
    if new not in TRANSITIONS[current]:
        reachable = ", ".join(s.words for s in allowed(current)) or "nothing (it is final)"
        raise DecisionError(f"a dossier {current.words} cannot become {new.words}; from "
                            f"{current.words} it can become: {reachable}", Refusal.TRANSITION,
                            {"from": [current.value], "to": [new.value],
                             "allowed": [s.value for s in allowed(current)]})
    try:
        text = check_message(message).strip()
    except PersonalDataError as exc:
        kinds = list(dict.fromkeys(f.kind.value for f in exc.findings))
        raise DecisionError(f"the message to the citizen is refused: {exc}",
                            Refusal.PERSONAL_DATA, {"kinds": kinds}) from None
    except MessageFormatError as exc:
        raise DecisionError(f"the message to the citizen is refused: {exc}",
                            Refusal.MESSAGE_FORMAT, {"problem": [exc.problem.value]}) from None
    if new in NEEDS_MOTIVE and not text:
        what = "why it is rejected" if new is S.REJECTED else "which documents are missing"
        raise DecisionError(f"a dossier {new.words} needs a message to the citizen saying {what}",
                            Refusal.MOTIVE, {"to": [new.value]})
    return text
