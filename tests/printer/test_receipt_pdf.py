"""The receipt as a PDF (roll width or A4) and as a PNG for the screen."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from printer.errors import LayoutError
from printer.receipt_pdf import receipt_pdf
from printer.samples import LANGUAGES, sample_receipt
from printer.screen import receipt_png
from tests.printer.tools import decode_qr, need, pdf_info, pdf_pages_to_png, pdf_text, run

ACCENTED = ["Récépissé de dépôt", "Pièce d’identité", "Besançon", "(montant en €)",
            "Délai de traitement", "dès que le réseau le permettra", "Réponse au plus tard"]


@pytest.mark.parametrize("roll_mm", [58, 80, None])
def test_the_pdf_receipt_reads_right_and_its_qr_code_decodes(tmp_path: Path,
                                                             roll_mm: int | None) -> None:
    receipt = sample_receipt("fr")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf(receipt, roll_mm=roll_mm))
    info = pdf_info(pdf)
    width_mm = float(info["Page size"].split()[0]) * 25.4 / 72
    if roll_mm is None:
        assert "A4" in info["Page size"]
    else:
        assert info["Pages"] == "1", "a roll receipt is one long page"
        assert abs(width_mm - roll_mm) < 0.1
    assert info["Title"] == "Récépissé de dépôt D3M0-01RZ-KNWS"
    text = " ".join(pdf_text(pdf).split())
    for words in [*ACCENTED, "D3M0-01RZ-KNWS"]:
        assert words in text, words
    [png] = pdf_pages_to_png(pdf, 200, tmp_path / "png")
    assert decode_qr(png) == [receipt.tracking_url]


def test_the_pdf_embeds_its_fonts(tmp_path: Path) -> None:
    need("pdffonts")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf(sample_receipt("en"), roll_mm=80))
    rows = run("pdffonts", pdf).splitlines()[2:]
    assert rows and all(" yes yes yes " in row for row in rows), rows
    assert all("DejaVuSans" in row for row in rows)


def test_a_roll_narrower_than_any_receipt_printer_is_refused() -> None:
    with pytest.raises(LayoutError, match="roll width"):
        receipt_pdf(sample_receipt("fr"), roll_mm=30)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_screen_receipt_shows_a_qr_code_a_phone_can_read(tmp_path: Path,
                                                             language: str) -> None:
    receipt = sample_receipt(language)
    data = receipt_png(receipt)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width == 640 and image.height > 1200
    png = tmp_path / "screen.png"
    png.write_bytes(data)
    assert decode_qr(png) == [receipt.status_url]


def test_the_large_text_screen_receipt_is_larger() -> None:
    normal = Image.open(io.BytesIO(receipt_png(sample_receipt("fr"))))
    large = Image.open(io.BytesIO(receipt_png(sample_receipt("fr"), width=900, scale=1.5)))
    assert large.height > normal.height * 1.2


def test_the_arabic_pdf_receipt_draws_its_arabic_as_images_and_its_qr_code_decodes(
        tmp_path: Path) -> None:
    receipt = sample_receipt("ar")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf(receipt, roll_mm=80))
    text = pdf_text(pdf)
    # reportlab cannot shape: no Arabic letter is set as text, every Arabic block is a picture
    assert not any("\u0600" <= c <= "\u06ff" for c in text)
    assert "D3M0-01RZ-KNWS" in text and "Caisse d’allocations" in text
    need("pdfimages")
    images = run("pdfimages", "-list", pdf).splitlines()[2:]
    assert len(images) > 20
    [png] = pdf_pages_to_png(pdf, 200, tmp_path / "png")
    assert decode_qr(png) == [receipt.status_url]
