"""Through a pseudo-terminal: the serial backend prints, the simulator's own parser reads back."""

from __future__ import annotations

import os

import numpy as np
import pytest

from drivers import open_printer
from drivers.errors import (
    CoverOpenError,
    CutterError,
    PaperOutError,
    PrinterError,
    PrinterFaultError,
    PrinterOfflineError,
)
from drivers.printer.base import Align, Cut, Image, Printer, PrintJob, QRCode, Style, Text
from drivers.printer.sim_backend import SimulatedPrinter
from tests.drivers.printer.conftest import (
    FRENCH,
    QR_PAYLOAD,
    decode_zbarimg,
    decode_zxing,
    receipt_job,
)


def test_sim_is_the_serial_backend_on_a_pseudo_terminal(sim: SimulatedPrinter) -> None:
    assert isinstance(sim, Printer)
    assert sim.transport.name == f"serial {sim.simulator.path}"
    path = sim.simulator.path
    assert path is not None and path.startswith("/dev/pts/")
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        assert os.isatty(fd)
    finally:
        os.close(fd)
    assert sim.status().can_print


def test_french_text_comes_back_exactly(sim: SimulatedPrinter) -> None:
    lines = [FRENCH, "Œuvre sociale : 12,50 €", "Reçu n° ÀÉÈÇ — à garder"]
    sim.print_job(PrintJob((*(Text(line) for line in lines), Cut())))
    (job,) = sim.simulator.wait_for_jobs(1)
    assert job.text == "\n".join(lines)
    assert job.code_pages == [16]  # WPC1252, selected by the job itself


def test_a_pc858_printer_gets_oe_for_the_ligature(open_sim) -> None:
    printer = open_sim("profile=T-1")
    printer.print_job(PrintJob((Text(FRENCH), Text("Œuvre"), Cut())))
    (job,) = printer.simulator.wait_for_jobs(1)
    assert job.text == "é è à ç ô oe €\nOEuvre"
    assert job.code_pages == [19]


def test_styles_and_alignment_come_back(sim: SimulatedPrinter) -> None:
    sim.print_job(PrintJob((
        Text("TITRE", Style(bold=True, double_width=True, double_height=True,
                            align=Align.CENTER)),
        Text("souligné", Style(underline=True, align=Align.RIGHT)),
        Text("inversé", Style(invert=True)),
        Text("normal"),
        Cut(),
    )))
    (job,) = sim.simulator.wait_for_jobs(1)
    title, underlined, inverted, plain = job.lines
    assert (title.style.bold, title.style.width, title.style.height, title.align) == (
        True, 2, 2, Align.CENTER)
    assert (underlined.style.underline, underlined.align) == (1, Align.RIGHT)
    assert inverted.style.invert and not inverted.style.bold
    assert plain.style == type(plain.style)() and plain.align is Align.LEFT
    assert job.cuts[0].partial is False


@pytest.mark.parametrize("qr", ["native", "image"])
def test_the_qr_code_decodes_from_the_rendered_png(open_sim, qr: str) -> None:
    printer = open_sim(f"qr={qr}")
    printer.print_job(receipt_job())
    (job,) = printer.simulator.wait_for_jobs(1)
    if qr == "native":
        assert job.qr_payloads == [QR_PAYLOAD] and not job.images
    else:
        assert not job.qr_codes and len(job.images) == 1
    assert job.png is not None and job.png.exists()
    assert decode_zbarimg(job.png) == [QR_PAYLOAD]
    assert decode_zxing(job.png) == [QR_PAYLOAD]


def test_a_raster_image_is_rendered_as_sent(sim: SimulatedPrinter) -> None:
    pixels = np.full((40, 64), 255, dtype=np.uint8)
    pixels[10:30, 8:56] = 0
    sim.print_job(PrintJob((Image(pixels, align=Align.LEFT), Cut())))
    (job,) = sim.simulator.wait_for_jobs(1)
    assert np.array_equal(job.images[0].dots[:, :64], pixels < 128)


# ---------------------------------------------------------------- status conditions

CONDITIONS = [
    ("paper=out", "paper_out", PaperOutError),
    ("cover=open", "cover_open", CoverOpenError),
    ("cutter=error", "cutter_error", CutterError),
    ("online=false", "offline", PrinterOfflineError),
]


