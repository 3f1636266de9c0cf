"""The dossier PDF: every page at its real size, every image stream exactly as the scanner
encoded it, nothing personal in the metadata, nothing written to disk."""

from __future__ import annotations

import builtins
import dataclasses
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from printer.dossier import DossierDocument, DossierInfo, dossier_pdf, write_dossier_pdf
from printer.errors import DossierError
from printer.fonts import register_pdf_fonts
from scanner import EncodedPage
from tests.printer.conftest import ScannedPage
from tests.printer.tools import (
    need,
    page_sizes_mm,
    pdf_info,
    pdf_pages_to_png,
    pdf_text,
    run,
)

INFO = DossierInfo(
    deposit_id="D3M0-01RZ-KNWS", procedure_code="caf-apl",
    procedure_title="Aide personnalisée au logement (APL)",
    created=datetime(2025, 11, 22, 14, 57, 12, tzinfo=UTC), kiosk_id="DEMO-01",
    kiosk_place="France Services de Besançon-Planoise", case_reference="CNV-2025-004217",
    citizen_language="en")


def documents(scanned: list[ScannedPage]) -> list[DossierDocument]:
    pages = [s.encoded for s in scanned]
    return [DossierDocument("Convocation et avis d’impôt", pages[0:2]),
            DossierDocument("Bulletin de salaire", pages[2:4]),
            DossierDocument("Pièce d’identité (recto, verso)", pages[4:6]),
            DossierDocument("Courriers", pages[6:10])]


