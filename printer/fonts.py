"""DejaVu Sans for the PDFs and the screen receipt: every French letter, the euro sign.

Looked up in ``assets/fonts/`` first (a deployment may ship its own copy), then in
Debian's ``fonts-dejavu-core`` (installed by ``bin/setup``). reportlab embeds the
subset of glyphs a PDF uses, so the PDF reads the same on any workstation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

import assets
from printer.errors import FontError

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
SEARCH_PATH = (assets.path("fonts"), Path("/usr/share/fonts/truetype/dejavu"))


def font_path(name: str) -> Path:
    """The file of ``name`` (``DejaVuSans`` or ``DejaVuSans-Bold``).

    Raises FontError naming the folders searched.
    """
    for folder in SEARCH_PATH:
        candidate = folder / f"{name}.ttf"
        if candidate.is_file():
            return candidate
    raise FontError(f"{name}.ttf not found in {', '.join(str(f) for f in SEARCH_PATH)} "
                    f"(install the Debian package fonts-dejavu-core)")


@functools.cache
def register_pdf_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) with reportlab once; returns their names."""
    for name in (REGULAR, BOLD):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
    addMapping(REGULAR, 0, 0, REGULAR)
    addMapping(REGULAR, 1, 0, BOLD)
    addMapping(REGULAR, 0, 1, REGULAR)
    addMapping(REGULAR, 1, 1, BOLD)
    return REGULAR, BOLD


def pdf_date(moment: datetime) -> str:
    """A PDF date string (ISO 32000-1, 7.9.4) for an aware datetime: ``D:20251122155712+01'00'``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a PDF date needs an aware datetime")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return moment.strftime("D:%Y%m%d%H%M%S") + f"{sign}{hh:02d}'{mm:02d}'"


def dated_canvas(moment: datetime) -> Callable[..., Canvas]:
    """A reportlab canvas maker whose document says it was created (and last modified) at
    ``moment`` instead of now, and whose first font is DejaVu Sans, not the non-embedded
    Helvetica."""
    stamp = pdf_date(moment)
    regular, _ = register_pdf_fonts()

    def make(*args: Any, **kwargs: Any) -> Canvas:
        kwargs["initialFontName"] = regular
        canvas = Canvas(*args, **kwargs)
        canvas.setDateFormatter(lambda *_: stamp)
        return canvas

    return make
