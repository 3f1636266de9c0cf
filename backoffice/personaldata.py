"""Personal data in a message to the citizen: found, refused, and explained to staff (issue #14).

Why: staff write a message with each status ("il manque le justificatif de domicile"). It is
shown on the public status page, which whoever holds the receipt's QR code can open: a lost or
photographed receipt must not give away an e-mail address, a phone number, a bank account, a
date of birth or a national number. :func:`check_message` is the gate every such message goes
through; it returns the message as it will be shown (line breaks kept) or raises with one
plain-English reason per finding, so the agent can rewrite it.

The module is pure (``re`` and arithmetic), so the staff API, the command line and tests call it
alike. It favours predictable rules over clever scoring: staff learn quickly what is refused.
It owns the kinds, the reasons, the overlaps and the gate; the detectors that carry out the
rules below (the folded view, the patterns and their checksums) are in
:mod:`backoffice.personalpatterns`.

What is found, and by which rule (:class:`PersonalDataKind`)
-----------------------------------------------------------

``EMAIL``
    ``local@domain.tld``, the full-width ``＠``, and obfuscated forms: ``[at]``, ``(at)``,
    ``{at}``, ``<at>``, ``arobase``, with dots written ``.``, ``[dot]``, ``(dot)``, ``point``.
    The bare word ``at`` ("jean.dupont at gmail.com") counts only when the local part looks
    like an address (it holds ``. _ - +`` or a digit) or the domain is a known webmail, so that
    "apply online at service-public.fr" stays a sentence.
``PHONE``
    French numbers in their usual shapes (``06 12 34 56 78``, ``06.12.34.56.78``,
    ``0612345678``, ``0 800 123 456``, one separator repeated), international numbers after
    ``+`` or ``00`` (``+33 (0)6 12 34 56 78``, ``0033612345678``, ``+44 20 7946 0958``): 8 to 15
    digits after ``+``, 9 to 15 after ``00``. Every phone number is refused, the service's own
    too (its contact is shown elsewhere on the page); four-digit service numbers (3939, 3230)
    are not phone numbers of a person and pass. A number followed by a currency or ``%`` sign
    is an amount.
``IBAN``
    Two letters, two check digits and the country's registered length (spaces or hyphens
    anywhere), accepted when the ISO 13616 mod-97 check holds. A French IBAN (``FR`` + 2 digits
    + 23 characters) is refused even when that check fails if it starts ``FR76`` or its embedded
    RIB key holds: it is most likely a mistyped real account. Unknown country codes are not
    looked at. A French RIB written as such (bank 5 digits, branch 5, account 11, key 2, with
    spaces) is refused whatever its key; run together (23 characters) only when its key holds.
``BIRTH_DATE``
    A date (``12/03/1985``, ``12-03-85``, ``1985-03-12``, ``12 mars 1985``, ``March 12, 1985``,
    ``12 de marzo de 1985``) near a birth marker in French, English, Spanish or Arabic. Before
    the date: "né(e)", "born", "nacido" and the like within five words (room for a place of
    birth), "date de naissance", "DOB", "fecha de nacimiento" and the like within three; after
    it: the marker right behind it, or in brackets. Never a bare date (deadlines are dates),
    never a date after ``today``, never when the words between are those of a deadline or an
    event ("avant", "reçu", "before"...), never across a sentence, and document names ("acte de
    naissance", "birth certificate", "lieu/nom de naissance") are not markers. A year alone
    ("né en 1985") is not looked at.
``NATIONAL_NUMBER``
    The NIR (numéro de sécurité sociale): sex digit 1, 2, 3, 4, 7 or 8, year, month, department
    (01-99, Corsica ``2A``/``2B``, overseas ``97x``/``98x`` with a 2-digit commune), commune,
    order, then the key ``97 - n mod 97`` (``2A`` read as 19 and ``2B`` as 18 to compute n).
    Spaces, dots or hyphens between the groups or none. With its 15 digits it is refused when
    the key holds, and also when the key fails but the shape holds (a typo of a real number:
    the reason says so); without the key when the shape holds. The shape's month is 01-12, or
    20, 30-42, 50-99 (INSEE's fictitious months for incomplete civil records; sources differ,
    so the wider set is used). The tax number (numéro fiscal, SPI): 13 digits starting with 0
    to 3, run together or printed ``12 34 567 890 123``, except that a run starting ``00`` is
    read as an international call prefix (``0033612345678``).
    Passport and identity card numbers are *not* looked for: nine letters and digits (passport)
    or twelve (old identity card) cannot be told apart from procedure codes and references
    without a marker, and a marker-only rule would be guessing.
``PAYMENT_CARD``
    A Luhn-valid number run together or in groups of four (Amex 4-6-5): 13 digits starting with
    4, 15 starting with 34 or 37, 16 to 19 starting with 2 to 6. Fourteen digits are left alone
    (a SIRET is Luhn-valid by design).

Detection works on a folded copy of the text of the same length: any decimal digit (Arabic-Indic,
full-width) reads as its ASCII digit, full-width forms as ASCII, any space as a space, dashes as
``-``, typographic apostrophes as ``'``; so offsets are those of the text given. Every pattern
is anchored on a word start and bounded (atomic groups where a part could be read two ways), so
a 2000-character message is checked in 0.4 to 2.5 ms whatever it holds, pathological inputs
such as ``"a@" * 1000`` or ``"0 " * 1000`` included (no catastrophic backtracking).

Overlaps are settled by kind (e-mail, IBAN, national number, card, phone, then date of birth),
and nothing numeric is found inside a deposit number (``K7QM-00A3-Z91X``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from backoffice.personalpatterns import (
    Detection,
    birth_dates,
    cards,
    emails,
    fold,
    ibans,
    national_numbers,
    phones,
)

#: The longest message a status page shows, in characters after line-break normalisation.
MAX_LENGTH: Final = 2000


class PersonalDataKind(StrEnum):
    """What kind of personal data a message carries.

    Crosses into the staff API's refusal (``backoffice status`` and the staff workspace show
    the reasons, logs count the kinds): keep the values stable.
    """

    EMAIL = "email"
    PHONE = "phone"
    IBAN = "iban"
    BIRTH_DATE = "birth_date"
    NATIONAL_NUMBER = "national_number"
    PAYMENT_CARD = "payment_card"


class MessageProblem(StrEnum):
    """Why a text is not a message at all (before any personal data is looked for)."""

    TOO_LONG = "too_long"
    CONTROL_CHARACTER = "control_character"
    BIDI_CONTROL = "bidi_control"


_PUBLIC = "the status page is public"

#: What each kind is called in a reason, and what the agent can do instead.
_WORDING: Final[dict[PersonalDataKind, tuple[str, str]]] = {
    PersonalDataKind.EMAIL: (
        "an e-mail address",
        f"{_PUBLIC}; write to the citizen through another channel and leave the address out"),
    PersonalDataKind.PHONE: (
        "a phone number",
        f"{_PUBLIC}; no phone number may appear, not even the service's own (the page "
        "already shows the service's contact)"),
    PersonalDataKind.IBAN: (
        "a bank account number",
        f"{_PUBLIC}; leave bank details out (write \"the account you gave\")"),
    PersonalDataKind.BIRTH_DATE: (
        "a date of birth",
        f"{_PUBLIC}; leave it out (write \"your date of birth\")"),
    PersonalDataKind.NATIONAL_NUMBER: (
        "a social security or tax number",
        f"{_PUBLIC}; leave it out (write \"your social security number\" or \"your tax "
        "number\")"),
    PersonalDataKind.PAYMENT_CARD: (
        "a payment card number",
        f"{_PUBLIC}; leave it out, and never ask for a card number in writing"),
}


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it lies (``text[start:end]``).

    ``mask`` is a harmless hint of the value (``j***@e***.fr``, ``…78``) and ``detail`` an
    extra remark (a key that does not check); neither ever holds the whole value.
    """

    kind: PersonalDataKind
    start: int
    end: int
    mask: str = ""
    detail: str = ""

    @property
    def reason(self) -> str:
        """One sentence for staff: what was found, where (1-based, inclusive), what to do."""
        what, advice = _WORDING[self.kind]
        where = f"characters {self.start + 1}-{self.end}"
        if self.mask:
            where += f", {self.mask}"
        detail = f"; {self.detail}" if self.detail else ""
        return f"{what} ({where}){detail}: {advice}"


