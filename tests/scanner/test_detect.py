"""Page detection on real SmartDoc frames and on simulated kiosk frames."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.scanner_corpus import detection_corpus
from scanner import detect, detect_live
from scanner.geometry import order_corners, smartdoc_jaccard


def smartdoc_frames(shared_data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    folder = shared_data / "pages-smartdoc"
    with (folder / "ground_truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        name = row["image_path"].replace("/", "_")
        truth = np.array([[float(row[f"{k}_x"]), float(row[f"{k}_y"])]
                          for k in ("tl", "tr", "br", "bl")], np.float32)
        out.append((name, cv2.imread(str(folder / name)), truth))
    return out


def test_jaccard_is_one_for_the_truth_and_drops_with_a_shift() -> None:
    truth = np.array([[100, 100], [500, 120], [520, 700], [90, 680]], np.float32)
    assert smartdoc_jaccard(truth, truth) == pytest.approx(1.0)
    assert smartdoc_jaccard(truth + np.float32([10, 0]), truth) < 0.99
    assert smartdoc_jaccard(None, truth) == 0.0


def test_corners_come_out_top_left_first_and_clockwise() -> None:
    shuffled = np.array([[520, 700], [100, 100], [90, 680], [500, 120]], np.float32)
    assert order_corners(shuffled).tolist() == [[100, 100], [500, 120], [520, 700], [90, 680]]


@pytest.mark.slow
def test_pages_on_plain_smartdoc_backgrounds_are_found_to_a_few_pixels(shared_data: Path) -> None:
    # backgrounds 01 and 03; background 05 (white sheets stacked on a white desk) is a known
    # failure, reported in docs/scanner.md rather than hidden by a looser bound here
    for name, frame, truth in smartdoc_frames(shared_data):
        if name.startswith("background05"):
            continue
        found = detect(frame)
        assert found is not None, name
        assert smartdoc_jaccard(found, truth) > 0.98, name
        assert np.abs(found - truth).max() < 6, name


@pytest.mark.slow
def test_simulated_kiosk_pages_are_found_with_clutter_and_hands() -> None:
    scores = []
    for f in detection_corpus(6, seed=31000):
        if f.kind == "colour":     # identity cards: see docs/scanner.md (known weakness)
            continue
        scores.append(smartdoc_jaccard(detect(f.frame), f.corners, page=f.page_size_mm))
    assert len(scores) >= 4
    assert min(scores) > 0.95


def test_live_detection_finds_the_page_coarsely(shared_data: Path) -> None:
    _, frame, truth = smartdoc_frames(shared_data)[0]
    assert smartdoc_jaccard(detect_live(frame), truth) > 0.95


def test_an_empty_tray_has_no_page() -> None:
    rng = np.random.default_rng(3)
    tray = (rng.normal(90, 6, (540, 960, 3))).clip(0, 255).astype(np.uint8)
    tray = cv2.GaussianBlur(tray, (0, 0), 2)
    assert detect(tray) is None
    assert detect_live(tray) is None


def test_a_frame_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(ValueError, match="H x W x 3"):
        detect(np.zeros((10, 10, 3), np.uint8))
