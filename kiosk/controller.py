"""The controller: journey events in, commands out, performed on devices and worker threads.

No Kivy here. :class:`Controller` holds the one :class:`~kiosk.journey.JourneyState`
of the kiosk; :meth:`Controller.dispatch` feeds it an event (always on one
thread: the UI thread in the application), tells the listeners (the screens)
and performs the commands that came out:

=====================  ===================================================================
``StartCamera`` …      :class:`~kiosk.capture.CaptureWorker` (preview, auto-capture, stills)
``Seal``               :class:`~kiosk.sealing.DepositService` on the job thread; ``Sealed``
                       as soon as the envelope is durable (the uploader is only nudged), or
                       ``SealFailed``
``PrintReceipt``       :class:`~kiosk.receipts.ReceiptService` on the job thread; ``Printed``,
                       or ``PrintFailed`` with the receipt drawn for the screen
``CallAgent``          :class:`~kiosk.signals.AgentSignal` (the UI shows and sounds it);
                       ``AgentSeen`` once staff saw the call
``RecordSatisfaction`` :class:`~kiosk.signals.SatisfactionLog`
``Wipe``               the session's pages overwritten, the preview dropped, the agent call
                       forgotten, the UI's hook, then ``WipeDone``
``LookUp``             :class:`~kiosk.complement.ComplementLookups` on its own thread asks the
                       back office what a receipt's dossier awaits; ``LookedUp`` or
                       ``LookupFailed``
=====================  ===================================================================

:meth:`Controller.check_devices` asks the outbox (room, and the kiosk's standing
with its back office as the uploader last saw it) and the printer how they
are, on the job thread; changes come back as ``DeviceChanged``. Results of
worker threads come back through ``post`` and are handled on the controller's
thread like taps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from deposit.errors import DepositError
from deposit.heartbeat import DeviceHealth, DeviceKind
from deposit.outbox import StandingRecord
from deposit.status import Standing
from drivers.codes.base import CodeReader
from drivers.errors import DeviceError
from drivers.printer.base import Printer
from kiosk.capture import CaptureWorker
from kiosk.complement import ComplementLookup, ComplementLookups, LookUp
from kiosk.devicestatus import DeviceStatus
from kiosk.events import Clock, Post
from kiosk.journey import (
    CallAgent,
    CaptureNow,
    CodeRead,
    Command,
    Device,
    DeviceChanged,
    DiscardPages,
    Event,
    Journey,
    JourneyState,
    Printed,
    PrintFailed,
    PrintReceipt,
    RecordSatisfaction,
    Seal,
    Sealed,
    SealFailed,
    StartCamera,
    Step,
    StopCamera,
    Wipe,
    WipeDone,
)
from kiosk.reasons import OutboxProblem, PrintProblem, SealFailure
from kiosk.receipts import ReceiptService
from kiosk.sealing import SealedDeposit, Sealer, SealError
from kiosk.service.mode import ServiceMode
from kiosk.session import Session
from kiosk.signals import AgentSignal, SatisfactionLog
from printer.receipt import Receipt

log = logging.getLogger(__name__)


class OutboxHealth(Protocol):
    """What the device check asks of the outbox (``deposit.outbox.Outbox``)."""

    def space_ok(self, dossier_bytes: int = 0) -> bool: ...

    def standing(self) -> StandingRecord: ...


@dataclass
class Hooks:
    """What the UI does for some commands (all optional; the application runs without a UI)."""

    on_agent: Callable[[], None] | None = None
    on_wipe: Callable[[], None] | None = None


@dataclass
class Receipts:
    """The receipt of the current deposit, held until the wipe (for reprints and the screen)."""

    sealed: SealedDeposit | None = None
    receipt: Receipt | None = None
    screen_png: bytes | None = None
    case_reference: str | None = None


@dataclass
class Controller:
    """Runs the journey of one kiosk (see the module docstring)."""

    journey: Journey
    session: Session
    capture: CaptureWorker | None
    sealer: Sealer | None
    receipts: ReceiptService | None
    agent: AgentSignal | None
    satisfaction: SatisfactionLog | None
    post: Post
    clock: Clock = time.monotonic
    hooks: Hooks = field(default_factory=Hooks)
    wipe_pause: float = 0.0        # seconds the "thank you" screen stays (data is gone at once)
    state: JourneyState = field(init=False)
    listeners: list[Callable[[JourneyState, JourneyState], None]] = field(default_factory=list)
    current: Receipts = field(default_factory=Receipts)
    #: Asks the back office about receipts (None: a kiosk not enrolled, every lookup fails).
    complements: ComplementLookup | None = None
    #: The technician's service mode (None: a kiosk without one, e.g. in tests).
    service: ServiceMode | None = None
    #: ``status/devices.json`` and ``activity.json`` for the uploader's heartbeat (None: none).
    device_status: DeviceStatus | None = None

    def __post_init__(self) -> None:
        self.state = self.journey.initial(self.clock())
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-job")
        # Posts through self.post as it is then (the UI replaces it once it runs).
        self._lookups = ComplementLookups(self.complements, lambda event: self.post(event))
        self._standing = Standing.UNKNOWN

    def dispatch(self, event: Event) -> None:
        if isinstance(event, CodeRead) and self.service is not None and \
                self._service_takes(event.text):
            return
        transition = self.journey.handle(self.state, event, self.clock())
        old, self.state = self.state, transition.state
        if old is not self.state:
            for listener in list(self.listeners):
                listener(old, self.state)
        for command in transition.commands:
            self.perform(command)

    def _service_takes(self, text: str) -> bool:
        """A code read goes to the service mode rather than the journey: its live test while
        its panel is up; a badge, which opens it only at the welcome screen (never inside a
        citizen's session: there it is ignored); any code while the kiosk is out of order."""
        service = self.service
        assert service is not None
        if service.code_read(text):
            return True
        if service.is_badge(text):
            if self.state.step is Step.WELCOME and self.state.overlay is None:
                service.badge_shown(text)
            else:
                log.warning("a technician's badge was shown during a citizen's session "
                            "(step %s): ignored", self.state.step.value)
            return True
        return service.out_of_order is not None

    def perform(self, command: Command) -> None:
        log.debug("command %s", type(command).__name__)
        if isinstance(command, StartCamera):
            if self.capture is not None:
                self.capture.start(command.document, command.page_number, command.retake)
        elif isinstance(command, StopCamera):
            if self.capture is not None:
                self.capture.stop()
        elif isinstance(command, CaptureNow):
            if self.capture is not None:
                self.capture.capture_now()
        elif isinstance(command, DiscardPages):
            self.session.discard(command.page_ids)
        elif isinstance(command, Seal):
            self._jobs.submit(self._seal, command, self.state.case_reference)
        elif isinstance(command, PrintReceipt):
            self._jobs.submit(self._print, command)
        elif isinstance(command, CallAgent):
            if self.agent is not None:
                self.agent.call(command.step.value)
            if self.hooks.on_agent is not None:
                self.hooks.on_agent()
        elif isinstance(command, RecordSatisfaction):
            if self.satisfaction is not None:
                self.satisfaction.record(command.rating, command.procedure)
        elif isinstance(command, Wipe):
            self._wipe(command)
        elif isinstance(command, LookUp):
            self._lookups.submit(command)

    def _seal(self, request: Seal, case_reference: str | None) -> None:
        if self.sealer is None:
            self.post(SealFailed(SealFailure.ERROR))
            return
        try:
            sealed = self.sealer.seal(request, self.session)
        except SealError as exc:
            log.error("sealing failed (%s): %s", exc.reason, exc)
            self.post(SealFailed(exc.reason))
            return
        except Exception:
            log.exception("sealing failed")
            self.post(SealFailed(SealFailure.ERROR))
            return
        self.current = Receipts(sealed=sealed, case_reference=case_reference)
        self.post(Sealed(sealed.result))

    def _print(self, job: PrintReceipt) -> None:
        if self.receipts is None or self.current.sealed is None:
            self.post(PrintFailed(PrintProblem.ERROR))
            return
        try:
            if self.current.receipt is None:
                self.current.receipt = self.receipts.receipt(job, self.current.sealed,
                                                             self.current.case_reference)
            outcome = self.receipts.print(self.current.receipt)
        except Exception:
            log.exception("receipt failed")
            self.post(PrintFailed(PrintProblem.ERROR))
            return
        if outcome.printed:
            self.post(Printed())
        else:
            self.current.screen_png = outcome.screen_png
            self.post(PrintFailed(outcome.problem or PrintProblem.ERROR))

    def _wipe(self, command: Wipe) -> None:
        if self.capture is not None:
            self.capture.release()
        wiped = self.session.wipe()
        self.current = Receipts()
        if self.agent is not None:
            self.agent.forget()       # staff's answer to this call is not for the next citizen
        if self.hooks.on_wipe is not None:
            self.hooks.on_wipe()
        log.info("session wiped (%s, %d page(s))", command.reason.value, wiped)
        if self.device_status is not None:
            self.device_status.session_ended()
        if self.wipe_pause > 0:
            timer = threading.Timer(self.wipe_pause, self.post, (WipeDone(),))
            timer.daemon = True
            timer.start()
        else:
            self.post(WipeDone())

    # ------------------------------------------------------------------ device checks

    def check_devices(self, outbox: OutboxHealth | None = None,
                      printer: Printer | None = None) -> None:
        """Ask the outbox and the printer how they are, on the job thread (so a status query
        never crosses a receipt being printed); changes come back as DeviceChanged."""
        self._jobs.submit(self._check_devices, outbox, printer)

    def _check_devices(self, outbox: OutboxHealth | None, printer: Printer | None) -> None:
        if outbox is not None:
            self._check_outbox(outbox)
        if printer is not None:
            try:
                status = printer.status()
                if self.device_status is not None:
                    self.device_status.record_printer(status)
                problems = [PrintProblem.from_name(p) for p in status.problems()
                            if p != "paper_near_end"]
                self.post(DeviceChanged(Device.PRINTER, ok=not problems,
                                        problem=problems[0] if problems else None))
            except DeviceError as exc:
                log.warning("printer status unreadable: %s", exc)
                if self.device_status is not None:
                    self.device_status.printer_unreadable(f"status unreadable: {exc}")
                self.post(DeviceChanged(Device.PRINTER, ok=False, problem=PrintProblem.OFFLINE))

    def _check_outbox(self, outbox: OutboxHealth) -> None:
        try:
            room = outbox.space_ok()
            standing = outbox.standing()
        except (DepositError, OSError) as exc:   # an outbox that cannot answer takes nothing
            log.error("outbox check failed: %s", exc)
            self.post(DeviceChanged(Device.OUTBOX, ok=False, problem=OutboxProblem.ERROR))
            return
        if standing.standing is not self._standing:
            self._standing = standing.standing
            if standing.standing is Standing.REFUSED:
                log.critical("the back office refuses this kiosk (%s): new deposits are refused "
                             "at the welcome screen until it accepts it again; what is queued "
                             "stays on the kiosk (kiosk export --to DIR writes it to removable "
                             "media)", standing.reason or "no reason given")
            else:
                log.info("the uploader says the back office is %s", standing.standing.value)
        if not room:
            problem: OutboxProblem | None = OutboxProblem.DISK_FULL
        elif standing.standing is Standing.REFUSED:
            problem = OutboxProblem.KIOSK_REFUSED
        else:
            problem = None
        self.post(DeviceChanged(Device.OUTBOX, ok=problem is None, problem=problem))
        self.post(DeviceChanged(Device.NETWORK, ok=standing.standing is not Standing.UNREACHABLE))

    def close(self) -> None:
        self._lookups.close()
        self._jobs.shutdown(wait=True, cancel_futures=False)
        if self.capture is not None:
            self.capture.close()


class CodeReaderThread:
    """Reads the code reader in a thread; each code read becomes a CodeRead event. ``status``
    (optional) hears whether the reader answers, for the heartbeat."""

    def __init__(self, reader: CodeReader, post: Post,
                 status: DeviceStatus | None = None) -> None:
        self.reader = reader
        self.post = post
        self.status = status
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="code-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                code = self.reader.read(timeout=0.5)
            except DeviceError as exc:
                log.warning("code reader: %s", exc)
                if self.status is not None:
                    self.status.record(DeviceKind.CODE_READER, DeviceHealth.FAIL, str(exc))
                self._closed.wait(2.0)
                continue
            if self.status is not None:       # written only when it changes
                self.status.record(DeviceKind.CODE_READER, DeviceHealth.OK)
            if code is not None:
                # The text is not logged: a code may carry a case reference.
                log.info("code read (%s, %d characters)", code.format, len(code.text))
                self.post(CodeRead(code.text))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        try:
            self.reader.close()
        except DeviceError as exc:
            log.warning("code reader did not close cleanly: %s", exc)
