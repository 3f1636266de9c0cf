"""Sample receipts, printed on the simulated printer, for the documentation and the demo.

    python -m printer.samples docs/receipts/

prints a receipt in each language of :data:`LANGUAGES` on 58 and 80 mm paper through the
printer simulator (``sim://``, behind a real pseudo-terminal), copies the PNGs
the simulator rendered, and adds the screen receipt shown when the printer fails.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from printer.receipt import (
    DepositNumber,
    DocumentEntry,
    ProcessingTime,
    Receipt,
    ServiceContact,
    Transmission,
    tracking_url,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PrintedNumber:
    """A deposit number as printed (``deposit.ids.DepositId("D3M0", 59_756_220)``, whose
    check character tests/printer/test_samples.py verifies): samples need no ``deposit``."""

    text: str

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.text.split("-"))

    def __str__(self) -> str:
        return self.text


SAMPLE_ID = PrintedNumber("D3M0-01RZ-KNWS")
SAMPLE_TOKEN = "q3Vd8kR2xN7pL0aZ5mWcYt"  # noqa: S105  (printed in the docs, not a secret)
SAMPLE_PUBLIC_URL = "https://suivi.demarches.example.fr"
SAMPLE_CREATED = datetime(2025, 11, 22, 14, 57, 12, tzinfo=UTC)

@dataclass(frozen=True)
class _Texts:
    place: str
    procedure: str
    documents: tuple[tuple[str, int], ...]
    service: ServiceContact
    next_steps: str


_SERVICE = {"name": "Caisse d’allocations familiales du Doubs", "phone": "32 30",
            "address": "2 rue Denis-Papin, 25036 Besançon", "website": "caf.fr"}
_TEXTS = {
    "fr": _Texts(
        place="France Services de Besançon-Planoise",
        procedure="Aide personnalisée au logement (APL) — première demande",
        documents=(("Pièce d’identité", 2),
                   ("Justificatif de domicile de moins de 3 mois", 1),
                   ("Attestation de loyer (montant en €)", 1),
                   ("Relevé d’identité bancaire", 1),
                   ("Avis d’impôt sur le revenu", 3)),
        service=ServiceContact(hours="du lundi au vendredi, 8 h 30 – 16 h 30", **_SERVICE),
        next_steps="Si votre demande est acceptée, l’aide est versée à partir du mois suivant.",
    ),
    "en": _Texts(
        place="France Services de Besançon-Planoise",
        procedure="Housing benefit (APL) — first application",
        documents=(("Identity document", 2),
                   ("Proof of address less than 3 months old", 1),
                   ("Rent certificate (amount in €)", 1),
                   ("Bank details (RIB)", 1),
                   ("Income tax notice", 3)),
        service=ServiceContact(hours="Monday to Friday, 8:30 – 16:30", **_SERVICE),
        next_steps="If your application is accepted, the benefit is paid from the following "
                   "month.",
    ),
    "es": _Texts(
        place="France Services de Besançon-Planoise",
        procedure="Ayuda personalizada para la vivienda (APL) — primera solicitud",
        documents=(("Documento de identidad", 2),
                   ("Justificante de domicilio de menos de 3 meses", 1),
                   ("Certificado de alquiler (importe en €)", 1),
                   ("Datos bancarios (RIB)", 1),
                   ("Aviso del impuesto sobre la renta", 3)),
        service=ServiceContact(hours="de lunes a viernes, de 8:30 a 16:30", **_SERVICE),
        next_steps="Si se acepta su solicitud, la ayuda se paga a partir del mes siguiente.",
    ),
    # The catalog's procedure and document titles in Arabic, the acronym APL and the
    # service's French name left as they are: mixed runs the printer must order right.
    "ar": _Texts(
        place="France Services de Besançon-Planoise",
        procedure="المساعدة الشخصية للسكن (APL) — طلب أول",
        documents=(("وثيقة الهوية", 2),
                   ("إثبات السكن لا يتجاوز عمره 3 أشهر", 1),
                   ("شهادة الإيجار (المبلغ باليورو €)", 1),
                   ("بيانات الحساب البنكي (RIB)", 1),
                   ("إشعار ضريبة الدخل", 3)),
        service=ServiceContact(hours="من الاثنين إلى الجمعة، 8:30 – 16:30", **_SERVICE),
        next_steps="إذا قُبل طلبك، تُصرف المساعدة ابتداء من الشهر التالي.",
    ),
    "fr-falc": _Texts(
        place="France Services de Besançon-Planoise",
        procedure="Aide pour payer le loyer (APL) — première demande",
        documents=(("Carte d’identité ou passeport", 2),
                   ("Papier qui montre votre adresse", 1),
                   ("Papier du propriétaire sur le loyer (en €)", 1),
                   ("Relevé d’identité bancaire (RIB)", 1),
                   ("Avis d’impôt", 3)),
        service=ServiceContact(hours="du lundi au vendredi, de 8 h 30 à 16 h 30", **_SERVICE),
        next_steps="Le service accepte votre demande ? Vous recevez l’aide le mois suivant.",
    ),
}
LANGUAGES = tuple(_TEXTS)


def sample_receipt(language: str = "fr", transmission: Transmission = Transmission.QUEUED,
                   *, deposit_id: DepositNumber = SAMPLE_ID, token: str = SAMPLE_TOKEN) -> Receipt:
    """A realistic receipt in ``language`` (one of :data:`LANGUAGES`)."""
    t = _TEXTS[language]
    return Receipt(
        deposit_id=deposit_id,
        created=SAMPLE_CREATED,
        kiosk_id="DEMO-01",
        place=t.place,
        procedure=t.procedure,
        documents=tuple(DocumentEntry(title, pages) for title, pages in t.documents),
        processing_time=ProcessingTime(days=30),
        tracking_url=tracking_url(SAMPLE_PUBLIC_URL, deposit_id, token),
        transmission=transmission,
        service=t.service,
        language=language,
        next_steps=t.next_steps,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m printer.samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="folder for the PNGs (created if missing)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from drivers import open_printer  # only the command needs a printer
    from printer.screen import receipt_png
    from printer.service import ReceiptPrinter

    args.output.mkdir(parents=True, exist_ok=True)
    written = []
    for language in LANGUAGES:
        receipt = sample_receipt(language)
        for width in (58, 80):
            with tempfile.TemporaryDirectory(prefix="kiosk-receipt-") as scratch:
                # timeout: the simulator answers the status query after a job only once it
                # has rendered the receipt, which can take a second on a busy machine.
                printer = open_printer(f"sim://?width={width}&out={scratch}")
                try:
                    outcome = ReceiptPrinter(printer).print(receipt)
                    if not outcome.printed:
                        log.error("the simulator did not print: %s", outcome.problem)
                        return 1
                    pngs = list(printer.simulator.pngs)  # type: ignore[attr-defined]
                finally:
                    printer.close()
                target = args.output / f"receipt-{language}-{width}mm.png"
                shutil.copyfile(pngs[-1], target)
                written.append(target)
        target = args.output / f"receipt-screen-{language}.png"
        target.write_bytes(receipt_png(receipt))
        written.append(target)
    sys.stdout.write("".join(f"{path}\n" for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
