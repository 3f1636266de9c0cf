"""Text for a fixed-width printer: widths, word wrapping, and what a code page can print.

The code page itself is chosen by the driver (``drivers.printer.profiles.choose_code_page``:
WPC1252, else PC858, else PC850, else PC437); the layout fits its text to that page
first, so that what it wraps is exactly what prints.

Widths are counted in printer columns: a precomposed "é" is one column, a
combining accent none, a wide East Asian character two. Text is put in NFC
first, so "é" typed as "e" + U+0301 still counts as one column and prints as
one character of the code page. No-break spaces (U+00A0, U+202F: French puts one
before ":" and in "15 h 30") hold their neighbours on one line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

NO_BREAK_SPACES: Final = "\u00a0\u202f\u2007"

#: What to print for a character the chosen code page lacks, before falling back to "?".
SUBSTITUTES: Final = {
    "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE",
    "€": "EUR",
    "’": "'", "‘": "'", "‚": ",", "“": '"', "”": '"', "„": '"',
    "«": '"', "»": '"', "‹": "<", "›": ">",
    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
    "…": "...", "•": "-", "·": ".",
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ",
}


def fit_to_codec(text: str, codec: str, *, keep_no_break: bool = False) -> str:
    """``text`` with each character the code page cannot print replaced by a look-alike.

    Accented letters a code page lacks lose their accent ("ŝ" -> "s") before becoming
    "?". No-break spaces become plain spaces (the printer wraps nothing itself) unless
    ``keep_no_break``: fit, then :func:`wrap`, then :func:`plain_spaces`.
    """
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in NO_BREAK_SPACES:
            out.append(char if keep_no_break else " ")
            continue
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            pass
        else:
            out.append(char)
            continue
        substitute = SUBSTITUTES.get(char)
        if substitute is not None and _encodable(substitute, codec):
            out.append(substitute)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", char)
                       if not unicodedata.combining(c))
        out.append(base if base and _encodable(base, codec) else "?")
    return "".join(out)


def fits_code_page(text: str, codec: str) -> bool:
    """True when :func:`fit_to_codec` prints every character of ``text`` as itself or a
    look-alike; False when one would become "?" (Arabic, Greek, any other script): such a
    text is printed as an image (:mod:`printer.raster`)."""
    for char in unicodedata.normalize("NFC", text):
        if char in NO_BREAK_SPACES or char == "?" or _encodable(char, codec):
            continue
        if fit_to_codec(char, codec) == "?":
            return False
    return True


def plain_spaces(text: str) -> str:
    """No-break spaces as plain spaces, once the text is wrapped."""
    return text.translate({ord(c): " " for c in NO_BREAK_SPACES})


def _encodable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(c) for c in unicodedata.normalize("NFC", text))


_BREAKABLE = re.compile(r"[ \t\r\f\v]+")   # str.split() would also split at no-break spaces


#: Where an URL or an address cut across lines reads best: after one of these, the
#: first group preferred (not inside a deposit number or a host name when avoidable).
URL_BREAKS: Final = ("/?&", ".=@-")


def break_point(head: str) -> int:
    """Where to cut ``head``, the part of a long word that fits a line: after its last
    URL separator when that keeps at least half of the line, else at its end."""
    for separators in URL_BREAKS:
        best = max(head.rfind(c) for c in separators) + 1
        if best * 2 >= len(head):
            return best
    return len(head)


def _cut(word: str, room: int) -> tuple[str, str]:
    """A head of ``word`` within ``room`` columns (at least one character), and the rest."""
    used = 0
    for i, char in enumerate(word):
        used += char_width(char)
        if used > room:
            i = break_point(word[:max(i, 1)])
            return word[:i], word[i:]
    return word, ""


def wrap(text: str, width: int, *, indent: int = 0, first_indent: int = 0) -> list[str]:
    """Greedy word wrap to ``width`` columns.

    Continuation lines start with ``indent`` spaces, the first line of each paragraph
    with ``first_indent``; explicit newlines are kept; words longer than a line (an URL)
    are cut. Breaks only at ordinary spaces, never at no-break spaces.
    """
    if width - max(indent, first_indent) < 1:
        raise ValueError(f"no room to wrap: width {width}, indent {max(indent, first_indent)}")
    lines: list[str] = []
    for paragraph in unicodedata.normalize("NFC", text).split("\n"):
        line = " " * first_indent
        used, has_word = first_indent, False
        for word in (w for w in _BREAKABLE.split(paragraph) if w):
            w = display_width(word)
            if has_word and used + 1 + w <= width:
                line += " " + word
                used += 1 + w
                continue
            if has_word:
                lines.append(line)
                line, used, has_word = " " * indent, indent, False
            while used + w > width:
                head, word = _cut(word, width - used)
                lines.append(line + head)
                line, used = " " * indent, indent
                w = display_width(word)
            line += word
            used += w
            has_word = True
        lines.append(line if has_word else "")
    return lines


def columns_text(left: str, right: str, width: int, *, indent: int = 2) -> list[str]:
    """``left`` wrapped short of ``right``, which sits at the right margin of its last
    line (or, when the detail leaves too little room, of a line of its own)::

        - Justificatif de domicile    | rather than  - Justificatif de domicile de
          de moins de 3 mois  1 page  |                moins de 3 mois       1 page
    """
    rw = display_width(right)
    room = width - rw - 1
    if room - indent >= 12:
        lines = wrap(left, room, indent=indent)
        last = lines[-1]
        lines[-1] = last + " " * (width - display_width(last) - rw) + right
        return lines
    lines = wrap(left, width, indent=indent)
    last = lines[-1]
    if display_width(last) + 1 + rw <= width:
        lines[-1] = last + " " * (width - display_width(last) - rw) + right
    else:
        lines.append(" " * (width - rw) + right if rw <= width else right[:width])
    return lines
