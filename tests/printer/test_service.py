"""Receipts printed on the printer simulator (behind a real pseudo-terminal), and what the
citizen and the technician get when the printer is in trouble."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers import open_printer
from drivers.printer.sim_backend import SimulatedPrinter
from printer.receipt import Receipt
from printer.samples import LANGUAGES, sample_receipt
from printer.service import Condition, PrinterAlert, PrintOutcome, ReceiptPrinter
from tests.printer.tools import decode_qr

#: Words that must come back from the simulator's parser exactly, accents and € included.
WORDS = {
    "fr": ["Récépissé de dépôt", "Numéro de dépôt", "Démarche", "Pièce d’identité",
           "Documents remis", "Délai de traitement", "Réponse au plus tard le 22 décembre 2025",
           "Besançon", "(montant en €)", "dès que le réseau", "Téléphone", "n’importe",
           "à 15:57"],
    "en": ["Deposit receipt", "Deposit number", "Identity document", "Documents handed in",
           "Processing time", "Answer by 22 December 2025", "Besançon", "(amount in €)",
           "as soon as the network allows"],
    "es": ["Justificante de depósito", "Número de depósito", "Documento de identidad",
           "Documentos entregados", "Plazo de tramitación", "30 días",
           "Respuesta a más tardar el 22 de diciembre de 2025", "Besançon", "(importe en €)",
           "en cuanto la red lo permita", "22 de noviembre de 2025 a las 15:57"],
    "fr-falc": ["Preuve de dépôt", "Numéro de dépôt", "Vos documents",
                "Le service vous répond au plus tard le 22 décembre 2025.",
                "La borne garde votre dossier en sécurité.",
                "Scannez ce code avec votre téléphone. Vous pouvez aussi"],
    # Arabic is drawn: only the Latin lines come back as text.
    "ar": ["France Services de Besançon-Planoise", "Caisse d’allocations familiales du Doubs"],
}


@pytest.fixture
def sim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SimulatedPrinter]:
    """A simulated printer; parametrize indirectly with its URL options."""
    options = getattr(request, "param", "")
    printer = open_printer(f"sim://?out={tmp_path}&{options}".rstrip("&"))
    try:
        assert isinstance(printer, SimulatedPrinter)
        yield printer
    finally:
        printer.close()


def flat(text: str) -> str:
    """The receipt's text as one line (wrapping may cut a phrase across lines)."""
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("width", [58, 80])
def test_a_receipt_printed_on_the_simulator_reads_right_and_its_qr_code_decodes(
        tmp_path: Path, language: str, width: int) -> None:
    receipt = sample_receipt(language)
    printer = open_printer(f"sim://?width={width}&out={tmp_path}")
    try:
        assert isinstance(printer, SimulatedPrinter)
        outcome = ReceiptPrinter(printer).print(receipt)
        [job] = printer.simulator.jobs
    finally:
        printer.close()
    assert outcome.printed and outcome.problem is None and outcome.screen_png is None
    assert not job.truncated and len(job.cuts) == 1
    text = flat(job.text)
    assert "D3M0-01RZ-KNWS" in [line.text for line in job.lines]
    for words in WORDS[language]:
        assert words in text, words
    assert job.qr_payloads == [receipt.status_url]
    assert job.png is not None
    assert decode_qr(Path(job.png)) == [receipt.status_url]
    # Latin receipts print as text only; Arabic ones draw every Arabic block (GS v 0).
    if language == "ar":
        assert len(job.images) >= 25
        assert not any("\u0600" <= c <= "\u06ff" for c in job.text)
    else:
        assert job.images == []


def print_once(printer, receipt: Receipt | None = None,
               alerts: list[PrinterAlert] | None = None) -> PrintOutcome:
    service = ReceiptPrinter(printer, on_alert=None if alerts is None else alerts.append)
    return service.print(receipt or sample_receipt("fr"))


def assert_shown_on_screen(outcome: PrintOutcome, tmp_path: Path) -> None:
    assert not outcome.printed
    assert outcome.screen_png is not None
    png = tmp_path / "screen.png"
    png.write_bytes(outcome.screen_png)
    assert decode_qr(png) == [sample_receipt("fr").tracking_url]


