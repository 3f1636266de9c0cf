"""The calibration sheet: its PDF, and what a frame of it through the camera simulator says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.calibration_sheet import OUTPUT, draw
from drivers.camera.synth import Defects, empty_tray, synthesize
from scanner.calibration import (
    SHEET_MM,
    SheetIssue,
    measure_sheet,
    render_sheet,
)

#: The simulator draws the sheet from an image of it at this resolution.
SHEET_DPI = 300


def truth_dpi(corners: np.ndarray) -> float:
    """The sheet's resolution in the frame from the simulator's geometry: its true corners
    (a flat sheet seen from straight above: one scale everywhere)."""
    width_px = (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3]))
    height_px = (np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1]))
    return float((width_px / 2 / SHEET_MM[0] + height_px / 2 / SHEET_MM[1]) / 2 * 25.4)


@pytest.fixture(scope="module")
def printed_sheet(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The committed PDF, rasterised as a printer would print it (pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    out = tmp_path_factory.mktemp("sheet") / "sheet"
    subprocess.run(["pdftoppm", "-r", str(SHEET_DPI), "-gray", "-png", "-singlefile",
                    str(OUTPUT), str(out)], check=True)
    image = cv2.imread(str(out) + ".png", cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return np.asarray(image, np.uint8)


@pytest.mark.parametrize("frame_size", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
@pytest.mark.parametrize("seed", [401, 402])
def test_effective_dpi_of_the_printed_sheet_is_within_5_percent_of_the_simulators_geometry(
        printed_sheet: np.ndarray, frame_size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame, corners = synthesize(printed_sheet, rng, frame_size=frame_size,
                                defects=Defects(noise_sigma=2.0, gradient=0.3),
                                page_size_mm=SHEET_MM)
    reading = measure_sheet(frame)
    truth = truth_dpi(corners)
    assert reading.dpi is not None, reading
    assert reading.dpi == pytest.approx(truth, rel=0.05)
    assert reading.markers == 4


def test_4k_camera_resolves_finer_lines_than_1080p() -> None:
    sheet = render_sheet(SHEET_DPI)
    readings = {}
    for size in ((1920, 1080), (3840, 2160)):
        frame, _ = synthesize(sheet, np.random.default_rng(411), frame_size=size,
                              defects=Defects(noise_sigma=2.0), page_size_mm=SHEET_MM)
        readings[size] = measure_sheet(frame)
    low, high = readings[(1920, 1080)], readings[(3840, 2160)]
    assert low.ok and high.ok, (low, high)
    assert low.resolved_lpmm is not None and high.resolved_lpmm is not None
    assert high.resolved_lpmm > low.resolved_lpmm
    # two pixels per line pair at the very least: Nyquist of what the markers measured
    assert low.dpi is not None and low.resolved_lpmm <= low.dpi / 25.4 / 2 * 1.05
    assert low.distinct_steps == 7 and low.grey_range is not None and low.grey_range > 150


def test_a_sheet_seen_too_small_is_flagged_low_resolution() -> None:
    frame, _ = synthesize(render_sheet(SHEET_DPI), np.random.default_rng(421),
                          defects=Defects(scale=0.45, noise_sigma=1.0), page_size_mm=SHEET_MM)
    reading = measure_sheet(frame)
    assert reading.dpi is not None and reading.dpi < 55
    assert SheetIssue.LOW_RESOLUTION in reading.issues


def test_a_light_too_dim_for_pages_is_flagged_low_contrast() -> None:
    frame, _ = synthesize(render_sheet(SHEET_DPI), np.random.default_rng(431),
                          defects=Defects(darkness=0.65, noise_sigma=1.0), page_size_mm=SHEET_MM)
    reading = measure_sheet(frame)
    assert reading.dpi is not None
    assert SheetIssue.LOW_CONTRAST in reading.issues


def test_burnt_out_light_merges_the_grey_steps() -> None:
    frame, _ = synthesize(render_sheet(SHEET_DPI), np.random.default_rng(441),
                          defects=Defects(overexposure=0.9, noise_sigma=1.0),
                          page_size_mm=SHEET_MM)
    assert SheetIssue.FLAT_STEPS in measure_sheet(frame).issues


def test_a_tilted_sheet_is_flagged() -> None:
    frame, _ = synthesize(render_sheet(SHEET_DPI), np.random.default_rng(451),
                          defects=Defects(tilt_deg=25.0, noise_sigma=1.0), page_size_mm=SHEET_MM)
    assert SheetIssue.TILTED in measure_sheet(frame).issues


def test_a_frame_without_the_sheet_says_so() -> None:
    reading = measure_sheet(empty_tray(np.random.default_rng(461)))
    assert reading.issues == (SheetIssue.NO_SHEET,)
    assert reading.dpi is None and not reading.ok


def test_committed_pdf_is_what_the_script_draws(tmp_path: Path) -> None:
    fresh = tmp_path / "sheet.pdf"
    draw(fresh)
    assert fresh.read_bytes() == OUTPUT.read_bytes(), \
        f"{OUTPUT} is stale: run python -m devtools.calibration_sheet"


def test_printed_sheet_matches_the_layout_the_measure_expects(printed_sheet: np.ndarray) -> None:
    # the PDF (with its text) and the layout's own drawing agree where the layout draws
    drawn = render_sheet(SHEET_DPI)
    h, w = drawn.shape
    assert abs(printed_sheet.shape[0] - h) <= 1 and abs(printed_sheet.shape[1] - w) <= 1
    printed = printed_sheet[:h, :w]
    dark_in_layout = drawn[: printed.shape[0], : printed.shape[1]] < 128
    assert float(np.mean(printed[dark_in_layout] < 128)) > 0.97
