"""Text for the ear: what the kiosk hands espeak-ng, per language.

A screen's text is written for the eye. Read as it is, espeak-ng 1.51 (checked
with ``espeak-ng -v VOICE -x TEXT``, which prints the phonemes it would say):

- reads "8 h 30" and "8h30" in French as "huit ache trente", and "12:05" as
  "douze heures zéro cinq"; in English "8:05" is "eight zero five" and "12:00"
  "twelve zero zero"; in Spanish "8:05" is "ocho cero cinco"; in Arabic "8:05"
  is "thamaniya sifr khamsa". :func:`speakable` rewrites times so that each
  voice says them as people do: "8 heures 30", "8 oh 5", "8 y 5", "8 و 5";
  "8:30" is left alone in English, which espeak reads "eight thirty";
- says nothing for ✓ ✗ ⇧ ⌫ ★ and most arrows, but reads emoji by their name
  ("📷 Photo" becomes "appareil photo photo", "👍 Thanks" "thumbs up thanks"):
  on the kiosk's screens they are decoration beside words that say the same, so
  symbols and emoji are dropped, and a key or a line
  that is nothing but one symbol is named in the citizen's language ("⌫" is
  "effacer"), so that a keypad's spoken focus says something on every key;
- reads "Page 1/3" as "page un trois" and "N°" as "N": they become "1 sur 3",
  "numéro"; an ellipsis or a bullet inside a line becomes a pause (a comma).

Numbers stay digits: each voice reads digits in its own language, while numbers
written as words would have to be right in four grammars.

:func:`spell` says a code one character at a time (deposit numbers, typed
codes); for a deposit number in a language the receipts speak it is exactly
:func:`printer.speech.spell_deposit_id`, so the screen and the receipt say the
number the same way. :func:`entry` reads a typed entry (an e-mail address, a
phone number) with its punctuation named; :func:`masked` is the neutral
sentence said instead of a private entry on the loudspeaker.

Languages are the session's codes ("fr", "en", "es", "ar", "fr-falc"); an
unknown one is read with the French tables, as :mod:`kiosk.speech` falls back to
the French voice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from printer.i18n import available_languages
from printer.speech import spell_deposit_id


@dataclass(frozen=True)
class _Words:
    """What one language calls the things this module names."""

    hours: tuple[str, str]        # singular (0 and 1 in French), plural
    fraction: str                 # "1/3" -> "1 {fraction} 3"
    number_sign: str              # "N°"
    masked: tuple[str, str, str]  # empty, one character, {n} characters
    symbols: dict[str, str]       # a key or a line made of this one symbol
    characters: dict[str, str]    # punctuation named when spelling or reading an entry


_FR = _Words(
    hours=("heure", "heures"), fraction="sur", number_sign="numéro",
    masked=("saisie masquée, vide", "saisie masquée, 1 caractère",
            "saisie masquée, {n} caractères"),
    symbols={"✓": "validé", "✔": "validé", "✗": "fermer", "✕": "fermer", "✖": "fermer",
             "⌫": "effacer", "⇧": "majuscules", "‹": "précédent", "←": "précédent",
             "›": "suivant", "→": "suivant", "␣": "espace", "↵": "valider"},
    characters={".": "point", "@": "arobase", "-": "tiret", "_": "tiret bas", "+": "plus",
                "*": "étoile", "~": "tilde", "$": "dollar", "=": "égal", "/": "barre oblique",
                ",": "virgule", "'": "apostrophe", " ": "espace"},
)
_EN = _Words(
    hours=("o'clock", "o'clock"), fraction="of", number_sign="number",
    masked=("hidden entry, empty", "hidden entry, 1 character", "hidden entry, {n} characters"),
    symbols={"✓": "done", "✔": "done", "✗": "close", "✕": "close", "✖": "close",
             "⌫": "delete", "⇧": "capitals", "‹": "previous", "←": "previous",
             "›": "next", "→": "next", "␣": "space", "↵": "enter"},
    characters={".": "dot", "@": "at", "-": "dash", "_": "underscore", "+": "plus",
                "*": "star", "~": "tilde", "$": "dollar", "=": "equals", "/": "slash",
                ",": "comma", "'": "apostrophe", " ": "space"},
)
_ES = _Words(
    hours=("en punto", "en punto"), fraction="de", number_sign="número",
    masked=("entrada oculta, vacía", "entrada oculta, 1 carácter",
            "entrada oculta, {n} caracteres"),
    symbols={"✓": "hecho", "✔": "hecho", "✗": "cerrar", "✕": "cerrar", "✖": "cerrar",
             "⌫": "borrar", "⇧": "mayúsculas", "‹": "anterior", "←": "anterior",
             "›": "siguiente", "→": "siguiente", "␣": "espacio", "↵": "aceptar"},
    characters={".": "punto", "@": "arroba", "-": "guion", "_": "guion bajo", "+": "más",
                "*": "asterisco", "~": "tilde", "$": "dólar", "=": "igual", "/": "barra",
                ",": "coma", "'": "apóstrofo", " ": "espacio"},
)
_AR = _Words(
    hours=("", ""), fraction="من", number_sign="رقم",
    masked=("إدخال مخفي، فارغ", "إدخال مخفي، حرف واحد", "إدخال مخفي، عدد الأحرف {n}"),
    symbols={"✓": "تم", "✔": "تم", "✗": "إغلاق", "✕": "إغلاق", "✖": "إغلاق",
             "⌫": "حذف", "⇧": "الأحرف الكبيرة", "‹": "السابق", "←": "السابق",
             "›": "التالي", "→": "التالي", "␣": "مسافة", "↵": "تأكيد"},
    characters={".": "نقطة", "@": "آت", "-": "شرطة", "_": "شرطة سفلية", "+": "زائد",
                "*": "نجمة", "~": "تيلدا", "$": "دولار", "=": "يساوي", "/": "شرطة مائلة",
                ",": "فاصلة", "'": "فاصلة علوية", " ": "مسافة"},
)
_WORDS = {"fr": _FR, "en": _EN, "es": _ES, "ar": _AR}


def base_language(language: str) -> str:
    """``fr`` for ``fr-falc``; French for a language these tables do not know."""
    base = language.split("-", 1)[0].lower()
    return base if base in _WORDS else "fr"


# ------------------------------------------------------------------ times

_HOUR = r"(?<![\d:/.,])([01]?\d|2[0-3])"
_CLOCK = re.compile(_HOUR + r"(?::|\s?[hH]\s?)([0-5]\d)(?![\d:])")   # 8:30, 08:30, 8 h 30, 8h30
_HOUR_ONLY = re.compile(_HOUR + r"\s?[hH](?!\w)")                  # 8 h, 8h


def _say_time(language: str, hour: int, minute: int | None) -> str:
    words = _WORDS[language]
    if language == "fr":
        said = f"{hour} {words.hours[0] if hour < 2 else words.hours[1]}"
        return f"{said} {minute}" if minute else said
    if language == "en":
        if not minute:
            return f"{hour} o'clock" if hour <= 12 else f"{hour} hundred hours"
        return f"{hour} oh {minute}" if minute < 10 else f"{hour}:{minute:02d}"
    joiner = " y " if language == "es" else " و "
    if not minute:
        return f"{hour} en punto" if language == "es" else str(hour)
    return f"{hour}{joiner}{minute}"


def _times(text: str, language: str) -> str:
    text = _CLOCK.sub(lambda m: _say_time(language, int(m[1]), int(m[2])), text)
    return _HOUR_ONLY.sub(lambda m: _say_time(language, int(m[1]), None), text)


# ------------------------------------------------------------------ symbols

_FRACTION = re.compile(r"(?<![\d/])(\d{1,3})\s?/\s?(\d{1,3})(?![\d/])")
_NUMBER_SIGN = re.compile(r"\b[Nn][°º]\s?(?=\d)")
_PAUSES = str.maketrans({"…": ",", "•": ",", "·": ",", "‣": ",", "◦": ","})
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\t": " "})
_KEEP = {"°", "©", "®", "€", "%"}


def _silent(char: str) -> bool:
    """A character espeak-ng reads badly or as a foreign name: symbols, arrows, emoji and
    the invisible joiners, variation selectors and skin tones that build emoji."""
    if char in _KEEP:
        return False
    if char in "‹›":
        return True
    category = unicodedata.category(char)
    return category in ("So", "Sk", "Cs", "Co") or (
        category in ("Cf", "Mn") and ("\u200b" <= char <= "\u200d" or
                                       "\ufe00" <= char <= "\ufe0f")) or (
        category == "Sm" and "\u2190" <= char <= "\u21ff")


def _line(line: str, language: str) -> str:
    words = _WORDS[language]
    stripped = line.strip()
    if stripped in words.symbols:
        return words.symbols[stripped]
    line = _NUMBER_SIGN.sub(words.number_sign + " ", line)
    line = _times(line, language)
    line = _FRACTION.sub(lambda m: f"{m[1]} {words.fraction} {m[2]}", line)
    line = line.lstrip(" •·‣◦").translate(_PAUSES)
    line = "".join(c for c in line if not _silent(c))
    line = re.sub(r"\s+", " ", line).strip(" ,")
    line = re.sub(r"\s+([,.;:!?])", r"\1", line) if language != "fr" else line
    return re.sub(r",(\s*,)+", ",", line)


def speakable(text: str, language: str) -> str:
    """``text`` as espeak-ng should receive it in ``language``: times said as people say
    them, symbols and emoji dropped (or named when a line is nothing else), fractions and
    "N°" in words. Lines stay lines (each is a sentence for the speech queue); empty lines
    go."""
    language = base_language(language)
    text = unicodedata.normalize("NFC", text).translate(_SPACES)
    lines = (_line(line, language) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# ------------------------------------------------------------------ spelling


@dataclass(frozen=True)
class _Groups:
    """A code in the shape :func:`printer.speech.spell_deposit_id` reads."""

    groups: tuple[str, ...]


_DEPOSIT_SYMBOLS = set("*~$=")


def spell(text: str, language: str, *, separators: str = " -") -> str:
    """``K012-7F3Q`` → ``K, 0, 1, 2. 7, F, 3, Q``: one character at a time, commas between
    characters, a full stop (a pause) between the groups that ``separators`` delimit,
    punctuation named ("jean.d" with ``separators=" "`` → ``j, e, a, n, point, d``).

    A deposit number in a language the receipts speak goes through
    :func:`printer.speech.spell_deposit_id` itself."""
    language = base_language(language)
    groups = tuple(g for g in re.split("[" + re.escape(separators) + "]+", text.strip()) if g) \
        if separators else (text,)
    if not groups:
        return ""
    if language in available_languages() and all(
            c.isalnum() or c in _DEPOSIT_SYMBOLS for g in groups for c in g):
        return spell_deposit_id(_Groups(groups), language)
    names = _WORDS[language].characters
    return ". ".join(", ".join(names.get(c, c) for c in g) for g in groups)


_DIGIT_RUN = re.compile(r"\d{5,}")


def entry(text: str, language: str) -> str:
    """A typed entry read so that it can be checked by ear: punctuation named
    ("jean.dupont@example.fr" → "jean point dupont arobase example point fr") and long runs
    of digits said one digit at a time (espeak reads "612345678" as six hundred and
    twelve million...)."""
    language = base_language(language)
    names = _WORDS[language].characters
    text = _DIGIT_RUN.sub(lambda m: " ".join(m[0]), text.strip())
    said = "".join(f" {names[c]} " if c in names and c != " " else c for c in text)
    return re.sub(r"\s+", " ", said).strip()


def masked(length: int, language: str) -> str:
    """What the loudspeaker says instead of a private entry: ``saisie masquée, 14
    caractères``."""
    empty, one, many = _WORDS[base_language(language)].masked
    if length <= 0:
        return empty
    return one if length == 1 else many.format(n=length)
