"""The receipt laid out as a print job: it fits the paper, the code page and the profile."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.printer import Align, Cut, Feed, Image, QRCode, Text
from drivers.printer.profiles import choose_code_page, load_profile
from printer.errors import LayoutError
from printer.escpos_layout import qr_module_size, receipt_job
from printer.receipt import Transmission
from printer.samples import LANGUAGES, sample_receipt
from printer.text import display_width

PROFILES = [("TM-T88V", 80), ("TM-T88V", 58), ("T-1", None), ("TM-U220", None),
            ("ZJ-5870", None), ("CT-S651", None)]


def printed_lines(job) -> list[tuple[str, Text]]:
    return [(line, e) for e in job.elements if isinstance(e, Text) for line in e.text.split("\n")]


@pytest.mark.parametrize(("name", "width"), PROFILES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_line_fits_the_paper_and_the_code_page(name: str, width: int | None,
                                                     language: str) -> None:
    profile = load_profile(name, width=width)
    codec = choose_code_page(profile).codec
    job = receipt_job(sample_receipt(language), profile)
    for line, element in printed_lines(job):
        columns = profile.columns // 2 if element.style.double_width else profile.columns
        assert display_width(line) <= columns, (line, columns)
        line.encode(codec)   # nothing left for the driver to replace
    for image in (e for e in job.elements if isinstance(e, Image)):
        _, dots = image.pixels.shape
        assert dots <= profile.dots_per_line and dots % 8 == 0
        assert set(np.unique(image.pixels)) <= {0, 255}


@pytest.mark.parametrize("language", ["fr", "en", "es", "fr-falc"])
def test_latin_receipts_print_as_text_only(language: str) -> None:
    job = receipt_job(sample_receipt(language), load_profile("TM-T88V", width=80))
    assert not [e for e in job.elements if isinstance(e, Image)]


def test_an_arabic_receipt_draws_its_arabic_right_aligned_and_keeps_latin_as_text() -> None:
    job = receipt_job(sample_receipt("ar"), load_profile("TM-T88V", width=80))
    images = [e for e in job.elements if isinstance(e, Image)]
    assert len(images) >= 25
    aligns = [i.align for i in images]
    assert aligns.count(Align.RIGHT) >= 20 and Align.LEFT not in aligns   # title: CENTER
    texts = [(line, e) for line, e in printed_lines(job) if line.strip("- ")]
    assert ("D3M0-01RZ-KNWS", Align.CENTER) in [(line, e.style.align) for line, e in texts]
    service = [e for line, e in texts if "Caisse d’allocations" in line]
    assert service and service[0].style.align is Align.RIGHT     # Latin, in a right-to-left job
    assert [c.data for c in job.elements if isinstance(c, QRCode)] == [
        sample_receipt("ar").status_url]


def test_the_qr_code_of_a_receipt_opens_the_status_page_in_its_language() -> None:
    french, arabic = sample_receipt("fr"), sample_receipt("ar")
    assert french.status_url == french.tracking_url           # French: the page's default
    assert arabic.status_url == arabic.tracking_url + "&lang=ar"
    assert sample_receipt("fr-falc").status_url.endswith("&lang=fr-falc")


def test_the_deposit_number_is_printed_large_on_58_mm_paper() -> None:
    job = receipt_job(sample_receipt("fr"), load_profile("TM-T88V", width=58))
    big = [e for e in job.elements if isinstance(e, Text) and e.text == "D3M0-01RZ-KNWS"]
    assert len(big) == 1
    assert big[0].style.double_width and big[0].style.double_height and big[0].style.bold
    assert big[0].style.align is Align.CENTER


def test_the_job_holds_the_documents_the_qr_code_and_ends_with_a_cut() -> None:
    receipt = sample_receipt("fr")
    job = receipt_job(receipt, load_profile("TM-T88V", width=80))
    text = " ".join(" ".join(line for line, _ in printed_lines(job)).split())
    for word in ("Récépissé de dépôt", "Pièce d’identité", "2 pages", "Total", "8 pages",
                 "Réponse au plus tard le 22 décembre 2025", "Besançon", "(montant en €)"):
        assert word in text.replace("\u00a0", " "), word
    codes = [e for e in job.elements if isinstance(e, QRCode)]
    assert [c.data for c in codes] == [receipt.tracking_url]
    assert isinstance(job.elements[-1], Cut)
    assert job.name == "receipt D3M0-01RZ-KNWS"


def test_pc858_prints_the_euro_sign_and_oe_without_the_ligature() -> None:
    receipt = sample_receipt("fr")
    job = receipt_job(receipt, load_profile("T-1"))
    text = "\n".join(line for line, _ in printed_lines(job))
    assert "€" in text and "œ" not in text


def test_a_printer_without_a_cutter_gets_a_feed_to_tear_off() -> None:
    job = receipt_job(sample_receipt("fr"), load_profile("ZJ-5870"))
    assert not any(isinstance(e, Cut) for e in job.elements)
    assert isinstance(job.elements[-1], Feed)


def test_the_sent_and_queued_receipts_say_where_the_dossier_is() -> None:
    profile = load_profile("TM-T88V")
    queued = receipt_job(sample_receipt("fr", Transmission.QUEUED), profile)
    sent = receipt_job(sample_receipt("fr", Transmission.SENT), profile)
    queued_text = " ".join(line for line, _ in printed_lines(queued))
    sent_text = " ".join(line for line, _ in printed_lines(sent))
    assert "dès que le réseau" in queued_text and "dès que le réseau" not in sent_text
    assert "a été transmis" in sent_text


def test_a_profile_too_narrow_for_a_receipt_is_refused() -> None:
    with pytest.raises(LayoutError, match="columns"):
        receipt_job(sample_receipt("fr"), load_profile("NT-80-V-UL"))


def test_the_qr_module_fits_the_paper_with_its_quiet_zone() -> None:
    url = sample_receipt("fr").tracking_url
    small, large = qr_module_size(url, 360), qr_module_size(url, 576)
    assert 3 <= small <= large <= 8
