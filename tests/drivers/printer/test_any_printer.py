"""One suite for the simulator and for a real printer, as pyserial's tests run on loop:// or a port.

By default it runs on ``sim://``. On a real printer (paper loaded, cover closed):

    python -m pytest tests/drivers/printer/test_any_printer.py -m hardware \\
        --printer-url="serial:///dev/ttyUSB0?baudrate=38400&rtscts=true"

then check the printed receipts by eye and scan their QR codes with a phone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from drivers import open_printer
from drivers.printer.base import Align, Cut, Feed, Printer, PrintJob, QRCode, Style, Text
from drivers.printer.encoder import Encoder, EncoderSettings
from drivers.printer.escpos_printer import EscposPrinter
from tests.drivers.printer.conftest import FRENCH, QR_PAYLOAD, decode_zbarimg, decode_zxing


@pytest.fixture(params=["sim", pytest.param("hardware", marks=pytest.mark.hardware)])
def printer(request: pytest.FixtureRequest, tmp_path) -> Iterator[EscposPrinter]:
    if request.param == "hardware":
        url = request.config.getoption("--printer-url")
        if not url:
            pytest.skip("no real printer: give --printer-url=URL (and -m hardware)")
    else:
        url = f"sim://?out={tmp_path}"
    device = open_printer(url)
    assert isinstance(device, EscposPrinter)
    yield device
    device.close()


def check_on_paper(printer: EscposPrinter, text: str, qr: str | None) -> None:
    """On the simulator, read back what the paper shows; a person checks a real printer."""
    simulator = getattr(printer, "simulator", None)
    if simulator is None:
        return
    job = simulator.wait_for_jobs(1)[-1]
    assert text in job.text
    if qr is not None:
        assert decode_zxing(job.png) == [qr]
        assert decode_zbarimg(job.png) == [qr]


def test_it_is_a_printer_and_answers_status_within_two_seconds(printer: EscposPrinter) -> None:
    assert isinstance(printer, Printer)
    started = time.monotonic()
    status = printer.status()
    assert time.monotonic() - started < 2
    assert status.can_print, f"printer not ready: {status.problems()}"


@pytest.mark.parametrize("qr", ["native", "image"])
def test_a_french_receipt_with_its_qr_code(printer: EscposPrinter, qr: str) -> None:
    if qr == "native" and not printer.profile.native_qr:
        pytest.skip(f"profile {printer.profile.name} has no native QR command")
    printer.encoder = Encoder(EncoderSettings.for_profile(printer.profile, qr=qr))
    title = f"Test {qr} : {FRENCH}"
    status = printer.print_job(PrintJob((
        Text("Reçu de dépôt", Style(bold=True, double_width=True, double_height=True,
                                    align=Align.CENTER)),
        Text(title),
        Text("Œuvre, pêche, forêt — 12,50 €", Style(underline=True)),
        QRCode(QR_PAYLOAD, module_size=5, error_correction="M"),
        Text("Conservez ce reçu", Style(invert=True, align=Align.CENTER)),
        Feed(1),
        Cut(partial=True),
    ), name=f"test-{qr}"))
    assert status.can_print
    check_on_paper(printer, title if "CP1252" in printer.profile.code_pages else "Test", QR_PAYLOAD)


def test_status_still_works_after_the_port_is_closed_under_it(printer: EscposPrinter) -> None:
    printer.transport.close()  # as after an unplug noticed by another call
    assert printer.status().known
