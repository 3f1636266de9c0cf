"""The legal facts both sides count with: what a service's silence means, and legal delays.

The catalog states them per procedure (``[legal] silence``, ``decision_delay``,
``appeal_delay``); the kiosk checks them when it loads the catalog
(kiosk/legalfacts.py), the back office reads them (backoffice/procedures.py) and
counts deemed-decision dates with them (backoffice/deadlines.py). One definition
here keeps the two sides from drifting apart: the back office may not import the
kiosk, and both import ``deposit``.
"""

from __future__ import annotations

import calendar
import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta

#: The longest delays a catalog may state (:meth:`Delay.parse`): beyond them a value is a
#: typo, not a rule.
MAX_DELAY_DAYS = 365
MAX_DELAY_MONTHS = 24


class Silence(enum.StrEnum):
    """What the service's silence means once the decision delay has run (CRPA L231-1, L231-4).

    Spelt as in the catalog files (``silence = "rejection"``).
    """

    ACCEPTANCE = "acceptance"   # deemed accepted: the right to the attestation of L232-3
    REJECTION = "rejection"     # deemed rejected: the appeal's means and time limits apply
    NONE = "none"               # no implicit decision: not a request, or the texts are unclear


class DelayUnit(enum.StrEnum):
    """What a delay counts. Months follow the same-number rule; days are calendar days."""

    DAYS = "days"
    MONTHS = "months"


class DelayFormatError(ValueError):
    """A delay's text is not a whole number followed by days or months, or is too long."""


#: A delay as the catalog writes it: "2 months", "15 days", "1 month".
DELAY = re.compile(r"([1-9][0-9]{0,2}) (day|days|month|months)")


@dataclass(frozen=True)
class Delay:
    """A legal delay as the texts count it: ``count`` days or (calendar) months, at least 1."""

    count: int
    unit: DelayUnit

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise DelayFormatError(f"a delay counts at least 1 day or month, not {self.count!r}")

    @classmethod
    def parse(cls, text: str) -> Delay:
        """``"2 months"``, ``"15 days"``, ``"1 month"``: the catalog's one spelling."""
        match = DELAY.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise DelayFormatError(f"{text!r} is not a delay such as '2 months' or '5 days' "
                                   "(a number, one space, days or months)")
        count = int(match.group(1))
        unit = DelayUnit.MONTHS if match.group(2).startswith("month") else DelayUnit.DAYS
        limit = MAX_DELAY_MONTHS if unit is DelayUnit.MONTHS else MAX_DELAY_DAYS
        if count > limit:
            raise DelayFormatError(f"{text!r} is longer than {limit} {unit}")
        return cls(count, unit)

    def __str__(self) -> str:
        return f"{self.count} {self.unit if self.count > 1 else self.unit[:-1]}"


def add(start: date, delay: Delay) -> date:
    """The last day of ``delay`` counted from ``start`` (which itself does not count).

    Months: the day of the last month with ``start``'s number, or that month's last day
    (Code de procédure civile art. 641; see backoffice/deadlines.py for the sources).
    """
    if delay.unit is DelayUnit.DAYS:
        return start + timedelta(days=delay.count)
    year, month0 = divmod(start.month - 1 + delay.count, 12)
    year += start.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last))
