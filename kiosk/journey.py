"""The citizen journey as a pure state machine: no Kivy, no threads, no clock of its own.

The machine is a reducer: :meth:`Journey.handle` takes the current
:class:`JourneyState`, one event and the time, and returns the next state and
the :class:`Command` values the application layer must perform (start the
camera, seal the dossier, print the receipt, wipe the session). The
application answers each command with events (:class:`PageCaptured`,
:class:`Sealed`, :class:`PrintFailed`, ...), so every path through the journey
can be driven and checked in a test with a fake clock and no device at all.

Steps, in order::

    WELCOME → PROCEDURE → CHECKLIST → CAPTURE (each document, several pages)
            → REVIEW → CONTACT → CONFIRM → SEALING → RECEIPT → SATISFACTION → WIPE → WELCOME

A convocation QR code read at WELCOME or PROCEDURE skips the choice and goes
straight to CHECKLIST with the case reference filled in. A receipt's QR code
read there (or at LOOKUP, which "Bring missing documents" on the welcome
screen opens) starts a *complement* (kiosk/complement.py)::

    WELCOME → LOOKUP (checking with the back office) → CHECKLIST of the requested
            documents only → CAPTURE → REVIEW → CONFIRM → SEALING → RECEIPT → ...

with no CONTACT step (the original dossier's contact stands); when nothing
can be added (nothing requested, deadline passed, no answer) LOOKUP says why
and offers an agent, and nothing is sealed. Everywhere a citizen
is: cancel (with a confirmation), help, language, "call an agent", and an
inactivity warning ``warning`` seconds before the end that "I need more time"
extends; at the end the session is wiped. The wipe returns the machine to
:meth:`Journey.initial` exactly: nothing of one citizen is in the state the
next one sees.

Values that cross into the UI (``Step``, ``Action``, ``Overlay``, ``Notice``)
are string enums: the Kivy screens are named after ``Step`` values and the kv
rules compare against them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from deposit.complements import (
    LookupState,
    ReceiptCodeError,
    looks_like_receipt,
    parse_receipt_code,
)
from kiosk.access import Access, Setting
from kiosk.catalog import Catalog, Convocation, ConvocationError, Procedure
from kiosk.complement import Complement, LookedUp, LookUp, LookupFailed, LookupPhase
from kiosk.i18n import N_
from kiosk.reasons import OutboxProblem, PrintProblem, SealFailure

#: Version of the privacy notice shown on the contact screen (recorded with the consent).
PRIVACY_NOTICE_VERSION = "2025-01"


class Step(StrEnum):
    """Where the citizen is. Each value names one Kivy screen."""

    WELCOME = "welcome"
    LOOKUP = "lookup"            # a receipt's code: what does the back office await?
    PROCEDURE = "procedure"
    CHECKLIST = "checklist"
    CAPTURE = "capture"
    REVIEW = "review"
    CONTACT = "contact"
    CONFIRM = "confirm"
    SEALING = "sealing"
    RECEIPT = "receipt"
    SATISFACTION = "satisfaction"
    WIPE = "wipe"


#: The steps shown by the step indicator: (label msgid, steps it covers).
PROGRESS: tuple[tuple[str, tuple[Step, ...]], ...] = (
    (N_("Procedure"), (Step.PROCEDURE, Step.LOOKUP)),   # chosen, or read from a receipt
    (N_("Documents"), (Step.CHECKLIST, Step.CAPTURE)),
    (N_("Check"), (Step.REVIEW,)),
    (N_("Contact"), (Step.CONTACT,)),
    (N_("Send"), (Step.CONFIRM, Step.SEALING)),
    (N_("Receipt"), (Step.RECEIPT, Step.SATISFACTION)),
)


def progress_index(step: Step) -> int | None:
    """The position of ``step`` in :data:`PROGRESS` (0-based), or None outside the indicator."""
    for index, (_label, steps) in enumerate(PROGRESS):
        if step in steps:
            return index
    return None


class Action(StrEnum):
    """What a citizen can ask for with a tap (the argument, if any, travels in :class:`Tap`)."""

    START = "start"                    # welcome: begin a deposit
    COMPLEMENT = "complement"          # welcome: bring missing documents (show the receipt)
    CHOOSE = "choose"                  # procedure: arg = procedure code
    BEGIN = "begin"                    # checklist: start capturing the first document
    CAPTURE_NOW = "capture_now"        # capture: take the photo without waiting for auto-capture
    ADD_PAGE = "add_page"              # capture (page taken): this document has another page
    RETAKE = "retake"                  # capture (page taken): throw the last page away, try again
    NEXT = "next"                      # capture (page taken): next document, or the review
    SKIP = "skip"                      # capture (aiming, optional document): I do not have it
    REDO = "redo"                      # review: arg = document index, capture it again
    CONTINUE = "continue"              # review → contact; contact (arg = Contact) → confirm
    CONSENT = "consent"                # contact: arg = bool, the consent box
    SEND = "send"                      # confirm: seal and queue
    RETRY = "retry"                    # sealing failed, or no answer to a lookup: try again
    PRINT_AGAIN = "print_again"        # receipt: print the receipt again
    FINISH = "finish"                  # receipt → satisfaction
    RATE = "rate"                      # satisfaction: arg = 1..3, then the wipe
    BACK = "back"                      # one step back (keeps what was done)
    CANCEL = "cancel"                  # asks for confirmation
    CANCEL_CONFIRM = "cancel_confirm"  # yes, throw everything away
    CANCEL_ABORT = "cancel_abort"      # no, carry on
    HELP = "help"
    CLOSE = "close"                    # closes the help (or any dismissible overlay)
    LANGUAGE = "language"              # arg = language code
    MORE_TIME = "more_time"            # the inactivity warning: I need more time
    CALL_AGENT = "call_agent"
    ACCESSIBILITY = "accessibility"    # opens the accessibility settings
    TOGGLE = "toggle"                  # accessibility settings: arg = kiosk.access.Setting
    LANGUAGES = "languages"            # opens the list of languages


class Overlay(StrEnum):
    """A dialog drawn over the current screen; it takes the taps until closed."""

    CANCEL = "cancel"              # "Cancel everything?" yes / no
    HELP = "help"
    TIMEOUT = "timeout"            # "Are you still there?" + I need more time
    ACCESS = "access"              # the accessibility settings
    LANGUAGE = "language"          # the list of languages


class Notice(StrEnum):
    """A short message shown (and spoken) on the current screen until the next action."""

    NOT_A_CONVOCATION = "not_a_convocation"
    UNKNOWN_PROCEDURE = "unknown_procedure"
    CONTACT_INVALID_EMAIL = "contact_invalid_email"
    CONTACT_INVALID_PHONE = "contact_invalid_phone"
    CONTACT_NEEDS_CONSENT = "contact_needs_consent"
    PAGE_LIMIT = "page_limit"
    NOT_A_RECEIPT = "not_a_receipt"    # a status page's address, but not one of this service's


class Refusal(StrEnum):
    """Why the welcome screen refuses new deposits (several may hold at once)."""

    DISK_FULL = "disk_full"            # the outbox refuses: its disk budget is short
    CAMERA_LOST = "camera_lost"
    OUTBOX_BROKEN = "outbox_broken"
    KIOSK_REFUSED = "kiosk_refused"    # the back office refuses this kiosk (revoked...)


class Device(StrEnum):
    """Devices and resources whose condition the machine tracks."""

    CAMERA = "camera"
    PRINTER = "printer"
    OUTBOX = "outbox"
    NETWORK = "network"


class CapturePhase(StrEnum):
    AIMING = "aiming"          # live preview, waiting for a still, legible page
    PROCESSING = "processing"  # a still was taken; the page is being rectified
    TAKEN = "taken"            # the page is shown; add a page, retake, or go on


class ReceiptPhase(StrEnum):
    PRINTING = "printing"
    PRINTED = "printed"
    ON_SCREEN = "on_screen"    # the printer could not print: the receipt is shown instead


class WipeReason(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class PageRef:
    """One captured page, held by the session under ``id`` (the machine never holds pixels)."""

    id: str
    ok: bool = True
    reasons: tuple[str, ...] = ()   # scanner Reason codes when the page is usable but poor
    #: Its 2D-Doc verified (kiosk/twoddocs.py): the review screen says "authenticated".
    authenticated: bool = False


@dataclass(frozen=True)
class DocumentState:
    code: str
    required: bool
    max_pages: int
    pages: tuple[PageRef, ...] = ()
    skipped: bool = False

    @property
    def done(self) -> bool:
        return bool(self.pages) or self.skipped


@dataclass(frozen=True)
class Contact:
    """What the citizen typed; both optional. Kept only in the session and the envelope."""

    email: str = ""
    phone: str = ""

    @property
    def empty(self) -> bool:
        return not (self.email or self.phone)


@dataclass(frozen=True)
class DeviceHealth:
    camera_ok: bool = True
    printer_ok: bool = True
    printer_problem: PrintProblem | None = None
    outbox_ok: bool = True
    outbox_problem: OutboxProblem | None = None
    online: bool = True


@dataclass(frozen=True)
class DepositResult:
    """What sealing gave back: enough for the receipt (printed or on screen)."""

    deposit_id: str
    tracking_url: str
    queued_offline: bool = False   # the back office could not be reached yet
    complement_of: str | None = None   # a complement: the dossier its documents were added to


@dataclass(frozen=True)
class Timeouts:
    """Seconds of inactivity before the wipe, per kind of step, and the warning before it."""

    inactivity: float = 120.0
    capture: float = 240.0
    satisfaction: float = 45.0
    warning: float = 30.0
    extension: float = 0.0         # added on every "I need more time" (0: the step's full time)


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Tap:
    action: Action
    arg: Any = None


@dataclass(frozen=True)
class Tick:
    """The clock passed; checks the inactivity timer."""


@dataclass(frozen=True)
class Activity:
    """The citizen is doing something without touching the screen (moving a page)."""


@dataclass(frozen=True)
class Touched:
    """The citizen touched the screen or pressed a key, whatever it touched: the timer
    restarts and the end-of-session warning closes (unlike :class:`Activity`)."""


@dataclass(frozen=True)
class AgentSeen:
    """The staff on duty acknowledged this session's call: someone is coming."""


