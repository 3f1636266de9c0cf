"""Quality verdicts on simulated frames with known defects."""

from __future__ import annotations

import numpy as np
import pytest

from devtools.scanner_corpus import defect_corpus
from devtools.scanner_eval import evaluate, measure_corpus
from drivers.camera.synth import Defects, Placement, render_text_page, sample_pages, synthesize
from scanner import ReasonCode, assess, rectify
from scanner.page import MESSAGES, Reason
from scanner.quality import (
    DEFAULT_THRESHOLDS,
    border_step,
    edge_clearance,
    judge,
    least_perspective,
    measure,
    tilt_degrees,
)

FRAME = (1920, 1080)


def verdict_of(frame: np.ndarray, corners: np.ndarray):
    return assess(rectify(frame, corners), corners, frame)


def letter(seed: int, defects: Defects, frame_size=FRAME) -> tuple[np.ndarray, np.ndarray]:
    return synthesize(render_text_page(seed), np.random.default_rng(seed),
                      frame_size=frame_size, defects=defects)


@pytest.mark.slow
def test_simulated_defects_are_flagged_and_clean_frames_pass() -> None:
    """A modest sample of the benchmark's figure (seeds apart from calibration and benchmark).

    Two frames of each defect at a strength that makes the page unusable, six clean
    frames; measured on the page rectified from its true corners (detection has its
    own tests). The full figure, also with detected corners: benchmarks/bench_scanner.py.
    """
    rows = measure_corpus(defect_corpus(2, 6, seed=41000), use_detector=False)
    result = evaluate(rows, DEFAULT_THRESHOLDS, "truth")
    assert set(result["recall"]) == {"blur", "motion", "glare", "darkness", "overexposure",
                                     "cut", "tilt", "small"}
    assert all(r == 1.0 for r in result["recall"].values()), result["misses"]
    assert result["false_alarm_rate"] <= 1 / 6, result["false_alarms"]


def test_motion_blur_is_told_from_defocus() -> None:
    moved = verdict_of(*letter(11, Defects(motion_px=25, motion_angle_deg=30)))
    defocused = verdict_of(*letter(11, Defects(blur_sigma=4)))
    assert moved.codes == {ReasonCode.MOVING}, moved.to_json()
    assert defocused.codes == {ReasonCode.BLURRED}, defocused.to_json()
    # smeared along the motion, still sharp across it
    assert moved.measures["edge_width_across_mm"] < DEFAULT_THRESHOLDS.max_edge_width_mm
    assert defocused.measures["edge_width_across_mm"] > DEFAULT_THRESHOLDS.max_edge_width_mm


@pytest.mark.slow
def test_blur_is_measured_in_page_millimetres_whatever_the_camera() -> None:
    """The same page, sharp and with the same blur on paper (0.9 mm), at 2 MP and at 5 MP."""
    widths = {}
    for size in (FRAME, (2560, 1920)):
        px_per_mm = 0.84 * min(size) / 297          # the synthesiser's tray scale, on average
        sharp = verdict_of(*letter(12, Defects(), frame_size=size))
        blurred = verdict_of(*letter(12, Defects(blur_sigma=0.9 * px_per_mm), frame_size=size))
        assert ReasonCode.BLURRED not in sharp.codes, (size, sharp.to_json())
        assert ReasonCode.BLURRED in blurred.codes, (size, blurred.to_json())
        widths[size] = blurred.measures["edge_width_mm"]
    small, large = widths.values()
    assert abs(small / large - 1) < 0.25, widths


def test_a_page_is_cut_off_when_a_corner_is_on_or_beyond_the_frames_border() -> None:
    inside = np.array([[100, 80], [900, 90], [890, 700], [110, 690]], np.float32)
    on_border = inside.copy()
    on_border[1, 0] = 1023.0                         # on the right border of a 1024 px frame
    beyond = inside + np.float32(300) * np.array([1, 0], np.float32)
    assert edge_clearance(inside, (1024, 768)) > DEFAULT_THRESHOLDS.edge_margin
    assert edge_clearance(on_border, (1024, 768)) < DEFAULT_THRESHOLDS.edge_margin
    assert edge_clearance(beyond, (1024, 768)) < 0
    frame, corners = letter(13, Defects(cut=0.1))
    verdict = verdict_of(frame, corners)
    assert ReasonCode.CUT_OFF in verdict.codes
    assert verdict.reasons[0].code is ReasonCode.CUT_OFF       # the first thing to fix


