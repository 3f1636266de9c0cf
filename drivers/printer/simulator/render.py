"""Render a parsed job as the paper would look: a grey-scale PNG at the printer's resolution.

Text uses DejaVu Sans Mono (Debian ``fonts-dejavu-core``) sized to the
printer's Font A cell (12 x 24 dots); QR codes are drawn from the payload the
printer stored, with the module size and error correction level it was given
(so a wrong payload or level shows in the picture, and decoders read what
the printer would print); raster images are drawn dot for dot as sent.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.constants
import qrcode.exceptions
from PIL import Image, ImageDraw, ImageFont

from drivers.printer.base import Align, PrinterProfile
from drivers.printer.simulator.parser import (
    PaperFeed,
    ParsedJob,
    QRSymbol,
    RasterImage,
    TextLine,
    TextStyle,
)

log = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MAX_HEIGHT = 30_000  # dots (4 m at 180 dpi); longer jobs are cut short with a mark
TOP_MARGIN = 24
BOTTOM_MARGIN = 16
CUT_MARK_HEIGHT = 13
PAPER = 255
INK = 0
_LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
           "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def _font(bold: bool, size: int) -> Font:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        log.warning("%s not found in %s (Debian package fonts-dejavu-core, installed by "
                    "bin/setup): receipts are rendered with Pillow's default font",
                    name, FONT_DIR)
        return ImageFont.load_default(size)


def _x(align: Align, width: int, dots: int) -> int:
    if align is Align.CENTER:
        return max((dots - width) // 2, 0)
    if align is Align.RIGHT:
        return max(dots - width, 0)
    return 0


def _run_band(text: str, style: TextStyle) -> Image.Image:
    """One run of characters at its size, each character in its own cell."""
    base_w, base_h = (12, 24) if style.font == 0 else (9, 17)
    band = Image.new("L", (max(base_w * len(text), 1), base_h), PAPER)
    draw = ImageDraw.Draw(band)
    ink, paper = INK, PAPER
    if style.invert:
        draw.rectangle((0, 0, band.width, band.height), fill=INK)
        ink, paper = PAPER, INK
    font = _font(style.bold, 20 if style.font == 0 else 15)
    for i, char in enumerate(text):
        draw.text((i * base_w, 1), char, font=font, fill=ink)
    if style.underline:
        thickness = style.underline
        draw.rectangle((0, base_h - thickness, band.width, base_h - 1),
                       fill=ink if not style.invert else paper)
    if style.width != 1 or style.height != 1:
        band = band.resize((band.width * style.width, band.height * style.height),
                           Image.Resampling.NEAREST)
    return band


def _text_band(line: TextLine, dots: int) -> Image.Image:
    height = max(line.advance, line.height)
    band = Image.new("L", (dots, height), PAPER)
    x = _x(line.align, line.width, dots)
    for run in line.runs:
        piece = _run_band(run.text, run.style)
        band.paste(piece, (x, line.height - piece.height))  # characters sit on one baseline
        x += piece.width
    return band


def qr_modules(symbol: QRSymbol) -> npt.NDArray[np.bool_]:
    """The modules the printer makes for the stored payload (True = dark), no quiet zone."""
    code = qrcode.QRCode(version=None, error_correction=_LEVELS[symbol.error_correction],
                         border=0)
    code.add_data(symbol.payload)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def _qr_band(symbol: QRSymbol, dots: int) -> Image.Image:
    try:
        modules = qr_modules(symbol)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        log.warning("QR payload of %d bytes does not fit a QR code", len(symbol.payload))
        return Image.new("L", (dots, 1), PAPER)
    pixels = np.kron(modules, np.ones((symbol.module_size, symbol.module_size), dtype=bool))
    return _dots_band(pixels, symbol.align, dots)


def _dots_band(dots_array: npt.NDArray[np.bool_], align: Align, dots: int) -> Image.Image:
    height, width = dots_array.shape
    band = Image.new("L", (dots, height), PAPER)
    picture = Image.fromarray(np.where(dots_array[:, :dots], INK, PAPER).astype(np.uint8), "L")
    band.paste(picture, (_x(align, min(width, dots), dots), 0))
    return band


def _image_band(image: RasterImage, dots: int) -> Image.Image:
    sx, sy = image.scale
    pixels = np.repeat(np.repeat(image.dots, sy, axis=0), sx, axis=1)
    return _dots_band(pixels, image.align, dots)


def _cut_mark(width: int, partial: bool) -> Image.Image:
    """A dashed line where the cutter cut, labelled at the right (grey: not printed)."""
    band = Image.new("L", (width, CUT_MARK_HEIGHT), PAPER)
    draw = ImageDraw.Draw(band)
    label = "partial cut" if partial else "cut"
    font = _font(False, 10)
    label_width = int(draw.textlength(label, font=font)) + 8
    dash = 6 if partial else 14
    for x in range(0, width - label_width, dash * 2):
        draw.line((x, 6, min(x + dash, width - label_width), 6), fill=150, width=1)
    draw.text((width - label_width + 4, 0), label, font=font, fill=150)
    return band


def render(job: ParsedJob, profile: PrinterProfile) -> Image.Image:
    """The receipt of ``job`` as a grey-scale image, paper width wide, at the printer's dpi."""
    dots = profile.dots_per_line
    paper = max(round(profile.paper_width_mm * profile.dpi / 25.4), dots)
    margin = (paper - dots) // 2
    bands: list[tuple[Image.Image | None, int]] = []
    total = TOP_MARGIN
    short = False
    for element in job.elements:
        band: Image.Image | None
        if isinstance(element, TextLine):
            band = _text_band(element, dots)
            advance = element.advance
        elif isinstance(element, QRSymbol):
            band = _qr_band(element, dots)
            advance = band.height
        elif isinstance(element, RasterImage):
            band = _image_band(element, dots)
            advance = band.height
        elif isinstance(element, PaperFeed):
            band, advance = None, element.dots
        else:
            band, advance = _cut_mark(paper, element.partial), CUT_MARK_HEIGHT
        if total + max(advance, band.height if band else 0) > MAX_HEIGHT:
            short = True
            break
        bands.append((band, advance))
        total += advance
    if short or job.truncated:
        total += 40
    canvas = Image.new("L", (paper, total + BOTTOM_MARGIN), PAPER)
    y = TOP_MARGIN
    for band, advance in bands:
        if band is not None:
            x = 0 if band.width == paper else margin
            canvas.paste(band.crop((0, 0, band.width, min(band.height, canvas.height - y))),
                         (x, y))
        y += advance
    if short or job.truncated:
        note = "— paper ran out —" if job.truncated else "— receipt too long, cut short here —"
        ImageDraw.Draw(canvas).text((margin, y + 8), note, font=_font(False, 16), fill=100)
    return canvas