@dataclass(frozen=True)
class CodeRead:
    text: str


@dataclass(frozen=True)
class PageCaptured:
    page: PageRef


@dataclass(frozen=True)
class PageChecked:
    """The 2D-Doc of a captured page was read (kiosk/twoddocs.py), off the capture loop."""

    page_id: str
    authenticated: bool            # a code on it verified
    invalid: bool = False          # a code on it did not (the staff see it; not the citizen)


@dataclass(frozen=True)
class CaptureStarted:
    """A still was taken and is being processed (auto-capture or CAPTURE_NOW)."""


@dataclass(frozen=True)
class CaptureFailed:
    reason: str          # a scanner Reason code or "camera"


@dataclass(frozen=True)
class DeviceChanged:
    device: Device
    ok: bool
    problem: PrintProblem | OutboxProblem | None = None


@dataclass(frozen=True)
class Sealed:
    result: DepositResult


@dataclass(frozen=True)
class SealFailed:
    reason: SealFailure


@dataclass(frozen=True)
class Printed:
    pass


@dataclass(frozen=True)
class PrintFailed:
    reason: PrintProblem


@dataclass(frozen=True)
class WipeDone:
    pass


Event = (Tap | Tick | Activity | Touched | AgentSeen | CodeRead | PageCaptured | CaptureStarted
         | CaptureFailed | DeviceChanged | Sealed | SealFailed | Printed | PrintFailed | WipeDone
         | LookedUp | LookupFailed | PageChecked)


# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class StartCamera:
    """Show the live preview and arm auto-capture for this document.

    Auto-capture takes a page only once the previous one was taken away (or
    moved), so a page left on the tray is not taken again for the next
    document; ``retake`` lifts that: the citizen asked to photograph the page
    on the tray again.
    """

    document: str
    page_number: int          # 1-based number of the page about to be taken
    retake: bool = False


