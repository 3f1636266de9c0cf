"""``file://`` — a printer behind a device file: a USB printer-class node (``/dev/usb/lp0``).

The usblp kernel driver passes the printer's replies back through the same
file, so status queries (DLE EOT) work when the printer answers them. Some
printers (and a plain file, useful to capture a job) answer nothing: with
``status=auto`` (the default) the first silent query switches status checks
off for as long as the device stays open, with a warning in the log, and
:meth:`status` reports ``known=False`` ("status_unknown"); ``status=query``
insists (a silent device is a timeout), ``status=none`` never asks.
"""

from __future__ import annotations

import logging
from typing import Any

from drivers.errors import DeviceURLError
from drivers.printer.escpos_printer import (
    PRINTER_OPTIONS,
    EscposPrinter,
    check_printer_options,
    encoder_from_url,
    settings_from_url,
)
from drivers.printer.transport import FileTransport
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

OPTIONS: tuple[Option[Any], ...] = (
    Option.choice("status", "auto", ["auto", "query", "none"],
                  help="status queries through the device: if it answers, always, never"),
    *PRINTER_OPTIONS,
)


def check(url: DeviceURL) -> None:
    if not url.location.startswith("/"):
        raise DeviceURLError(f"{url.kind} URL {url.raw!r}: give an absolute device path, "
                             "as in file:///dev/usb/lp0")
    check_printer_options(url)


def open(url: DeviceURL) -> EscposPrinter:
    transport = FileTransport(url.location)
    printer = EscposPrinter(transport, encoder_from_url(url),
                            settings_from_url(url, status_mode=url.options["status"]))
    log.info("printer: file backend on %s, profile %s, status %s", url.location,
             printer.profile.name, url.options["status"])
    printer.connect()
    return printer