def test_uneven_light_is_not_glare_but_a_highlight_over_the_text_is() -> None:
    shaded = verdict_of(*letter(14, Defects(gradient=0.9, noise_sigma=3)))
    assert shaded.ok, shaded.to_json()
    glare = verdict_of(*letter(14, Defects(glare=0.8)))
    assert glare.codes == {ReasonCode.GLARE}, glare.to_json()


def test_darkness_and_overexposure_are_told_apart() -> None:
    dark = verdict_of(*letter(15, Defects(darkness=0.85)))
    bright = verdict_of(*letter(15, Defects(overexposure=0.85)))
    assert ReasonCode.TOO_DARK in dark.codes and ReasonCode.OVEREXPOSED not in dark.codes
    assert ReasonCode.OVEREXPOSED in bright.codes and ReasonCode.TOO_DARK not in bright.codes


def test_judge_lists_the_reasons_most_urgent_first_with_their_figures() -> None:
    frame, corners = letter(16, Defects())
    measures = measure(rectify(frame, corners), corners, (frame.shape[1], frame.shape[0]))
    assert judge(measures) == []
    bad = {**measures, "edge_width_mm": 3.0, "edge_width_across_mm": 2.5, "paper_level": 60.0,
           "edge_clearance": -0.05}
    reasons = judge(bad)
    assert [r.code for r in reasons] == [ReasonCode.CUT_OFF, ReasonCode.TOO_DARK,
                                         ReasonCode.BLURRED]
    assert reasons[2] == Reason.of(ReasonCode.BLURRED, 3.0, DEFAULT_THRESHOLDS.max_edge_width_mm)


def test_every_reason_has_a_message_for_the_citizen() -> None:
    assert set(MESSAGES) == set(ReasonCode)
    assert all(m.endswith(".") for m in MESSAGES.values())


def test_no_page_is_a_reason_not_an_error() -> None:
    verdict = assess(None, None, np.zeros((100, 100, 3), np.uint8))
    assert not verdict.ok and verdict.codes == {ReasonCode.NO_PAGE}


def test_a_page_that_moved_since_the_previous_frame_is_moving() -> None:
    frame, corners = synthesize(render_text_page(1), np.random.default_rng(5))
    page = rectify(frame, corners)
    assert ReasonCode.MOVING not in assess(page, corners, frame, previous=corners + 2).codes
    verdict = assess(page, corners, frame, previous=corners + 25)
    assert ReasonCode.MOVING in verdict.codes


# -- a page side near the frame's border, cross-checked against the frame's content -------------