@dataclass(frozen=True)
class StopCamera:
    pass


@dataclass(frozen=True)
class CaptureNow:
    pass


@dataclass(frozen=True)
class DiscardPages:
    page_ids: tuple[str, ...]


@dataclass(frozen=True)
class DocumentPages:
    code: str
    page_ids: tuple[str, ...]


@dataclass(frozen=True)
class Seal:
    """Build the dossier, encrypt it and queue it in the outbox (answered by Sealed/SealFailed)."""

    procedure: str
    case_reference: str | None
    language: str
    documents: tuple[DocumentPages, ...]
    contact: Contact | None
    consent: bool
    at: float
    complement: Complement | None = None   # documents added to this dossier, for this request


@dataclass(frozen=True)
class PrintReceipt:
    """Print the receipt of ``deposit`` (answered by Printed/PrintFailed)."""

    deposit: DepositResult
    procedure: str
    language: str
    documents: tuple[DocumentPages, ...]


@dataclass(frozen=True)
class CallAgent:
    step: Step


@dataclass(frozen=True)
class RecordSatisfaction:
    rating: int
    procedure: str | None


@dataclass(frozen=True)
class Wipe:
    """Forget the session: pages, typed text, textures, language (answered by WipeDone)."""

    reason: WipeReason


Command = (StartCamera | StopCamera | CaptureNow | DiscardPages | Seal | PrintReceipt
           | CallAgent | RecordSatisfaction | Wipe | LookUp)


# ----------------------------------------------------------------------------- state


@dataclass(frozen=True)
class JourneyState:
    """Everything the screens render; a plain value, compared whole in tests."""

    step: Step
    language: str
    default_language: str
    last_activity: float
    procedure: str | None = None
    case_reference: str | None = None
    from_convocation: bool = False
    documents: tuple[DocumentState, ...] = ()
    current: int = 0
    capture: CapturePhase = CapturePhase.AIMING
    return_to_review: bool = False
    contact: Contact = field(default_factory=Contact)
    consent: bool = False
    overlay: Overlay | None = None
    notice: Notice | None = None
    agent_called: bool = False
    agent_seen: bool = False
    access: Access = field(default_factory=Access)
    screen_since: float = 0.0      # when the screen (step, overlay, capture phase) last changed
    devices: DeviceHealth = field(default_factory=DeviceHealth)
    warning_deadline: float | None = None
    deposit: DepositResult | None = None
    receipt: ReceiptPhase | None = None
    print_problem: PrintProblem | None = None
    seal_error: SealFailure | None = None
    capture_problem: str = ""
    wipe_reason: WipeReason | None = None
    complement: Complement | None = None    # a complement (receipt read); None: a new deposit
    lookup: LookupPhase | None = None       # on LOOKUP: what the screen shows
    lookup_asked: float | None = None       # when the awaited lookup was asked (its answer's)

    @property
    def is_complement(self) -> bool:
        """Documents are being added to a dossier (the back office said which)."""
        return self.complement is not None and self.complement.request_id is not None

    @property
    def document(self) -> DocumentState | None:
        """The document being captured (CAPTURE), else None."""
        if self.step is Step.CAPTURE and 0 <= self.current < len(self.documents):
            return self.documents[self.current]
        return None

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        """Why new deposits are refused now (empty: they are accepted)."""
        found = []
        if not self.devices.outbox_ok:
            problem = self.devices.outbox_problem
            found.append(_REFUSALS.get(problem, Refusal.OUTBOX_BROKEN) if problem is not None
                         else Refusal.OUTBOX_BROKEN)
        if not self.devices.camera_ok:
            found.append(Refusal.CAMERA_LOST)
        return tuple(found)

    @property
    def accepting(self) -> bool:
        return not self.refusals

    @property
    def out_of_order(self) -> bool:
        """A device failed in the middle of this citizen's journey: call an agent, nothing lost."""
        return self.step is Step.CAPTURE and not self.devices.camera_ok

    @property
    def page_count(self) -> int:
        return sum(len(d.pages) for d in self.documents)

    @property
    def can_cancel(self) -> bool:
        # While sealing nothing can be undone; once it failed, the citizen may give up.
        return self.step in _CANCELLABLE or (self.step is Step.SEALING
                                             and self.seal_error is not None)

    @property
    def can_go_back(self) -> bool:
        return self.step in _BACK and not (self.step is Step.CAPTURE
                                           and self.capture is CapturePhase.PROCESSING)

    @property
    def in_session(self) -> bool:
        """Whether a citizen's data or choices are in the state (what the timeout protects)."""
        return self.step is not Step.WELCOME or self.language != self.default_language


#: What the welcome screen says for each outbox problem (anything else: OUTBOX_BROKEN).
_REFUSALS = {OutboxProblem.DISK_FULL: Refusal.DISK_FULL,
             OutboxProblem.KIOSK_REFUSED: Refusal.KIOSK_REFUSED}

_CANCELLABLE = frozenset({Step.LOOKUP, Step.PROCEDURE, Step.CHECKLIST, Step.CAPTURE,
                          Step.REVIEW, Step.CONTACT, Step.CONFIRM})
_BACK = frozenset({Step.LOOKUP, Step.PROCEDURE, Step.CHECKLIST, Step.CAPTURE, Step.REVIEW,
                   Step.CONTACT, Step.CONFIRM})
#: Steps where the inactivity timer runs; SEALING waits for the machine, not the citizen.
_TIMED = frozenset(set(Step) - {Step.SEALING, Step.WIPE})
#: The settings dialogs and the action that opens (or closes) each.
_OPENERS = {Action.ACCESSIBILITY: Overlay.ACCESS, Action.LANGUAGES: Overlay.LANGUAGE}
#: Taps that act even right after a screen change: calling an agent, asking for more time.
_UNGUARDED = frozenset({Action.CALL_AGENT, Action.MORE_TIME})

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
_PHONE_ALLOWED = re.compile(r"[0-9 +.\-()]{6,25}")


