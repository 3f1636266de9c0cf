"""Printer profiles from python-escpos's capability database, and the code page choice.

A profile says how wide the paper is in dots and characters, which ``ESC t n``
numbers select which code pages, and whether the model has the native QR
command (``GS ( k``) and a cutter. The ``width=58|80`` URL option overrides the
profile's paper width (the same model is sold for both rolls).

Code page: every job selects it itself (``ESC t n``), never leaving the choice
to python-escpos's automatic encoding. French text needs "é è à ç ô œ €":

1. WPC1252 where the profile has it (Epson number 16): all of them;
2. else PC858 (Epson 19): everything but "œ"/"Œ", printed "oe"/"OE";
3. else PC850, then PC437 (old or impact models): accented letters where the
   page has them, "EUR" for the euro sign; a warning is logged.

Characters a page lacks are replaced by :data:`FALLBACKS`, then by the letter
without its accent, then by "?" -- never by bytes of another page.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from drivers.errors import DeviceURLError
from drivers.printer._escpos import CAPABILITIES
from drivers.printer.base import PrinterProfile

log = logging.getLogger(__name__)

#: The profile used when the URL names none: a common 80 mm Epson model.
DEFAULT_PROFILE = "TM-T88V"

#: Code pages good for French, best first, with the Epson ``ESC t`` number
#: preferred when a profile lists the page under several numbers.
PREFERRED_CODE_PAGES: tuple[tuple[str, int], ...] = (
    ("CP1252", 16),
    ("CP858", 19),
    ("CP850", 2),
    ("CP437", 0),
)

#: Names accepted by the ``codepage=`` URL option, and the page each forces.
CODE_PAGE_OPTIONS: dict[str, str | None] = {
    "auto": None, "wpc1252": "CP1252", "pc858": "CP858", "pc850": "CP850", "pc437": "CP437",
}

#: Replacements for characters a code page lacks (applied before stripping accents).
FALLBACKS: dict[str, str] = {
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "€": "EUR", "ß": "ss",
    "’": "'", "‘": "'", "‚": ",", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "…": "...", "–": "-", "—": "-", "‐": "-", "‑": "-", "•": "*", "·": ".",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
}

#: Printable width in dots for a paper roll width (mm) at a resolution (dpi).
_DOTS: dict[tuple[int, int], int] = {
    (80, 180): 512, (58, 180): 360,
    (80, 203): 576, (58, 203): 384,
}
_PRINTABLE_MM = {80: 72.0, 58: 48.0}
FONT_A_WIDTH = 12  # dots per character of Font A, the font every job uses


@dataclass(frozen=True)
class CodePage:
    """A code page selected with ``ESC t number``, encoded with Python's ``codec``."""

    number: int
    name: str
    codec: str


def profile_names() -> list[str]:
    """Every profile name python-escpos knows, sorted."""
    return sorted(CAPABILITIES["profiles"])


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def dots_for(width_mm: int, dpi: int) -> int:
    """Printable dots across a ``width_mm`` roll at ``dpi``."""
    known = _DOTS.get((width_mm, dpi))
    if known is not None:
        return known
    return int(_PRINTABLE_MM.get(width_mm, width_mm - 8) * dpi / 25.4) // 8 * 8


def load_profile(name: str = DEFAULT_PROFILE, *, width: int | None = None) -> PrinterProfile:
    """The :class:`PrinterProfile` of python-escpos profile ``name``.

    ``width`` (58 or 80 mm) overrides the paper width; dots and columns follow.
    Raises DeviceURLError for an unknown profile name, naming the known ones.
    """
    profiles = CAPABILITIES["profiles"]
    if name not in profiles:
        raise DeviceURLError(
            f"unknown printer profile {name!r} (known: {', '.join(profile_names())})"
        )
    data = profiles[name]
    media = data.get("media", {})
    features = data.get("features", {})
    dpi_value = _number(media.get("dpi"))
    dpi = int(dpi_value) if dpi_value else 203
    media_mm = _number(media.get("width", {}).get("mm"))
    media_dots = _number(media.get("width", {}).get("pixels"))
    font_a = data.get("fonts", {}).get("0", {}).get("columns")

    if width is not None:
        paper_mm = width
        dots = dots_for(width, dpi)
        columns = dots // FONT_A_WIDTH
    else:
        paper_mm = 80 if media_mm is None or media_mm > 60 else 58
        dots = int(media_dots) if media_dots else dots_for(paper_mm, dpi)
        columns = int(font_a) if isinstance(font_a, int) else dots // FONT_A_WIDTH
        columns = min(columns, dots // FONT_A_WIDTH) or columns

    table = tuple(sorted((int(number), str(page)) for number, page in data["codePages"].items()
                         if str(page) != "Unknown"))
    return PrinterProfile(
        name=name,
        paper_width_mm=paper_mm,
        dots_per_line=dots,
        columns=columns,
        code_pages=frozenset(page for _, page in table),
        native_qr=bool(features.get("qrCode")),
        cutter=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        dpi=dpi,
        partial_cut=bool(features.get("paperPartCut")),
        code_page_table=table,
    )


def choose_code_page(profile: PrinterProfile, force: str | None = None) -> CodePage:
    """The code page a job selects on this printer (see the module docstring).

    ``force`` is a page name (``"CP858"``) the URL asked for. Raises
    DeviceURLError when the profile has no page usable for French text, or not
    the forced one.
    """
    numbers: dict[str, list[int]] = {}
    for number, page in profile.code_page_table:
        numbers.setdefault(page, []).append(number)
    candidates = PREFERRED_CODE_PAGES
    if force is not None:
        candidates = tuple((page, epson) for page, epson in PREFERRED_CODE_PAGES if page == force)
    for page, epson in candidates:
        if page in numbers:
            number = epson if epson in numbers[page] else min(numbers[page])
            chosen = CodePage(number=number, name=page, codec=codecs.lookup(page).name)
            if page in ("CP850", "CP437"):
                log.warning("printer profile %s has neither WPC1252 nor PC858: printing French "
                            "text with %s, the euro sign as EUR", profile.name, page)
            return chosen
    wanted = force or "WPC1252, PC858, PC850 or PC437"
    raise DeviceURLError(f"printer profile {profile.name!r} has no code page {wanted} "
                         f"(it has: {', '.join(sorted(profile.code_pages)) or 'none'})")


def encode_text(text: str, code_page: CodePage) -> bytes:
    """``text`` in the bytes of ``code_page``; ``\\n`` stays a line feed.

    Control characters (which could smuggle commands into the stream) become
    nothing (a tab becomes a space); characters the page lacks go through
    :data:`FALLBACKS`, then lose their accents, then become "?".
    """
    out = bytearray()
    for char in text:
        if char == "\n":
            out += b"\n"
            continue
        if char == "\t":
            char = " "
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        out += _encode_char(char, code_page.codec)
    return bytes(out)


def _encode_char(char: str, codec: str) -> bytes:
    try:
        encoded = char.encode(codec)
    except UnicodeEncodeError:
        pass
    else:
        if all(byte >= 0x20 for byte in encoded):
            return encoded
    replacement = FALLBACKS.get(char)
    if replacement is not None:
        return b"".join(_encode_char(c, codec) for c in replacement)
    bare = "".join(c for c in unicodedata.normalize("NFKD", char)
                   if not unicodedata.combining(c))
    if bare and bare != char:
        return b"".join(_encode_char(c, codec) for c in bare)
    return b"?"
