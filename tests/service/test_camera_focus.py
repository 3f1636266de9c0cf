"""The technician's focus gauge and exposure meter, on the camera simulator's frames."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from drivers.camera.synth import Defects, empty_tray, sample_pages, synthesize
from scanner.errors import BadImageError
from scanner.focus import Exposure, Region, gauge, read_camera
from scanner.geometry import smartdoc_jaccard

BLUR_LEVELS = (6.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.0)       # falling: the gauge must rise
SEEDS = (301, 302, 303)


#: The 1080p frames several tests read (a sharp one and one at the scanner's blur limit per
#: seed): synthesised once per module, read-only so that no reader can change them for the next.
SHARED = {(seed, defects, (1920, 1080)) for seed in SEEDS
          for defects in (Defects(noise_sigma=2.0), Defects(blur_sigma=3.0, noise_sigma=2.0))}
_made: dict[tuple[int, Defects, tuple[int, int]], tuple[np.ndarray, np.ndarray]] = {}


def frame_of(seed: int, defects: Defects, frame_size: tuple[int, int] = (1920, 1080)
             ) -> tuple[np.ndarray, np.ndarray]:
    key = (seed, defects, frame_size)
    if key in _made:
        return _made[key]
    pages = [s for s in sample_pages() if s.kind == "text"]
    rng = np.random.default_rng(seed)
    frame, corners = synthesize(pages[seed % len(pages)].image, rng, frame_size=frame_size,
                                defects=defects)
    if key in SHARED:
        frame.flags.writeable = corners.flags.writeable = False
        _made[key] = frame, corners
    return frame, corners


@pytest.mark.parametrize("frame_size", [(1920, 1080), (3840, 2160)], ids=["1080p", "4k"])
@pytest.mark.parametrize("seed", SEEDS)
def test_focus_gauge_rises_strictly_as_the_simulated_blur_falls(
        seed: int, frame_size: tuple[int, int]) -> None:
    readings = []
    for blur in BLUR_LEVELS:
        # the same scene (same seed) at each blur level, so only the focus differs
        frame, corners = frame_of(seed, Defects(blur_sigma=blur, noise_sigma=2.0), frame_size)
        reading = read_camera(frame, corners)
        assert reading.region is Region.PAGE
        readings.append(reading.focus.gauge)
    assert all(b > a for a, b in itertools.pairwise(readings)), readings
    assert 0.0 < readings[0] < readings[-1] < 1.0


def test_gauge_is_half_at_the_blur_the_scanner_calls_unusable() -> None:
    # blur_sigma 3 on a 1080p tray: the least blur of the scanner's defect corpus
    values = [read_camera(*frame_of(seed, Defects(blur_sigma=3.0, noise_sigma=2.0))).focus.gauge
              for seed in SEEDS]
    assert 0.35 < float(np.median(values)) < 0.65, values
    sharp = [read_camera(*frame_of(seed, Defects(noise_sigma=2.0))).focus.gauge for seed in SEEDS]
    assert min(sharp) > 0.85, sharp


def test_gauge_finds_the_page_itself_when_no_corners_are_given() -> None:
    frame, corners = frame_of(311, Defects(noise_sigma=2.0, clutter=True))
    reading = read_camera(frame)
    assert reading.region is Region.PAGE
    assert reading.corners is not None
    assert smartdoc_jaccard(reading.corners, corners) > 0.95
    assert reading.focus.gauge == pytest.approx(read_camera(frame, corners).focus.gauge,
                                                abs=0.05)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("light", "verdict"), [
    (Defects(noise_sigma=2.0), Exposure.OK),
    (Defects(noise_sigma=2.0, gradient=0.4), Exposure.OK),
    (Defects(noise_sigma=2.0, darkness=0.75), Exposure.UNDER),
    (Defects(noise_sigma=2.0, darkness=0.9), Exposure.UNDER),
    (Defects(noise_sigma=2.0, overexposure=0.6), Exposure.OVER),
    (Defects(noise_sigma=2.0, overexposure=0.95), Exposure.OVER),
], ids=["clean", "uneven", "dark", "very-dark", "bright", "very-bright"])
def test_exposure_verdict_follows_the_simulated_light(seed: int, light: Defects,
                                                      verdict: Exposure) -> None:
    frame, corners = frame_of(seed, light)
    exposure = read_camera(frame, corners).exposure
    assert exposure.verdict is verdict, exposure


def test_exposure_figures_move_with_the_light() -> None:
    normal = read_camera(*frame_of(321, Defects())).exposure
    dark = read_camera(*frame_of(321, Defects(darkness=0.5))).exposure
    bright = read_camera(*frame_of(321, Defects(overexposure=0.8))).exposure
    assert dark.mean < normal.mean < bright.mean
    assert bright.highlights > normal.highlights
    assert 0.0 <= normal.shadows < 0.05


def test_a_frame_without_a_page_is_measured_whole_and_says_so() -> None:
    tray = empty_tray(np.random.default_rng(331))
    reading = read_camera(tray)
    assert reading.region is Region.FRAME
    assert reading.corners is None
    assert 0.0 <= reading.focus.gauge < 1.0


def test_gauge_maps_sharpness_monotonically_into_zero_one() -> None:
    values = [gauge(s) for s in (0.0, 0.05, 0.1, 0.14, 0.2, 0.4, 1.0)]
    assert values[0] == 0.0
    assert values[3] == pytest.approx(0.5)
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[-1] < 1.0


def test_anything_but_an_image_is_refused() -> None:
    with pytest.raises(BadImageError):
        read_camera(np.zeros((100, 100, 3), np.float32))
