"""Page detection on real SmartDoc frames, on hard synthetic frames, and its edge cases."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from devtools.detection_corpus import CUT, make_frame
from drivers.camera.synth import Defects, Placement, render_text_page, sample_pages, synthesize
from scanner import detect, detect_live
from scanner.geometry import Quad, order_corners, smartdoc_jaccard, visible_jaccard
from scanner.quality import DEFAULT_THRESHOLDS, edge_clearance
from scanner.rectify import halve

#: The frames of the validation range (devtools.detection_corpus.VALIDATION_SEED) that the
#: default run checks: one per category, the detector was not tuned on them.
HARD_SAMPLE = [("stacked", 62001), ("cluttered", 71002), ("cable_pens", 63000),
               ("fingers", 64001), ("magazine", 67000), ("frame_edge", 69000),
               ("motion", 66001), ("id_card", 73000)]


def smartdoc_frames(shared_data: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    folder = shared_data / "pages-smartdoc"
    with (folder / "ground_truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        name = row["image_path"].replace("/", "_")
        truth = np.array([[float(row[f"{k}_x"]), float(row[f"{k}_y"])]
                          for k in ("tl", "tr", "br", "bl")], np.float32)
        image = cv2.imread(str(folder / name))
        assert image is not None
        out.append((name, image, truth))
    return out


def test_jaccard_is_one_for_the_truth_and_drops_with_a_shift() -> None:
    truth = np.array([[100, 100], [500, 120], [520, 700], [90, 680]], np.float32)
    assert smartdoc_jaccard(truth, truth) == pytest.approx(1.0)
    assert smartdoc_jaccard(truth + np.array([10, 0], np.float32), truth) < 0.99
    assert smartdoc_jaccard(None, truth) == 0.0


def test_corners_come_out_top_left_first_and_clockwise() -> None:
    shuffled = np.array([[520, 700], [100, 100], [90, 680], [500, 120]], np.float32)
    assert order_corners(shuffled).tolist() == [[100, 100], [500, 120], [520, 700], [90, 680]]


@pytest.mark.slow
def test_smartdoc_frames_meet_the_acceptance_including_stacked_sheets(shared_data: Path
                                                                      ) -> None:
    # issue 3: mean Jaccard >= 0.97 and no frame below 0.85, background 05 (the top sheet of
    # a pile on a white desk, under a cable and pens) included
    scores = {name: smartdoc_jaccard(detect(frame), truth)
              for name, frame, truth in smartdoc_frames(shared_data)}
    assert min(scores.values()) >= 0.85, scores
    assert np.mean(list(scores.values())) >= 0.97, scores
    plain = [v for k, v in scores.items() if not k.startswith("background05")]
    assert min(plain) > 0.985, scores              # 1.5-4 px corner error on plain desks


def test_live_detection_finds_the_page_on_plain_desks(shared_data: Path) -> None:
    for name, frame, truth in smartdoc_frames(shared_data):
        if name.startswith("background05"):
            continue       # the preview does not see a pile's top sheet; the still does
        assert smartdoc_jaccard(detect_live(frame), truth) > 0.97, name


@pytest.mark.slow
@pytest.mark.parametrize(("category", "seed"), HARD_SAMPLE, ids=[c for c, _ in HARD_SAMPLE])
def test_hard_synthetic_frames_are_found(category: str, seed: int) -> None:
    f = make_frame(category, seed)
    still = smartdoc_jaccard(detect(f.frame), f.corners, page=f.page_size_mm)
    # a pile's top sheet may lose to the pile (its sides are white on white): about 0.9
    assert still > (0.85 if category in ("stacked", "cluttered") else 0.95)
    assert smartdoc_jaccard(detect_live(f.frame), f.corners, page=f.page_size_mm) > 0.8


def test_a_page_turned_sideways_comes_out_top_left_first_clockwise() -> None:
    page = render_text_page(5, size="A4", dpi=60)
    frame, truth = synthesize(page, np.random.default_rng(8), defects=Defects(scale=0.7),
                              placement=Placement(rotation_deg=78.0))
    found = detect(frame)
    assert found is not None
    assert smartdoc_jaccard(found, truth) > 0.97
    # image order: the corner nearest the frame's top-left first, then clockwise on screen
    assert int(np.argmin(found.sum(axis=1))) == 0
    edges = np.roll(found, -1, axis=0) - found
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] \
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    assert np.all(cross > 0)                      # y points down: clockwise turns are positive


def test_a_small_identity_card_on_the_tray_is_found() -> None:
    card = next(s for s in sample_pages() if s.name == "identity-card")
    frame, truth = synthesize(card.bgra(), np.random.default_rng(12),
                              defects=Defects(scale=0.6, noise_sigma=2.0),
                              page_size_mm=card.size_mm)
    assert cv2.contourArea(truth) / (frame.shape[0] * frame.shape[1]) < 0.02
    assert smartdoc_jaccard(detect(frame), truth, page=card.size_mm) > 0.95


def test_an_empty_tray_has_no_page() -> None:
    rng = np.random.default_rng(3)
    tray = (rng.normal(90, 6, (540, 960, 3))).clip(0, 255).astype(np.uint8)
    tray = np.asarray(cv2.GaussianBlur(tray, (0, 0), 2), np.uint8)
    assert detect(tray) is None
    assert detect_live(tray) is None


def test_a_grey_frame_is_accepted_like_a_colour_one(shared_data: Path) -> None:
    _, frame, truth = smartdoc_frames(shared_data)[0]
    grey = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), np.uint8)
    assert smartdoc_jaccard(detect_live(grey), truth) > 0.95


def test_a_frame_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(ValueError, match="H x W x 3"):
        detect(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        detect(np.zeros((100, 100, 3), np.float32))

# -- a page that runs out of the frame: found to the frame's edge, never shrunk onto its text
# (a cut page cropped silently to a printed line inside it would lose the citizen's text;
# found to the frame's edge, the quality check says it is cut off)

#: Seeds of cut pages: 33 is test_still's (the page's bottom runs out, a table and
#: paragraphs above it); the others cut other sides.
CUT_SEEDS = (33, 34, 35, 36)


def cut_page(seed: int) -> tuple[np.ndarray, Quad]:
    """A 12 MP still of a page that runs out of it, halved as the still path does."""
    frame, truth = synthesize(render_text_page(seed), np.random.default_rng(seed),
                              frame_size=(4000, 3000), defects=Defects(cut=0.15))
    return halve(frame), ((truth + 0.5) / 2 - 0.5).astype(np.float32)


@pytest.fixture(scope="module", params=CUT_SEEDS)
def cut(request: pytest.FixtureRequest) -> tuple[np.ndarray, Quad]:
    return cut_page(request.param)


@pytest.mark.parametrize("detector", [detect, detect_live], ids=["still", "live"])
def test_a_page_running_out_of_the_frame_is_found_to_the_frame_edge(cut, detector) -> None:
    frame, truth = cut
    h, w = frame.shape[:2]
    assert np.any((truth < 0) | (truth[:, :1] > w - 1) | (truth[:, 1:] > h - 1))
    found = detector(frame)
    assert found is not None
    # the whole visible part of the page: not shrunk onto a printed line inside it
    assert visible_jaccard(found, truth, (w, h)) > 0.97
    # and a side on (or beyond) the frame's edge, so that the page is said to be cut off
    assert edge_clearance(found, (w, h)) < DEFAULT_THRESHOLDS.edge_margin


@pytest.mark.parametrize("seed", [74001, 74005, 74006])
def test_a_hand_held_photo_of_a_page_running_out_of_the_frame_is_found_to_its_edge(
        seed: int) -> None:
    # the hard corpus's cut frames: the page runs out by 8-25 %, so the part the frame
    # shows is no paper format (74006 live: 0.36 when that was asked of it); 74005 is cut
    # past a corner (the frame shows five of its sides: the best quad has a corner outside)
    f = make_frame(CUT, seed)
    h, w = f.frame.shape[:2]
    for found in (detect(f.frame), detect_live(f.frame)):
        assert visible_jaccard(found, f.corners, (w, h)) > 0.95
        assert found is not None
        assert edge_clearance(found, (w, h)) < DEFAULT_THRESHOLDS.edge_margin


def test_visible_jaccard_scores_what_the_frame_shows() -> None:
    truth = np.array([[100, 100], [700, 100], [700, 500], [100, 500]], np.float32)
    at_edge = np.array([[100, 100], [399.5, 100], [399.5, 500], [100, 500]], np.float32)
    # the frame shows x <= 399.5: the page found to the frame's edge is the whole answer
    assert visible_jaccard(at_edge, truth, (400, 600)) == pytest.approx(1.0)
    assert visible_jaccard(at_edge, truth, (800, 600)) == pytest.approx(0.5, abs=0.01)
    assert visible_jaccard(None, truth, (400, 600)) == 0.0
