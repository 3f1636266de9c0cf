"""The ESC/POS receipt printer over any transport: status checks around every job.

One class serves every backend (serial, file, tcp and, through the serial
backend, the simulator); backends differ only in their transport and options.

Reconnection: when the port fails (USB unplugged, printer switched off, TCP
connection lost) the transport is closed and the error raised; the next call
opens it again. A status query on a port that was open retries once on a
freshly opened port, so a printer that was unplugged and plugged back between
two receipts is used again without anyone noticing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from drivers.errors import (
    DeviceURLError,
    PrinterProtocolError,
    PrinterTimeoutError,
    PrinterUnavailableError,
)
from drivers.printer import status as dle_eot
from drivers.printer.base import PrinterProfile, PrinterStatus, PrintJob
from drivers.printer.encoder import Encoder, EncoderSettings
from drivers.printer.profiles import (
    CODE_PAGE_OPTIONS,
    DEFAULT_PROFILE,
    load_profile,
    profile_names,
)
from drivers.printer.transport import Transport
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

StatusMode = Literal["query", "auto", "none"]


def _width(text: str) -> int | None:
    if text not in ("58", "80"):
        raise ValueError(text)
    return int(text)


#: Options every printer backend takes (each backend adds its own).
PRINTER_OPTIONS: tuple[Option[Any], ...] = (
    Option.choice("profile", DEFAULT_PROFILE, profile_names(),
                  help="python-escpos capability profile of the model"),
    Option("width", _width, None, "58 or 80", help="paper roll width in mm (default: profile's)"),
    Option.choice("qr", "auto", ["auto", "native", "image"],
                  help="QR codes with GS ( k (native), as a raster image, or as the profile says"),
    Option.choice("codepage", "auto", list(CODE_PAGE_OPTIONS),
                  help="code page for text: WPC1252, else PC858 (auto), or forced"),
    Option.number("timeout", 1.0, minimum=0.05, maximum=10.0,
                  help="seconds allowed for a whole status query (DLE EOT 1-4)"),
    Option.number("write_timeout", 20.0, minimum=0.1, maximum=600.0,
                  help="seconds the printer may take to accept a job, beyond the line time"),
    Option.number("settle", 0.0, minimum=0.0, maximum=30.0,
                  help="seconds to keep polling the status after a job (slow printers)"),
)


@dataclass(frozen=True)
class PrinterSettings:
    """Timing and status behaviour (see :data:`PRINTER_OPTIONS`)."""

    timeout: float = 1.0
    write_timeout: float = 20.0
    settle: float = 0.0
    status_mode: StatusMode = "query"
    poll_interval: float = 0.2


def encoder_from_url(url: DeviceURL) -> Encoder:
    """The encoder a URL's ``profile``, ``width``, ``qr`` and ``codepage`` options describe."""
    options = url.options
    profile = load_profile(options["profile"], width=options["width"])
    settings = EncoderSettings.for_profile(profile, qr=options["qr"],
                                           code_page=CODE_PAGE_OPTIONS[options["codepage"]])
    return Encoder(settings)


def check_printer_options(url: DeviceURL) -> None:
    """Checks across options, done when the URL is validated: the code page must exist."""
    try:
        encoder_from_url(url)
    except DeviceURLError as exc:
        raise DeviceURLError(f"{url.kind} URL {url.raw!r}: {exc}") from None


def settings_from_url(url: DeviceURL, status_mode: StatusMode = "query") -> PrinterSettings:
    options = url.options
    return PrinterSettings(timeout=options["timeout"], write_timeout=options["write_timeout"],
                           settle=options["settle"], status_mode=status_mode)