@pytest.mark.parametrize(("query", "problem", "error"), CONDITIONS)
def test_each_condition_is_reported_and_stops_the_job_before_it_starts(
        open_sim, query: str, problem: str, error: type[PrinterError]) -> None:
    printer = open_sim(query)
    status = printer.status()
    assert problem in status.problems() and not status.can_print
    with pytest.raises(error) as caught:
        printer.print_job(receipt_job())
    assert caught.value.status == status
    assert b"\x1b@" not in printer.simulator.received  # nothing of the job was sent
    assert printer.simulator.jobs == []


def test_an_unrecoverable_error_is_a_fault(sim: SimulatedPrinter) -> None:
    sim.simulator.set(unrecoverable_error=True)
    assert sim.status().unrecoverable_error
    with pytest.raises(PrinterFaultError):
        sim.print_job(receipt_job())


def test_paper_near_end_prints_and_says_so(open_sim) -> None:
    printer = open_sim("paper=near-end")
    status = printer.print_job(receipt_job())
    assert status.paper_near_end and status.can_print
    assert status.problems() == ["paper_near_end"]
    assert printer.simulator.wait_for_jobs(1)[0].text.startswith("Mairie")


def test_a_healthy_printer_reports_nothing(sim: SimulatedPrinter) -> None:
    assert sim.status().problems() == []


def test_paper_running_out_during_the_job_is_paper_out(sim: SimulatedPrinter) -> None:
    sim.simulator.set(paper_out_after_lines=3)
    job = PrintJob((*(Text(f"ligne {i}") for i in range(1, 11)), Cut()))
    with pytest.raises(PaperOutError, match="during the job") as caught:
        sim.print_job(job)
    assert caught.value.status is not None and caught.value.status.paper_out
    (printed,) = sim.simulator.wait_for_jobs(1)
    assert printed.truncated and printed.text == "ligne 1\nligne 2\nligne 3"
    # a new roll: the same receipt prints whole
    sim.simulator.set(paper="ok")
    assert sim.print_job(job).can_print
    assert sim.simulator.wait_for_jobs(2)[1].text.count("ligne") == 10


def test_paper_running_out_after_some_bytes(sim: SimulatedPrinter) -> None:
    sim.simulator.set(paper_out_after_bytes=40)
    with pytest.raises(PaperOutError):
        sim.print_job(receipt_job())
    assert sim.status().paper_out


def test_the_state_can_change_between_calls(sim: SimulatedPrinter) -> None:
    sim.simulator.set(cover_open=True)
    assert sim.status().cover_open
    sim.simulator.set(cover_open=False)
    assert sim.status().can_print


def test_close_removes_the_temporary_png_folder() -> None:
    printer = open_printer("sim://")
    assert isinstance(printer, SimulatedPrinter)
    printer.print_job(receipt_job())
    (job,) = printer.simulator.wait_for_jobs(1)
    assert job.png is not None and job.png.exists()
    folder = job.png.parent
    printer.close()
    assert not folder.exists()


def test_pngs_stay_in_the_chosen_folder(tmp_path) -> None:
    printer = open_printer(f"sim://?out={tmp_path}")
    assert isinstance(printer, SimulatedPrinter)
    try:
        printer.print_job(receipt_job())
        printer.print_job(receipt_job())
        printer.simulator.wait_for_jobs(2)
        assert printer.simulator.pngs == [tmp_path / "receipt-0001.png",
                                          tmp_path / "receipt-0002.png"]
    finally:
        printer.close()
    assert (tmp_path / "receipt-0002.png").exists()


def test_58mm_paper_has_32_columns_and_a_narrower_receipt(open_sim) -> None:
    printer = open_sim("profile=POS-5890&width=58")
    assert (printer.profile.columns, printer.profile.dots_per_line) == (32, 384)
    printer.print_job(PrintJob((Text("x" * 40), QRCode("https://exemple.fr"), Cut())))
    (job,) = printer.simulator.wait_for_jobs(1)
    assert [len(line.text) for line in job.lines] == [32, 8]
    assert decode_zxing(job.png) == ["https://exemple.fr"]
