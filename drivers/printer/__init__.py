"""Receipt printers: ESC/POS over serial, USB printer-class device, TCP 9100, or the simulator."""

from __future__ import annotations

from drivers.printer.base import (
    Align,
    Cut,
    Element,
    Feed,
    Image,
    Printer,
    PrinterProfile,
    PrinterStatus,
    PrintJob,
    QRCode,
    Style,
    Text,
)

#: URL scheme -> backend module (imported only when a URL names it).
BACKENDS: dict[str, str] = {
    "serial": "drivers.printer.serial_backend",
    "file": "drivers.printer.file_backend",
    "tcp": "drivers.printer.tcp_backend",
    "sim": "drivers.printer.sim_backend",
}

__all__ = [
    "BACKENDS", "Align", "Cut", "Element", "Feed", "Image", "PrintJob", "Printer",
    "PrinterProfile", "PrinterStatus", "QRCode", "Style", "Text",
]