class EscposPrinter:
    """A :class:`~drivers.printer.base.Printer` speaking ESC/POS over a :class:`Transport`.

    Methods raise only :mod:`drivers.errors` exceptions (and ValueError for a
    job the paper cannot take); every printer error carries the status read.
    Calls from several threads are serialised.
    """

    def __init__(self, transport: Transport, encoder: Encoder,
                 settings: PrinterSettings = PrinterSettings(), *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = transport
        self.encoder = encoder
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._status_answers: bool | None = None  # for status_mode "auto"
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.transport.name} profile={self.profile.name}>"

    @property
    def profile(self) -> PrinterProfile:
        return self.encoder.profile

    def connect(self) -> bool:
        """Open the port now if possible; a printer that is off is only logged.

        The kiosk starts with its printer switched off or unplugged; the first
        :meth:`status` or :meth:`print_job` then raises PrinterUnavailableError
        until it is back.
        """
        with self._lock:
            try:
                self._open()
            except PrinterUnavailableError as exc:
                log.warning("printer not available yet: %s", exc)
                return False
            return True

    def _open(self) -> None:
        """Open the transport if it is closed; a new port is asked about status afresh."""
        if not self.transport.is_open:
            self.transport.open()
            self._status_answers = None

    # ------------------------------------------------------------------ status

    def status(self) -> PrinterStatus:
        """Query DLE EOT 1-4 (within ``timeout`` seconds in all).

        Raises PrinterTimeoutError (no answer), PrinterProtocolError (garbage)
        or PrinterUnavailableError (port gone; the next call reopens it).
        """
        with self._lock:
            return self._status()

    def _status(self) -> PrinterStatus:
        self._check_not_closed()
        was_open = self.transport.is_open
        try:
            self._open()
            return self._query()
        except PrinterUnavailableError as exc:
            self.transport.close()
            if not was_open:
                raise
            log.info("printer port failed (%s); opening it again", exc)
        self._open()
        try:
            return self._query()
        except PrinterUnavailableError:
            self.transport.close()
            raise

    def _query(self) -> PrinterStatus:
        mode = self.settings.status_mode
        if mode == "none" or (mode == "auto" and self._status_answers is False):
            return PrinterStatus(known=False)
        timeout = self.settings.timeout
        deadline = self._clock() + timeout
        self.transport.discard_input()
        replies: dict[int, bytes] = {}
        for n in dle_eot.QUERIES:
            self.transport.write(dle_eot.query(n), max(deadline - self._clock(), 0.001))
            reply = self.transport.read(1, max(deadline - self._clock(), 0.0))
            if not reply:
                if mode == "auto" and self._status_answers is None:
                    self._status_answers = False
                    log.warning("%s does not answer status queries (DLE EOT): printing without "
                                "status checks; paper out will not be detected",
                                self.transport.name)
                    return PrinterStatus(known=False)
                raise PrinterTimeoutError(
                    f"{self.transport.name}: no reply to status query DLE EOT {n} within "
                    f"{timeout:g} s (printer off, wrong port or wrong baud rate?)")
            replies[n] = reply
        try:
            found = dle_eot.decode(replies)
        except PrinterProtocolError as exc:
            self._discard_quietly()
            raise PrinterProtocolError(f"{self.transport.name}: {exc}") from None
        self._status_answers = True
        return found

    def _discard_quietly(self) -> None:
        try:
            self.transport.discard_input()
        except PrinterUnavailableError:
            self.transport.close()

    # ------------------------------------------------------------------ printing

    def print_job(self, job: PrintJob) -> PrinterStatus:
        """Check the status, send the whole job, check again; return the last status.

        Raises PaperOutError, CoverOpenError, PrinterOfflineError, CutterError
        or PrinterFaultError before the job (nothing sent) or after it (the
        paper ran out, the cover was opened during the job); the timeout,
        protocol and unavailable errors of :meth:`status`; ValueError for a job
        the paper cannot take (nothing sent). A paper-near-end printer prints
        and says so in the returned status.
        """
        data = self.encoder.encode(job)
        with self._lock:
            before = self._status()
            problem = dle_eot.error_for(before)
            if problem is not None:
                log.warning("job %r not printed: %s", job.name, problem)
                raise problem
            started = self._clock()
            self._send(data)
            after = self._after_job()
            problem = dle_eot.error_for(after, during=True)
            if problem is not None:
                log.warning("job %r: %s", job.name, problem)
                raise problem
            log.info("printed job %r: %d bytes in %.2f s%s", job.name, len(data),
                     self._clock() - started,
                     f" ({', '.join(after.problems())})" if after.problems() else "")
            return after

    def _send(self, data: bytes) -> None:
        try:
            self.transport.write(data, self.settings.write_timeout)
            self.transport.drain(self.settings.write_timeout)
        except PrinterTimeoutError as exc:
            # The printer stopped taking data: ask it why (paper out, cover open...).
            try:
                self.transport.discard_output()
                found = self._query()
            except (PrinterTimeoutError, PrinterProtocolError, PrinterUnavailableError):
                raise exc from None
            problem = dle_eot.error_for(found, during=True)
            raise (problem or exc) from None
        except PrinterUnavailableError:
            self.transport.close()
            raise

    def _after_job(self) -> PrinterStatus:
        found = self._status()
        end = self._clock() + self.settings.settle
        while found.can_print and self._clock() < end:
            self._sleep(min(self.settings.poll_interval, max(end - self._clock(), 0.0)))
            found = self._status()
        return found

    # ------------------------------------------------------------------ life

    def _check_not_closed(self) -> None:
        if self._closed:
            raise PrinterUnavailableError(f"{self.transport.name}: the printer object was closed")

    def close(self) -> None:
        """Close the port; later calls raise PrinterUnavailableError."""
        with self._lock:
            self._closed = True
            self.transport.close()

    def __enter__(self) -> EscposPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
