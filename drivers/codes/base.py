"""The code reader contract: 1-D and 2-D codes read as exact text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from drivers.errors import CodeReaderError, DeviceProtocolError


class GarbledCodeError(CodeReaderError, DeviceProtocolError):
    """The reader sent bytes that are not text in the configured encoding (or a line too long).

    The bad line is dropped; the next read starts afresh. ``data`` holds the bytes.
    """

    def __init__(self, message: str, data: bytes = b"") -> None:
        super().__init__(message)
        self.data = data


@dataclass(frozen=True)
class Code:
    """One decoded code. ``format`` uses zxing-cpp's names ("QRCode", "DataMatrix", ...).

    ``text`` is exact (accents, control characters such as the GS separators
    of 2D-Doc and GS1 kept as they are); ``raw`` holds the bytes when known.
    A serial scanner that does not announce the symbology gives ``"Unknown"``.
    """

    format: str
    text: str
    raw: bytes | None = None


@runtime_checkable
class CodeReader(Protocol):
    def read(self, timeout: float) -> Code | None:
        """The next code read, waiting up to ``timeout`` s; None if none came.

        Raises GarbledCodeError for bytes that are not a code (the reader stays
        usable), DeviceUnavailableError when the device is gone (the next read
        tries to reopen it).
        """
        ...

    def close(self) -> None: ...
