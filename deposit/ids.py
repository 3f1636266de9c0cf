"""Deposit numbers: short, unambiguous, checked, strictly increasing per kiosk.

A deposit number is 12 Crockford base32 characters, shown ``XXXX-XXXX-XXXX``
(docs/contracts.md, "Deposit numbers and tracking")::

    D3M0-0KZ4-7QXA
    ^^^^ ^^^^ ^^^^
    |    |       `- check character: the 11 characters read as one base-32 number, mod 37,
    |    |          written with the 37 symbols 0-9 A-Z (less I L O U) * ~ $ = U
    |    `--------- 7 characters of the kiosk's sequence: seconds since 2024-01-01 UTC,
    |               or one more than the last number when the clock is behind
    `-------------- the kiosk's fleet code ([kiosk] code, given at enrollment)

Why mod 37 catches every single-character error and every swap of neighbours:
changing the digit of weight 32**i by d (0 < |d| < 32) changes the number by
d * 32**i; swapping the neighbours a, b of weights 32**(i+1) and 32**i changes it
by (a - b) * 31 * 32**i. 37 is prime and divides none of d, a - b, 31 or 32, so
the remainder changes. Swapping the last data character with the check
character is caught too (it would need 2c = 2a mod 37, i.e. c = a).
``tests/deposit/test_ids.py`` checks all of this exhaustively.

Reading is lenient as Crockford intends: case is ignored, ``I`` and ``L`` read as
``1``, ``O`` as ``0``, and hyphens, spaces, dots and underscores are dropped.
Anything else gets a :class:`~deposit.errors.DepositIdError` whose ``reason`` says
what is wrong, so the UI can tell the citizen in their language.

This module uses the standard library only.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from deposit.errors import DepositIdError, DepositIdExhaustedError, DepositIdProblem

log = logging.getLogger(__name__)

#: Crockford's base-32 digits, value = index.
DIGITS: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: The 37 check symbols: the digits, then * ~ $ = U for the values 32 to 36.
CHECK_SYMBOLS: Final = DIGITS + "*~$=U"

FLEET_LENGTH: Final = 4
SEQUENCE_LENGTH: Final = 7
LENGTH: Final = FLEET_LENGTH + SEQUENCE_LENGTH + 1
#: The largest sequence value, 32**7 - 1 (34 359 738 367 seconds: beyond the year 3100).
SEQUENCE_MAX: Final = 32 ** SEQUENCE_LENGTH - 1
#: POSIX time of sequence 0: 2024-01-01T00:00:00Z.
SEQUENCE_EPOCH: Final = 1_704_067_200

_VALUE = {c: i for i, c in enumerate(DIGITS)}
_CHECK_VALUE = {c: i for i, c in enumerate(CHECK_SYMBOLS)}
#: Crockford's readings of look-alike letters.
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
#: Characters a person may put between groups; they carry no meaning.
_SEPARATORS = str.maketrans("", "", "-\u2010\u2011\u2013\u2014 \u00a0\u202f\t._")


def check_symbol(body: str) -> str:
    """The check character of 11 (or any number of) Crockford digits, already normalised."""
    value = 0
    for char in body:
        value = value * 32 + _VALUE[char]
    return CHECK_SYMBOLS[value % 37]


#: Every pair of base-32 digits, by value (0..1023): encoding takes 4 lookups, not 7 divmods.
_PAIRS = [a + b for a in DIGITS for b in DIGITS]


def _encode(number: int, length: int) -> str:
    text = ""
    for _ in range(length // 2):
        number, pair = divmod(number, 1024)
        text = _PAIRS[pair] + text
    if length % 2:
        text = DIGITS[number % 32] + text
    return text


def _normalise(text: str) -> str:
    return text.translate(_SEPARATORS).upper().translate(_ALIASES)


def normalise_fleet_code(code: str) -> str:
    """The fleet code in canonical form (4 Crockford digits), read leniently.

    Raises DepositIdError (``WRONG_FLEET_CODE``) naming what is wrong.
    """
    norm = _normalise(code)
    if len(norm) != FLEET_LENGTH or any(c not in _VALUE for c in norm):
        raise DepositIdError(
            f"fleet code {code!r} is not {FLEET_LENGTH} characters of {DIGITS}",
            DepositIdProblem.WRONG_FLEET_CODE)
    return norm


@dataclass(frozen=True, order=True)
class DepositId:
    """One deposit number. ``str()`` gives the printed form ``XXXX-XXXX-XXXX``.

    Ordering is by fleet code, then sequence: within one kiosk, later is larger.
    """

    fleet: str
    sequence: int

    def __post_init__(self) -> None:
        if len(self.fleet) != FLEET_LENGTH or any(c not in _VALUE for c in self.fleet):
            raise DepositIdError(f"fleet code {self.fleet!r} is not {FLEET_LENGTH} canonical "
                                 f"characters of {DIGITS}", DepositIdProblem.WRONG_FLEET_CODE)
        if not 0 <= self.sequence <= SEQUENCE_MAX:
            raise DepositIdError(f"sequence {self.sequence} is outside 0..{SEQUENCE_MAX}",
                                 DepositIdProblem.WRONG_LENGTH)

    @property
    def body(self) -> str:
        """The 11 characters the check character protects."""
        return self.fleet + _encode(self.sequence, SEQUENCE_LENGTH)

    @property
    def check(self) -> str:
        return self.compact[-1]

    @functools.cached_property
    def compact(self) -> str:
        """The 12 characters without separators."""
        fleet_value = 0
        for char in self.fleet:
            fleet_value = fleet_value * 32 + _VALUE[char]
        value = fleet_value << (5 * SEQUENCE_LENGTH) | self.sequence
        return self.body + CHECK_SYMBOLS[value % 37]

    @property
    def groups(self) -> tuple[str, str, str]:
        c = self.compact
        return c[0:4], c[4:8], c[8:12]

    def __str__(self) -> str:
        return "-".join(self.groups)

    @classmethod
    def parse(cls, text: str) -> DepositId:
        """Read a deposit number as a person typed or a scanner read it.

        Raises DepositIdError: ``EMPTY``, ``WRONG_LENGTH``, ``BAD_CHARACTER`` (with
        ``position``) or ``CHECK_MISMATCH`` (a character is mistyped, or two are swapped).
        """
        norm = _normalise(text)
        if not norm:
            raise DepositIdError("no deposit number given", DepositIdProblem.EMPTY)
        for position, char in enumerate(norm):
            if char not in _CHECK_VALUE:
                raise DepositIdError(
                    f"deposit number {text!r}: {char!r} (character {position + 1}) is not used "
                    f"in deposit numbers", DepositIdProblem.BAD_CHARACTER, position)
        if len(norm) != LENGTH:
            raise DepositIdError(
                f"deposit number {text!r} has {len(norm)} characters; it needs {LENGTH} "
                f"(like K012-7F3Q-9XMV)", DepositIdProblem.WRONG_LENGTH)
        for position, char in enumerate(norm[:-1]):
            if char not in _VALUE:
                raise DepositIdError(
                    f"deposit number {text!r}: {char!r} (character {position + 1}) can only be "
                    f"the last character", DepositIdProblem.BAD_CHARACTER, position)
        body, check = norm[:-1], norm[-1]
        if check_symbol(body) != check:
            raise DepositIdError(
                f"deposit number {text!r} does not check out: a character is mistyped or two "
                f"are swapped", DepositIdProblem.CHECK_MISMATCH)
        sequence = 0
        for char in body[FLEET_LENGTH:]:
            sequence = sequence * 32 + _VALUE[char]
        return cls(body[:FLEET_LENGTH], sequence)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except DepositIdError:
            return False
        return True


def canonical(text: str) -> str | None:
    """The printed form ``XXXX-XXXX-XXXX`` of what a person or a URL gave, or None.

    For callers that only need to know whether ``text`` is a deposit number (the
    back office's routes); :meth:`DepositId.parse` says what is wrong with it.
    """
    try:
        return str(DepositId.parse(text))
    except DepositIdError:
        return None


class DepositIdGenerator:
    """Issues the deposit numbers of one kiosk, strictly increasing, never reused.

    ``clock`` returns POSIX seconds (``time.time``); ``last_issued`` is the largest
    number this kiosk ever issued (the outbox's last deposit id) so that a restart
    continues after it. The sequence is the clock's second since 2024, or one more
    than the last number when the clock is behind it (clock set back, a Raspberry
    Pi booting without a real-time clock, two deposits within a second). A clock
    beyond the sequence's range is ignored. Thread-safe.
    """

    def __init__(self, fleet_code: str, clock: Callable[[], float],
                 last_issued: DepositId | str | None = None) -> None:
        self.fleet = normalise_fleet_code(fleet_code)
        self._clock = clock
        self._lock = threading.Lock()
        self._last = -1
        if last_issued is not None:
            last = last_issued if isinstance(last_issued, DepositId) else \
                DepositId.parse(last_issued)
            if last.fleet == self.fleet:
                self._last = last.sequence
            else:
                # A kiosk enrolled again gets a new fleet code; its old numbers are
                # another namespace and do not constrain the new one.
                log.warning("last deposit number %s has fleet code %s, not %s: ignored",
                            last, last.fleet, self.fleet)

    @property
    def last_issued(self) -> DepositId | None:
        return DepositId(self.fleet, self._last) if self._last >= 0 else None

    def next(self) -> DepositId:
        """The next number. Raises DepositIdExhaustedError once the sequence is used up."""
        with self._lock:
            now = self._clock()
            from_clock = int((now - SEQUENCE_EPOCH) // 1)
            if from_clock > SEQUENCE_MAX:
                log.warning("clock reads %s, beyond the range of deposit numbers: not used", now)
                from_clock = -1
            sequence = max(self._last + 1, from_clock)
            if sequence > SEQUENCE_MAX:
                raise DepositIdExhaustedError(
                    f"fleet code {self.fleet} has issued its last deposit number")
            if from_clock < self._last:
                log.info("clock is %d s behind the last deposit number; continuing its sequence",
                         self._last - from_clock)
            self._last = sequence
            return DepositId(self.fleet, sequence)
