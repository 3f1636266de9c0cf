"""Exceptions raised by ``printer``.

::

    ReceiptError                       anything ``printer`` cannot do
    ├── LayoutError                    receipt data that cannot be laid out (also ValueError)
    ├── TranslationError               a message catalog is missing or broken
    ├── FontError                      DejaVu Sans cannot be found
    └── DossierError                   a page that cannot be embedded as it is (also ValueError)

Printer conditions (paper out, cover open...) are :mod:`drivers.errors` exceptions;
:class:`printer.service.ReceiptPrinter` turns them into a :class:`~printer.service.PrintOutcome`.
"""

from __future__ import annotations


class ReceiptError(Exception):
    """Base class of every error raised by ``printer``."""


class LayoutError(ReceiptError, ValueError):
    """Receipt data that cannot be laid out (e.g. a paper profile too narrow)."""


class TranslationError(ReceiptError):
    """A message catalog of the ``printer`` domain is missing or cannot be read."""


class FontError(ReceiptError):
    """The font the PDFs and screen receipts embed (DejaVu Sans) cannot be found."""


class DossierError(ReceiptError, ValueError):
    """A page the dossier PDF cannot embed unchanged (unknown codec, inconsistent size...)."""
