"""Exceptions raised by ``printer``.

::

    ReceiptError                       anything ``printer`` cannot do
    ├── DepositIdError                 a deposit number that is not valid (also ValueError);
    │                                  ``.reason`` says why (a :class:`DepositIdProblem`)
    ├── DepositIdExhaustedError        the 7-character sequence of a kiosk has no value left
    ├── LayoutError                    receipt data that cannot be laid out (also ValueError)
    ├── TranslationError               a message catalog is missing or broken
    ├── FontError                      DejaVu Sans cannot be found
    └── DossierError                   a page that cannot be embedded as it is (also ValueError)

Printer conditions (paper out, cover open...) are :mod:`drivers.errors` exceptions;
:class:`printer.service.ReceiptPrinter` turns them into a :class:`~printer.service.PrintOutcome`.
"""

from __future__ import annotations

from enum import StrEnum


class ReceiptError(Exception):
    """Base class of every error raised by ``printer``."""


class DepositIdProblem(StrEnum):
    """Why a typed deposit number was refused (machine-readable, for the UI and speech)."""

    EMPTY = "empty"
    WRONG_LENGTH = "wrong_length"
    BAD_CHARACTER = "bad_character"
    CHECK_MISMATCH = "check_mismatch"
    WRONG_FLEET_CODE = "wrong_fleet_code"


class DepositIdError(ReceiptError, ValueError):
    """A deposit number that is not valid.

    ``reason`` is a :class:`DepositIdProblem`; ``position`` the 0-based index (in the
    12 significant characters) of the offending character when there is one.
    """

    def __init__(self, message: str, reason: DepositIdProblem, position: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.position = position


class DepositIdExhaustedError(ReceiptError):
    """The 7-character sequence of this fleet code is used up (around the year 3100)."""


class LayoutError(ReceiptError, ValueError):
    """Receipt data that cannot be laid out (e.g. a paper profile too narrow)."""


class TranslationError(ReceiptError):
    """A message catalog of the ``printer`` domain is missing or cannot be read."""


class FontError(ReceiptError):
    """The font the PDFs and screen receipts embed (DejaVu Sans) cannot be found."""


class DossierError(ReceiptError, ValueError):
    """A page the dossier PDF cannot embed unchanged (unknown codec, inconsistent size...)."""
