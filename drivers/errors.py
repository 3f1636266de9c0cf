"""Exceptions raised by ``drivers``.

Library errors (``serial.SerialException``, ``OSError`` from a device node,
``cv2.error``, socket errors) are translated here, at the driver edge; nothing
else leaves the package::

    DeviceError                      any trouble with a device
    ├── DeviceURLError               the URL names no backend, or a bad option (also ValueError)
    ├── DeviceUnavailableError       cannot be opened, or has disappeared (unplugged)
    ├── DeviceTimeoutError           no answer within the allowed time
    ├── DeviceProtocolError          an answer that makes no sense (garbage, wrong framing)
    ├── PrinterError                 a receipt printer condition
    │   ├── PrinterOfflineError
    │   ├── CoverOpenError
    │   ├── PaperOutError
    │   ├── CutterError
    │   └── PrinterFaultError        unrecoverable error reported by the printer
    ├── CameraError
    └── CodeReaderError

Backends may combine a kind with a condition, e.g. ``class PrinterTimeout(PrinterError,
DeviceTimeoutError)``, so callers can catch by either axis.
"""

from __future__ import annotations


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
    """A condition of the receipt printer that stops printing."""


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


class CameraError(DeviceError):
    """Trouble with the document camera."""


class CodeReaderError(DeviceError):
    """Trouble with the code reader."""