@pytest.mark.parametrize("sim", ["paper=near-end"], indirect=True)
def test_paper_near_end_prints_and_alerts_the_technician_once(sim) -> None:
    alerts: list[PrinterAlert] = []
    service = ReceiptPrinter(sim, on_alert=alerts.append)
    first = service.print(sample_receipt("fr"))
    second = service.print(sample_receipt("en"))
    assert first.printed and second.printed
    assert [a.condition for a in alerts] == [Condition.PAPER_NEAR_END]   # not on every receipt
    assert [a.condition for a in second.alerts] == [Condition.PAPER_NEAR_END]
    assert service.active_conditions == {Condition.PAPER_NEAR_END}
    assert len(sim.simulator.jobs) == 2


@pytest.mark.parametrize(("sim", "condition"), [
    ("paper=out", Condition.PAPER_OUT),
    ("cover=open", Condition.COVER_OPEN),
    ("online=false", Condition.OFFLINE),
    ("cutter=error", Condition.CUTTER_ERROR),
], indirect=["sim"])
def test_a_printer_that_cannot_print_before_the_receipt_shows_it_on_screen(
        sim, condition: Condition, tmp_path: Path) -> None:
    alerts: list[PrinterAlert] = []
    outcome = print_once(sim, alerts=alerts)
    assert outcome.problem is condition and not outcome.interrupted
    assert condition in [a.condition for a in alerts]
    assert_shown_on_screen(outcome, tmp_path)
    assert not any(job.lines for job in sim.simulator.jobs), "nothing was printed"


@pytest.mark.parametrize("sim", ["paper_out_after=8"], indirect=True)
def test_paper_out_during_print_shows_receipt_on_screen_and_printing_again_works(
        sim, tmp_path: Path) -> None:
    alerts: list[PrinterAlert] = []
    service = ReceiptPrinter(sim, on_alert=alerts.append)
    outcome = service.print(sample_receipt("fr"))
    assert outcome.problem is Condition.PAPER_OUT and outcome.interrupted
    assert_shown_on_screen(outcome, tmp_path)
    assert [a.condition for a in alerts] == [Condition.PAPER_OUT]

    sim.simulator.set(paper="ok")             # the technician put a new roll in
    again = service.print(sample_receipt("fr"))
    assert again.printed and again.alerts == ()
    assert service.active_conditions == frozenset()
    assert "D3M0-01RZ-KNWS" in sim.simulator.jobs[-1].text


@pytest.mark.parametrize("sim", ["cover=closed"], indirect=True)
def test_a_cover_opened_during_the_receipt_is_reported(sim, tmp_path: Path) -> None:
    sim.simulator.set(paper_out_after_lines=None)
    service = ReceiptPrinter(sim)
    # The cover opens after the status check, while the job is on its way.
    original = sim.print_job

    def open_cover_then_print(job):
        sim.simulator.set(cover_open=True)
        return original(job)

    sim.print_job = open_cover_then_print
    outcome = service.print(sample_receipt("fr"))
    assert outcome.problem is Condition.COVER_OPEN and outcome.interrupted
    assert_shown_on_screen(outcome, tmp_path)


@pytest.mark.parametrize("reply", [b"", b"\xff\xff\xff\xff"])
def test_a_printer_that_answers_nothing_or_nonsense_shows_the_receipt_on_screen(
        tmp_path: Path, reply: bytes) -> None:
    printer = open_printer(f"sim://?out={tmp_path}&timeout=0.2&write_timeout=1")
    try:
        assert isinstance(printer, SimulatedPrinter)
        printer.simulator.set(status_reply=reply)
        alerts: list[PrinterAlert] = []
        outcome = print_once(printer, alerts=alerts)
    finally:
        printer.close()
    assert outcome.problem is Condition.NO_ANSWER
    assert [a.condition for a in alerts] == [Condition.NO_ANSWER]
    assert_shown_on_screen(outcome, tmp_path)


@pytest.mark.parametrize("sim", ["paper=near-end"], indirect=True)
def test_a_broken_alert_listener_does_not_stop_the_receipt(sim) -> None:
    def broken(alert: PrinterAlert) -> None:
        raise RuntimeError("diagnostics database is locked")

    outcome = ReceiptPrinter(sim, on_alert=broken).print(sample_receipt("fr"))
    assert outcome.printed
