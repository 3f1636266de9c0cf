"""The printer's test receipt and cutter test, printed through the simulator and read back.

The simulator parses the ESC/POS bytes with its own parser and renders each job to a
PNG; the QR code in that PNG must decode (zxing-cpp) to the text the function returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deposit.heartbeat import PaperLevel
from drivers import open_printer
from drivers.errors import CutterError, PaperOutError
from drivers.printer.sim_backend import SimulatedPrinter
from drivers.printer.simulator.parser import PaperCut, PaperFeed
from kiosk.service.checks import paper_level
from printer.testpage import FRENCH_LINE, cutter_test, print_test_receipt, ruler
from tests.drivers.printer.conftest import decode_zxing

NOW = datetime(2026, 12, 5, 10, 30, 15, tzinfo=UTC)

OpenSim = Callable[[str], SimulatedPrinter]


@pytest.fixture
def open_sim(tmp_path: Path) -> Iterator[OpenSim]:
    opened: list[SimulatedPrinter] = []

    def opener(query: str = "") -> SimulatedPrinter:
        query = "&".join(filter(None, [query, f"out={tmp_path / 'receipts'}"]))
        printer = open_printer(f"sim://?{query}")
        assert isinstance(printer, SimulatedPrinter)
        opened.append(printer)
        return printer

    yield opener
    for printer in opened:
        printer.close()


@pytest.mark.parametrize("qr", ["native", "image"])
def test_the_test_receipts_qr_code_decodes_to_the_returned_text(open_sim: OpenSim,
                                                                 qr: str) -> None:
    printer = open_sim(f"qr={qr}")
    text = print_test_receipt(printer, "MAIRIE-12", NOW)
    assert text == "KIOSK-TEST MAIRIE-12 2026-12-05T10:30:15Z"
    (job,) = printer.simulator.wait_for_jobs(1)
    assert job.png is not None
    assert decode_zxing(job.png) == [text]
    assert not job.truncated and job.warnings == []


def test_the_test_receipt_shows_the_code_page_the_ruler_and_ends_with_a_cut(
        open_sim: OpenSim) -> None:
    printer = open_sim("")
    print_test_receipt(printer, "MAIRIE-12", NOW)
    (job,) = printer.simulator.wait_for_jobs(1)
    lines = job.text.split("\n")
    assert FRENCH_LINE in lines                      # WPC1252 prints every letter
    assert job.code_pages == [16]
    assert ruler(printer.profile.columns) in lines   # the whole width, on one line
    assert len(ruler(printer.profile.columns)) == printer.profile.columns == 42
    assert "MAIRIE-12" in job.text and printer.profile.name in job.text
    assert isinstance(job.elements[-1], PaperCut)


def test_a_pc858_printer_prints_oe_for_the_ligature_as_receipts_do(open_sim: OpenSim) -> None:
    printer = open_sim("profile=T-1")
    print_test_receipt(printer, "MAIRIE-12", NOW)
    (job,) = printer.simulator.wait_for_jobs(1)
    assert "é è à ç ô oe €" in job.text.split("\n") and job.code_pages == [19]


def test_no_paper_raises_and_nothing_is_printed(open_sim: OpenSim) -> None:
    printer = open_sim("paper=out")
    with pytest.raises(PaperOutError):
        print_test_receipt(printer, "MAIRIE-12", NOW)
    assert printer.simulator.jobs == []


def test_the_cutter_test_feeds_then_cuts_once(open_sim: OpenSim) -> None:
    printer = open_sim("")
    status = cutter_test(printer)
    assert status.can_print
    (job,) = printer.simulator.wait_for_jobs(1)
    cuts = [e for e in job.elements if isinstance(e, PaperCut)]
    assert len(cuts) == 1 and not cuts[0].partial
    assert any(isinstance(e, PaperFeed) for e in job.elements)
    assert job.text == ""


def test_a_jammed_cutter_is_reported_by_the_cutter_test(open_sim: OpenSim) -> None:
    printer = open_sim("cutter=error")
    with pytest.raises(CutterError):
        cutter_test(printer)


@pytest.mark.parametrize(("query", "level"), [("", PaperLevel.OK),
                                              ("paper=near-end", PaperLevel.NEAR_END),
                                              ("paper=out", PaperLevel.OUT)])
def test_the_paper_readout_follows_the_printers_sensors(open_sim: OpenSim, query: str,
                                                        level: PaperLevel) -> None:
    assert paper_level(open_sim(query).status()) is level
