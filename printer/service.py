"""Printing a receipt through a real (or simulated) printer, and what to do when it fails.

:class:`ReceiptPrinter` asks the printer's status, prints the receipt, and always
returns a :class:`PrintOutcome` instead of raising for printer trouble:

- printed, paper near its end: ``printed`` is true and a ``PAPER_NEAR_END``
  :class:`PrinterAlert` goes to the technician (``on_alert`` and ``outcome.alerts``);
- paper out, cover open, printer offline, jammed cutter, no answer — before the
  receipt or during it: ``printed`` is false, ``screen_png`` holds the receipt drawn
  for the screen (QR code included) so the journey shows it and offers to print
  again (call :meth:`ReceiptPrinter.print` again), and an alert says what a
  technician must fix.

``on_alert`` is called when a condition appears (not again on every receipt while
it lasts); ``outcome.alerts`` lists every condition present after this attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.errors import (
    CoverOpenError,
    CutterError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    DeviceUnavailableError,
    PaperOutError,
    PrinterError,
    PrinterFaultError,
    PrinterOfflineError,
)
from drivers.printer import Printer, PrinterStatus
from printer.errors import LayoutError
from printer.escpos_layout import receipt_job
from printer.receipt import Receipt
from printer.screen import receipt_png

log = logging.getLogger(__name__)


class Condition(StrEnum):
    """A printer condition a technician must know about (values cross into logs and
    the diagnostics screen: keep them stable)."""

    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    CUTTER_ERROR = "cutter_error"
    FAULT = "fault"
    NO_ANSWER = "no_answer"          # timeout, unplugged, or an answer that makes no sense
    LAYOUT = "layout"                # the printer profile is too narrow for a receipt


_MESSAGES = {
    Condition.PAPER_NEAR_END: "receipt paper is near its end: replace the roll soon",
    Condition.PAPER_OUT: "receipt paper is out: replace the roll",
    Condition.COVER_OPEN: "the printer cover is open: close it",
    Condition.OFFLINE: "the printer is offline",
    Condition.CUTTER_ERROR: "the printer's cutter is jammed or failed",
    Condition.FAULT: "the printer reports an unrecoverable error",
    Condition.NO_ANSWER: "the printer does not answer (cable, power or port)",
    Condition.LAYOUT: "the printer profile is too narrow for receipts",
}

#: Conditions that stop printing.
_BLOCKING = (Condition.PAPER_OUT, Condition.COVER_OPEN, Condition.CUTTER_ERROR,
             Condition.FAULT, Condition.OFFLINE)


@dataclass(frozen=True)
class PrinterAlert:
    """Something a technician must do; ``message`` is English, for the log and diagnostics."""

    condition: Condition
    message: str
    status: PrinterStatus | None = None


@dataclass(frozen=True)
class PrintOutcome:
    """What happened to one receipt.

    ``problem`` is the condition that stopped printing (None when printed);
    ``interrupted`` is true when it struck during the job, so part of a receipt may
    have come out; ``screen_png`` is the receipt drawn for the screen whenever it was
    not printed.
    """

    printed: bool
    problem: Condition | None = None
    interrupted: bool = False
    status: PrinterStatus | None = None
    alerts: tuple[PrinterAlert, ...] = ()
    screen_png: bytes | None = field(default=None, repr=False)
    detail: str = ""


def conditions(status: PrinterStatus) -> list[Condition]:
    """The conditions a status shows, the one that stops printing first.

    A printer reports itself offline whenever it cannot print (cover open, paper
    out...): "offline" is named only when no more specific cause is known, as the
    driver does.
    """
    found = []
    if status.paper_out:
        found.append(Condition.PAPER_OUT)
    if status.cover_open:
        found.append(Condition.COVER_OPEN)
    if status.cutter_error:
        found.append(Condition.CUTTER_ERROR)
    if status.unrecoverable_error:
        found.append(Condition.FAULT)
    if not status.online and not found:
        found.append(Condition.OFFLINE)
    if status.paper_near_end:
        found.append(Condition.PAPER_NEAR_END)
    return found


def _condition_of(exc: DeviceError) -> Condition:
    match exc:
        case PaperOutError():
            return Condition.PAPER_OUT
        case CoverOpenError():
            return Condition.COVER_OPEN
        case PrinterOfflineError():
            return Condition.OFFLINE
        case CutterError():
            return Condition.CUTTER_ERROR
        case PrinterFaultError():
            return Condition.FAULT
        case DeviceTimeoutError() | DeviceUnavailableError() | DeviceProtocolError():
            return Condition.NO_ANSWER
        case _:
            return Condition.FAULT


class ReceiptPrinter:
    """Prints receipts on one printer (any :class:`drivers.printer.Printer`).

    ``on_alert`` receives each technician alert when its condition appears; it must
    not raise (an exception from it is logged and swallowed: the citizen's receipt
    comes first). Not thread-safe: the journey prints one receipt at a time.
    """

    def __init__(self, printer: Printer, *,
                 on_alert: Callable[[PrinterAlert], None] | None = None,
                 screen_width: int = 640) -> None:
        self.printer = printer
        self.on_alert = on_alert
        self.screen_width = screen_width
        self._active: set[Condition] = set()

    @property
    def active_conditions(self) -> frozenset[Condition]:
        """The conditions seen at the last attempt (for the diagnostics screen)."""
        return frozenset(self._active)

    def screen_receipt(self, receipt: Receipt) -> bytes:
        """The receipt as a PNG for the screen (also offered when it did print)."""
        return receipt_png(receipt, width=self.screen_width)

    def print(self, receipt: Receipt) -> PrintOutcome:
        """Print ``receipt``; never raises for printer trouble (see the module docstring).

        Raises FontError only when even the screen receipt cannot be drawn.
        """
        status: PrinterStatus | None = None
        try:
            status = self.printer.status()
        except DeviceError as exc:
            # Some transports cannot read status back (a printer-class USB node, a TCP
            # port); the job itself will tell whether the printer is there.
            log.warning("printer status unreadable before receipt %s: %s",
                        receipt.deposit_id, exc)
        if status is not None:
            blocking = [c for c in conditions(status) if c in _BLOCKING]
            if blocking:
                return self._not_printed(receipt, blocking[0], status, interrupted=False,
                                         detail=f"printer status: {', '.join(status.problems())}")
        try:
            job = receipt_job(receipt, self.printer.profile)
        except (LayoutError, DeviceError) as exc:
            return self._not_printed(receipt, Condition.LAYOUT, status, interrupted=False,
                                     detail=f"{type(exc).__name__}: {exc}")
        try:
            after = self.printer.print_job(job)
        except ValueError as exc:   # the driver refuses a job the paper cannot take
            return self._not_printed(receipt, Condition.LAYOUT, status, interrupted=False,
                                     detail=f"{type(exc).__name__}: {exc}")
        except DeviceError as exc:
            seen = exc.status if isinstance(exc, PrinterError) else None
            return self._not_printed(receipt, _condition_of(exc), seen or status,
                                     interrupted=True, detail=f"{type(exc).__name__}: {exc}")
        present = conditions(after)
        self._update(present, after)
        log.info("receipt %s printed%s", receipt.deposit_id,
                 f" ({', '.join(present)})" if present else "")
        return PrintOutcome(printed=True, status=after, alerts=self._alerts(present, after))

    def _not_printed(self, receipt: Receipt, condition: Condition,
                     status: PrinterStatus | None, *, interrupted: bool,
                     detail: str) -> PrintOutcome:
        present = conditions(status) if status is not None else []
        if condition not in present:
            present.insert(0, condition)
        self._update(present, status)
        log.error("receipt %s not printed (%s%s): %s; shown on screen", receipt.deposit_id,
                  condition, ", during the job" if interrupted else "", detail)
        return PrintOutcome(printed=False, problem=condition, interrupted=interrupted,
                            status=status, alerts=self._alerts(present, status),
                            screen_png=self.screen_receipt(receipt), detail=detail)

    def _alerts(self, present: list[Condition],
                status: PrinterStatus | None) -> tuple[PrinterAlert, ...]:
        return tuple(PrinterAlert(c, _MESSAGES[c], status) for c in present)

    def _update(self, present: list[Condition], status: PrinterStatus | None) -> None:
        new = [c for c in present if c not in self._active]
        for condition in self._active - set(present):
            log.info("printer condition cleared: %s", condition)
        self._active = set(present)
        for condition in new:
            alert = PrinterAlert(condition, _MESSAGES[condition], status)
            log.warning("technician alert: %s", alert.message)
            if self.on_alert is not None:
                try:
                    self.on_alert(alert)
                except Exception:  # the receipt matters more than a broken listener
                    log.exception("technician alert listener failed on %s", condition)
