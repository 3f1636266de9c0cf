"""Recording the empty tray, and loading it back only for the camera it was recorded with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.synth import Defects, empty_tray
from scanner.trayprior import (
    TrayCalibrationError,
    TrayRefusal,
    load_tray,
    record_tray,
)

SIZE = (640, 360)
WHEN = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


def noisy_trays(n: int, seed: int = 501) -> tuple[np.ndarray, list[np.ndarray]]:
    """The clean empty tray and ``n`` frames of it, each with its own sensor noise."""
    clean = empty_tray(np.random.default_rng(seed), frame_size=SIZE,
                       defects=Defects(clutter=True))
    rng = np.random.default_rng(seed + 1)
    frames = [np.asarray(np.clip(clean + rng.normal(0, 6, clean.shape), 0, 255) + 0.5,
                         np.uint8) for _ in range(n)]
    return clean, frames


def test_recorded_tray_is_the_median_of_the_frames_and_loads_back(tmp_path: Path) -> None:
    clean, frames = noisy_trays(7)
    # a hand passing through one frame is not part of the tray
    cv2.circle(frames[3], (320, 180), 80, (40, 90, 200), -1)
    recorded = record_tray(frames, tmp_path, now=lambda: WHEN)
    residual = np.abs(recorded.image.astype(np.int16) - clean.astype(np.int16))
    single = np.abs(frames[0].astype(np.int16) - clean.astype(np.int16))
    assert float(residual.mean()) < 0.6 * float(single.mean())     # noise averaged away
    assert float(residual[130:230, 270:370].max()) < 40             # the hand is gone
    meta = json.loads((tmp_path / "calibration" / "tray.json").read_text(encoding="utf-8"))
    assert meta == {"recorded_at": "2026-12-05T10:30:00+00:00", "width": 640, "height": 360,
                    "frames": 7}
    loaded = load_tray(tmp_path, SIZE)
    assert np.array_equal(loaded.image, recorded.image)             # PNG: lossless
    assert loaded.meta is not None and loaded.meta.recorded_at == WHEN


def test_a_calibration_of_another_resolution_is_refused_with_its_reason(tmp_path: Path) -> None:
    record_tray(noisy_trays(3)[1], tmp_path, now=lambda: WHEN)
    with pytest.raises(TrayCalibrationError) as caught:
        load_tray(tmp_path, (1920, 1080))
    assert caught.value.reason is TrayRefusal.RESOLUTION
    assert "640x360" in str(caught.value) and "1920x1080" in str(caught.value)
    assert "record the empty tray again" in str(caught.value)


def test_no_calibration_is_missing_and_a_damaged_one_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TrayCalibrationError) as caught:
        load_tray(tmp_path, SIZE)
    assert caught.value.reason is TrayRefusal.MISSING
    record_tray(noisy_trays(3)[1], tmp_path, now=lambda: WHEN)
    (tmp_path / "calibration" / "tray.json").write_text("{\"width\": 640", encoding="utf-8")
    with pytest.raises(TrayCalibrationError) as caught:
        load_tray(tmp_path, SIZE)
    assert caught.value.reason is TrayRefusal.UNREADABLE


def test_an_image_that_disagrees_with_its_description_is_unreadable(tmp_path: Path) -> None:
    record_tray(noisy_trays(3)[1], tmp_path, now=lambda: WHEN)
    cv2.imwrite(str(tmp_path / "calibration" / "tray.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(TrayCalibrationError) as caught:
        load_tray(tmp_path, SIZE)
    assert caught.value.reason is TrayRefusal.UNREADABLE


def test_too_few_or_mismatched_frames_are_refused(tmp_path: Path) -> None:
    _, frames = noisy_trays(3)
    with pytest.raises(ValueError, match="at least 3 frames"):
        record_tray(frames[:2], tmp_path)
    with pytest.raises(ValueError, match="one size"):
        record_tray([*frames[:2], frames[2][:100]], tmp_path)
    assert not (tmp_path / "calibration" / "tray.png").exists()
