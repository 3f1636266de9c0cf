"""The accusé de réception's pages: a small text layout over reportlab, Arabic included.

Why not reportlab's Paragraph: right-to-left paragraphs need reportlab's ``rlbidi``,
which is not on PyPI's index for both of our platforms, and without it reportlab lays
Arabic words out left to right. The accusé de réception is only headings and
paragraphs, so this module lays them out itself, and does the two things Arabic needs:

- *shaping*: each letter takes its joined form. HarfBuzz does it (``uharfbuzz``, through
  reportlab's own :func:`reportlab.pdfbase.ttfonts.shapeStr`); the PDF keeps, for each
  glyph, the character it stands for, so ``pdftotext`` and screen readers read the text.
- *order*: a right-to-left paragraph is cut into runs of one direction (:func:`runs`),
  the runs are placed from the right, each Arabic run shaped right to left by HarfBuzz
  (which also mirrors its brackets), each Latin or number run left to right. This is
  the part of the Unicode bidirectional algorithm (UAX #9) that text without explicit
  embeddings needs: strong letters decide, digits read left to right, neutral
  characters (spaces, punctuation) between two runs of one direction join them,
  elsewhere they take the paragraph's direction.

Fonts: DejaVu Sans (Debian ``fonts-dejavu-core``; ``assets/fonts/`` first), which has
French, Spanish and Arabic glyphs; registered here, since the back office may not import
``printer/`` (DESIGN.md). The same blocks give the same bytes: the document's dates
come from the caller (``created``), and reportlab's invariant mode fixes its ID.
"""

from __future__ import annotations

import enum
import functools
import io
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reportlab.lib.abag import ABag
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont, shapeFragWord
from reportlab.pdfgen.canvas import Canvas

import assets
from backoffice.errors import BackofficeError

log = logging.getLogger(__name__)

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
FONT_FOLDERS = (assets.path("fonts"), Path("/usr/share/fonts/truetype/dejavu"))
CREATOR = "deposit-kiosk back office"

MARGIN = 56.0                 # points (about 2 cm)
PAGE_WIDTH, PAGE_HEIGHT = A4


class FontMissing(BackofficeError):
    """DejaVu Sans is neither in assets/fonts/ nor where Debian installs it."""


class Style(enum.Enum):
    """How a block looks: font, size, and the space above it (points)."""

    TITLE = (BOLD, 17.0, 0.0)
    HEADING = (BOLD, 11.5, 11.0)
    TEXT = (REGULAR, 10.0, 4.0)
    SMALL = (REGULAR, 8.5, 4.0)

    @property
    def font(self) -> str:
        return self.value[0]

    @property
    def size(self) -> float:
        return self.value[1]

    @property
    def space_before(self) -> float:
        return self.value[2]


@dataclass(frozen=True)
class Block:
    style: Style
    text: str


@dataclass(frozen=True)
class Part:
    """One language's text: its blocks, and whether it reads right to left. Each part starts
    on a new page."""

    rtl: bool
    blocks: tuple[Block, ...]


def _font_file(name: str) -> Path:
    for folder in FONT_FOLDERS:
        candidate = folder / f"{name}.ttf"
        if candidate.is_file():
            return candidate
    raise FontMissing(f"{name}.ttf not found in {', '.join(str(f) for f in FONT_FOLDERS)} "
                      "(install the Debian package fonts-dejavu-core)")


@functools.cache
def register_fonts() -> None:
    """Register DejaVu Sans regular and bold with reportlab, once (shared with any other
    module that registered the same files under the same names)."""
    for name in (REGULAR, BOLD):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(_font_file(name))))
        if not pdfmetrics.getFont(name).shapable:
            raise FontMissing(f"{name} cannot be shaped: is uharfbuzz installed?")


# ---------------------------------------------------------------------- direction
def _strength(char: str) -> bool | None:
    """True for a right-to-left letter, False for a left-to-right letter or a digit (numbers
    read left to right even in Arabic), None for a neutral character."""
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return True
    if kind in ("L", "EN", "AN"):
        return False
    return None


_OPENING = {"(": ")", "[": "]", "{": "}"}


def _bracket_pairs(text: str) -> list[tuple[int, int]]:
    """The positions of matched brackets (UAX #9, BD16), in the order they open."""
    stack: list[tuple[int, str]] = []
    pairs: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        if char in _OPENING:
            stack.append((index, _OPENING[char]))
        elif char in _OPENING.values():
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][1] == char:
                    pairs.append((stack[depth][0], index))
                    del stack[depth:]
                    break
    return sorted(pairs)


