"""What is printed: the receipt (ESC/POS via :mod:`drivers`, PDF, screen, speech) and the
dossier PDF.

- :mod:`printer.receipt` — the receipt as data, and the tracking URL (deposit numbers
  themselves are :mod:`deposit.ids`);
- :mod:`printer.content` — its wording in the session's language (gettext domain ``printer``);
- :mod:`printer.escpos_layout`, :mod:`printer.receipt_pdf`, :mod:`printer.screen`,
  :mod:`printer.speech` — the four renderings;
- :mod:`printer.service` — printing through a :class:`drivers.printer.Printer`, and the
  screen receipt and technician alerts when it fails;
- :mod:`printer.dossier` — the dossier PDF, pages embedded as the scanner encoded them;
- :mod:`printer.samples` — sample receipts (``python -m printer.samples DIR``).

``printer`` imports ``drivers`` and ``assets`` only (not ``scanner`` nor ``deposit``).
"""
