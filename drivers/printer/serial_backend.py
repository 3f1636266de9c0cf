"""``serial://`` — a receipt printer on a serial port, opened with ``serial.serial_for_url``.

The location is a device path (``serial:///dev/ttyUSB0``, ``serial:///dev/kiosk-printer``)
or any pyserial URL (``serial://socket://10.0.0.5:4001``, ``serial://spy:///dev/ttyUSB0``,
``serial://loop://``, ``serial://rfc2217://host:port``). The simulator (``sim://``)
is this very backend opened on a pseudo-terminal.

Flow control: pass ``rtscts=true`` when the cable carries RTS/CTS (python-escpos's
``dsrdtr=False`` does not enable it); Epson's own default is DTR/DSR
(``dsrdtr=true``). See docs/printer.md for wiring.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import serial

from drivers.errors import DeviceURLError
from drivers.printer.encoder import Encoder
from drivers.printer.escpos_printer import (
    PRINTER_OPTIONS,
    EscposPrinter,
    PrinterSettings,
    check_printer_options,
    encoder_from_url,
    settings_from_url,
)
from drivers.printer.transport import SerialTransport, Transport
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

_PARITIES = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD,
             "mark": serial.PARITY_MARK, "space": serial.PARITY_SPACE}
_STOPBITS = {"1": serial.STOPBITS_ONE, "1.5": serial.STOPBITS_ONE_POINT_FIVE,
             "2": serial.STOPBITS_TWO}

OPTIONS: tuple[Option[Any], ...] = (
    Option.integer("baudrate", 19200, minimum=50, maximum=4_000_000,
                   help="line speed; must match the printer's DIP switches or memory switch"),
    Option.choice("bytesize", "8", ["7", "8"], help="data bits"),
    Option.choice("parity", "none", list(_PARITIES), help="parity"),
    Option.choice("stopbits", "1", list(_STOPBITS), help="stop bits"),
    Option.boolean("rtscts", False, help="hardware flow control on RTS/CTS"),
    Option.boolean("xonxoff", False, help="software flow control (XON/XOFF)"),
    Option.boolean("dsrdtr", False, help="hardware flow control on DTR/DSR (Epson's default)"),
    *PRINTER_OPTIONS,
)


def serial_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """pyserial keyword arguments from parsed URL options."""
    return {
        "baudrate": options["baudrate"],
        "bytesize": int(options["bytesize"]),
        "parity": _PARITIES[options["parity"]],
        "stopbits": _STOPBITS[options["stopbits"]],
        "rtscts": options["rtscts"],
        "xonxoff": options["xonxoff"],
        "dsrdtr": options["dsrdtr"],
    }


def check(url: DeviceURL) -> None:
    """The location must name a port: a path or a URL pyserial has a handler for."""
    location = url.location
    if not location:
        raise DeviceURLError(f"{url.kind} URL {url.raw!r}: no port given "
                             "(serial:///dev/ttyUSB0, serial://socket://host:port, ...)")
    if "://" in location:
        protocol = location.split("://", 1)[0].lower()
        known = _pyserial_protocols()
        if protocol not in known:
            raise DeviceURLError(f"{url.kind} URL {url.raw!r}: pyserial has no {protocol!r} "
                                 f"handler (accepted: {', '.join(known)})")
    check_printer_options(url)


def _pyserial_protocols() -> list[str]:
    names = ["alt", "cp2110", "hwgrep", "loop", "rfc2217", "socket", "spy"]
    return [name for name in names
            if importlib.util.find_spec(f"serial.urlhandler.protocol_{name}") is not None]


P = TypeVar("P", bound=EscposPrinter)


def make_printer(url: DeviceURL,
                 factory: Callable[[Transport, Encoder, PrinterSettings], P]) -> P:
    """A printer made by ``factory`` on the serial port the URL names, connected if present."""
    port = url.location
    transport = SerialTransport(port, serial_settings(url.options))
    printer = factory(transport, encoder_from_url(url), settings_from_url(url))
    log.info("printer: serial backend on %s, profile %s (%d dots, %d columns), code page %s "
             "(ESC t %d), QR %s", port, printer.profile.name, printer.profile.dots_per_line,
             printer.profile.columns, printer.encoder.settings.code_page.name,
             printer.encoder.settings.code_page.number,
             "native" if printer.encoder.settings.native_qr else "image")
    printer.connect()
    return printer


def open(url: DeviceURL) -> EscposPrinter:
    """Open the printer at ``url`` (a port that is absent now is retried on each call)."""
    return make_printer(url, EscposPrinter)
