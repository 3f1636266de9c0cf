"""The legal facts of a procedure as values: what its silence means, and its delays.

An accusé de réception (CRPA L112-3, R112-5) states whether the service's silence
means acceptance or rejection, after which delay, and the time limits of appeal;
the catalog (kiosk/catalog.py, which reads and checks the ``[legal]`` table of each
file) holds them per procedure as these values. They live apart from the catalog's
reader because a later module (deemed-decision dates) counts with :class:`Delay`
without needing the rest of the catalog. Contacts a deployment still has to set
are written ``[à compléter : …]`` (:func:`is_placeholder`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:                     # a Legal holds a catalog Texts; the catalog imports us
    from kiosk.catalog import Texts

#: A contact of the service the shipped catalog cannot know, to set per deployment.
PLACEHOLDER = re.compile(r"\[à compléter\b[^\]]*\]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
DELAY = re.compile(r"([1-9][0-9]{0,2}) (day|days|month|months)")
MAX_DELAY_DAYS = 365
MAX_DELAY_MONTHS = 24


class Silence(enum.StrEnum):
    """What the service's silence means once the decision delay has run (CRPA L231-1, L231-4).

    Spelt as in the catalog files (``silence = "rejection"``); backoffice/procedures.py
    reads the same key into its own Silence with the same values (the back office may
    not import the kiosk), and the accusé de réception states it.
    """

    ACCEPTANCE = "acceptance"   # deemed accepted: the right to the attestation of L232-3
    REJECTION = "rejection"     # deemed rejected: the appeal's means and time limits apply
    NONE = "none"               # no implicit decision: not a request, or the texts are unclear


class DelayUnit(enum.StrEnum):
    DAYS = "days"
    MONTHS = "months"


@dataclass(frozen=True)
class Delay:
    """A legal delay as the texts count it: a number of days or of (calendar) months."""

    count: int
    unit: DelayUnit

    @classmethod
    def parse(cls, text: str) -> Delay:
        """``"2 months"``, ``"5 days"``, ``"1 month"``; ValueError naming the expected form."""
        match = DELAY.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a delay such as '2 months' or '5 days' "
                             "(a number, one space, days or months)")
        count = int(match.group(1))
        unit = DelayUnit.MONTHS if match.group(2).startswith("month") else DelayUnit.DAYS
        limit = MAX_DELAY_MONTHS if unit is DelayUnit.MONTHS else MAX_DELAY_DAYS
        if count > limit:
            raise ValueError(f"{text!r} is longer than {limit} {unit}")
        return cls(count, unit)

    def __str__(self) -> str:
        return f"{self.count} {self.unit if self.count > 1 else self.unit[:-1]}"


@dataclass(frozen=True)
class Legal:
    """The legal facts of a procedure, as the accusé de réception states them."""

    silence: Silence
    decision_delay: Delay | None        # None only when silence is NONE and no delay is set
    appeal: Texts | None                # means of appeal, before whom, and its time limits
    appeal_delay: Delay | None          # time limit of the first appeal after the decision


def is_placeholder(value: str) -> bool:
    """True for ``[à compléter : …]``, a contact a deployment has to set."""
    return bool(PLACEHOLDER.fullmatch(value.strip()))


def contact_problem(key: str, value: str) -> str | None:
    """What is wrong with the service's ``postal_address``, ``email`` or ``phone``; None if
    nothing (a placeholder is fine: it is listed, not refused)."""
    if not value.strip():
        return "must not be empty (write a placeholder '[à compléter : …]' for a local contact)"
    if is_placeholder(value):
        return None
    if "[" in value:
        return f"{value!r}: a placeholder is the whole value, '[à compléter : …]'"
    if key == "email" and not EMAIL.fullmatch(value.strip()):
        return f"{value!r} is not an e-mail address"
    if key == "phone" and sum(c.isdigit() for c in value) < 4:
        return f"{value!r} has fewer than 4 digits: not a phone number"
    return None