@pytest.fixture(scope="module")
def dossier(scanned: list[ScannedPage], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dossier") / "dossier.pdf"
    path.write_bytes(dossier_pdf(INFO, documents(scanned)))
    return path


def test_every_page_has_the_size_of_its_paper_within_a_millimetre(
        dossier: Path, scanned: list[ScannedPage]) -> None:
    sizes = page_sizes_mm(dossier)
    assert len(sizes) == 1 + len(scanned) == 11
    assert abs(sizes[0][0] - 210) < 1 and abs(sizes[0][1] - 297) < 1   # the cover, A4
    for (width, height), page in zip(sizes[1:], scanned, strict=True):
        expected = page.encoded.size_mm
        assert abs(width - expected[0]) < 1 and abs(height - expected[1]) < 1, page.name


def test_every_image_stream_is_byte_identical_to_what_the_scanner_made(
        dossier: Path, scanned: list[ScannedPage], tmp_path: Path) -> None:
    need("pdfimages")
    listing = run("pdfimages", "-list", dossier).splitlines()[2:]
    encodings = [row.split()[8] for row in listing]
    assert encodings == ["ccitt" if s.encoded.codec == "ccitt-g4" else "jpeg" for s in scanned]
    run("pdfimages", "-all", dossier, tmp_path / "img")
    extracted = sorted(p for p in tmp_path.iterdir() if p.suffix in (".jpg", ".ccitt"))
    assert len(extracted) == len(scanned)
    for path, page in zip(extracted, scanned, strict=True):
        assert path.suffix == (".ccitt" if page.encoded.codec == "ccitt-g4" else ".jpg")
        assert path.read_bytes() == page.encoded.data, page.name
        if path.suffix == ".ccitt":   # the fax parameters poppler read from our dictionary
            params = path.with_suffix(".params").read_text().split()
            assert params[:2] == ["-4", "-P"] and "-B" in params   # K<0, not byte-aligned
            assert params[params.index("-X") + 1] == str(page.encoded.width)


@pytest.mark.parametrize("index", [0, 8])   # A4 portrait and landscape
def test_a_g4_page_renders_exactly_as_scanned(dossier: Path, scanned: list[ScannedPage],
                                             tmp_path: Path, index: int) -> None:
    page = scanned[index]
    [rendered] = pdf_pages_to_png(dossier, round(page.encoded.dpi), tmp_path, first=index + 2,
                                  gray=True)
    shown = np.asarray(Image.open(rendered)) < 128
    ink = page.pixels < 128
    h, w = min(shown.shape[0], ink.shape[0]), min(shown.shape[1], ink.shape[1])
    assert abs(shown.shape[0] - ink.shape[0]) <= 1 and abs(shown.shape[1] - ink.shape[1]) <= 1
    assert ink.mean() > 0.005, "the page has ink to compare"
    assert (shown[:h, :w] != ink[:h, :w]).mean() < 0.001   # not a negative, not shifted


def test_the_metadata_names_the_procedure_and_number_and_nothing_personal(dossier: Path) -> None:
    info = pdf_info(dossier)
    assert info["Title"] == "Dossier D3M0-01RZ-KNWS"
    assert info["Subject"] == "Aide personnalisée au logement (APL) (caf-apl)"
    assert info["Creator"] == "deposit-kiosk"
    assert info["Author"] == "" and info["Keywords"] == ""
    assert info["CreationDate"].startswith("2025-11-22T15:57:12+01")
    raw = dossier.read_bytes()
    info_object = raw[raw.index(b"/Producer") - 400: raw.index(b"/Producer") + 400]
    for personal in (b"CNV-2025-004217", b"DEMO-01", b"Besan"):
        assert personal not in info_object


def test_the_cover_lists_each_document_with_its_pages(dossier: Path) -> None:
    text = " ".join(pdf_text(dossier, first=1, last=1).split())
    for expected in ["Dossier D3M0-01RZ-KNWS", "Aide personnalisée au logement (APL) (caf-apl)",
                     "22 novembre 2025 à 15:57", "DEMO-01 — France Services de Besançon-Planoise",
                     "Langue du déposant : anglais", "CNV-2025-004217",
                     "Convocation et avis d’impôt 2 pages 2–3",
                     "Pièce d’identité (recto, verso) 2 pages 6–7",
                     "Courriers 4 pages 8–11", "Total 10 pages"]:
        assert expected in text, expected


def test_the_cover_fonts_are_embedded(dossier: Path) -> None:
    need("pdffonts")
    rows = run("pdffonts", dossier).splitlines()[2:]
    assert rows and all(" yes yes yes " in row and "DejaVuSans" in row for row in rows), rows


def test_the_dossier_is_built_without_writing_a_file(scanned: list[ScannedPage],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    register_pdf_fonts()   # reading the font files is allowed; writing anything is not
    real_open, real_os_open = builtins.open, os.open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"the dossier build opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    def read_only_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise AssertionError(f"the dossier build opened {path!r} for writing")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_open)
    monkeypatch.setattr(os, "open", read_only_os_open)
    out = io.BytesIO()
    write_dossier_pdf(INFO, documents(scanned), out)
    assert out.getvalue().startswith(b"%PDF-")


def test_the_same_dossier_gives_the_same_bytes(scanned: list[ScannedPage]) -> None:
    docs = documents(scanned)[:2]
    assert dossier_pdf(INFO, docs) == dossier_pdf(INFO, docs)


def bad_pages(page: EncodedPage) -> dict[str, EncodedPage]:
    return {
        "unknown codec": dataclasses.replace(page, codec="png"),  # type: ignore[arg-type]
        "not a JPEG": dataclasses.replace(page, data=b"GIF89a" + page.data),
        "JPEG size differs": dataclasses.replace(page, width=page.width + 1),
        "colour differs from the JPEG": dataclasses.replace(page, colour="gray"),
        "no size": dataclasses.replace(page, size_mm=(0.0, 297.0)),
        "absurd size": dataclasses.replace(page, size_mm=(210.0, 29_700.0)),
        "no data": dataclasses.replace(page, data=b""),
        "truncated JPEG": dataclasses.replace(page, data=page.data[:20]),
    }


@pytest.mark.parametrize("problem", ["unknown codec", "not a JPEG", "JPEG size differs",
                                     "colour differs from the JPEG", "no size", "absurd size",
                                     "no data", "truncated JPEG"])
def test_a_page_that_cannot_be_embedded_unchanged_is_refused_before_anything_is_written(
        scanned: list[ScannedPage], problem: str) -> None:
    good = scanned[1].encoded     # an RGB JPEG
    bad = bad_pages(good)[problem]
    out = io.BytesIO()
    with pytest.raises(DossierError, match=r"document 1 .* page 2"):
        write_dossier_pdf(INFO, [DossierDocument("Pièces", [good, bad])], out)
    assert out.getvalue() == b""


def test_a_g4_page_that_claims_colour_is_refused(scanned: list[ScannedPage]) -> None:
    with pytest.raises(DossierError, match="bilevel"):
        dossier_pdf(INFO, [DossierDocument("x", [dataclasses.replace(scanned[0].encoded,
                                                                      colour="rgb")])])


def test_an_empty_dossier_or_document_is_refused(scanned: list[ScannedPage]) -> None:
    with pytest.raises(DossierError, match="at least one document"):
        dossier_pdf(INFO, [])
    with pytest.raises(DossierError, match="no page"):
        dossier_pdf(INFO, [DossierDocument("x", [])])
    with pytest.raises(DossierError, match="time zone"):
        dossier_pdf(dataclasses.replace(INFO, created=datetime(2025, 1, 1)),
                    [DossierDocument("x", [scanned[0].encoded])])
