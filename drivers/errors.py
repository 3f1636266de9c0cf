"""Exceptions raised by ``drivers``.

Library errors (``serial.SerialException``, ``OSError`` from a device node,
``cv2.error``, socket errors) are translated here, at the driver edge; nothing
else leaves the package::

    DeviceError                      any trouble with a device
    ├── DeviceURLError               the URL names no backend, or a bad option (also ValueError)
    ├── DeviceUnavailableError       cannot be opened, or has disappeared (unplugged)
    ├── DeviceTimeoutError           no answer within the allowed time
    ├── DeviceProtocolError          an answer that makes no sense (garbage, wrong framing)
    ├── PrinterError                 a receipt printer condition (``.status`` when known)
    │   ├── PrinterOfflineError
    │   ├── CoverOpenError
    │   ├── PaperOutError            before the job, or the paper ran out during it
    │   ├── CutterError
    │   ├── PrinterFaultError        unrecoverable error reported by the printer
    │   ├── PrinterUnavailableError  (also DeviceUnavailableError) port gone or cannot open
    │   ├── PrinterTimeoutError      (also DeviceTimeoutError) no status reply, data not taken
    │   └── PrinterProtocolError     (also DeviceProtocolError) a status reply that is garbage
    ├── CameraError
    └── CodeReaderError

Backends may combine a kind with a condition, e.g. ``class PrinterTimeout(PrinterError,
DeviceTimeoutError)``, so callers can catch by either axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.printer.base import PrinterStatus


class DeviceError(Exception):
    """Base class of every error raised by ``drivers``."""


class DeviceURLError(DeviceError, ValueError):
    """A device URL that names no known backend or carries a bad option.

    The message names the URL, the offending part and the accepted values.
    """


class DeviceUnavailableError(DeviceError):
    """The device cannot be opened, or it disappeared while in use."""


class DeviceTimeoutError(DeviceError):
    """The device did not answer within the allowed time."""


class DeviceProtocolError(DeviceError):
    """The device answered something that does not fit the protocol."""


class PrinterError(DeviceError):
    """A condition of the receipt printer that stops printing.

    ``status`` is the :class:`~drivers.printer.base.PrinterStatus` that was read
    when the error was raised, or ``None`` when none could be read.
    """

    def __init__(self, message: str, status: PrinterStatus | None = None) -> None:
        super().__init__(message)
        self.status = status


class PrinterOfflineError(PrinterError):
    """The printer reports itself offline."""


class CoverOpenError(PrinterError):
    """The paper cover is open."""


class PaperOutError(PrinterError):
    """The paper roll is exhausted."""


class CutterError(PrinterError):
    """The autocutter is jammed or failed."""


class PrinterFaultError(PrinterError):
    """The printer reports an unrecoverable error."""


class PrinterUnavailableError(PrinterError, DeviceUnavailableError):
    """The printer's port cannot be opened, or it went away (unplugged, connection lost).

    The next call opens the port again, so a printer that comes back is used
    without restarting the application.
    """


class PrinterTimeoutError(PrinterError, DeviceTimeoutError):
    """The printer did not answer a status query, or stopped taking data, in time."""


class PrinterProtocolError(PrinterError, DeviceProtocolError):
    """The printer answered a status query with bytes that are not a status."""


class CameraError(DeviceError):
    """Trouble with the document camera."""


class CodeReaderError(DeviceError):
    """Trouble with the code reader."""
