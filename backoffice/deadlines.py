"""When a request is deemed decided by the administration's silence, and how requests for
missing documents move that date.

A deposit's accusé de réception must state "the date on which, without an express
decision, the request will be deemed accepted or rejected" (CRPA R112-5, 1°), and a request
for missing documents moves that date (CRPA L114-5). A wrong date is a wrong legal
statement on a document the citizen keeps, so the rules live here, in one small pure
module (stdlib only, no clock, no I/O) that the accusé de réception, the status page and
the staff inbox all call, and that the tests pin against hand-computed cases.

Rules, and what they rest on
----------------------------

*The starting day is the day of receipt, in the service's calendar.* The delay "court à
compter de la date de réception de la demande" (CRPA L114-3); a deposit at a kiosk is
received when the kiosk recorded it (its accusé d'enregistrement, L112-11), so
:func:`receipt_date` turns that aware instant into a date in Europe/Paris (a service
overseas passes its own zone). The day of receipt itself is not counted (dies a quo non
computatur: the general rule of French delays, written for the courts in Code de
procédure civile art. 641, and applied by the administrative courts).

*A delay in months ends on the day of the last month that bears the same number as the
day of receipt, or on that month's last day when it has none* (Code de procédure civile
art. 641 -- not the Code civil; the administrative courts count delays "de quantième à
quantième" the same way). 31 January + 1 month is 28 or 29 February; 31 March + 1 month
is 30 April. Each delay is counted from the starting day, never month by month from an
already clipped date, so 31 January + 2 months is 31 March, not 28 March.
service-public.fr, "Règle du silence vaut accord (SVA)" (F32388, checked 27 January
2022), gives the worked example this module reproduces: a complete request received on
1 March 2022 is deemed accepted on 1 May 2022.

*A delay in days ends that many days after the day of receipt* (same art. 641: the day
of the event does not count): 15 days from 1 March end on 16 March.

*The decision is born at the end of the day computed above* (the delay expires at
midnight, that is 24:00, of that day). :attr:`DeemedDecision.deemed_on` is that day, the
date the accusé de réception prints, as service-public.fr does ("la décision implicite
d'acceptation intervient le 1er mai 2022"); the decision can be relied on from the next
day, :attr:`DeemedDecision.in_force_from`. Until the end of ``deemed_on`` the
administration can still decide expressly, so that day is still :attr:`State.RUNNING`.

*No extension to the next working day.* The extension of a delay ending on a Saturday,
Sunday or public holiday (Code de procédure civile art. 642; for the administrative
judge, the Conseil d'État's case law on appeal deadlines, e.g. CE 5 June 2009 n°312682)
concerns delays within which a *person must act*; nothing in the CRPA extends the delay
at the end of which the administration's *silence* becomes a decision, and the
service-public.fr example above lands on Sunday 1 May 2022, a public holiday, without
moving. So weekends and holidays are ignored here.

*A request for missing documents (CRPA L114-5).* The administration lists what is
missing and sets a deadline for it. What happens to the delay depends on what silence
means:

- silence means **acceptance**: the delay "ne court qu'à compter de la réception des
  pièces et informations requises" -- it starts again, whole, from the day the documents
  arrive, whatever had already run. Until then there is no deemed date; if the deadline
  passes without them, there still is none (the delay does not run; closing the request
  is the administration's decision, this module only reports
  :attr:`State.DOCUMENTS_OVERDUE`).
- silence means **rejection**: the delay "est suspendu pendant le délai imparti pour
  produire les pièces", and producing them before the deadline ends the suspension. The
  time already run is kept: the deemed date moves later by the days the suspension
  lasted, from the day of the request to the day the documents arrived or, at the
  latest, the deadline (CE 13 January 2003 n°237034, Camara: the suspension "prend fin
  de plein droit dès réception des pièces demandées et, au plus tard, à l'expiration du
  délai fixé"). Documents that come after the deadline change nothing.

The wording quoted is that of décret n°2001-492 art. 2 (Légifrance), which the CRPA took
over as L114-5 in 2016; the Conseil d'État's rapporteur public restated it in 2022
(conclusions on n°459777, doctrine.fr). Whether a request was lawful (the documents
really required by a text, asked in time) is the staff's judgement, not this module's:
every request given here counts.

*Once born, a decision stays born.* A request for documents dated after the deemed day
does not revive the delay; such events are returned in
:attr:`DeemedDecision.after_decision` so that a caller can warn the staff, and change
nothing. Withdrawing an implicit acceptance is another procedure (L242-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from backoffice.errors import BackofficeError
from deposit.legal import Delay, Silence, add

#: The calendar of the services this back office serves by default.
PARIS = ZoneInfo("Europe/Paris")


class TimelineError(BackofficeError, ValueError):
    """The events given are not a possible history of a request (out of order, an answer
    to no request, a deadline before its request, a date in the future...)."""


class State(StrEnum):
    """Where the deemed decision stands on a given day."""

    RUNNING = "running"                      # the delay runs; decided at the end of deemed_on
    DEEMED = "deemed"                        # deemed_on has passed: the implicit decision exists
    SUSPENDED = "suspended"                  # waiting for documents before their deadline
    DOCUMENTS_OVERDUE = "documents_overdue"  # silence means acceptance, the deadline passed
    #                                          without the documents: the delay does not run


def receipt_date(received_at: datetime, zone: ZoneInfo = PARIS) -> date:
    """The day, in the service's calendar, of an aware instant of receipt.

    A deposit at 23:30 UTC on 31 March is received on 1 April in Paris (summer time);
    a naive datetime is refused, since its day cannot be known.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"the time of receipt {received_at.isoformat()} has no time zone: "
                         "give an aware datetime (UTC as stored)")
    return received_at.astimezone(zone).date()


