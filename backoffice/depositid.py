"""Deposit numbers as the back office reads them (the kiosk's ``printer/`` makes them).

12 Crockford base32 characters shown ``XXXX-XXXX-XXXX``: the kiosk's fleet code
(4), a per-kiosk sequence (7), one check character (the value of the first 11
characters mod 37, written with the Crockford alphabet plus ``*~$=U``). See
docs/contracts.md, "Deposit numbers and tracking".
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = ALPHABET + "*~$=U"
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def check_character(body: str) -> str:
    """The check character of the 11 characters ``body`` (canonical Crockford)."""
    value = 0
    for ch in body:
        value = value * 32 + ALPHABET.index(ch)
    return CHECK_ALPHABET[value % 37]


def normalize(text: str) -> str | None:
    """``XXXX-XXXX-XXXX`` from what a person or a URL gave, or None if it is not a deposit id.

    Case, dashes and spaces are ignored, O/I/L read as 0/1/1 (Crockford); the
    check character must match.
    """
    raw = "".join(ch for ch in text.upper() if ch not in "- ")
    if len(raw) != 12:
        return None
    body = "".join(_READ_AS.get(ch, ch) for ch in raw[:11])
    if any(ch not in ALPHABET for ch in body):
        return None
    check = raw[11]
    if check not in CHECK_ALPHABET or check_character(body) != check:
        return None
    full = body + check
    return f"{full[:4]}-{full[4:8]}-{full[8:]}"


def fleet_code(deposit_id: str) -> str:
    """The kiosk's fleet code: the first group of a normalized deposit id."""
    return deposit_id[:4]
