"""The ANTS tables the parser reads fields with: data identifiers and document types.

``tables.json`` is a digest of the specification's tables, written by
``python -m devtools.twoddoc_tables`` (a test keeps it equal to the tables it
came from). For each data identifier: its name, its type and its lengths: a
field whose minimum and maximum lengths are equal is *fixed*: exactly that
many characters, no GS after it; any other is ended by GS, or by reaching its
maximum length, or by the end of the message.

Values are kept as the text of the code, and *decoded* where the table says
what they are: a 4-character "Date..." field is a hexadecimal count of days
since 2000-01-01 (``FFFF``: none), an 8-digit one is DDMMYYYY, a 12-digit
"Date et heure..." one DDMMYYYYHHMM. Nothing else is interpreted (amounts,
names, addresses stay text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

EPOCH = date(2000, 1, 1)
NO_DATE = "FFFF"


class ValueKind(StrEnum):
    """How a field's value is decoded (in deposit.json, beside the raw text)."""

    TEXT = "text"
    DATE_DAYS = "date_days"              # 4 hex digits, days since 2000-01-01
    DATE_DMY = "date_dmy"                # DDMMYYYY
    DATETIME_DMYHM = "datetime_dmyhm"    # DDMMYYYYHHMM


@dataclass(frozen=True)
class Identifier:
    id: str
    name: str
    type: str
    min: int
    max: int | None          # None: no maximum

    @property
    def fixed(self) -> bool:
        return self.max is not None and self.min == self.max

    @property
    def kind(self) -> ValueKind:
        name = self.name.lower()
        if not name.startswith("date"):
            return ValueKind.TEXT
        if name.startswith("date et heure") and self.fixed and self.max == 12:
            return ValueKind.DATETIME_DMYHM
        if self.fixed and self.max == 4:
            return ValueKind.DATE_DAYS
        if self.fixed and self.max == 8:
            return ValueKind.DATE_DMY
        return ValueKind.TEXT


@dataclass(frozen=True)
class DocumentType:
    id: str
    user: str          # what it proves ("Justificatif de domicile")
    issuer: str        # what it is ("Avis de taxe d'habitation")


@cache
def _tables() -> dict[str, Any]:
    text = resources.files("twoddoc").joinpath("tables.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def identifiers() -> dict[str, Identifier]:
    return {key: Identifier(key, item["name"], item["type"], item["min"], item["max"])
            for key, item in _tables()["identifiers"].items()}


@cache
def document_types() -> dict[str, DocumentType]:
    return {key: DocumentType(key, item["user"], item["issuer"])
            for key, item in _tables()["document_types"].items()}


def days_date(text: str) -> date | None:
    """A header or field date: 4 hex digits counting days since 2000-01-01; ``FFFF``: None.

    Raises ValueError for anything but 4 hex digits.
    """
    if len(text) != 4 or any(c not in "0123456789ABCDEFabcdef" for c in text):
        raise ValueError(f"{text!r} is not 4 hexadecimal digits")
    if text.upper() == NO_DATE:
        return None
    return EPOCH + timedelta(days=int(text, 16))


def decode_value(identifier: Identifier, text: str) -> date | datetime | str | None:
    """The value of a field as its table says (a date, a date and time), else its text.

    A value that does not have the announced shape is kept as text: a reader
    of the code still sees what it holds.
    """
    try:
        if identifier.kind is ValueKind.DATE_DAYS:
            return days_date(text)
        if identifier.kind is ValueKind.DATE_DMY and text.isdigit():
            return datetime.strptime(text, "%d%m%Y").date()
        if identifier.kind is ValueKind.DATETIME_DMYHM and text.isdigit():
            return datetime.strptime(text, "%d%m%Y%H%M")
    except ValueError:
        pass
    return text
