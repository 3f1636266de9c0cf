"""``tcp://host:9100`` — a network receipt printer on its raw TCP port.

The connection is kept open between jobs and made again when it breaks (the
printer was switched off, a switch rebooted). Status queries travel on the
same connection.
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
from drivers.printer.transport import TcpTransport
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

DEFAULT_PORT = 9100

OPTIONS: tuple[Option[Any], ...] = (
    Option.number("connect_timeout", 3.0, minimum=0.1, maximum=60.0,
                  help="seconds allowed to connect"),
    *PRINTER_OPTIONS,
)


def host_and_port(url: DeviceURL) -> tuple[str, int]:
    """``host[:port]`` of the location (``[v6::addr]:port`` too); raises DeviceURLError."""
    location = url.location.rstrip("/")
    host, port_text = location, str(DEFAULT_PORT)
    if location.startswith("["):
        host, _, rest = location[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                host = ""
            port_text = rest[1:]
    elif ":" in location:
        host, _, port_text = location.rpartition(":")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DeviceURLError(f"{url.kind} URL {url.raw!r}: location must be host or host:port "
                             f"with a port from 1 to 65535, as in tcp://192.0.2.10:{DEFAULT_PORT}")
    return host, int(port_text)


def check(url: DeviceURL) -> None:
    host_and_port(url)
    check_printer_options(url)


def open(url: DeviceURL) -> EscposPrinter:
    host, port = host_and_port(url)
    transport = TcpTransport(host, port, connect_timeout=url.options["connect_timeout"])
    printer = EscposPrinter(transport, encoder_from_url(url), settings_from_url(url))
    log.info("printer: tcp backend to %s:%d, profile %s", host, port, printer.profile.name)
    printer.connect()
    return printer
