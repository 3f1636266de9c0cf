"""``sim://`` — the printer simulator behind a pseudo-terminal, opened with the serial backend.

``open`` starts a :class:`~drivers.printer.simulator.PrinterSimulator` on the
master side of a new pseudo-terminal and returns the ordinary ``serial://``
printer opened on its slave path, so everything the kiosk does with a
simulated printer goes through the serial code byte for byte. The returned
object's ``simulator`` attribute lets tests set the state and read the jobs;
closing the printer stops the simulator (and removes the temporary PNG folder
when ``out=`` was not given).

Options: ``paper=ok|near-end|out``, ``cover=closed|open``, ``cutter=ok|error``,
``online=true|false``, ``paper_out_after=LINES``, ``out=DIR``, and the options
of every printer (``profile``, ``width``, ``qr``, ``codepage``, ``timeout``...).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from drivers.printer import serial_backend
from drivers.printer.encoder import Encoder
from drivers.printer.escpos_printer import (
    PRINTER_OPTIONS,
    EscposPrinter,
    PrinterSettings,
    check_printer_options,
    encoder_from_url,
)
from drivers.printer.simulator import PrinterSimulator, SimState
from drivers.printer.transport import Transport
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

def _count(text: str) -> int | None:
    value = int(text, 10)
    if value < 0:
        raise ValueError(text)
    return value


OPTIONS: tuple[Option[Any], ...] = (
    Option.choice("paper", "ok", ["ok", "near-end", "out"], help="paper roll state"),
    Option.choice("cover", "closed", ["closed", "open"], help="paper cover"),
    Option.choice("cutter", "ok", ["ok", "error"], help="autocutter"),
    Option.boolean("online", True, help="false: the printer reports itself offline"),
    Option("paper_out_after", _count, None, "an integer >= 0",
           help="run out of paper after this many printed lines"),
    Option.text("out", "", help="folder for the receipt PNGs (default: a temporary folder "
                                "removed on close)"),
    *PRINTER_OPTIONS,
)


class SimulatedPrinter(EscposPrinter):
    """The serial printer on the simulator's pseudo-terminal, with the simulator attached."""

    def __init__(self, transport: Transport, encoder: Encoder, settings: PrinterSettings, *,
                 simulator: PrinterSimulator, temporary: Path | None = None) -> None:
        super().__init__(transport, encoder, settings)
        self.simulator = simulator
        self._temporary = temporary

    def close(self) -> None:
        """Close the port, stop the simulator, remove the temporary PNG folder."""
        super().close()
        self.simulator.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)
            self._temporary = None


def check(url: DeviceURL) -> None:
    if url.location not in ("", "/"):
        log.debug("sim URL location %r ignored", url.location)
    check_printer_options(url)


def state_from_options(options: Any) -> SimState:
    return SimState(paper=options["paper"], cover_open=options["cover"] == "open",
                    cutter_error=options["cutter"] == "error", online=options["online"],
                    paper_out_after_lines=options["paper_out_after"])


def open(url: DeviceURL) -> SimulatedPrinter:
    options = dict(url.options)
    temporary = None
    if options["out"]:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
    else:
        out = temporary = Path(tempfile.mkdtemp(prefix="kiosk-receipts-"))
    encoder_url = DeviceURL(kind=url.kind, raw=url.raw, scheme="serial", location="",
                            options=options)
    profile = encoder_from_url(encoder_url).profile
    simulator = PrinterSimulator(profile, state_from_options(options), out_dir=out)
    path = simulator.start_pty()
    serial_defaults = {opt.name: opt.default for opt in serial_backend.OPTIONS}
    serial_url = DeviceURL(kind=url.kind, raw=f"serial://{path}", scheme="serial",
                           location=path, options={**serial_defaults, **options})

    def factory(transport: Transport, encoder: Encoder,
                settings: PrinterSettings) -> SimulatedPrinter:
        return SimulatedPrinter(transport, encoder, settings, simulator=simulator,
                                temporary=temporary)

    try:
        printer = serial_backend.make_printer(serial_url, factory=factory)
    except BaseException:
        simulator.close()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        raise
    log.info("printer: simulator (%s) on %s, receipts in %s", profile.name, path, out)
    return printer
