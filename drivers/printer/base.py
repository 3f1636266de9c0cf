"""The receipt printer contract: a print job as data, a status, a capability profile.

``printer/`` (receipt layout) builds :class:`PrintJob` values; a backend encodes
them to ESC/POS and writes them to its transport. Wrapping text to the paper
width is the layout's job (it knows :attr:`PrinterProfile.columns`); a backend
prints each :class:`Text` line as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class Style:
    bold: bool = False
    underline: bool = False
    double_width: bool = False
    double_height: bool = False
    invert: bool = False
    align: Align = Align.LEFT


@dataclass(frozen=True)
class Text:
    """Text printed as given; each ``\\n`` starts a new line; a final newline is implied."""

    text: str
    style: Style = field(default_factory=Style)


@dataclass(frozen=True)
class QRCode:
    data: str
    module_size: int = 6
    error_correction: Literal["L", "M", "Q", "H"] = "M"
    align: Align = Align.CENTER


@dataclass(frozen=True, eq=False)
class Image:
    """A raster image: 2-D uint8 array, 0 black, 255 white, at most the paper's dot width."""

    pixels: npt.NDArray[np.uint8]
    align: Align = Align.CENTER


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    partial: bool = False


Element = Text | QRCode | Image | Feed | Cut


@dataclass(frozen=True)
class PrintJob:
    elements: tuple[Element, ...]
    name: str = ""


@dataclass(frozen=True)
class PrinterProfile:
    """What the printer model can do; chosen from python-escpos's capability profiles.

    ``dots_per_line`` and ``columns`` (Font A, 12 dots a character) describe the
    printable width of the paper in use, which the ``width=`` URL option can
    override. ``code_page_table`` maps the model's own ``ESC t n`` numbers to
    code-page names (``"CP1252"``); numbers differ between vendors.
    """

    name: str
    paper_width_mm: int
    dots_per_line: int
    columns: int
    code_pages: frozenset[str]
    native_qr: bool
    cutter: bool = True
    dpi: int = 203
    partial_cut: bool = True
    code_page_table: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class PrinterStatus:
    """The printer's condition, read from DLE EOT 1-4.

    ``known`` is False when the device cannot report its condition (a one-way
    USB printer-class device): the other fields are then the optimistic
    defaults, and :meth:`problems` says ``status_unknown``.
    """

    online: bool = True
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    cutter_error: bool = False
    unrecoverable_error: bool = False
    known: bool = True

    @property
    def can_print(self) -> bool:
        return (self.online and not self.cover_open and not self.paper_out
                and not self.cutter_error and not self.unrecoverable_error)

    def problems(self) -> list[str]:
        """Machine-readable names of every condition that is not normal."""
        names = []
        if not self.known:
            names.append("status_unknown")
        if not self.online:
            names.append("offline")
        for name in ("cover_open", "paper_near_end", "paper_out", "cutter_error",
                     "unrecoverable_error"):
            if getattr(self, name):
                names.append(name)
        return names


@runtime_checkable
class Printer(Protocol):
    """A receipt printer. Methods raise only :mod:`drivers.errors` exceptions."""

    @property
    def profile(self) -> PrinterProfile: ...

    def status(self) -> PrinterStatus:
        """Query DLE EOT 1-4.

        Raises DeviceTimeoutError, DeviceProtocolError or DeviceUnavailableError.
        """
        ...

    def print_job(self, job: PrintJob) -> PrinterStatus:
        """Print a whole job (ESC @, code page, elements) and return the status after it.

        Raises PaperOutError, CoverOpenError, PrinterOfflineError, CutterError or
        PrinterFaultError when the printer cannot print, before or during the job;
        a paper-near-end printer prints and reports it in the returned status.
        """
        ...

    def close(self) -> None: ...
