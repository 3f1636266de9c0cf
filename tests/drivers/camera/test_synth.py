"""The frame synthesiser: deterministic, exact corners, each defect doing what it says."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.camera.synth import (
    Defects,
    Placement,
    render_text_page,
    sample_pages,
    synthesize,
)

FRAME = (960, 540)   # half size keeps the tests fast; the geometry scales with the frame


def cyan_page(width: int = 840, height: int = 1188) -> np.ndarray:
    """A page no tray colour resembles (B and G high, R zero), so its pixels can be told apart."""
    page = np.zeros((height, width, 3), dtype=np.uint8)
    page[:, :, 0] = 255
    page[:, :, 1] = 255
    return page


def page_pixels(frame: np.ndarray) -> np.ndarray:
    b = frame[:, :, 0].astype(np.int32)
    r = frame[:, :, 2].astype(np.int32)
    return (b - r) > 140


def polygon_mask(corners: np.ndarray, shape: tuple[int, int], grow: float) -> np.ndarray:
    """The quadrilateral moved outwards (grow > 0) or inwards by ``grow`` pixels."""
    centre = corners.mean(axis=0)
    out = []
    for p in corners:
        d = p - centre
        out.append(p + d / np.linalg.norm(d) * grow * 1.42)
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.round(np.array(out) * 16).astype(np.int32), 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def outside_fraction(corners: np.ndarray, width: int, height: int) -> float:
    area = cv2.contourArea(corners.reshape(-1, 1, 2))
    frame = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                      [-0.5, height - 0.5]], dtype=np.float32)
    inter, _ = cv2.intersectConvexConvex(corners.reshape(-1, 1, 2), frame.reshape(-1, 1, 2))
    return 1 - inter / area


def test_the_same_seed_gives_the_same_frame_byte_for_byte() -> None:
    page = render_text_page(4, dpi=100)
    defects = Defects(glare=0.5, noise_sigma=3, hand=True, clutter=True, tilt_deg=8)
    a, ca = synthesize(page, np.random.default_rng(9), frame_size=FRAME, defects=defects)
    b, cb = synthesize(page, np.random.default_rng(9), frame_size=FRAME, defects=defects)
    c, cc = synthesize(page, np.random.default_rng(10), frame_size=FRAME, defects=defects)
    assert np.array_equal(a, b) and np.array_equal(ca, cb)
    assert not np.array_equal(a, c) and not np.allclose(ca, cc)


def test_render_text_page_is_deterministic_and_varies_with_the_seed() -> None:
    a = render_text_page(1, dpi=100)
    assert a.shape == (1169, 827, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_text_page(1, dpi=100))
    assert not np.array_equal(a, render_text_page(2, dpi=100))
    ink = (a.min(axis=2) < 128).mean()
    assert 0.01 < ink < 0.2, "a page of text has some ink, not a blank or a black page"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tilt", [0.0, 15.0])
def test_true_corners_are_the_drawn_page_edges_within_a_pixel(seed: int, tilt: float) -> None:
    frame, corners = synthesize(cyan_page(), np.random.default_rng(seed), frame_size=FRAME,
                                defects=Defects(tilt_deg=tilt))
    assert corners.shape == (4, 2) and corners.dtype == np.float32
    seen = page_pixels(frame)
    inside = polygon_mask(corners, seen.shape, -1.0)
    outside = ~polygon_mask(corners, seen.shape, 1.0)
    assert seen[inside].mean() > 0.999
    assert seen[outside].mean() < 0.001


def test_corners_are_in_tl_tr_br_bl_order() -> None:
    _, c = synthesize(cyan_page(), np.random.default_rng(3), frame_size=FRAME)
    tl, tr, br, bl = c
    assert tl[0] < tr[0] and bl[0] < br[0] and tl[1] < bl[1] and tr[1] < br[1]


def test_a_defect_free_a4_page_fills_a_good_part_of_the_frame_and_is_inside_it() -> None:
    for seed in range(8):
        _, c = synthesize(cyan_page(), np.random.default_rng(seed), frame_size=(1920, 1080))
        area = cv2.contourArea(c.reshape(-1, 1, 2))
        assert 0.25 < area / (1920 * 1080) < 0.45
        assert c[:, 0].min() > 0 and c[:, 1].min() > 0
        assert c[:, 0].max() < 1919 and c[:, 1].max() < 1079


@pytest.mark.parametrize("cut", [0.1, 0.3, 0.6])
def test_cut_puts_exactly_that_fraction_of_the_page_outside_the_frame(cut: float) -> None:
    for seed in range(3):
        _, c = synthesize(cyan_page(), np.random.default_rng(seed), frame_size=FRAME,
                          defects=Defects(cut=cut))
        assert outside_fraction(c, *FRAME) == pytest.approx(cut, abs=0.005)


def test_tilt_gives_a_true_perspective_and_scale_changes_the_area() -> None:
    _, flat = synthesize(cyan_page(), np.random.default_rng(5), frame_size=FRAME)
    _, tilted = synthesize(cyan_page(), np.random.default_rng(5), frame_size=FRAME,
                           defects=Defects(tilt_deg=25))

    def side_ratio(c: np.ndarray) -> float:
        top, bottom = np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[3])
        left, right = np.linalg.norm(c[3] - c[0]), np.linalg.norm(c[2] - c[1])
        return float(max(top / bottom, bottom / top, left / right, right / left))

    assert side_ratio(flat) == pytest.approx(1.0, abs=1e-3)
    assert side_ratio(tilted) > 1.05
    _, big = synthesize(cyan_page(), np.random.default_rng(5), frame_size=FRAME,
                        defects=Defects(scale=1.5))
    area = cv2.contourArea(flat.reshape(-1, 1, 2))
    assert cv2.contourArea(big.reshape(-1, 1, 2)) / area == pytest.approx(1.5, rel=0.01)


def test_a_placement_moves_the_page_and_leaves_the_tray_unchanged() -> None:
    page = cyan_page()
    a, ca = synthesize(page, np.random.default_rng(2), frame_size=FRAME,
                       placement=Placement((-30.0, 0.0), 0.0))
    b, cb = synthesize(page, np.random.default_rng(2), frame_size=FRAME,
                       placement=Placement((30.0, 0.0), 0.0))
    assert cb[:, 0].mean() - ca[:, 0].mean() > 50
    away = ~polygon_mask(ca, a.shape[:2], 12) & ~polygon_mask(cb, b.shape[:2], 12)
    assert np.abs(a.astype(int) - b.astype(int))[away].max() <= 1


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def rectified(frame: np.ndarray, corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    m = cv2.getPerspectiveTransform(corners, np.array([[0, 0], [w, 0], [w, h], [0, h]],
                                                      dtype=np.float32))
    return cv2.warpPerspective(frame, m, size, flags=cv2.INTER_CUBIC)


def test_each_defect_changes_what_it_names() -> None:
    page = render_text_page(8, dpi=100)
    def rng() -> np.random.Generator:        # the same state for every variant
        return np.random.default_rng(12)

    clean, c = synthesize(page, rng(), frame_size=FRAME)
    grey = cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY).astype(float)

    blurred, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(blur_sigma=3))
    moved, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(motion_px=25))
    assert sharpness(blurred) < sharpness(clean) / 4
    assert sharpness(moved) < sharpness(clean) / 2

    dark, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(darkness=0.7))
    assert cv2.cvtColor(dark, cv2.COLOR_BGR2GRAY).mean() / grey.mean() == pytest.approx(0.405, abs=0.02)  # noqa: E501
    over, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(overexposure=0.8))
    paper = polygon_mask(c, grey.shape, -5)
    assert (cv2.cvtColor(over, cv2.COLOR_BGR2GRAY)[paper] == 255).mean() > 0.8
    assert (grey[paper] == 255).mean() < 0.01

    noisy, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(noise_sigma=8))
    diff = noisy.astype(float) - clean.astype(float)
    assert 6 < diff.std() < 10

    glare, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(glare=1.0))
    saturated = (cv2.cvtColor(glare, cv2.COLOR_BGR2GRAY) >= 250) & paper
    assert saturated.sum() > 0.01 * paper.sum()
    assert (grey >= 250).sum() == 0

    lit, _ = synthesize(page, rng(), frame_size=FRAME, defects=Defects(gradient=0.8))
    lum = cv2.cvtColor(lit, cv2.COLOR_BGR2GRAY).astype(float)
    ratio = lum[paper] / np.maximum(grey[paper], 1)
    assert ratio.min() < 0.5 and ratio.max() > 0.95


def test_hand_and_clutter_add_things_to_the_frame_without_moving_the_corners() -> None:
    page = cyan_page()
    clean, c0 = synthesize(page, np.random.default_rng(4), frame_size=FRAME)
    hand, c1 = synthesize(page, np.random.default_rng(4), frame_size=FRAME,
                          defects=Defects(hand=True))
    clutter, c2 = synthesize(page, np.random.default_rng(4), frame_size=FRAME,
                             defects=Defects(clutter=True))
    assert np.array_equal(c0, c1) and np.array_equal(c0, c2)
    on_page = polygon_mask(c0, clean.shape[:2], -2)
    covered = ~page_pixels(hand) & on_page
    assert 0.005 < covered.sum() / on_page.sum() < 0.4, "the hand covers part of the page"
    off_page = ~polygon_mask(c0, clean.shape[:2], 3)
    changed = np.abs(clutter.astype(int) - clean.astype(int)).max(axis=2) > 40
    assert changed[off_page].mean() > 0.03
    assert page_pixels(clutter)[on_page].mean() > 0.999, "clutter lies around the page, not on it"


def test_defects_parse_and_refuse_what_is_wrong() -> None:
    d = Defects.parse("blur_sigma:2.5, glare=0.6,hand,clutter:false")
    assert d == Defects(blur_sigma=2.5, glare=0.6, hand=True)
    assert Defects.parse("") == Defects() and not Defects().any and d.any
    with pytest.raises(ValueError, match=r"unknown defect 'blurr'.*blur_sigma"):
        Defects.parse("blurr:2")
    with pytest.raises(ValueError, match="glare=2"):
        Defects(glare=2)
    with pytest.raises(ValueError, match="is not a number"):
        Defects.parse("noise_sigma:lots")
    assert Defects.random(np.random.default_rng(1), severity=0.0) == Defects(
        motion_angle_deg=Defects.random(np.random.default_rng(1), 0.0).motion_angle_deg)


def test_sample_pages_are_the_documented_handful_with_readable_codes() -> None:
    pages = {p.name: p for p in sample_pages()}
    assert set(pages) == {"convocation", "tax-notice", "payslip", "proof-of-address",
                          "identity-card"}
    card = pages["identity-card"]
    assert card.kind == "colour" and card.size_mm == (85.6, 53.98)
    assert card.mask is not None and card.mask[0, 0] == 0 and card.mask[300, 500] == 255
    assert card.image.shape[1] / card.image.shape[0] == pytest.approx(85.6 / 53.98, rel=0.01)
    folder = Path(__file__).resolve().parents[3] / "assets" / "pages"
    assert sum(f.stat().st_size for f in folder.iterdir()) < 2_000_000
    for page in pages.values():
        assert not page.image.flags.writeable
        for code in page.codes:
            found = [b.text for b in zxingcpp.read_barcodes(page.image)]
            assert code["text"] in found


def test_the_code_on_a_clean_synthesised_convocation_can_be_read() -> None:
    page = next(p for p in sample_pages() if p.name == "convocation")
    frame, _ = synthesize(page.bgra(), np.random.default_rng(1), page_size_mm=page.size_mm)
    assert [b.text for b in zxingcpp.read_barcodes(frame)] == [page.codes[0]["text"]]


def test_an_identity_card_keeps_its_real_size_and_rounded_corners() -> None:
    card = next(p for p in sample_pages() if p.name == "identity-card")
    _, c_a4 = synthesize(cyan_page(), np.random.default_rng(1), frame_size=FRAME)
    frame, c = synthesize(card.bgra(), np.random.default_rng(1), frame_size=FRAME,
                          page_size_mm=card.size_mm)
    width = np.linalg.norm(c[1] - c[0])
    assert width / np.linalg.norm(c_a4[1] - c_a4[0]) == pytest.approx(85.6 / 210, rel=0.01)
    # The true corner is where the edges meet; the rounded card leaves tray there.
    tl = np.round(c[0] + (c[2] - c[0]) * 0.004).astype(int)
    centre = np.round(c.mean(axis=0)).astype(int)
    assert abs(int(frame[tl[1], tl[0]].astype(int).sum())
               - int(frame[centre[1], centre[0]].astype(int).sum())) > 30


def _tesseract_has_french() -> bool:
    if shutil.which("tesseract") is None:
        return False
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    return "fra" in langs.stdout.split()


@pytest.mark.skipif(not _tesseract_has_french(), reason="tesseract-ocr-fra is not installed")
def test_a_defect_free_frame_is_a_legible_page() -> None:
    page = next(p for p in sample_pages() if p.name == "convocation")
    frame, corners = synthesize(page.bgra(), np.random.default_rng(3), page_size_mm=page.size_mm)
    image = rectified(frame, corners, (1260, 1782))[400:1100]   # subject to the list of papers
    ok, png = cv2.imencode(".png", image)
    assert ok
    result = subprocess.run(["tesseract", "-", "-", "-l", "fra", "--psm", "4"],
                            input=png.tobytes(), capture_output=True, timeout=60,
                            env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    text = result.stdout.decode("utf-8")
    for words in ("CONVOCATION", "passeport", "Madame", "Pièces à apporter",
                  "justificatif de domicile"):
        assert words in text