@dataclass(frozen=True)
class DocumentsRequested:
    """The administration asked for missing documents on ``asked_on``, to come by
    ``deadline`` (included)."""

    asked_on: date
    deadline: date


@dataclass(frozen=True)
class DocumentsReceived:
    """The documents asked for arrived on ``received_on``."""

    received_on: date


Event = DocumentsRequested | DocumentsReceived


def _day(event: Event) -> date:
    return event.asked_on if isinstance(event, DocumentsRequested) else event.received_on


@dataclass(frozen=True)
class DeemedDecision:
    """Where the deemed decision of one request stands on one day.

    ``deemed_on`` is None while suspended or while documents are overdue under a silence
    that means acceptance. ``open_request`` is the request still waiting for its
    documents (past its deadline too). ``after_decision`` are the events dated after the
    decision was born: they changed nothing.
    """

    state: State
    silence: Silence
    deemed_on: date | None
    open_request: DocumentsRequested | None = None
    after_decision: tuple[Event, ...] = ()

    @property
    def in_force_from(self) -> date | None:
        """The first day the implicit decision can be relied on (the day after ``deemed_on``)."""
        return self.deemed_on + timedelta(days=1) if self.deemed_on else None


def deemed_decision(received: date, delay: Delay, silence: Silence,
                    events: Sequence[Event] = (), *, today: date) -> DeemedDecision:
    """The deemed decision of a request received on ``received``, as it stands on ``today``.

    ``events`` are the requests for documents and their answers, in the order they
    happened, none before ``received`` nor after ``today``; a request must be answered
    before the next one is made. See the module's docstring for the rules.
    """
    if silence is Silence.NONE:
        raise ValueError("a procedure whose silence means nothing has no deemed decision")
    _check(received, events, today)
    end = add(received, delay)         # the last day of the delay as it stands
    open_request: DocumentsRequested | None = None
    answered = True                    # the last request got its documents (or there was none)
    for index, event in enumerate(events):
        day = _day(event)
        if open_request is not None and silence is Silence.REJECTION \
                and day > open_request.deadline:
            # The suspension ended at the deadline: the delay ran on from there.
            end += open_request.deadline - open_request.asked_on
            open_request = None
        if open_request is None and day > end:
            return _outcome(end, silence, None, today, tuple(events[index:]))
        if isinstance(event, DocumentsRequested):
            if open_request is not None:
                raise TimelineError(f"a request for documents of {day} comes while the one of "
                                    f"{open_request.asked_on} waits for its documents")
            open_request, answered = event, False
        elif answered:
            raise TimelineError(f"documents received on {day} answer no request for documents")
        else:
            answered = True
            if open_request is None:
                continue               # rejection, past the deadline: already resumed
            if silence is Silence.ACCEPTANCE:
                end = add(day, delay)  # the whole delay, from the documents' arrival
            else:
                end += day - open_request.asked_on
            open_request = None
    if open_request is not None:
        if today <= open_request.deadline:
            return DeemedDecision(State.SUSPENDED, silence, None, open_request)
        if silence is Silence.ACCEPTANCE:
            return DeemedDecision(State.DOCUMENTS_OVERDUE, silence, None, open_request)
        end += open_request.deadline - open_request.asked_on
    return _outcome(end, silence, open_request, today, ())


def _outcome(end: date, silence: Silence, open_request: DocumentsRequested | None,
             today: date, after: tuple[Event, ...]) -> DeemedDecision:
    state = State.DEEMED if today > end else State.RUNNING
    return DeemedDecision(state, silence, end, open_request, after)


def _check(received: date, events: Sequence[Event], today: date) -> None:
    if today < received:
        raise TimelineError(f"today ({today}) is before the day of receipt ({received})")
    previous = received
    for event in events:
        day = _day(event)
        if day < previous:
            raise TimelineError(f"an event of {day} comes after one of {previous}, or before "
                                f"the day of receipt: give the events in the order they happened")
        if day > today:
            raise TimelineError(f"an event of {day} has not happened yet on {today}")
        if isinstance(event, DocumentsRequested) and event.deadline < event.asked_on:
            raise TimelineError(f"a request for documents of {event.asked_on} has its "
                                f"deadline before it ({event.deadline})")
        previous = day
