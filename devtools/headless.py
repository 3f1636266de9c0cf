"""The kiosk's runtime without its interface: the controller driven by events on this thread.

For the benchmarks (hundreds of deposits without drawing a frame) and for
checks of an installed kiosk: :func:`start_headless` builds the same
:class:`~kiosk.runtime.Runtime` as ``kiosk run`` from a configuration (devices,
outbox, printer, camera worker, code reader, controller), and a
:class:`HeadlessDriver` gives it taps and pumps the events worker threads post,
as the UI's clock does. A :class:`~devtools.citizen.Citizen` plays a person at
it. No Kivy is imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.citizen import CameraSocket, Citizen, UiError
from kiosk.config import Config
from kiosk.events import EventQueue
from kiosk.journey import Action, Contact, JourneyState, ReceiptPhase, Step, Tap, Tick
from kiosk.runtime import Runtime, SealingKeys, build_runtime


class HeadlessDriver:
    """Taps go straight to the controller; :meth:`idle` dispatches what the workers posted."""

    def __init__(self, runtime: Runtime, events: EventQueue) -> None:
        self.runtime = runtime
        self.events = events
        self.taps = 0
        self._last_tick = time.monotonic()

    @property
    def state(self) -> JourneyState:
        return self.runtime.controller.state

    def tap_action(self, action: str, arg: Any = None) -> None:
        """Tap, once the input guard after the last screen change has passed (as a person
        does: taps sooner are ignored as double taps)."""
        controller = self.runtime.controller
        while (left := controller.journey.guard_left(controller.state, controller.clock())) > 0:
            self.idle(max(1, round(left / 0.02)))
        self.taps += 1
        controller.dispatch(Tap(Action(action), arg))
        self.idle()

    def idle(self, frames: int = 1) -> None:
        """Dispatch posted events for about ``frames`` frames of 20 ms (and the second's tick)."""
        for _ in range(frames):
            self.events.pump(self.runtime.controller, timeout=0.02)
            if time.monotonic() - self._last_tick >= 1.0:
                self._last_tick = time.monotonic()
                self.runtime.controller.dispatch(Tick())

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20.0,
                   what: str = "the condition") -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise UiError(f"timed out after {timeout:g} s waiting for {what}; the kiosk "
                              f"is at:\n{self.describe()}")
            self.idle()

    def wait_for_step(self, step: Step, timeout: float = 20.0) -> None:
        self.wait_until(lambda: self.state.step is step, timeout, f"the {step.value} step")

    def describe(self) -> str:
        s = self.state
        return (f"step {s.step.value}, capture {s.capture.value}, notice {s.notice}, "
                f"refusals {[r.value for r in s.refusals]}, seal error {s.seal_error}, "
                f"receipt {s.receipt}")


@dataclass
class HeadlessKiosk:
    """A running kiosk without its interface (see the module docstring)."""

    driver: HeadlessDriver
    runtime: Runtime
    camera: CameraSocket

    def close(self) -> None:
        self.runtime.close()


def start_headless(config: Config, keys: SealingKeys | None, *,
                   clock: Callable[[], float] = time.monotonic,
                   code_reader: bool = True) -> HeadlessKiosk:
    events = EventQueue()
    socket = CameraSocket(config.devices.camera)
    runtime = build_runtime(config, keys, post=events, clock=clock, code_reader=code_reader,
                            camera_factory=socket)
    driver = HeadlessDriver(runtime, events)
    runtime.check_devices()
    driver.idle(3)
    return HeadlessKiosk(driver, runtime, socket)


@dataclass
class Deposit:
    """One deposit made by :func:`deposit`: its number, and how long its steps took."""

    deposit_id: str
    tracking_url: str
    printed: bool
    send_to_receipt: float               # seconds from "Send" to the receipt step
    seconds: float                       # the whole journey


def deposit(kiosk: HeadlessKiosk, procedure: str, documents: dict[str, list[str]], *,
            convocation: str | None = None, phone: str = "0612345678",
            rate: int | None = 3) -> Deposit:
    """A citizen's whole deposit: choose ``procedure`` (or show the ``convocation`` QR code,
    which names it and the documents asked for), lay the pages of each document in order,
    leave a phone number, send, wait for the receipt, rate, back to welcome."""
    driver = kiosk.driver
    person = Citizen(kiosk)
    started = time.monotonic()
    driver.wait_until(lambda: driver.state.step is Step.WELCOME and driver.state.accepting,
                      30, "a welcome screen that accepts deposits")
    if convocation is not None:
        person.show_code(convocation)
    else:
        person.tap("start")
        driver.wait_for_step(Step.PROCEDURE)
        person.tap("choose", procedure)
    driver.wait_for_step(Step.CHECKLIST)
    if driver.state.procedure != procedure:
        raise UiError(f"the kiosk chose {driver.state.procedure}, not {procedure}")
    wanted = [d.code for d in driver.state.documents]
    if sorted(wanted) != sorted(documents):
        raise UiError(f"procedure {procedure} asks for {wanted}, the script has "
                      f"{sorted(documents)}")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    for number, code in enumerate(wanted, start=1):
        person.capture_document(documents[code], last=number == len(wanted))
    driver.wait_for_step(Step.REVIEW)
    person.tap("continue")
    driver.wait_for_step(Step.CONTACT)
    person.tap("consent", True)
    person.tap("continue", Contact(phone=phone))
    driver.wait_for_step(Step.CONFIRM)
    sent = time.monotonic()
    person.tap("send")
    driver.wait_until(lambda: driver.state.step is Step.RECEIPT or
                      driver.state.seal_error is not None, 120, "the receipt")
    shown = time.monotonic()
    state = driver.state
    if state.deposit is None:
        raise UiError(f"sealing failed: {state.seal_error}")
    driver.wait_until(lambda: driver.state.receipt in (ReceiptPhase.PRINTED,
                                                       ReceiptPhase.ON_SCREEN),
                      60, "the receipt to be printed")
    result = Deposit(state.deposit.deposit_id, state.deposit.tracking_url,
                     driver.state.receipt is ReceiptPhase.PRINTED, shown - sent, 0.0)
    person.tap("finish")
    if rate is not None:
        person.tap("rate", rate)
    driver.wait_for_step(Step.WELCOME, 30)
    result.seconds = time.monotonic() - started
    return result