def page_near_the_top(seed: int, gap_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A clean letter on the tray, the frame cropped so that the page's top corners lie
    ``gap_px`` under its top border (negative: beyond it, the page cut)."""
    frame, corners = synthesize(render_text_page(seed), np.random.default_rng(seed),
                                frame_size=FRAME, defects=Defects(noise_sigma=2),
                                placement=Placement(rotation_deg=1.0))
    top = round(float(corners[:2, 1].min()) - gap_px)
    return np.ascontiguousarray(frame[top:]), corners - np.array([0, top], np.float32)


def along_sides(corners: np.ndarray, y: float) -> np.ndarray:
    """``corners`` with the top two slid along the left and right sides to height ``y``."""
    tl, tr, br, bl = (c.astype(np.float64) for c in corners)
    moved = [bl + (tl - bl) * (bl[1] - y) / (bl[1] - tl[1]),
             br + (tr - br) * (br[1] - y) / (br[1] - tr[1]), br, bl]
    return np.asarray(moved, np.float32)


def test_a_page_running_on_past_a_side_found_near_the_border_is_cut_off() -> None:
    """The detectors take the first text line under the border for the top of a page slid
    out of the frame: the corners alone (inside the frame) cannot tell, the paper beyond can."""
    frame, corners = page_near_the_top(21, gap_px=-250)
    for y in (8.0, 14.0, 20.0):                  # a side found 8-20 px under the border
        found = along_sides(corners, y)
        assert edge_clearance(found, (frame.shape[1], frame.shape[0])) \
            > DEFAULT_THRESHOLDS.edge_margin
        verdict = verdict_of(frame, found)
        assert verdict.reasons[0].code is ReasonCode.CUT_OFF, (y, verdict.to_json())
        assert verdict.measures["border_step"] < DEFAULT_THRESHOLDS.border_step


@pytest.mark.parametrize("error_px", [0.0, -4.0, 4.0, 8.0])
def test_a_whole_page_near_the_border_is_not_cut_off_though_its_corners_are_off(
        error_px: float) -> None:
    """The tray lies beyond the page's true top side, 18-30 px under the border (turned by a
    degree); corners found a few pixels off it (inside the paper or out on the tray) still see
    the tray beyond."""
    frame, corners = page_near_the_top(22, gap_px=18)
    found = corners + np.array([0, error_px], np.float32)
    verdict = verdict_of(frame, found)
    assert ReasonCode.CUT_OFF not in verdict.codes, verdict.to_json()
    assert verdict.measures["border_step"] > DEFAULT_THRESHOLDS.border_step


def test_the_paper_beyond_a_side_is_judged_on_a_grey_frame_too() -> None:
    """The live preview may hand ``assess`` a one-channel frame."""
    frame, corners = page_near_the_top(21, gap_px=-250)
    gray = np.ascontiguousarray(frame[:, :, 1])
    found = along_sides(corners, 15.0)
    assert ReasonCode.CUT_OFF in assess(rectify(gray, found), found, gray).codes


def test_a_page_far_from_the_border_has_no_paper_beyond_figure() -> None:
    frame, corners = letter(16, Defects())
    assert "border_step" not in verdict_of(frame, corners).measures


# -- the tilt of a small document, allowing for the detector's corner error ----------------------

def identity_card(seed: int, tilt_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    card = next(s for s in sample_pages() if s.name == "identity-card")
    return synthesize(card.bgra(), np.random.default_rng(seed), frame_size=FRAME,
                      defects=Defects(tilt_deg=tilt_deg), page_size_mm=card.size_mm)


@pytest.mark.parametrize("error_px", [1.0, 2.0, 3.0])
def test_a_flat_identity_card_whose_corners_are_a_few_pixels_off_is_not_too_tilted(
        error_px: float) -> None:
    """About 260 px wide at 1080p: corners moved by a few pixels, two one way and two the
    other (the worst a detector's error can do to the perspective), read as 12-22 degrees
    of tilt from the corners as they are (3 px: over the limit)."""
    frame, corners = identity_card(31)
    d = np.array([error_px, 0], np.float32)
    found = corners + np.array([d, -d, d, -d], np.float32)
    if error_px == 3.0:
        assert tilt_degrees(found, (85.6, 53.98), FRAME) > DEFAULT_THRESHOLDS.max_tilt_deg
    verdict = assess(rectify(frame, found), found, frame)
    assert ReasonCode.TOO_TILTED not in verdict.codes, verdict.to_json()
    assert verdict.measures["tilt_deg"] < 0.5 * DEFAULT_THRESHOLDS.max_tilt_deg


def test_a_tilted_identity_card_is_still_too_tilted() -> None:
    frame, corners = identity_card(32, tilt_deg=38.0)
    verdict = verdict_of(frame, corners)
    assert ReasonCode.TOO_TILTED in verdict.codes, verdict.to_json()


def test_the_least_perspective_within_the_tolerance_is_a_parallelogram_when_it_can_be() -> None:
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], np.float32)
    skewed = square + np.array([[-2, -2], [2, -2], [-2, 2], [2, 2]], np.float32)  # a trapezoid
    steadied = least_perspective(skewed, 3.0)
    tl, tr, br, bl = steadied.astype(np.float64)
    assert np.allclose(tl - tr + br - bl, 0, atol=1e-4)
    assert np.max(np.linalg.norm(steadied - skewed, axis=1)) <= 3.0 + 1e-4
    # further off than the tolerance: only the tolerance is taken off
    far = least_perspective(square + 5 * (skewed - square), 3.0).astype(np.float64)
    assert np.linalg.norm(far[0] - far[1] + far[2] - far[3]) == pytest.approx(40 - 12, abs=1e-3)


def test_a_side_near_one_border_running_out_past_another_is_judged_on_what_the_frame_shows(
        ) -> None:
    """A detector's quad may reach far outside the frame: the part of a side beyond another
    border has no frame to look at (and a side wholly beyond it gives no figure)."""
    frame = np.full((1080, 1920, 3), 120, np.uint8)
    frame[:, :600] = 220                             # paper from the left border to x = 600
    along_top = np.array([[-2000, 12], [500, 12], [500, 900], [-2000, 900]], np.float32)
    step = border_step(frame, along_top, DEFAULT_THRESHOLDS.border_band)
    assert step is not None and step < DEFAULT_THRESHOLDS.border_step
    out_of_frame = np.array([[-900, 10], [-100, 12], [-100, 500], [-900, 500]], np.float32)
    assert border_step(frame, out_of_frame, DEFAULT_THRESHOLDS.border_band) is None
