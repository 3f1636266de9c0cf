"""Text drawn as pixels: Arabic (and any script a printer's code page lacks) shaped, in
right-to-left order, wrapped to a width; for the thermal printer, the screen and the PDF.

Why pixels: a receipt printer's code pages hold Latin letters only, and no printer
shapes Arabic, whose letters change form with their neighbours and run right to
left, while a deposit number, a date or an URL inside an Arabic sentence runs left
to right (the Unicode bidirectional algorithm, UAX #9). Pillow does both when it is
built with libraqm (FriBiDi for the order, HarfBuzz for the shapes): every font here
is opened with ``ImageFont.Layout.RAQM``, and :func:`check_shaping` refuses to draw
without it (FontError) rather than print isolated letters left to right, which no
one can read.

Lines are broken in logical order (at spaces, never at no-break spaces; a word longer
than the line, an URL, is cut after a separator), then raqm lays each line out in
its paragraph's direction: the direction of the paragraph's first strong character
(UAX #9, rule P2), else the receipt's. Right-to-left paragraphs are right-aligned;
a detail (a page count) goes to the end of the last line, the left in Arabic.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont, features

from printer.errors import FontError
from printer.fonts import font_path
from printer.i18n import Direction
from printer.text import break_point

Font = ImageFont.FreeTypeFont

_BREAKABLE = re.compile(r"[ \t\r\f\v]+")   # not str.split(): no-break spaces hold
#: Bidi classes of right-to-left text, and of digits an Arabic text may hold.
_RTL_CLASSES = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI"})
#: Space between a paragraph's text and its detail, in font sizes.
DETAIL_GAP = 1.0


def check_shaping() -> None:
    """Raise FontError when Pillow cannot shape and order text (no libraqm)."""
    if not features.check("raqm"):
        raise FontError("Pillow is built without libraqm: Arabic would come out as isolated "
                        "letters, left to right (install the Debian package libraqm0)")


@functools.cache
def font(name: str, size: int) -> Font:
    """DejaVu Sans ``name`` (:mod:`printer.fonts`) at ``size`` pixels, laid out by raqm.

    Raises FontError without the font or without libraqm.
    """
    check_shaping()
    return ImageFont.truetype(str(font_path(name)), size, layout_engine=ImageFont.Layout.RAQM)


def paragraph_direction(text: str, default: Direction = Direction.LTR) -> Direction:
    """The direction of ``text``'s first strong character outside isolates (UAX #9 P2),
    else ``default``."""
    depth = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("LRI", "RLI", "FSI"):
            depth += 1
        elif kind == "PDI":
            depth = max(0, depth - 1)
        elif depth:
            continue
        elif kind in ("L", "LRE", "LRO"):
            return Direction.LTR
        elif kind in ("R", "AL", "RLE", "RLO"):
            return Direction.RTL
    return default


def needs_shaping(text: str) -> bool:
    """True when ``text`` holds right-to-left characters or marks that combine with a
    base (after NFC): what a PDF library without a shaper draws wrong."""
    return any(unicodedata.bidirectional(c) in _RTL_CLASSES or unicodedata.category(c) == "Mn"
               for c in unicodedata.normalize("NFC", text))


#: Left-to-right and right-to-left isolates and their end (UAX #9): a value inside them
#: keeps its own direction.
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"
_OPENERS = frozenset("\u2066\u2067\u2068")


def field_text(label: str, value: str, direction: Direction) -> str:
    """``label value``, the value isolated in a right-to-left paragraph.

    UAX #9 orders the pieces of a value by the paragraph around it: in Arabic, the phone
    number "32 30" would read "30 32", the address "2 rue Denis-Papin" would lose its
    "2" to the far end, and the "/" that ends one line of a cut URL would jump to its
    start. An isolated value is laid out on its own (left to right unless it starts
    with an Arabic letter), then placed as one piece. The isolate names its direction
    (not "first strong"), so a line that continues it keeps it.
    """
    if direction is Direction.RTL:
        opener = RLI if paragraph_direction(value, Direction.LTR) is Direction.RTL else LRI
        return f"{label} {opener}{value}{PDI}"
    return f"{label} {value}"


def _balance_isolates(lines: list[str]) -> list[str]:
    """Close the isolates a line leaves open and reopen them on the next line, since each
    line is laid out on its own."""
    out, carry = [], ""
    for line in lines:
        line = carry + line
        stack: list[str] = []
        for char in line:
            if char in _OPENERS:
                stack.append(char)
            elif char == PDI and stack:
                stack.pop()
        out.append(line + PDI * len(stack))
        carry = "".join(stack)
    return out


def text_width(text: str, face: Font, direction: Direction) -> float:
    return face.getlength(text, direction=direction.value) if text else 0.0


def _cut(word: str, face: Font, room: float, direction: Direction) -> tuple[str, str]:
    """The longest head of ``word`` that fits ``room`` (at least one character), cut after
    an URL separator when that keeps half of it, and the rest."""
    end = 1
    while end < len(word) and text_width(word[:end + 1], face, direction) <= room:
        end += 1
    end = break_point(word[:end]) if end < len(word) else end
    return word[:end], word[end:]


def wrap_text(text: str, face: Font, width: float, direction: Direction, *,
              indent: float = 0, last_room: float = 0) -> list[str]:
    """``text`` broken into lines (logical order) of at most ``width`` pixels, each line
    closing the isolates it opened (:func:`field_text`) and reopening them on the next.

    Continuation lines have ``indent`` pixels less; the last line keeps ``last_room``
    pixels free (for a detail) or the detail would go on a line of its own. Explicit
    newlines are kept.
    """
    lines: list[str] = []
    for paragraph in unicodedata.normalize("NFC", text).split("\n"):
        line, room = "", width
        for word in (w for w in _BREAKABLE.split(paragraph) if w):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, face, direction) <= room:
                line = candidate
                continue
            if line:
                lines.append(line)
                line, room = "", width - indent
            while text_width(word, face, direction) > room and len(word) > 1:
                head, word = _cut(word, face, room, direction)
                lines.append(head)
                room = width - indent
            line = word
        lines.append(line)
    lines = _balance_isolates(lines)
    if last_room and text_width(lines[-1], face, direction) > width - last_room - \
            (indent if len(lines) > 1 else 0):
        lines.append("")
    return lines


def draw_paragraph(draw: ImageDraw.ImageDraw, text: str, face: Font, *, left: float,
                   right: float, top: float, line_height: int, direction: Direction,
                   center: bool = False, indent: float = 0, detail: str | None = None,
                   detail_font: Font | None = None) -> float:
    """Draw ``text`` wrapped between ``left`` and ``right`` from ``top``; returns the ``top``
    of the next line. Right-to-left text is right-aligned, its indent on the right."""
    detail_face = detail_font or face
    gap = face.size * DETAIL_GAP
    detail_w = text_width(detail, detail_face, paragraph_direction(detail, direction)) + gap \
        if detail else 0.0
    lines = wrap_text(text, face, right - left, direction, indent=indent, last_room=detail_w)
    ascent, descent = face.getmetrics()
    y = top + max(0, (line_height - ascent - descent) // 2)
    for i, line in enumerate(lines):
        width = text_width(line, face, direction)
        shift = indent if i else 0
        if center:
            x = left + (right - left - width) / 2
        elif direction is Direction.RTL:
            x = right - shift - width
        else:
            x = left + shift
        if line:
            draw.text((x, y), line, fill=0, font=face, direction=direction.value)
        if detail and i == len(lines) - 1:
            detail_dir = paragraph_direction(detail, direction)
            dw = text_width(detail, detail_face, detail_dir)
            dx = left if direction is Direction.RTL else right - dw
            draw.text((dx, y), detail, fill=0, font=detail_face, direction=detail_dir.value)
        y += line_height
    return top + line_height * len(lines)


def paragraph_image(text: str, face: Font, width: int, *, line_height: int,
                    direction: Direction | None = None, center: bool = False,
                    indent: float = 0, detail: str | None = None,
                    detail_font: Font | None = None) -> npt.NDArray[np.uint8]:
    """``text`` drawn black on white, ``width`` pixels wide, as tall as its lines.

    ``direction`` defaults to the text's own (:func:`paragraph_direction`). Anti-aliased
    grey levels are kept; a printer thresholds them.
    """
    direction = direction or paragraph_direction(text)
    gap = face.size * DETAIL_GAP
    detail_w = text_width(detail, detail_font or face, paragraph_direction(detail, direction)) \
        + gap if detail else 0.0
    count = len(wrap_text(text, face, width, direction, indent=indent, last_room=detail_w))
    image = Image.new("L", (width, line_height * count), 255)
    draw_paragraph(ImageDraw.Draw(image), text, face, left=0, right=width, top=0,
                   line_height=line_height, direction=direction, center=center, indent=indent,
                   detail=detail, detail_font=detail_font)
    return np.asarray(image, dtype=np.uint8).copy()
