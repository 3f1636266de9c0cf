"""Rectify, enhance and compress: formats, colours and byte streams a PDF can embed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.scanner_eval import decoded, legibility, ocr
from drivers.camera.synth import Defects, render_text_page, sample_pages, synthesize
from scanner import compress, enhance, process_still, rectify
from scanner.compress import decode_g4, encode_g4
from scanner.enhance import BILEVEL_MIN_SOURCE_DPI, grey_text
from scanner.page import PageContent
from scanner.rectify import GREY_OVERSAMPLING, MIN_STORAGE_DPI, estimate_aspect, recognise_format


def square_page(width: int, height: int) -> np.ndarray:
    img = np.full((height, width, 3), 235, np.uint8)
    cv2.putText(img, "Bonjour", (width // 10, height // 2), cv2.FONT_HERSHEY_SIMPLEX,
                width / 300, (20, 20, 20), max(1, width // 150))
    return img


@pytest.mark.parametrize(("size_mm", "name"), [((210, 297), "A4"), ((215.9, 279.4), "letter"),
                                               ((85.6, 53.98), "ID-1")])
def test_the_format_is_recognised_from_a_perspective_view(size_mm, name) -> None:
    page = square_page(400, round(400 * size_mm[1] / size_mm[0]))
    frame, corners = synthesize(page, np.random.default_rng(1),
                                defects=Defects(tilt_deg=15), page_size_mm=size_mm)
    aspect = estimate_aspect(corners, (frame.shape[1], frame.shape[0]))
    fmt = recognise_format(aspect)
    assert fmt is not None and fmt.name == name
    rectified = rectify(frame, corners)
    assert rectified.format == name
    h, w = rectified.image.shape[:2]
    assert abs((h / w) / (rectified.size_mm[1] / rectified.size_mm[0]) - 1) < 0.01


def test_a4_and_a5_are_told_apart_only_by_the_trays_scale() -> None:
    a4 = recognise_format(1.414)
    assert a4 is not None and a4.name == "A4"
    a5 = recognise_format(1.414, long_side_mm=205)
    assert a5 is not None and a5.name == "A5"


def test_g4_stream_round_trips_and_is_tiny_for_a_text_page() -> None:
    page = np.full((600, 400), 255, np.uint8)
    cv2.putText(page, "ABC 123", (30, 300), cv2.FONT_HERSHEY_SIMPLEX, 2, 0, 4)
    page = np.where(page > 127, 255, 0).astype(np.uint8)     # putText anti-aliases
    data = encode_g4(page)
    assert not data.startswith(b"II*\x00")          # raw CCITT data, not a TIFF file
    assert np.array_equal(decode_g4(data, 400, 600), page)
    assert len(data) < 2000


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_g4_stream_renders_right_in_a_pdf_as_ccittfax_k_minus_1(tmp_path: Path) -> None:
    page = np.full((200, 160), 255, np.uint8)
    page[40:120, 30:90] = 0
    data = encode_g4(page)
    w, h = 160, 200
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns %d "
             b"/Rows %d /BlackIs1 false >> /Length %d >>\nstream\n" % (w, h, w, h, len(data))
             + data + b"\nendstream")
    content = b"q %d 0 0 %d 0 0 cm /Im0 Do Q" % (w, h)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject "
               b"<< /Im0 4 0 R >> >> /Contents 5 0 R >>" % (w, h), image,
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"]
    pdf, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % (i + 1) + obj + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1,
                                                                              xref)
    (tmp_path / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "72", "-gray", "-png", str(tmp_path / "p.pdf"),
                    str(tmp_path / "r")], check=True)
    rendered = cv2.imread(str(next(tmp_path.glob("r*.png"))), cv2.IMREAD_GRAYSCALE)
    assert rendered is not None
    assert np.mean((rendered > 127) == (page > 127)) > 0.98


def ink_agreement(bilevel: np.ndarray, truth_ink: np.ndarray,
                  reach: int = 2) -> tuple[float, float]:
    """(share of the output's ink near true ink, share of the true ink near output ink)."""
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    ink = (bilevel == 0).astype(np.uint8)
    near_truth = cv2.dilate(truth_ink.astype(np.uint8), kernel) > 0
    near_ink = cv2.dilate(ink, kernel) > 0
    return float(near_truth[ink > 0].mean()), float(near_ink[truth_ink].mean())


@pytest.mark.slow
def test_a_page_in_uneven_light_becomes_clean_bilevel_text_without_shadow_or_specks() -> None:
    source = render_text_page(21)                            # 200 dpi, like the rectified page
    frame, corners = synthesize(source, np.random.default_rng(21), frame_size=(2560, 1920),
                                defects=Defects(gradient=0.9, noise_sigma=3, blur_sigma=0.6))
    clean = enhance(rectify(frame, corners))
    assert clean.colour == "bilevel"
    # at 200 dpi like the drawn page, or on the finer grid (tests/scanner/test_storage.py)
    h, w = clean.image.shape
    assert (h, w) == (round(297 / 25.4 * clean.dpi), round(210 / 25.4 * clean.dpi))
    drawn = cv2.resize(cv2.cvtColor(source, cv2.COLOR_BGR2GRAY), (w, h),
                       interpolation=cv2.INTER_LINEAR)
    truth_ink = drawn < 128
    precise, complete = ink_agreement(clean.image, truth_ink, reach=round(2 * clean.dpi / 200))
    assert precise > 0.98, "ink where the page has none (shadow, noise specks)"
    assert complete > 0.97, "strokes lost"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr not installed")
def test_tesseract_reads_the_compressed_page_as_well_as_the_rectified_photo(tmp_path) -> None:
    frame, corners = synthesize(render_text_page(22), np.random.default_rng(22),
                                frame_size=(4000, 3000), defects=Defects(gradient=0.4,
                                                                         noise_sigma=2))
    page = rectify(frame, corners)
    encoded = compress(enhance(page))
    assert encoded.codec == "ccitt-g4" and len(encoded.data) < 80_000
    reference = ocr(page.image, tmp_path)
    assert len(reference) > 500                            # a page of text, read
    read, _ = legibility(reference, ocr(decoded(encoded), tmp_path))
    assert read >= 0.97


@pytest.mark.slow
def test_a_photographed_letter_becomes_a_small_bilevel_g4_page() -> None:
    page = render_text_page(4)
    frame, truth = synthesize(page, np.random.default_rng(4), frame_size=(3264, 2448),
                              defects=Defects(gradient=0.5, noise_sigma=2))
    result = process_still(frame)
    assert result.page is not None and result.encoded is not None
    # found on the still reduced to 2000 px, given back in the still's own pixels
    assert result.corners is not None
    assert np.max(np.linalg.norm(result.corners - truth, axis=1)) < 2.0
    assert result.page.format == "A4" and result.page.colour == "bilevel"
    assert result.encoded.codec == "ccitt-g4"
    assert result.encoded.width == 1654 and result.encoded.height == 2339
    assert len(result.encoded.data) < 80_000
    assert result.verdict.ok, result.verdict.to_json()


def test_an_identity_card_keeps_its_colour_as_a_baseline_jfif() -> None:
    card = next(p for p in sample_pages() if p.name == "identity-card")
    frame, corners = synthesize(card.bgra(), np.random.default_rng(2), page_size_mm=card.size_mm)
    page = enhance(rectify(frame, corners))
    assert page.content is PageContent.COLOUR and page.colour == "rgb"
    encoded = compress(page)
    assert encoded.codec == "jpeg" and encoded.data[:4] == b"\xff\xd8\xff\xe0"
    assert encoded.data[6:11] == b"JFIF\x00"
    assert b"\xff\xc0" in encoded.data and b"\xff\xc2" not in encoded.data   # baseline only


def letter_seen_at(dpi: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A letter on the tray, the frame sized so that the camera sees it at about ``dpi``."""
    height = round(dpi * 297 / 25.4 / 0.84)          # synth: A4's long side fills ~84 %
    return synthesize(render_text_page(seed), np.random.default_rng(seed),
                      frame_size=(round(height * 4 / 3), height),
                      defects=Defects(noise_sigma=2, gradient=0.3))


def test_the_cameras_resolution_on_the_page_is_measured_from_its_corners() -> None:
    for dpi in (60.0, 150.0):
        frame, corners = letter_seen_at(dpi, 41)
        page = rectify(frame, corners)
        assert page.source_dpi is not None and abs(page.source_dpi / dpi - 1) < 0.08


def test_a_page_seen_at_low_resolution_is_kept_grey_at_a_resolution_matched_to_it() -> None:
    frame, corners = letter_seen_at(BILEVEL_MIN_SOURCE_DPI * 0.75, 42)
    result = process_still(frame, corners=corners)
    page, encoded = result.page, result.encoded
    assert page is not None and encoded is not None and page.source_dpi is not None
    assert page.source_dpi < BILEVEL_MIN_SOURCE_DPI
    assert encoded.codec == "jpeg" and encoded.colour == "gray"
    expected_dpi = max(MIN_STORAGE_DPI, round(GREY_OVERSAMPLING * page.source_dpi))
    assert encoded.dpi == expected_dpi
    # the physical size is kept, and the pixels are that size at that resolution
    assert encoded.size_mm == (210.0, 297.0)
    assert encoded.width == round(210 / 25.4 * encoded.dpi)
    assert encoded.height == round(297 / 25.4 * encoded.dpi)
    assert len(encoded.data) < 80_000


def test_a_page_seen_sharply_enough_becomes_bilevel() -> None:
    frame, corners = letter_seen_at(BILEVEL_MIN_SOURCE_DPI * 1.15, 43)
    page = rectify(frame, corners)
    assert page.dpi == 200 and page.image.ndim == 2 and page.content is PageContent.TEXT
    encoded = compress(enhance(page))
    # at 200 dpi, or finer when the threshold fattened its strokes (tests/scanner/test_storage.py)
    assert encoded.codec == "ccitt-g4" and encoded.dpi in (200, 300)
    assert (encoded.width, encoded.height) == (round(210 / 25.4 * encoded.dpi),
                                               round(297 / 25.4 * encoded.dpi))


def test_a_text_page_is_warped_in_grey_and_matches_the_grey_of_the_colour_warp() -> None:
    frame, corners = letter_seen_at(120, 44)
    grey = rectify(frame, corners, dpi=150)
    colour = rectify(frame, corners, dpi=150, content=PageContent.COLOUR)
    assert grey.image.ndim == 2 and colour.image.ndim == 3
    assert np.abs(grey.image.astype(int) - colour.gray.astype(int)).max() <= 2


def test_a_grey_text_page_has_white_paper_and_keeps_its_strokes_grey_edges() -> None:
    rng = np.random.default_rng(5)
    flat = np.clip(rng.normal(248, 3, (400, 300)), 0, 255).astype(np.uint8)   # noisy paper
    cv2.putText(flat, "Bonjour", (20, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, 40, 3, cv2.LINE_AA)
    out = grey_text(flat)
    paper = flat > 200
    assert np.mean(out[paper] == 255) > 0.85                 # the grain is gone
    assert np.percentile(out[flat < 60], 50) < 20             # ink is black
    edges = (flat > 80) & (flat < 180)
    assert np.mean((out[edges] > 0) & (out[edges] < 255)) > 0.8   # anti-aliased edges kept