def runs(text: str, rtl: bool = True) -> list[tuple[str, bool]]:
    """``text`` cut into runs of one direction, in logical order: ``(run, is_rtl)``.

    A pair of brackets takes the direction of what it encloses when the text before it
    has that direction too, else the paragraph's (UAX #9, N0): "(RSA)" in Arabic text
    stays right to left around its Latin letters, "3230 (service gratuit)" keeps its
    brackets with the French words. Other neutral characters between two runs of the
    same direction join them; any other neutral takes the paragraph's direction
    (``rtl``). Digits count as left to right (UAX #9 counts them as right to left when
    it resolves neutrals next to them; the difference shows only between a number and
    a Latin word, where this reads as well).
    """
    strengths = [_strength(c) for c in text]
    for opening, closing in _bracket_pairs(text):
        inside = strengths[opening + 1:closing]
        if rtl in inside:
            pair: bool = rtl
        elif (not rtl) in inside:
            pair = next((s for s in reversed(strengths[:opening]) if s is not None), rtl)
        else:
            continue
        strengths[opening] = strengths[closing] = pair
    resolved: list[bool] = []
    for index, strength in enumerate(strengths):
        if strength is not None:
            resolved.append(strength)
            continue
        before = next((s for s in reversed(strengths[:index]) if s is not None), None)
        after = next((s for s in strengths[index + 1:] if s is not None), None)
        resolved.append(before if before is not None and before == after else rtl)
    out: list[tuple[str, bool]] = []
    for char, char_rtl in zip(text, resolved, strict=True):
        if out and out[-1][1] == char_rtl:
            out[-1] = (out[-1][0] + char, char_rtl)
        else:
            out.append((char, char_rtl))
    return out


_MIRRORED = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


#: HarfBuzz features: kerning and the ligatures a script requires (Arabic's lam-alef), not
#: reportlab's default discretionary ligatures, which turn "st" into one odd glyph.
FEATURES = {"kern": True, "liga": True}


def _shaped(text: str, font: str, size: float, rtl: bool) -> tuple[str, float]:
    """The string to draw for one run and its width. A right-to-left run is shaped by
    HarfBuzz (joined forms, glyphs in visual order, brackets mirrored), or, when it holds
    only neutral characters, reversed and mirrored here (HarfBuzz would not know its
    direction); a left-to-right run needs neither."""
    plain = float(pdfmetrics.stringWidth(text, font, size))
    if not rtl:
        return text, plain
    if not any(_strength(c) for c in text):
        return text[::-1].translate(_MIRRORED), plain
    word = shapeFragWord([plain, (ABag(fontName=font, fontSize=size), text)], features=FEATURES)
    shaped = word[1][1]
    if isinstance(shaped, ShapedStr):
        data = shaped.__shapeData__  # type: ignore[attr-defined]
        return shaped, sum(d.x_advance for d in data) * size / 1000
    return text, plain


def line_width(text: str, font: str, size: float, rtl: bool) -> float:
    if not rtl:
        return float(pdfmetrics.stringWidth(text, font, size))
    return sum(_shaped(run, font, size, run_rtl)[1] for run, run_rtl in runs(text))


def wrap(text: str, font: str, size: float, width: float, rtl: bool) -> list[str]:
    """``text`` cut into lines no wider than ``width`` at spaces (a word longer than a line,
    such as an address, stands alone on its line); ``\\n`` forces a new line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and line_width(candidate, font, size, rtl) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


# ---------------------------------------------------------------------- pages
class _Pages:
    """A canvas, the current height, new pages as the text needs them."""

    def __init__(self, canvas: Canvas, footer: str) -> None:
        self.canvas = canvas
        self.footer = footer
        self.number = 0
        self.y = 0.0

    def new_page(self) -> None:
        if self.number:
            self.canvas.showPage()
        self.number += 1
        self.canvas.setFont(REGULAR, 7.5)
        self.canvas.drawString(MARGIN, MARGIN / 2, f"{self.footer} · {self.number}")
        self.y = PAGE_HEIGHT - MARGIN

    def draw_line(self, text: str, style: Style, rtl: bool) -> None:
        leading = style.size * 1.35
        if self.y - leading < MARGIN:
            self.new_page()
        self.y -= leading
        canvas = self.canvas
        canvas.setFont(style.font, style.size)
        if not rtl:
            canvas.drawString(MARGIN, self.y, text)
            return
        right = PAGE_WIDTH - MARGIN
        for run, run_rtl in runs(text):
            shaped, width = _shaped(run, style.font, style.size, run_rtl)
            right -= width
            canvas.drawString(right, self.y, shaped)


def render(parts: Sequence[Part], *, title: str, subject: str, footer: str,
           created: datetime, language: str) -> bytes:
    """The PDF of ``parts``, each on its own pages; ``created`` is the document's creation
    and modification date (same arguments, same bytes)."""
    register_fonts()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, pageCompression=1,
                    initialFontName=REGULAR,  # type: ignore[arg-type]  # stub says float
                    lang=language)
    stamp = _pdf_date(created)
    canvas.setDateFormatter(lambda *_: stamp)
    canvas.setTitle(title)
    canvas.setSubject(subject)
    canvas.setAuthor("")
    canvas.setCreator(CREATOR)
    pages = _Pages(canvas, footer)
    width = PAGE_WIDTH - 2 * MARGIN
    for part in parts:
        pages.new_page()
        first = True
        for block in part.blocks:
            if not first:
                pages.y -= block.style.space_before
            first = False
            for line in wrap(block.text, block.style.font, block.style.size, width, part.rtl):
                pages.draw_line(line, block.style, part.rtl)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _pdf_date(moment: datetime) -> str:
    """A PDF date (ISO 32000-1, 7.9.4) of an aware datetime: ``D:20261205091500+00'00'``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a PDF date needs an aware datetime")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return moment.strftime("D:%Y%m%d%H%M%S") + f"{sign}{hours:02d}'{rest:02d}'"
