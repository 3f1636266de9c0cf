"""The receipt laid out for a thermal printer, as a :class:`drivers.printer.PrintJob`.

The layout owns what the printer cannot know: words wrapped to the paper's
columns (half as many on double-width lines), characters the selected code
page lacks replaced by look-alikes (the driver selects WPC1252, else PC858, and
encodes), the QR module size that fits the paper with its quiet zone. The
driver owns the bytes: ESC @, ESC t, styles, GS ( k.
"""

from __future__ import annotations

import logging
from typing import Literal

import qrcode
import qrcode.constants

from drivers.printer import Align, Cut, Element, Feed, PrinterProfile, PrintJob, QRCode, Style, Text
from drivers.printer.profiles import choose_code_page
from printer import content
from printer.errors import LayoutError
from printer.receipt import Receipt
from printer.text import columns_text, display_width, fit_to_codec, plain_spaces, wrap

log = logging.getLogger(__name__)

#: The narrowest paper we lay out for: 24 columns (a 44 mm roll).
MIN_COLUMNS = 24
QR_ERROR_CORRECTION: Literal["L", "M", "Q", "H"] = "M"
#: Dots of one QR module below which phone cameras struggle on thermal paper (0.375 mm).
MIN_QR_MODULE = 3
MAX_QR_MODULE = 8
#: Lines fed at the end of a receipt on a printer without a cutter, to tear it off.
TEAR_OFF_FEED = 6

_EC_LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
              "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}

CENTER = Style(align=Align.CENTER)
TITLE = Style(bold=True, double_height=True, align=Align.CENTER)
NUMBER = Style(bold=True, double_width=True, double_height=True, align=Align.CENTER)
BOLD = Style(bold=True)
BOLD_CENTER = Style(bold=True, align=Align.CENTER)
PLAIN = Style()


def qr_module_size(data: str, dots_per_line: int) -> int:
    """The largest module size (dots) at which the code and its 4-module quiet zones take
    at most 80 % of the line, between 3 and 8 dots."""
    code = qrcode.QRCode(error_correction=_EC_LEVELS[QR_ERROR_CORRECTION], border=0)
    code.add_data(data)
    code.make(fit=True)
    modules = code.modules_count + 8
    size = min(MAX_QR_MODULE, int(dots_per_line * 0.8) // modules)
    if size < MIN_QR_MODULE:
        log.warning("QR code of %d modules gets %d-dot modules on %d dots: hard to scan",
                    code.modules_count, size, dots_per_line)
    return max(2, size)


class _Lines:
    """Builds the elements, fitting text to the code page and the paper."""

    def __init__(self, profile: PrinterProfile) -> None:
        if profile.columns < MIN_COLUMNS:
            raise LayoutError(f"printer profile {profile.name!r} has {profile.columns} columns; "
                              f"receipts need at least {MIN_COLUMNS}")
        self.profile = profile
        # The page the driver will select, so that what we fit is what it prints.
        self.codec = choose_code_page(profile).codec
        self.columns = profile.columns
        self.elements: list[Element] = []

    def fit(self, text: str) -> str:
        return fit_to_codec(text, self.codec, keep_no_break=True)

    def text(self, lines: list[str], style: Style) -> None:
        self.elements.append(Text("\n".join(plain_spaces(line) for line in lines), style))

    def wrapped(self, text: str, style: Style = PLAIN, *, indent: int = 0) -> None:
        columns = self.columns // 2 if style.double_width else self.columns
        self.text(wrap(self.fit(text), columns, indent=indent), style)

    def add(self, block: content.Block) -> None:
        match block:
            case content.Title(text):
                self.wrapped(text, TITLE)
            case content.Subtitle(text):
                self.wrapped(text, CENTER)
            case content.Rule():
                self.text(["-" * self.columns], PLAIN)
            case content.BigNumber(label, value):
                self.wrapped(label, CENTER)
                fits = display_width(value) <= self.columns // 2
                self.wrapped(value, NUMBER if fits else BOLD_CENTER)
            case content.Field(label, value):
                self.wrapped(f"{label} {value}", indent=2)
            case content.Heading(text):
                self.wrapped(text, BOLD)
            case content.Item(text, detail, total):
                bullet = "" if total else "- "
                self.text(columns_text(bullet + self.fit(text), self.fit(detail), self.columns),
                          BOLD if total else PLAIN)
            case content.Paragraph(text, strong):
                self.wrapped(text, BOLD if strong else PLAIN)
            case content.Code(data):
                # The driver leaves the 4-module quiet zone above and below.
                self.elements.append(
                    QRCode(data, module_size=qr_module_size(data, self.profile.dots_per_line),
                           error_correction=QR_ERROR_CORRECTION, align=Align.CENTER))


def receipt_job(receipt: Receipt, profile: PrinterProfile) -> PrintJob:
    """The receipt as a print job for this printer.

    Raises LayoutError when the profile is too narrow (fewer than 24 columns).
    """
    lines = _Lines(profile)
    for block in content.receipt_blocks(receipt):
        lines.add(block)
    # The driver's cut feeds the last line past the blade; without a cutter, feed it
    # past the tear bar ourselves.
    lines.elements.append(Cut() if profile.cutter else Feed(TEAR_OFF_FEED))
    return PrintJob(tuple(lines.elements), name=f"receipt {receipt.deposit_id}")
