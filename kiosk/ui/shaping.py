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

from PIL import Image, ImageDraw

from printer import raster
from printer.fonts import BOLD, REGULAR
from printer.i18n import Direction

RGBA = tuple[float, float, float, float]


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters (Arabic, Hebrew) or marks to combine."""
    return raster.needs_shaping(text)


def width(text: str, *, size: float, bold: bool = False) -> float:
    """The width in pixels of ``text`` on one line, shaped as :func:`render` draws it."""
    face = raster.font(BOLD if bold else REGULAR, max(1, round(size)))
    return raster.text_width(text, face, raster.paragraph_direction(text, Direction.RTL))


def render(text: str, *, size: float, color: RGBA, bold: bool = False,
           width: float | None = None, align: str = "right",
           line_height: float = 1.1) -> tuple[bytes, int, int]:
    """``text`` drawn as RGBA pixels (top row first), wrapped to ``width`` (None: one line per
    paragraph) and aligned ``left``, ``center`` or ``right``: (pixels, width, height).
    Shaping, ordering and wrapping are the receipts' (:mod:`printer.raster`)."""
    face = raster.font(BOLD if bold else REGULAR, max(1, round(size)))
    direction = raster.paragraph_direction(text, Direction.RTL)
    if width is None:
        lines = text.split("\n")
    else:
        lines = raster.wrap_text(text, face, max(1.0, width), direction)
    widths = [raster.text_width(line, face, direction) for line in lines]
    ascent, descent = face.getmetrics()
    step = round((ascent + descent) * line_height)
    canvas_w = max(1, round(width) if width is not None else round(max(widths, default=1)))
    image = Image.new("RGBA", (canvas_w, max(1, step * len(lines))), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ink = tuple(round(c * 255) for c in color)
    for index, (line, line_w) in enumerate(zip(lines, widths, strict=True)):
        x = {"left": 0.0, "center": (canvas_w - line_w) / 2}.get(align, canvas_w - line_w)
        if line:
            draw.text((x, index * step), line, font=face, fill=ink, direction=direction.value)
    return image.tobytes(), image.width, image.height
