"""The receipt laid out for a thermal printer, as a :class:`drivers.printer.PrintJob`.

The layout owns what the printer cannot know: words wrapped to the paper's
columns (half as many on double-width lines), characters the selected code
page lacks replaced by look-alikes (the driver selects WPC1252, else PC858, and
encodes), the QR module size that fits the paper with its quiet zone. The
driver owns the bytes: ESC @, ESC t, styles, GS ( k, GS v 0.

A block of text that holds a character no look-alike can stand for (Arabic, any
non-Latin script: :func:`printer.text.fits_code_page`) is drawn as a raster image
instead (:mod:`printer.raster`: shaped, right to left, wrapped to the paper's
dots) and right-aligned when it reads right to left. The decision is per block (a
paragraph, a field), so an Arabic sentence whose wrapped last line is an URL stays
one picture. Latin blocks stay text: fast and crisp. In a right-to-left receipt,
Latin text lines are right-aligned too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.constants

from drivers.printer import (
    Align,
    Cut,
    Element,
    Feed,
    Image,
    PrinterProfile,
    PrintJob,
    QRCode,
    Style,
    Text,
)
from drivers.printer.profiles import choose_code_page
from printer import content, raster
from printer.errors import LayoutError
from printer.fonts import BOLD as BOLD_FONT
from printer.fonts import REGULAR as REGULAR_FONT
from printer.i18n import Direction, translator
from printer.receipt import Receipt
from printer.text import (
    columns_text,
    display_width,
    fit_to_codec,
    fits_code_page,
    plain_spaces,
    wrap,
)

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

#: Raster text at 203 dpi: 24-dot glyphs like Font A, a 34-dot line like ESC 2's 1/6 inch;
#: titles (double height in text) 36 dots. Scaled for other resolutions.
RASTER_SIZE = 24
RASTER_TITLE_SIZE = 36
RASTER_LINE = 34
RASTER_TITLE_LINE = 48
#: Grey level below which an anti-aliased pixel prints as a dot.
INK_THRESHOLD = 140


def printable_image(pixels: npt.NDArray[np.uint8], align: Align) -> Image:
    """A drawn block as a printer image: thresholded to dots, blank columns trimmed on the
    side away from ``align`` (fewer bytes down a 19200-baud line), width a multiple of 8
    with the padding on that side too (GS v 0 sends whole bytes)."""
    ink = pixels < INK_THRESHOLD
    columns = np.flatnonzero(ink.any(axis=0))
    width = ink.shape[1]
    if columns.size == 0:
        return Image(np.full((ink.shape[0], 8), 255, dtype=np.uint8), align)
    first, last = int(columns[0]), int(columns[-1]) + 1
    match align:
        case Align.RIGHT:
            first, last = max(0, width - (width - first + 7) // 8 * 8), width
        case Align.LEFT:
            first, last = 0, min(width, (last + 7) // 8 * 8)
        case _:
            margin = min(first, width - last) // 8 * 8
            first, last = margin, width - margin
    dots = np.where(ink[:, first:last], 0, 255).astype(np.uint8)
    pad = (-dots.shape[1]) % 8
    if pad and dots.shape[1] + pad <= width:
        side = (0, pad) if align is Align.LEFT else (pad, 0)
        dots = np.pad(dots, ((0, 0), side), constant_values=255)
    return Image(dots, align)


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

    def __init__(self, profile: PrinterProfile, direction: Direction = Direction.LTR) -> None:
        if profile.columns < MIN_COLUMNS:
            raise LayoutError(f"printer profile {profile.name!r} has {profile.columns} columns; "
                              f"receipts need at least {MIN_COLUMNS}")
        self.profile = profile
        # The page the driver will select, so that what we fit is what it prints.
        self.codec = choose_code_page(profile).codec
        self.columns = profile.columns
        self.direction = direction
        self.elements: list[Element] = []

    def fit(self, text: str) -> str:
        return fit_to_codec(text, self.codec, keep_no_break=True)

    def printable(self, *texts: str) -> bool:
        return all(fits_code_page(t, self.codec) for t in texts)

    def text(self, lines: list[str], style: Style) -> None:
        if self.direction is Direction.RTL and style.align is Align.LEFT:
            style = replace(style, align=Align.RIGHT)
        self.elements.append(Text("\n".join(plain_spaces(line) for line in lines), style))

    def wrapped(self, text: str, style: Style = PLAIN, *, indent: int = 0) -> None:
        if not self.printable(text):
            self.image(text, style, indent=indent)
            return
        columns = self.columns // 2 if style.double_width else self.columns
        self.text(wrap(self.fit(text), columns, indent=indent), style)

    def image(self, text: str, style: Style, *, indent: int = 0,
              detail: str | None = None) -> None:
        """``text`` (and ``detail`` at the end of its last line) drawn in dots, its ``indent``
        in columns of 12 dots, aligned as ``style`` says or by the text's direction."""
        scale = self.profile.dpi / 203
        title = style.double_height or style.double_width
        size = round((RASTER_TITLE_SIZE if title else RASTER_SIZE) * scale)
        line = round((RASTER_TITLE_LINE if title else RASTER_LINE) * scale)
        face = raster.font(BOLD_FONT if style.bold else REGULAR_FONT, size)
        direction = raster.paragraph_direction(text, self.direction)
        center = style.align is Align.CENTER
        pixels = raster.paragraph_image(text, face, self.profile.dots_per_line,
                                        line_height=line, direction=direction, center=center,
                                        indent=round(indent * 12 * scale), detail=detail)
        align = Align.CENTER if center else \
            Align.RIGHT if direction is Direction.RTL else Align.LEFT
        self.elements.append(printable_image(pixels, align))

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
                if self.printable(label, value):
                    self.wrapped(f"{label} {value}", indent=2)
                else:
                    self.image(raster.field_text(label, value, self.direction), PLAIN, indent=2)
            case content.Heading(text):
                self.wrapped(text, BOLD)
            case content.Item(text, detail, total):
                bullet = "" if total else "- "
                if not self.printable(text, detail):
                    self.image(bullet + text, BOLD if total else PLAIN, indent=2, detail=detail)
                    return
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

    Raises LayoutError when the profile is too narrow (fewer than 24 columns), FontError
    when a block must be drawn and DejaVu Sans or libraqm is missing.
    """
    lines = _Lines(profile, translator(receipt.language).direction)
    for block in content.receipt_blocks(receipt):
        lines.add(block)
    # The driver's cut feeds the last line past the blade; without a cutter, feed it
    # past the tear bar ourselves.
    lines.elements.append(Cut() if profile.cutter else Feed(TEAR_OFF_FEED))
    return PrintJob(tuple(lines.elements), name=f"receipt {receipt.deposit_id}")
