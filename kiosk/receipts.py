"""The receipt of a sealed deposit, laid out and printed (or drawn for the screen).

:class:`ReceiptService` turns a :class:`~kiosk.journey.PrintReceipt` command and
the :class:`~kiosk.sealing.SealedDeposit` into a ``printer.receipt.Receipt``
in the citizen's language, and prints it through ``printer.service``; printer
trouble never raises: the outcome carries the receipt drawn for the screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from deposit.ids import DepositId
from kiosk.catalog import Catalog
from kiosk.journey import PrintReceipt
from kiosk.reasons import PrintProblem
from kiosk.sealing import SealedDeposit, document_title
from printer.receipt import (
    DocumentEntry,
    ProcessingTime,
    Receipt,
    ServiceContact,
    Transmission,
)
from printer.service import PrintOutcome
from printer.speech import receipt_speech

log = logging.getLogger(__name__)


class ReceiptPrinter(Protocol):
    """``printer.service.ReceiptPrinter``: prints, or says why not with the screen's PNG."""

    def print(self, receipt: Receipt) -> PrintOutcome: ...


@dataclass(frozen=True)
class ReceiptOutcome:
    printed: bool
    problem: PrintProblem | None = None
    screen_png: bytes | None = None


class ReceiptService:
    """Lays out and prints receipts."""

    def __init__(self, receipt_printer: ReceiptPrinter, catalog: Catalog, *, kiosk_id: str,
                 place: str, timezone: str = "Europe/Paris") -> None:
        self.receipt_printer = receipt_printer
        self.catalog = catalog
        self.kiosk_id = kiosk_id
        self.place = place
        self.timezone = timezone

    def receipt(self, job: PrintReceipt, sealed: SealedDeposit,
                case_reference: str | None) -> Receipt:
        procedure = self.catalog.get(job.procedure)
        if procedure is None:
            raise LookupError(f"procedure {job.procedure!r} is not in the catalog")
        lang = job.language
        return Receipt(
            deposit_id=DepositId.parse(job.deposit.deposit_id), created=sealed.created,
            kiosk_id=self.kiosk_id, place=self.place, procedure=procedure.name.get(lang),
            documents=tuple(DocumentEntry(document_title(procedure, d.code, lang),
                                          len(d.page_ids)) for d in job.documents),
            processing_time=ProcessingTime(days=procedure.processing_days),
            tracking_url=job.deposit.tracking_url,
            # Sealing never waits for the upload: the dossier is in the outbox, on its way.
            transmission=Transmission.QUEUED,
            service=ServiceContact(name=procedure.service.name.get(lang),
                                   phone=procedure.service.contact),
            language=lang, timezone=self.timezone, case_reference=case_reference,
            complement_of=DepositId.parse(job.deposit.complement_of)
            if job.deposit.complement_of else None)

    def print(self, receipt: Receipt) -> ReceiptOutcome:
        outcome = self.receipt_printer.print(receipt)
        if outcome.printed:
            return ReceiptOutcome(True)
        problem = PrintProblem.from_name(outcome.problem.value) if outcome.problem is not None \
            else PrintProblem.ERROR
        if outcome.status is not None and outcome.status.paper_out:
            problem = PrintProblem.PAPER_OUT  # many printers also say "offline" without paper
        return ReceiptOutcome(False, problem, outcome.screen_png)


def spoken_receipt(receipt: Receipt | None) -> tuple[str, ...]:
    """The sentences a speech synthesiser reads for ``receipt`` (none before it exists)."""
    return receipt_speech(receipt) if receipt is not None else ()
