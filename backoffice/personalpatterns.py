"""The detectors behind :mod:`backoffice.personaldata`: one pattern set per kind of personal data.

Why a module of its own: the rules (regular expressions, IBAN lengths, month names, birth
markers) and their checksums (mod 97, RIB key, Luhn, NIR key) are two thirds of the code; kept
apart from the public gate (kinds, reasons, overlaps, the message's format), each module stays
under the project's 500 lines and can be read on its own. The rules each detector
follows are written in :mod:`backoffice.personaldata`'s docstring, where the staff
documentation points; change both together.

A detector takes the folded view of a text (:func:`fold`) and yields :data:`Detection` spans.
It knows nothing of kinds, reasons or overlaps: :func:`backoffice.personaldata.find_personal_data`
ties each detector to its :class:`~backoffice.personaldata.PersonalDataKind` and settles
overlaps, so this module imports nothing from it (no import cycle). Like its caller it is
pure: ``re``, ``unicodedata`` and arithmetic.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Final

#: What one detector found: ``(start, end, mask, detail)``, the span ``view[start:end]``, a
#: harmless hint of the value and an extra remark (both may be empty; neither ever holds the
#: whole value). The fields of :class:`backoffice.personaldata.Finding` but the kind, which the
#: caller knows from the detector it called. A plain tuple (25 ns to build) rather than a named
#: tuple (215 ns, built in Python): with one per candidate, ``"06 " * 666`` was 0.05 ms slower.
Detection = tuple[int, int, str, str]


# ---------------------------------------------------------------- the folded view


class _Fold(dict[int, int]):
    """``str.translate`` table mapping one code point to one (offsets stay those of the text)."""

    _LIMIT: Final = 8192  # distinct code points remembered; the rest are folded again each time

    def __missing__(self, code: int) -> int:
        folded = code
        if code >= 0x80:
            char = chr(code)
            digit = unicodedata.decimal(char, None)
            if digit is not None:
                folded = 0x30 + digit
            elif 0xFF01 <= code <= 0xFF5E:         # full-width ASCII, ＠ among them
                folded = code - 0xFEE0
            elif char in "\u2018\u2019\u02bc":      # typographic apostrophes
                folded = 0x27
            else:
                category = unicodedata.category(char)
                if category == "Zs":                # no-break and narrow spaces of French amounts
                    folded = 0x20
                elif category == "Pd":              # non-breaking hyphen, dashes
                    folded = 0x2D
        if len(self) < self._LIMIT:
            self[code] = folded
        return folded


_FOLD: Final = _Fold()


def fold(text: str) -> str:
    """``text`` with every digit, full-width form, space, dash and apostrophe read as ASCII.

    One code point becomes one code point, so offsets in the view are offsets in ``text``.
    """
    return text if text.isascii() else text.translate(_FOLD)


# ---------------------------------------------------------------- e-mail addresses

_DOT: Final = r"(?:\.|\s*[\[({<]\s*(?:dot|point)\s*[\])}>]\s*|\s+(?:dot|point)\s+)"
_DOMAIN: Final = rf"(?P<domain>[\w-]+(?:{_DOT}[\w-]+)*{_DOT}(?P<tld>[a-z]{{2,24}}))(?![\w-])"
_LOCAL_START: Final = r"(?<![\w.+%-])"
_EMAIL_PLAIN: Final = re.compile(
    rf"{_LOCAL_START}(?P<local>[\w+%-]+(?:\.[\w+%-]+)*) ?@ ?{_DOMAIN}", re.IGNORECASE)
#: Dots the local part may be written with: not the bare word "point", which would let the local
#: part run over a whole sentence ("jean point dupont arobase ..." is found from "dupont").
_LOCAL_DOT: Final = r"(?:\.|\s*[\[({<]\s*(?:dot|point)\s*[\])}>]\s*)"
_EMAIL_OBFUSCATED: Final = re.compile(
    rf"{_LOCAL_START}(?P<local>(?>[\w+%-]+(?:{_LOCAL_DOT}[\w+%-]+)*))"
    r"(?:\s*[\[({<]\s*(?:at|arobase|@|a)\s*[\])}>]\s*|\s+arobase\s+)"
    rf"{_DOMAIN}", re.IGNORECASE)
#: ``jean.dupont@gmail``: no top-level domain, but a webmail or a local part shaped like one.
_EMAIL_NO_TLD: Final = re.compile(
    rf"{_LOCAL_START}(?P<local>[\w+%-]+(?:\.[\w+%-]+)*) ?@ ?(?P<domain>[\w-]+)(?![\w.-])",
    re.IGNORECASE)
_EMAIL_WORD_AT: Final = re.compile(
    rf"{_LOCAL_START}(?P<local>[\w+%-]+(?:\.[\w+%-]+)*)\s+at\s+{_DOMAIN}", re.IGNORECASE)
_ADDRESS_LIKE_LOCAL: Final = re.compile(r"[._+\-0-9]")
_WEBMAIL: Final = frozenset({
    "gmail", "googlemail", "hotmail", "outlook", "live", "msn", "yahoo", "ymail", "aol",
    "icloud", "me", "mac", "orange", "wanadoo", "free", "sfr", "neuf", "laposte", "bbox",
    "numericable", "club-internet", "gmx", "web", "proton", "protonmail", "pm", "tutanota",
    "yandex", "mail", "libertysurf", "aliceadsl", "noos", "voila", "tiscali",
})


def emails(view: str) -> Iterator[Detection]:
    for pattern in (_EMAIL_PLAIN, _EMAIL_OBFUSCATED, _EMAIL_WORD_AT, _EMAIL_NO_TLD):
        for m in pattern.finditer(view):
            local, domain = m["local"], m["domain"]
            if pattern is _EMAIL_WORD_AT or pattern is _EMAIL_NO_TLD:
                first_label = re.split(_DOT, domain, maxsplit=1, flags=re.IGNORECASE)[0]
                if not (_ADDRESS_LIKE_LOCAL.search(local) or first_label.lower() in _WEBMAIL):
                    continue
            tld = f".{m['tld']}" if pattern is not _EMAIL_NO_TLD else ""
            yield m.start(), m.end(), f"{local[0]}***@{domain[0]}***{tld}", ""


# ---------------------------------------------------------------- phone numbers

_NOT_AFTER: Final = r"(?<![\w+])"
_PHONE_FR: Final = re.compile(
    rf"{_NOT_AFTER}(?:"
    r"0[1-9](?P<s1>[ .\-/]?)[0-9]{2}(?:(?P=s1)[0-9]{2}){3}"     # 06 12 34 56 78, 0612345678
    r"|0[1-9](?:[ .\-][0-9]{2}){4}"     # 06.12 34-56.78: mixed, but a separator between pairs
    r"|0 [1-9](?: [0-9]){8}"                          # 0 6 1 2 3 4 5 6 7 8 (typed digit by digit)
    r"|0[1-9][0-9]{2}(?P<s2>[ .\-])[0-9]{3}(?P=s2)[0-9]{3}"     # 0800 123 456
    r"|0(?P<s3>[ .\-])[1-9][0-9]{2}(?P=s3)[0-9]{3}(?P=s3)[0-9]{3}"  # 0 800 123 456
    r")(?![0-9])")
_SEP: Final = r"(?: ?[.\-/] ?| )"
_GROUP: Final = r"(?:[0-9]++|\([0-9]{1,4}\))"
_PHONE_INTL: Final = re.compile(
    rf"{_NOT_AFTER}(?P<lead>\(?\+ ?|00 ?)(?P<body>[1-9][0-9]*+\)?"
    rf"(?:(?:{_SEP}|(?<=\))|(?=\())(?:{_GROUP}))*+)")
_ITEM: Final = re.compile(r"\(([0-9]{1,4})\)|[0-9]+")
_AMOUNT_AFTER: Final = re.compile(r" ?(?:[€$£%]|eur|euros?\b)", re.IGNORECASE)


def phones(view: str) -> Iterator[Detection]:
    for m in _PHONE_FR.finditer(view):
        if not _AMOUNT_AFTER.match(view, m.end()):
            yield m.start(), m.end(), f"…{view[m.end() - 2:m.end()]}", ""
    for m in _PHONE_INTL.finditer(view):
        items: list[tuple[str, int]] = []       # digits of each group, and where it ends
        for item in _ITEM.finditer(m["body"]):
            digits = item[1] if item[1] is not None else item[0]
            if item[0] == "(0)":                # the national trunk prefix: +33 (0)6 ...
                continue
            items.append((digits, m.start("body") + item.end()))
        while items and sum(len(d) for d, _ in items) > 15:
            items.pop()                         # the run went on into another number
        count = sum(len(d) for d, _ in items)
        least = 8 if "+" in m["lead"] else 9
        if count < least:
            continue
        end = items[-1][1]
        if _AMOUNT_AFTER.match(view, end):
            continue
        yield m.start(), end, f"…{view[end - 2:end]}", ""


# ---------------------------------------------------------------- bank accounts and cards

#: Lengths of IBANs by country (SWIFT registry, and the "experimental" IBANs of French-speaking
#: Africa that French services meet: DZ, CI, CM, SN, MA...).
_IBAN_LENGTHS: Final = {
    "AD": 24, "AE": 23, "AL": 28, "AO": 25, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BF": 28,
    "BG": 22, "BH": 22, "BI": 27, "BJ": 28, "BR": 29, "BY": 28, "CF": 27, "CG": 27, "CH": 21,
    "CI": 28, "CM": 27, "CR": 22, "CV": 25, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18,
    "DO": 28, "DZ": 26, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GA": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GQ": 27, "GR": 27, "GT": 28, "GW": 25,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IR": 26, "IS": 26, "IT": 27,
    "JO": 30, "KM": 27, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MA": 28, "MC": 27, "MD": 24, "ME": 22, "MG": 27, "MK": 19, "ML": 28,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "MZ": 25, "NE": 28, "NI": 28, "NL": 18, "NO": 15,
    "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SN": 28, "SO": 23,
    "ST": 25, "SV": 28, "TD": 27, "TG": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22,
    "VG": 24, "XK": 20, "YE": 30,
}
_IBAN: Final = re.compile(
    r"(?<![a-z0-9])(?P<cc>[a-z]{2})(?P<check>[0-9]{2})(?P<rest>(?:[ \-]?[a-z0-9]){10,32}+)",
    re.IGNORECASE)
_ALNUM: Final = re.compile(r"[a-z0-9]", re.IGNORECASE)
_RIB: Final = re.compile(
    r"(?<![\w])(?P<bank>[0-9]{5})(?P<s>[ .\-]?)(?P<branch>[0-9]{5})(?P=s)"
    r"(?P<account>[0-9a-z]{11})(?P=s)(?P<key>[0-9]{2})(?![\w])", re.IGNORECASE)
#: Letters of a RIB account number as the French banks read them (A and J are 1, ...).
_RIB_LETTERS: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")


def _mod97(text: str) -> int:
    """``text`` (digits and letters, A=10 ... Z=35) read as one number, modulo 97."""
    remainder = 0
    for char in text:
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder


def _rib_key_holds(bank: str, branch: str, account: str, key: str) -> bool:
    digits = account.upper().translate(_RIB_LETTERS)
    return (89 * int(bank) + 15 * int(branch) + 3 * int(digits)) % 97 == 97 - int(key)


def ibans(view: str) -> Iterator[Detection]:
    for m in _IBAN.finditer(view):
        country = m["cc"].upper()
        length = _IBAN_LENGTHS.get(country)
        if length is None:
            continue
        chars = list(_ALNUM.finditer(view, m.start("rest"), m.end("rest")))
        if len(chars) < length - 4:
            continue
        end = chars[length - 5].end()
        if end < len(view) and view[end].isalnum():
            continue                            # cut inside a word: not this country's length
        bban = "".join(c[0] for c in chars[:length - 4]).upper()
        check = m["check"]
        valid = _mod97(bban + country + check) == 1
        likely_typo = country == "FR" and (
            check == "76" or _rib_key_holds(bban[:5], bban[5:10], bban[10:21], bban[21:]))
        if not (valid or likely_typo):
            continue
        detail = "" if valid else "its check digits do not hold, so it is probably mistyped"
        yield m.start(), end, f"IBAN {country}…", detail
    for m in _RIB.finditer(view):
        holds = _rib_key_holds(m["bank"], m["branch"], m["account"], m["key"])
        if m["s"] or holds:
            detail = "" if holds else "its RIB key does not hold, so it is probably mistyped"
            yield m.start(), m.end(), "RIB", detail


_CARD: Final = re.compile(
    r"(?<![\w+])(?:[0-9]{13,19}"
    r"|[0-9]{4}(?P<s>[ \-])[0-9]{4}(?:(?P=s)[0-9]{4}){2}(?:(?P=s)[0-9]{1,3})?"
    r"|[0-9]{4}(?P<a>[ \-])[0-9]{6}(?P=a)[0-9]{5})(?![0-9])")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def cards(view: str) -> Iterator[Detection]:
    for m in _CARD.finditer(view):
        digits = re.sub(r"[^0-9]", "", m[0])
        issuer = (
            (len(digits) == 13 and digits[0] == "4")
            or (len(digits) == 15 and digits[:2] in {"34", "37"})
            or (16 <= len(digits) <= 19 and digits[0] in "23456"))
        if issuer and _luhn(digits):
            yield m.start(), m.end(), f"…{digits[-4:]}", ""


# ---------------------------------------------------------------- national numbers

_S: Final = r"[ .\-]?"
_NIR: Final = re.compile(
    rf"(?<![\w+])(?P<sex>[1-478]){_S}(?P<year>[0-9]{{2}}){_S}(?P<month>[0-9]{{2}}){_S}"
    rf"(?:(?P<dept>[0-9]{{2}}|2[ab]){_S}(?P<commune>[0-9]{{3}})"
    rf"|(?P<overseas>9[78][0-9]){_S}(?P<commune2>[0-9]{{2}}))"
    rf"{_S}(?P<order>[0-9]{{3}})(?:{_S}(?P<key>[0-9]{{2}}))?(?![\w])",
    re.IGNORECASE)
_TAX_NUMBER: Final = re.compile(
    r"(?<![\w+])(?!00)[0-3][0-9](?P<s>[ .]?)[0-9]{2}"
    r"(?P=s)[0-9]{3}(?P=s)[0-9]{3}(?P=s)[0-9]{3}(?![\w])")


def _nir_month_holds(month: int) -> bool:
    return 1 <= month <= 12 or month == 20 or 30 <= month <= 42 or month >= 50


def national_numbers(view: str) -> Iterator[Detection]:
    for m in _NIR.finditer(view):
        dept = (m["dept"] or m["overseas"]).upper()
        shape = _nir_month_holds(int(m["month"])) and dept != "00"
        key = m["key"]
        if key is None:
            if shape:
                yield m.start(), m.end(), "", ""
            continue
        number = "".join(m[g] or "" for g in
                         ("sex", "year", "month", "dept", "commune", "overseas", "commune2",
                          "order"))
        number = number.upper().replace("2A", "19", 1).replace("2B", "18", 1)
        holds = int(key) == 97 - int(number) % 97
        if holds or shape:
            detail = "" if holds else (
                "its key does not check, so it is probably mistyped, but it is still a "
                "person's number")
            yield m.start(), m.end(), "", detail
    for m in _TAX_NUMBER.finditer(view):
        yield m.start(), m.end(), "", ""


# ---------------------------------------------------------------- dates of birth

_MONTHS: Final = {
    # French
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2,
    "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
    "decembre": 12, "déc": 12,
    # English
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
    "diciembre": 12,
}
#: A word that may be a month's name (looked up in _MONTHS: one class is faster than ~70 names).
_MONTH: Final = r"[^\W\d_]{3,10}"
_DATES: Final = (
    re.compile(r"(?<![0-9])(?P<d>[0-9]{1,2})(?P<s>[/.\-])(?P<m>[0-9]{1,2})(?P=s)"
               r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9])"),
    re.compile(r"(?<![0-9])(?P<y>[0-9]{4})(?P<s>[/.\-])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"
               r"(?![0-9])"),
    re.compile(rf"(?<![\w])(?P<d>[0-9]{{1,2}})(?:er|st|nd|rd|th|º|°)?\s+(?:de\s+)?"
               rf"(?P<name>{_MONTH})(?![\w])\.?\s+(?:de\s+|del\s+)?(?P<y>[0-9]{{4}})(?![0-9])",
               re.IGNORECASE),
    re.compile(rf"(?<![\w])(?P<name>{_MONTH})(?![\w])\.?\s+(?P<d>[0-9]{{1,2}})"
               r"(?:st|nd|rd|th)?,?\s+(?P<y>[0-9]{4})(?![0-9])", re.IGNORECASE),
)
#: Markers that read as a verb ("born"): a place of birth may stand between them and the date.
_VERB_MARKER: Final = (r"né(?:e|\(e\))?s?(?![\w])|nee?\s+le(?![\w])|born(?![\w])"
                       r"|nacid[oa]s?(?![\w])|naci[óo](?![\w])|ولدت?(?![\w])|المولود|مولود")
#: Markers that read as a noun ("date of birth"): the date follows at once.
_NOUN_MARKER: Final = (r"(?:date\s+(?:et\s+lieu\s+)?de\s+|date\s+of\s+|fecha\s+de\s+|تاريخ\s+)?"
                       r"(?:naissance|naiss\.|birth(?:\s*date|day)?(?![\w])|nacimiento|الميلاد)"
                       r"|ddn(?![\w])|d\.?\s?o\.?\s?b(?![\w])\.?|مواليد")
_MARKER: Final = re.compile(rf"(?<![\w])(?:(?P<verb>{_VERB_MARKER})|(?P<noun>{_NOUN_MARKER}))",
                            re.IGNORECASE)
#: Document and attribute names that hold a marker but announce no date of birth.
_NOT_A_MARKER_BEFORE: Final = re.compile(
    r"(?<![\w])(?:actes?|extraits?|certificats?|bulletins?|fiches?|d[ée]clarations?|livrets?|lieux?"
    r"|pays|noms?|villes?|communes?|d[ée]partements?|registres?|acta|partida|certificado"
    r"|certificaci[óo]n|lugar|pa[ií]s|place|country|town|city|proof|شهادة|مكان|بلد)"
    r"\s+(?:(?:de|of)\s+|d'\s*)?", re.IGNORECASE)
_NOT_A_MARKER_AFTER: Final = re.compile(
    r"\s*(?:certificates?|place|name|country|registration|records?|cert\.?)(?![\w])",
    re.IGNORECASE)
#: Words between a marker and a date that make the date a deadline or an event, not a birth.
_NOT_A_BIRTH_GAP: Final = re.compile(
    r"(?<![\w])(?:avant|d'ici|jusqu'(?:au|à|a)|au\s+plus\s+tard|limite|échéance|délai|expir\w*"
    r"|reçue?s?|corrigée?s?|modifiée?s?|enregistrée?s?|transmise?s?|envoyée?s?|déposée?s?"
    r"|datée?s?|valable|before|by|until|deadline|received|corrected|updated|sent|dated|valid"
    r"|antes|hasta|plazo|recibid[oa]s?|corregid[oa]s?)(?![\w])", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_SENTENCE_END: Final = re.compile(r"[.!?;](?:\s|$)|\n\s*\n")
_VERB_GAP_WORDS: Final = 5
_NOUN_GAP_WORDS: Final = 3
_LOOK_BACK: Final = 120
#: What may stand between a date and a marker that follows it: "12/03/1985 (date de naissance)".
_MARKER_RIGHT_AFTER: Final = re.compile(r" ?[(\[]? ?")


def _parse_date(m: re.Match[str], today: date) -> date | None:
    year = int(m["y"])
    if year < 100:
        year += 2000 if year <= today.year % 100 else 1900
    day = int(m["d"])
    if m.groupdict().get("name"):
        named = _MONTHS.get(m["name"].lower())
        if named is None:
            return None
        orders = [(named, day)]
    else:
        month = int(m["m"])
        orders = [(month, day), (day, month)]   # day first (French), else month first (US)
    for month, day_of_month in orders:
        try:
            return date(year, month, day_of_month)
        except ValueError:
            continue
    return None


def _markers(view: str) -> list[tuple[int, int, bool]]:
    """Birth markers as (start, end, is_verb), document names left out."""
    found = []
    document_names_end = {m.end() for m in _NOT_A_MARKER_BEFORE.finditer(view)}
    for m in _MARKER.finditer(view):
        if m.start() in document_names_end:
            continue
        if m["noun"] and _NOT_A_MARKER_AFTER.match(view, m.end()):
            continue
        found.append((m.start(), m.end(), m["verb"] is not None))
    return found


def _gap_allows(gap: str, words: int) -> bool:
    return (len(_WORD.findall(gap)) <= words and not _SENTENCE_END.search(gap)
            and not _NOT_A_BIRTH_GAP.search(gap))


def birth_dates(view: str, today: date) -> Iterator[Detection]:
    dates = [m.span() for pattern in _DATES for m in pattern.finditer(view)
             if (when := _parse_date(m, today)) is not None and when <= today]
    if not dates:
        return
    markers = _markers(view)                    # sorted by start, and so by end
    starts = [mark_start for mark_start, _, _ in markers]
    for start, end in dates:
        # markers ending before the date, nearest first, within the look-back
        before = False
        for _, mark_end, verb in reversed(markers[:bisect.bisect_left(starts, start)]):
            if start - mark_end > _LOOK_BACK:
                break
            if mark_end <= start and _gap_allows(
                    view[mark_end:start], _VERB_GAP_WORDS if verb else _NOUN_GAP_WORDS):
                before = True
                break
        following = bisect.bisect_left(starts, end)
        after = following < len(markers) and _MARKER_RIGHT_AFTER.fullmatch(
            view, end, markers[following][0]) is not None
        if before or after:
            yield start, end, "", ""
