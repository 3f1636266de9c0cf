"""Finding the page on a captured still: the fast path, the preview's hint, the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera.synth import Defects, Placement, render_text_page, synthesize
from scanner import ReasonCode, locate, process_still, scale_corners
from scanner.rectify import Levels, halve
from scanner.still import side_support

STILL = (4000, 3000)


def corner_error(found: np.ndarray | None, truth: np.ndarray) -> float:
    assert found is not None
    return float(np.max(np.linalg.norm(found - truth, axis=1)))


@pytest.fixture(scope="module")
def still() -> tuple[np.ndarray, np.ndarray]:
    """A letter on the kiosk's tray, photographed as a 12 MP still."""
    return synthesize(render_text_page(31), np.random.default_rng(31), frame_size=STILL,
                      defects=Defects(noise_sigma=2, gradient=0.3, clutter=True))


def test_a_still_is_found_by_the_fast_path_to_a_fraction_of_a_pixel(still) -> None:
    frame, truth = still
    found = locate(frame)
    assert found.method == "fast" and found.doubt is None
    assert corner_error(found.corners, truth) < 1.0


def test_the_previews_corners_are_refined_on_the_still(still) -> None:
    frame, truth = still
    # the live detector's corners on a 1080p preview of the same view, moved to the still
    off = np.array([[3, -2], [-2, 3], [2, 2], [-3, -1]], dtype=np.float32)
    rough = scale_corners((truth + 0.5) * (1440 / 4000) - 0.5 + off, (1440, 1080), STILL)
    assert corner_error(rough, truth) > 8                       # 3 preview px off
    result = process_still(frame, hint=rough)
    assert result.method == "hint" and result.verdict.ok, result.verdict.to_json()
    assert corner_error(result.corners, truth) < 1.0


def test_a_hint_that_is_not_the_page_sends_the_still_to_the_precise_detector(still) -> None:
    frame, truth = still
    wrong = np.array([[300, 300], [1300, 320], [1280, 1500], [290, 1480]],  # tray, not page
                     dtype=np.float32)
    result = process_still(frame, hint=wrong)
    assert result.method == "precise"
    assert corner_error(result.corners, truth) < 1.5
    assert result.encoded is not None and result.encoded.codec == "ccitt-g4"


def test_a_still_without_a_page_says_no_page() -> None:
    empty = np.full((STILL[1], STILL[0], 3), 90, np.uint8)
    result = process_still(empty)
    assert result.corners is None and result.page is None and result.encoded is None
    assert result.verdict.codes == {ReasonCode.NO_PAGE}


def test_a_page_running_out_of_the_still_is_not_trusted_to_the_fast_path() -> None:
    frame, _ = synthesize(render_text_page(33), np.random.default_rng(33), frame_size=STILL,
                              defects=Defects(cut=0.15))
    found = locate(frame, fallback=False)
    assert found.doubt is not None
    result = process_still(frame)
    assert result.method == "precise"
    assert ReasonCode.CUT_OFF in result.verdict.codes


def test_the_sides_of_the_page_are_backed_by_a_colour_step_and_a_shifted_quad_is_not(
        still) -> None:
    frame, truth = still
    half = Levels(frame)[1]
    on_page = (truth + 0.5) / 2 - 0.5
    assert min(side_support(half, on_page)) > 0.8
    inside = on_page + (on_page.mean(axis=0) - on_page) * 0.15     # 15 % inside the page
    assert max(side_support(half, inside)) < 0.5


def test_corners_move_between_a_preview_and_a_still_of_the_same_view() -> None:
    # the frames' outer pixel edges map onto each other
    edges = np.array([[-0.5, -0.5], [1439.5, -0.5], [1439.5, 1079.5], [-0.5, 1079.5]],
                     dtype=np.float32)
    moved = scale_corners(edges, (1440, 1080), STILL)
    assert np.allclose(moved, [[-0.5, -0.5], [3999.5, -0.5], [3999.5, 2999.5], [-0.5, 2999.5]],
                       atol=1e-3)
    assert np.allclose(scale_corners(moved, STILL, (1440, 1080)), edges, atol=1e-3)


def test_halving_averages_blocks_of_four_pixels_and_drops_an_odd_edge() -> None:
    image = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7) * 4
    half = halve(image)
    assert half.shape == (2, 3)
    assert half[1, 2] == round(image[2:4, 4:6].mean())


def test_a_page_moved_on_the_tray_is_found_where_it_now_lies() -> None:
    page = render_text_page(34)
    frame, truth = synthesize(page, np.random.default_rng(34), frame_size=STILL,
                              placement=Placement(offset_mm=(40.0, 10.0), rotation_deg=4.0))
    before, _ = synthesize(page, np.random.default_rng(34), frame_size=STILL,
                           placement=Placement(offset_mm=(0.0, 0.0), rotation_deg=0.0))
    old = locate(before).corners
    assert old is not None
    result = process_still(frame, hint=old)          # the preview's corners are stale
    assert result.method == "precise"
    assert corner_error(result.corners, truth) < 1.5
