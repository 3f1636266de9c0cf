"""Right-to-left text for Kivy labels: Arabic joined, in the right order, mixed runs included.

The sdl2 text provider of the Kivy 2.3.1 wheel draws Arabic as separate letters
from left to right unless each label is told its direction and script, and even
then applies no bidirectional algorithm: "رقم D3M0-0001" comes out with the
Latin run reversed (NOTES.md). Pillow with libraqm (FriBiDi + HarfBuzz) does
both, so a label whose text holds right-to-left letters is drawn here instead:
the text is wrapped to the label's width word by word (measured with the same
shaping), each line is shaped and ordered by raqm, and the lines are aligned
to the right. Labels in left-to-right languages keep Kivy's own provider.

:func:`render` returns RGBA bytes; :class:`kiosk.ui.widgets.ShapedText` turns
them into the label's texture.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import cache

from PIL import Image, ImageDraw, ImageFont, features

from printer.fonts import BOLD, REGULAR, font_path

log = logging.getLogger(__name__)

RGBA = tuple[float, float, float, float]

#: Whether Pillow can shape (libraqm found at run time); without it Arabic is unreadable.
RAQM = bool(features.check("raqm"))


def is_rtl_char(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters (Arabic, Hebrew)."""
    return any(is_rtl_char(c) for c in text)


@cache
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if RAQM else ImageFont.Layout.BASIC
    if not RAQM:
        log.error("Pillow has no libraqm: right-to-left text cannot be shaped")
    return ImageFont.truetype(str(font_path(BOLD if bold else REGULAR)), size,
                              layout_engine=engine)


def _base_direction(text: str) -> str:
    """The paragraph's direction from its first strong character (Unicode P2-P3)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "rtl"


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float | None) -> list[str]:
    """Lines of ``text`` no wider than ``width`` pixels (None: one line per paragraph)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        direction = _base_direction(paragraph)
        if width is None:
            lines.append(paragraph)
            continue
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and font.getlength(candidate, direction=direction) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def render(text: str, *, size: float, color: RGBA, bold: bool = False,
           width: float | None = None, align: str = "right",
           line_height: float = 1.1) -> tuple[bytes, int, int]:
    """``text`` drawn as RGBA pixels (top row first): (pixels, width, height)."""
    font = _font(bold, max(1, round(size)))
    lines = wrap(text, font, width)
    ascent, descent = font.getmetrics()
    step = round((ascent + descent) * line_height)
    widths = [round(font.getlength(line, direction=_base_direction(line))) for line in lines]
    canvas_w = max(1, round(width) if width is not None else max(widths, default=1))
    canvas_h = max(1, step * len(lines))
    image = Image.new("RGBA", (canvas_w, canvas_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ink = tuple(round(c * 255) for c in color)
    for index, (line, line_w) in enumerate(zip(lines, widths, strict=True)):
        if align == "center":
            x = (canvas_w - line_w) / 2
        elif align == "left":
            x = 0
        else:
            x = canvas_w - line_w
        draw.text((x, index * step), line, font=font, fill=ink,
                  direction=_base_direction(line), language="ar")
    return image.tobytes(), canvas_w, canvas_h
