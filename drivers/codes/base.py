"""The code reader contract: 1-D and 2-D codes read as exact text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Code:
    """One decoded code. ``format`` uses zxing-cpp's names ("QRCode", "DataMatrix", ...)."""

    format: str
    text: str
    raw: bytes | None = None


@runtime_checkable
class CodeReader(Protocol):
    def read(self, timeout: float) -> Code | None:
        """The next code read, waiting up to ``timeout`` s; None if none came."""
        ...

    def close(self) -> None: ...