def normalise_phone(text: str) -> str | None:
    """A French or international phone number as typed, in E.164 (+33612345678), or None.

    Accepts ``06 12 34 56 78``, ``06.12.34.56.78``, ``+33 6 12 34 56 78``,
    ``0033612345678`` and international numbers written with ``+``.
    """
    text = text.strip()
    if not _PHONE_ALLOWED.fullmatch(text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif len(digits) == 10 and digits.startswith("0") and digits[1] != "0":
        number = "33" + digits[1:]
    else:
        return None
    if number.startswith("33") and len(number) != 11:
        return None
    if not 9 <= len(number) <= 15:
        return None
    return "+" + number


def valid_email(text: str) -> bool:
    return len(text) <= 254 and bool(_EMAIL.fullmatch(text.strip()))


@dataclass(frozen=True)
class Transition:
    state: JourneyState
    commands: tuple[Command, ...] = ()


class Journey:
    """The rules of the journey for one kiosk: its catalog, languages and timeouts.

    Instances hold no session data: a state is passed in and a new one comes
    out, so a kiosk keeps exactly one :class:`JourneyState` and a test may keep
    as many as it likes.
    """

    def __init__(self, catalog: Catalog, *, languages: Sequence[str] = ("fr", "en"),
                 default_language: str = "fr", timeouts: Timeouts | None = None,
                 max_pages: int = 60, input_guard: float = 0.0,
                 default_access: Access | None = None, receipt_base: str | None = None) -> None:
        if default_language not in languages:
            raise ValueError(f"default language {default_language!r} not in {list(languages)}")
        self.catalog = catalog
        self.languages = tuple(languages)
        self.default_language = default_language
        self.timeouts = timeouts or Timeouts()
        self.max_pages = max_pages
        #: Seconds during which taps are ignored after the screen changed (EN 301 549 5.8,
        #: double-strike: a second tap meant for the previous screen must not act on this one).
        self.input_guard = input_guard
        self.default_access = default_access or Access()
        #: The back office's public address, which receipts' QR codes start with (the
        #: enrollment bundle's); None: receipts are not read (a kiosk not enrolled).
        self.receipt_base = receipt_base

    # ---------------------------------------------------------------- public

    def initial(self, now: float, devices: DeviceHealth | None = None) -> JourneyState:
        """The welcome screen as the next citizen must find it."""
        return JourneyState(step=Step.WELCOME, language=self.default_language,
                            default_language=self.default_language, last_activity=now,
                            devices=devices or DeviceHealth(), access=self.default_access,
                            screen_since=now)

    def timeout_for(self, state: JourneyState) -> float | None:
        """Seconds of inactivity allowed at this point, or None when no timer runs."""
        factor = state.access.time_factor
        if state.step is Step.SEALING and state.seal_error is not None:
            return self.timeouts.inactivity * factor   # failed: the citizen may have walked away
        customised = state.access != self.default_access
        if state.step not in _TIMED or not (state.in_session or customised):
            return None
        if state.step is Step.LOOKUP and state.lookup is LookupPhase.CHECKING:
            return None     # waiting for the back office, not for the citizen (bounded there)
        if state.step is Step.CAPTURE:
            return self.timeouts.capture * factor
        if state.step is Step.SATISFACTION:
            return self.timeouts.satisfaction * factor
        return self.timeouts.inactivity * factor

    def warning_for(self, timeout: float) -> float:
        """Seconds of warning before the end of a timeout: the configured warning, but never
        more than a third of the timeout (a short screen must not warn as soon as it shows)."""
        return min(self.timeouts.warning, timeout / 3)

    def guard(self, state: JourneyState) -> float:
        """Seconds after a screen change during which taps are ignored."""
        return self.input_guard * state.access.time_factor

    def guard_left(self, state: JourneyState, now: float) -> float:
        """How long taps are still ignored (0: a tap now counts)."""
        return max(0.0, state.screen_since + self.guard(state) - now)

    def deadline(self, state: JourneyState) -> float | None:
        """When the session will be wiped if nothing happens (None: never)."""
        timeout = self.timeout_for(state)
        return None if timeout is None else state.last_activity + timeout

    def handle(self, state: JourneyState, event: Event, now: float) -> Transition:
        """The next state and the commands to perform, given one event at time ``now``."""
        result = self._handle(state, event, now)
        new = result.state
        if (new.step, new.overlay, new.capture, new.current) != \
                (state.step, state.overlay, state.capture, state.current):
            return Transition(self._keep(new, screen_since=now), result.commands)
        return result

    def _handle(self, state: JourneyState, event: Event, now: float) -> Transition:
        if isinstance(event, Tap):
            if event.action not in _UNGUARDED and self.guard_left(state, now) > 0:
                return Transition(state)     # meant for the previous screen (double tap)
            return self._tap(self._touched(state, now), event)
        if isinstance(event, Touched):
            return Transition(self._touched(state, now))
        if isinstance(event, AgentSeen):
            return Transition(self._keep(state, agent_seen=state.agent_called))
        if isinstance(event, Tick):
            return self._tick(state, now)
        if isinstance(event, Activity):
            if state.overlay is Overlay.TIMEOUT:
                return Transition(state)    # only a tap answers "are you still there?"
            return Transition(self._keep(state, last_activity=now))
        if isinstance(event, CodeRead):
            return self._code(self._touched(state, now), event.text)
        if isinstance(event, DeviceChanged):
            return self._device(state, event)
        if isinstance(event, CaptureStarted | PageCaptured | CaptureFailed):
            return self._capture_result(self._touched(state, now), event)
        if isinstance(event, PageChecked):
            return Transition(self._page_checked(state, event))
        if isinstance(event, Sealed | SealFailed):
            return self._seal_result(state, event, now)
        if isinstance(event, Printed | PrintFailed):
            return self._print_result(state, event)
        if isinstance(event, LookedUp | LookupFailed):
            return self._lookup_result(state, event, now)
        if isinstance(event, WipeDone):
            if state.step is not Step.WIPE:
                return Transition(state)
            return Transition(self.initial(now, state.devices))
        raise TypeError(f"not a journey event: {event!r}")

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def _keep(state: JourneyState, **changes: Any) -> JourneyState:
        return replace(state, **changes)

    def _touched(self, state: JourneyState, now: float) -> JourneyState:
        """Any tap or code is activity: the timer restarts and the warning closes."""
        overlay = None if state.overlay is Overlay.TIMEOUT else state.overlay
        return self._keep(state, last_activity=now, warning_deadline=None, overlay=overlay)

    def procedure(self, state: JourneyState) -> Procedure | None:
        return self.catalog.get(state.procedure) if state.procedure else None

    def _wipe(self, state: JourneyState, reason: WipeReason) -> Transition:
        cleared = self.initial(state.last_activity, state.devices)
        # Only the devices' condition survives: it belongs to the kiosk, not the citizen.
        # The goodbye is said in the citizen's language and settings; WipeDone brings the
        # defaults back.
        wiped = self._keep(cleared, step=Step.WIPE, wipe_reason=reason, language=state.language,
                           access=state.access)
        commands: list[Command] = []
        if state.step is Step.CAPTURE:
            commands.append(StopCamera())
        commands.append(Wipe(reason))
        return Transition(wiped, tuple(commands))

    def _start_documents(self, state: JourneyState, procedure: Procedure,
                         convocation: Convocation | None) -> JourneyState:
        documents = procedure.documents
        if convocation is not None and convocation.documents:
            wanted = set(convocation.documents)
            documents = tuple(d for d in documents if d.code in wanted)
        docs = tuple(DocumentState(code=d.code, required=d.required, max_pages=d.max_pages)
                     for d in documents)
        return self._keep(state, step=Step.CHECKLIST, procedure=procedure.code,
                          case_reference=convocation.case_reference if convocation else None,
                          from_convocation=convocation is not None, documents=docs,
                          current=0, notice=None, capture=CapturePhase.AIMING,
                          return_to_review=False)

    def _enter_capture(self, state: JourneyState, index: int,
                       extra: tuple[Command, ...] = (), retake: bool = False) -> Transition:
        doc = state.documents[index]
        new = self._keep(state, step=Step.CAPTURE, current=index, notice=None,
                         capture=CapturePhase.AIMING, capture_problem="")
        return Transition(new, (*extra, StartCamera(doc.code, len(doc.pages) + 1, retake)))

    def _after_document(self, state: JourneyState) -> Transition:
        """Leave the current document: the next one not done, else the review."""
        if not state.return_to_review:
            for index in range(state.current + 1, len(state.documents)):
                if not state.documents[index].done:
                    return self._enter_capture(state, index, (StopCamera(),))
        return Transition(self._keep(state, step=Step.REVIEW, return_to_review=False,
                                     notice=None), (StopCamera(),))

    def _with_document(self, state: JourneyState, index: int,
                       doc: DocumentState) -> JourneyState:
        docs = list(state.documents)
        docs[index] = doc
        return self._keep(state, documents=tuple(docs))

    def _pages(self, state: JourneyState) -> tuple[DocumentPages, ...]:
        return tuple(DocumentPages(d.code, tuple(p.id for p in d.pages))
                     for d in state.documents if d.pages)

    # ---------------------------------------------------------------- taps

    def _tap(self, state: JourneyState, tap: Tap) -> Transition:
        action = tap.action
        # Everywhere, whatever overlay is open.
        if action is Action.LANGUAGE:
            if tap.arg in self.languages and state.step is not Step.WIPE:
                overlay = None if state.overlay is Overlay.LANGUAGE else state.overlay
                return Transition(self._keep(state, language=tap.arg, overlay=overlay))
            return Transition(state)
        if action is Action.CALL_AGENT:
            if state.step is Step.WIPE:
                return Transition(state)
            return Transition(self._keep(state, agent_called=True), (CallAgent(state.step),))
        if action is Action.MORE_TIME:
            return Transition(state)      # _touched already restarted the timer
        if state.step is Step.WIPE:
            return Transition(state)
        if action is Action.TOGGLE:
            if isinstance(tap.arg, Setting):
                return Transition(self._keep(state, access=state.access.toggled(tap.arg)))
            return Transition(state)
        if action in _OPENERS:
            wanted = _OPENERS[action]
            return Transition(self._keep(state, overlay=None if state.overlay is wanted
                                         else wanted))
        if state.overlay in (Overlay.ACCESS, Overlay.LANGUAGE):
            if action is Action.CLOSE:
                return Transition(self._keep(state, overlay=None))
            return Transition(state)
        # Overlays take the taps.
        if state.overlay is Overlay.CANCEL:
            if action is Action.CANCEL_CONFIRM:
                return self._wipe(state, WipeReason.CANCELLED)
            if action in (Action.CANCEL_ABORT, Action.CLOSE):
                return Transition(self._keep(state, overlay=None))
            return Transition(state)
        if state.overlay is Overlay.HELP:
            if action in (Action.CLOSE, Action.HELP):
                return Transition(self._keep(state, overlay=None))
            return Transition(state)
        if action is Action.HELP:
            if state.step in (Step.SEALING, Step.WIPE):
                return Transition(state)
            return Transition(self._keep(state, overlay=Overlay.HELP))
        if action is Action.CANCEL:
            if state.can_cancel:
                return Transition(self._keep(state, overlay=Overlay.CANCEL))
            return Transition(state)
        if action is Action.BACK:
            return self._back(state)
        handler = _STEP_HANDLERS.get(state.step)
        if handler is None:
            return Transition(state)
        return handler(self, state, tap)

    def _back(self, state: JourneyState) -> Transition:
        if not state.can_go_back:
            return Transition(state)
        step = state.step
        clean = self._keep(state, notice=None)
        if step is Step.PROCEDURE:
            return Transition(self._keep(clean, step=Step.WELCOME))
        if step is Step.LOOKUP or (step is Step.CHECKLIST and state.complement is not None):
            # Not this dossier, or not now: start again (nothing was taken).
            return Transition(self._keep(clean, step=Step.WELCOME, complement=None, lookup=None,
                                         procedure=None, documents=()))
        if step is Step.CHECKLIST:
            if state.from_convocation:
                # Nothing chosen by hand: back means "not this", i.e. start again.
                return Transition(self._keep(clean, step=Step.PROCEDURE, procedure=None,
                                             case_reference=None, from_convocation=False,
                                             documents=()))
            return Transition(self._keep(clean, step=Step.PROCEDURE, documents=()))
        if step is Step.CAPTURE:
            if state.return_to_review:
                return Transition(self._keep(clean, step=Step.REVIEW, return_to_review=False),
                                  (StopCamera(),))
            if state.current == 0:
                return Transition(self._keep(clean, step=Step.CHECKLIST), (StopCamera(),))
            # Back to the previous document, showing its last page (or aiming if skipped).
            prev = state.current - 1
            doc = state.documents[prev]
            if doc.pages:
                return Transition(self._keep(clean, current=prev, capture=CapturePhase.TAKEN),
                                  (StopCamera(),))
            undone = self._with_document(clean, prev, replace(doc, skipped=False))
            return self._enter_capture(undone, prev, (StopCamera(),))
        if step is Step.REVIEW:
            last = len(state.documents) - 1
            doc = state.documents[last]
            if doc.pages:
                return Transition(self._keep(clean, step=Step.CAPTURE, current=last,
                                             capture=CapturePhase.TAKEN))
            undone = self._with_document(clean, last, replace(doc, skipped=False))
            return self._enter_capture(undone, last)
        if step is Step.CONTACT:
            return Transition(self._keep(clean, step=Step.REVIEW))
        if step is Step.CONFIRM:
            return Transition(self._keep(clean, step=Step.REVIEW if state.is_complement
                                         else Step.CONTACT))
        return Transition(state)

    def _tap_welcome(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.START and state.accepting:
            return Transition(self._keep(state, step=Step.PROCEDURE, notice=None))
        if tap.action is Action.COMPLEMENT and state.accepting and self.receipt_base:
            return Transition(self._keep(state, step=Step.LOOKUP, notice=None,
                                         lookup=LookupPhase.SHOW_RECEIPT))
        return Transition(state)

    def _tap_lookup(self, state: JourneyState, tap: Tap) -> Transition:
        phase = state.lookup
        if tap.action is Action.RETRY and phase is LookupPhase.UNAVAILABLE \
                and state.complement is not None:
            return Transition(self._keep(state, lookup=LookupPhase.CHECKING, notice=None,
                                         lookup_asked=state.last_activity),
                              (LookUp(state.complement.code, state.last_activity),))
        if tap.action is Action.FINISH and phase is not None and phase.final:
            return self._wipe(state, WipeReason.COMPLETED)
        return Transition(state)

    def _tap_procedure(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.CHOOSE:
            procedure = self.catalog.get(tap.arg) if isinstance(tap.arg, str) else None
            if procedure is None:
                return Transition(state)
            return Transition(self._start_documents(state, procedure, None))
        return Transition(state)

    def _tap_checklist(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.BEGIN and state.documents:
            return self._enter_capture(state, 0)
        return Transition(state)

    def _tap_capture(self, state: JourneyState, tap: Tap) -> Transition:
        doc = state.documents[state.current]
        action = tap.action
        if state.out_of_order:
            return Transition(state)
        if state.capture is CapturePhase.AIMING:
            if action is Action.CAPTURE_NOW:
                return Transition(self._keep(state, capture=CapturePhase.PROCESSING),
                                  (CaptureNow(),))
            if action is Action.SKIP and not doc.required and not doc.pages:
                skipped = self._with_document(state, state.current, replace(doc, skipped=True))
                return self._after_document(skipped)
            if action is Action.NEXT and doc.pages:
                # Aiming at an extra page, then changed their mind.
                return self._after_document(state)
            return Transition(state)
        if state.capture is CapturePhase.TAKEN:
            if action is Action.ADD_PAGE:
                if len(doc.pages) >= doc.max_pages or state.page_count >= self.max_pages:
                    return Transition(self._keep(state, notice=Notice.PAGE_LIMIT))
                return self._enter_capture(state, state.current)
            if action is Action.RETAKE and doc.pages:
                last = doc.pages[-1]
                fewer = self._with_document(state, state.current,
                                            replace(doc, pages=doc.pages[:-1]))
                return self._enter_capture(fewer, state.current, (DiscardPages((last.id,)),),
                                           retake=True)
            if action is Action.NEXT:
                return self._after_document(state)
        return Transition(state)

    def _tap_review(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.CONTINUE:
            if any(d.required and not d.pages for d in state.documents):
                return Transition(state)
            # A complement has no contact step: the original dossier's contact stands.
            return Transition(self._keep(state, step=Step.CONFIRM if state.is_complement
                                         else Step.CONTACT, notice=None))
        if tap.action is Action.REDO and isinstance(tap.arg, int) \
                and 0 <= tap.arg < len(state.documents):
            doc = state.documents[tap.arg]
            discard = tuple(p.id for p in doc.pages)
            cleared = self._with_document(state, tap.arg, replace(doc, pages=(), skipped=False))
            cleared = self._keep(cleared, return_to_review=True)
            extra: tuple[Command, ...] = (DiscardPages(discard),) if discard else ()
            return self._enter_capture(cleared, tap.arg, extra, retake=True)
        return Transition(state)

    def _tap_contact(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.CONSENT:
            return Transition(self._keep(state, consent=bool(tap.arg), notice=None))
        if tap.action is Action.CONTINUE:
            typed = tap.arg if isinstance(tap.arg, Contact) else state.contact
            email = typed.email.strip()
            phone_text = typed.phone.strip()
            contact = Contact(email=email, phone=phone_text)
            if email and not valid_email(email):
                return Transition(self._keep(state, contact=contact,
                                             notice=Notice.CONTACT_INVALID_EMAIL))
            phone = ""
            if phone_text:
                normalised = normalise_phone(phone_text)
                if normalised is None:
                    return Transition(self._keep(state, contact=contact,
                                                 notice=Notice.CONTACT_INVALID_PHONE))
                phone = normalised
            contact = Contact(email=email, phone=phone)
            if not contact.empty and not state.consent:
                return Transition(self._keep(state, contact=contact,
                                             notice=Notice.CONTACT_NEEDS_CONSENT))
            return Transition(self._keep(state, step=Step.CONFIRM, contact=contact, notice=None))
        return Transition(state)

    def _tap_confirm(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.SEND and state.procedure is not None:
            return self._send(state)
        return Transition(state)

    def _send(self, state: JourneyState) -> Transition:
        assert state.procedure is not None
        seal = Seal(procedure=state.procedure, case_reference=state.case_reference,
                    language=state.language, documents=self._pages(state),
                    contact=None if state.contact.empty else state.contact,
                    consent=state.consent and not state.contact.empty,
                    at=state.last_activity,
                    complement=state.complement if state.is_complement else None)
        return Transition(self._keep(state, step=Step.SEALING, seal_error=None, notice=None),
                          (seal,))

    def _tap_sealing(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.RETRY and state.seal_error is not None:
            return self._send(state)
        return Transition(state)

    def _tap_receipt(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.PRINT_AGAIN and state.receipt is ReceiptPhase.ON_SCREEN \
                and state.deposit is not None and state.procedure is not None:
            return Transition(self._keep(state, receipt=ReceiptPhase.PRINTING),
                              (self._print(state, state.deposit),))
        if tap.action is Action.FINISH and state.receipt is not ReceiptPhase.PRINTING:
            return Transition(self._keep(state, step=Step.SATISFACTION))
        return Transition(state)

    def _tap_satisfaction(self, state: JourneyState, tap: Tap) -> Transition:
        if tap.action is Action.RATE and tap.arg in (1, 2, 3):
            wiped = self._wipe(state, WipeReason.COMPLETED)
            return Transition(wiped.state, (RecordSatisfaction(tap.arg, state.procedure),
                                            *wiped.commands))
        if tap.action in (Action.FINISH, Action.CLOSE):
            return self._wipe(state, WipeReason.COMPLETED)
        return Transition(state)

    def _print(self, state: JourneyState, deposit: DepositResult) -> PrintReceipt:
        assert state.procedure is not None
        return PrintReceipt(deposit=deposit, procedure=state.procedure,
                            language=state.language, documents=self._pages(state))

    # ---------------------------------------------------------------- other events

    def _tick(self, state: JourneyState, now: float) -> Transition:
        timeout = self.timeout_for(state)
        if timeout is None:
            return Transition(state)
        idle = now - state.last_activity
        if idle >= timeout:
            # After the receipt the deposit is done: leaving without a tap is a normal end.
            done = state.step in (Step.RECEIPT, Step.SATISFACTION)
            return self._wipe(state, WipeReason.COMPLETED if done else WipeReason.TIMEOUT)
        warn_at = max(0.0, timeout - self.warning_for(timeout))
        if idle >= warn_at and state.overlay is not Overlay.TIMEOUT:
            return Transition(self._keep(state, overlay=Overlay.TIMEOUT,
                                         warning_deadline=state.last_activity + timeout))
        return Transition(state)

    def _code(self, state: JourneyState, text: str) -> Transition:
        looking = state.step is Step.LOOKUP and state.lookup is not LookupPhase.CHECKING
        if not (state.step in (Step.WELCOME, Step.PROCEDURE) or looking) \
                or state.overlay is not None:
            return Transition(state)      # codes elsewhere are ignored (a page may hold a QR)
        if state.step is Step.WELCOME and not state.accepting:
            return Transition(state)
        if self.receipt_base and (looking or looks_like_receipt(text)):
            return self._receipt(state, text)
        try:
            convocation = self.catalog.parse_convocation(text)
        except ConvocationError as exc:
            notice = (Notice.UNKNOWN_PROCEDURE if exc.procedure_unknown
                      else Notice.NOT_A_CONVOCATION)
            return Transition(self._keep(state, notice=notice))
        procedure = self.catalog.get(convocation.procedure)
        assert procedure is not None     # parse_convocation checked it
        return Transition(self._start_documents(state, procedure, convocation))

    def _receipt(self, state: JourneyState, text: str) -> Transition:
        """A receipt's QR code: ask the back office what its dossier awaits."""
        assert self.receipt_base is not None
        try:
            code = parse_receipt_code(text, self.receipt_base)
        except ReceiptCodeError:
            return Transition(self._keep(state, notice=Notice.NOT_A_RECEIPT))
        asked = state.last_activity       # now: the code was read (see _touched)
        checking = self._keep(state, step=Step.LOOKUP, lookup=LookupPhase.CHECKING,
                              complement=Complement(code.deposit_id, code.token), notice=None,
                              procedure=None, case_reference=None, from_convocation=False,
                              documents=(), lookup_asked=asked)
        return Transition(checking, (LookUp(code, asked),))

    def _lookup_result(self, state: JourneyState, event: LookedUp | LookupFailed,
                       now: float) -> Transition:
        asked = state.complement
        if state.step is not Step.LOOKUP or state.lookup is not LookupPhase.CHECKING \
                or asked is None or asked.of != event.deposit_id \
                or state.lookup_asked != event.asked_at:
            # An answer nobody waits for any more: cancelled, or an earlier question about
            # the same receipt (shown again) that took longer than the one awaited.
            return Transition(state)
        answered = self._keep(state, last_activity=now, warning_deadline=None)
        if isinstance(event, LookupFailed):
            return Transition(self._keep(answered, lookup=LookupPhase.UNAVAILABLE))
        answer = event.answer
        if answer.state is LookupState.NONE:
            return Transition(self._keep(answered, lookup=LookupPhase.NONE))
        if answer.state is LookupState.EXPIRED:
            return Transition(self._keep(answered, lookup=LookupPhase.EXPIRED,
                                         complement=replace(asked, deadline=answer.deadline)))
        procedure = self.catalog.get(answer.procedure) if answer.procedure else None
        specs = [procedure.document(code) for code in answer.documents] if procedure else []
        if procedure is None or not specs or any(s is None for s in specs):
            return Transition(self._keep(answered, lookup=LookupPhase.UNSUPPORTED))
        # Every requested document is required: the request is answered whole or not at all.
        docs = tuple(DocumentState(code=s.code, required=True, max_pages=s.max_pages)
                     for s in specs if s is not None)
        complement = replace(asked, request_id=answer.request_id, deadline=answer.deadline,
                             note=answer.note)
        return Transition(self._keep(answered, step=Step.CHECKLIST, procedure=procedure.code,
                                     complement=complement, lookup=None, documents=docs,
                                     current=0, capture=CapturePhase.AIMING,
                                     return_to_review=False))

    def _device(self, state: JourneyState, event: DeviceChanged) -> Transition:
        devices = state.devices
        if event.device is Device.CAMERA:
            devices = replace(devices, camera_ok=event.ok)
        elif event.device is Device.PRINTER:
            devices = replace(devices, printer_ok=event.ok,
                              printer_problem=None if event.ok else _print_problem(event))
        elif event.device is Device.OUTBOX:
            devices = replace(devices, outbox_ok=event.ok,
                              outbox_problem=None if event.ok else _outbox_problem(event))
        elif event.device is Device.NETWORK:
            devices = replace(devices, online=event.ok)
        if devices == state.devices:
            return Transition(state)
        new = self._keep(state, devices=devices)
        commands: tuple[Command, ...] = ()
        if event.device is Device.CAMERA and state.step is Step.CAPTURE:
            if not event.ok:
                # Out of order: the pages taken stay in the session; an agent can help. The
                # capture stays armed so that the camera's return is noticed.
                new = self._keep(new, capture=CapturePhase.AIMING
                                 if state.capture is CapturePhase.PROCESSING else state.capture)
            elif state.capture is CapturePhase.AIMING:
                doc = state.documents[state.current]
                commands = (StartCamera(doc.code, len(doc.pages) + 1),)
        return Transition(new, commands)

    def _capture_result(self, state: JourneyState,
                        event: CaptureStarted | PageCaptured | CaptureFailed) -> Transition:
        if state.step is not Step.CAPTURE or (state.out_of_order and
                                              not isinstance(event, PageCaptured)):
            # A late result for a capture nobody waits for: its page must not linger.
            # (A page taken just before the camera was lost is kept: nothing is lost.)
            if isinstance(event, PageCaptured):
                return Transition(state, (DiscardPages((event.page.id,)),))
            return Transition(state)
        if isinstance(event, CaptureStarted):
            if state.capture is CapturePhase.AIMING:
                return Transition(self._keep(state, capture=CapturePhase.PROCESSING))
            return Transition(state)
        if isinstance(event, CaptureFailed):
            if state.capture is CapturePhase.TAKEN:
                return Transition(state)
            doc = state.documents[state.current]
            return Transition(self._keep(state, capture=CapturePhase.AIMING,
                                         capture_problem=event.reason),
                              (StartCamera(doc.code, len(doc.pages) + 1),))
        if state.capture is CapturePhase.TAKEN:
            return Transition(state, (DiscardPages((event.page.id,)),))
        doc = state.documents[state.current]
        doc = replace(doc, pages=(*doc.pages, event.page), skipped=False)
        new = self._with_document(state, state.current, doc)
        return Transition(self._keep(new, capture=CapturePhase.TAKEN, capture_problem=""),
                          (StopCamera(),))

    def _page_checked(self, state: JourneyState, event: PageChecked) -> JourneyState:
        """Mark the page (wherever it is: the check ends after the citizen moved on); a
        page no longer held (retaken, wiped) is nothing to mark."""
        documents = tuple(
            replace(doc, pages=tuple(replace(p, authenticated=event.authenticated)
                                     if p.id == event.page_id else p for p in doc.pages))
            for doc in state.documents)
        if documents == state.documents:
            return state
        return self._keep(state, documents=documents)

    def _seal_result(self, state: JourneyState, event: Sealed | SealFailed,
                     now: float) -> Transition:
        if state.step is not Step.SEALING:
            return Transition(state)
        if isinstance(event, SealFailed):
            return Transition(self._keep(state, seal_error=event.reason, last_activity=now))
        new = self._keep(state, step=Step.RECEIPT, deposit=event.result,
                         receipt=ReceiptPhase.PRINTING, last_activity=now, seal_error=None)
        return Transition(new, (self._print(new, event.result),))

    def _print_result(self, state: JourneyState, event: Printed | PrintFailed) -> Transition:
        if state.step is not Step.RECEIPT or state.receipt is not ReceiptPhase.PRINTING:
            return Transition(state)
        if isinstance(event, Printed):
            return Transition(self._keep(state, receipt=ReceiptPhase.PRINTED, print_problem=None))
        return Transition(self._keep(state, receipt=ReceiptPhase.ON_SCREEN,
                                     print_problem=event.reason))


def _print_problem(event: DeviceChanged) -> PrintProblem:
    return event.problem if isinstance(event.problem, PrintProblem) else PrintProblem.ERROR


def _outbox_problem(event: DeviceChanged) -> OutboxProblem:
    return event.problem if isinstance(event.problem, OutboxProblem) else OutboxProblem.ERROR


_STEP_HANDLERS = {
    Step.WELCOME: Journey._tap_welcome,
    Step.LOOKUP: Journey._tap_lookup,
    Step.PROCEDURE: Journey._tap_procedure,
    Step.CHECKLIST: Journey._tap_checklist,
    Step.CAPTURE: Journey._tap_capture,
    Step.REVIEW: Journey._tap_review,
    Step.CONTACT: Journey._tap_contact,
    Step.CONFIRM: Journey._tap_confirm,
    Step.SEALING: Journey._tap_sealing,
    Step.RECEIPT: Journey._tap_receipt,
    Step.SATISFACTION: Journey._tap_satisfaction,
}