class PersonalDataError(ValueError):
    """The message carries personal data; ``findings`` says what and where."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = tuple(findings)
        reasons = "\n".join(f"- {finding.reason}" for finding in self.findings)
        super().__init__("this message cannot be shown on the citizen's public status page, "
                         f"it carries personal data:\n{reasons}")


class MessageFormatError(ValueError):
    """The text is not a message to show: too long, or holding characters that do not belong.

    ``problem`` says which rule refused it; the message says what to change.
    """

    def __init__(self, problem: MessageProblem, detail: str) -> None:
        self.problem = problem
        super().__init__(f"not a message that can be shown to the citizen: {detail}")


# ---------------------------------------------------------------- putting it together

_DEPOSIT_ID: Final = re.compile(
    r"(?<![\w-])[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z*~$=]{4}(?![\w-])", re.IGNORECASE)
_DIGIT: Final = re.compile(r"[0-9]")
#: Which kind wins where two findings overlap (the first listed).
_PRIORITY: Final = (
    PersonalDataKind.EMAIL, PersonalDataKind.IBAN, PersonalDataKind.NATIONAL_NUMBER,
    PersonalDataKind.PAYMENT_CARD, PersonalDataKind.PHONE, PersonalDataKind.BIRTH_DATE,
)


def _findings(kind: PersonalDataKind, detections: Iterable[Detection]) -> list[Finding]:
    return [Finding(kind, *detection) for detection in detections]


def find_personal_data(text: str, *, today: date | None = None) -> list[Finding]:
    """Every piece of personal data in ``text``, sorted by position, none overlapping.

    ``today`` (default: the local date) bounds dates of birth: a later date is a deadline.
    """
    today = today or date.today()
    view = fold(text)
    candidates = _findings(PersonalDataKind.EMAIL, emails(view))
    if _DIGIT.search(view):
        candidates += [*_findings(PersonalDataKind.IBAN, ibans(view)),
                       *_findings(PersonalDataKind.NATIONAL_NUMBER, national_numbers(view)),
                       *_findings(PersonalDataKind.PAYMENT_CARD, cards(view)),
                       *_findings(PersonalDataKind.PHONE, phones(view)),
                       *_findings(PersonalDataKind.BIRTH_DATE, birth_dates(view, today))]
    deposit_ids = [m.span() for m in _DEPOSIT_ID.finditer(view)]
    rank = {kind: i for i, kind in enumerate(_PRIORITY)}
    candidates.sort(key=lambda f: (rank[f.kind], f.start, -f.end))
    kept: list[Finding] = []
    for finding in candidates:
        if finding.kind is not PersonalDataKind.EMAIL and any(
                s < finding.end and finding.start < e for s, e in deposit_ids):
            continue
        if all(k.end <= finding.start or finding.end <= k.start for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS: Final = frozenset("\n\t")
_SHOWN_POSITIONS: Final = 5


def _describe(text: str, positions: list[int]) -> str:
    """``U+202E (right-to-left override) at character 9, ...`` (control characters have no name)."""
    def one(i: int) -> str:
        name = unicodedata.name(text[i], "")
        return f"U+{ord(text[i]):04X}{f' ({name.lower()})' if name else ''} at character {i + 1}"

    shown = ", ".join(one(i) for i in positions[:_SHOWN_POSITIONS])
    more = len(positions) - _SHOWN_POSITIONS
    return shown + (f" and {more} more" if more > 0 else "")


def _plural(positions: list[int], noun: str) -> str:
    return f"the {noun}" if len(positions) == 1 else f"{len(positions)} {noun}s:"


def check_message(text: str, *, today: date | None = None) -> str:
    """The message as the status page will show it, or an error saying what to change.

    Line breaks are kept; ``\\r\\n`` and ``\\r`` become ``\\n`` (offsets of findings are in
    that text). Raises :class:`MessageFormatError` for a text over :data:`MAX_LENGTH`
    characters, with a control character other than line feed and tab, or with a bidirectional
    override or isolate (U+202A-U+202E, U+2066-U+2069: they can make a text display otherwise
    than it reads); then :class:`PersonalDataError` listing every finding.
    """
    message = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(message) > MAX_LENGTH:
        raise MessageFormatError(
            MessageProblem.TOO_LONG,
            f"it is {len(message)} characters long, more than the {MAX_LENGTH} a status page "
            "shows; shorten it")
    controls = [i for i, char in enumerate(message)
                if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc"]
    if controls:
        raise MessageFormatError(
            MessageProblem.CONTROL_CHARACTER,
            f"it holds {_plural(controls, 'control character')} {_describe(message, controls)}; "
            "only line breaks and tabs may appear, remove it (it often comes from a copy and "
            "paste)")
    bidi = [i for i, char in enumerate(message) if char in _BIDI_CONTROLS]
    if bidi:
        raise MessageFormatError(
            MessageProblem.BIDI_CONTROL,
            f"it holds {_plural(bidi, 'bidirectional control')} {_describe(message, bidi)}, "
            "which can make "
            "the text show otherwise than it reads; remove it (Arabic text displays right "
            "without it)")
    findings = find_personal_data(message, today=today)
    if findings:
        raise PersonalDataError(findings)
    return message
