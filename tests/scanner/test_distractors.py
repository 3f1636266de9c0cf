"""The ``distractor`` category of the detection corpus (issue #17): deterministic frames whose
truth is the page, distractors that never hide a page's corner, and no other category moved.

Frames are made small (the distractors scale with the tray) to keep the file fast.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from devtools.detection_corpus import (
    ALL_CATEGORIES,
    DISTRACTOR,
    DISTRACTOR_HELDOUT_SEEDS,
    DISTRACTOR_KINDS,
    DISTRACTOR_SEEDS,
    VALIDATION_SEED,
    _distractor_frame,
    distractor_corpus,
    make_frame,
)
from drivers.camera.distractors import DistractorKind, Distractors, Layer

SMALL = (640, 360)

#: sha256 (first 16 hex digits) of frame ``VALIDATION_SEED + 1000 c`` of each category at
#: 320x180, recorded before the distractor category was added (main at 0f2803a and acc8d5c).
BEFORE = {
    "plain": "b7aa08e88852e915",
    "white_desk": "427ad591cde0c5c0",
    "stacked": "d955a727f65b2691",
    "cable_pens": "9520f3d5d67b9e92",
    "fingers": "673cec150be267c7",
    "perspective": "ed5dbbc27607fb48",
    "motion": "9094789fbbe274ba",
    "magazine": "0a745a31a8e94237",
    "papers_nearby": "777f9d2ed04b0b71",
    "frame_edge": "b4889df067a32f08",
    "textured": "e42ac1d018cd3d38",
    "cluttered": "eec350436bab941b",
    "kiosk": "863dcdb32f9f2b39",
    "id_card": "60b3eb02160f97dc",
    "cut": "69a7cbd5aa1a80fc",
}


def test_every_existing_category_still_makes_the_frames_it_made_before() -> None:
    assert set(BEFORE) == set(ALL_CATEGORIES)      # the new category is not among them
    for c, category in enumerate(ALL_CATEGORIES):
        frame = make_frame(category, VALIDATION_SEED + 1000 * c, (320, 180)).frame
        assert hashlib.sha256(frame.tobytes()).hexdigest()[:16] == BEFORE[category], category


def test_a_distractor_frame_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    a = make_frame(DISTRACTOR, DISTRACTOR_SEEDS + 3, SMALL)
    b = make_frame(DISTRACTOR, DISTRACTOR_SEEDS + 3, SMALL)
    c = make_frame(DISTRACTOR, DISTRACTOR_SEEDS + 4, SMALL)
    assert np.array_equal(a.frame, b.frame)
    assert np.array_equal(a.corners, b.corners)
    assert [(p.kind, p.layer) for p in a.distractors] == [(p.kind, p.layer) for p in b.distractors]
    assert not np.array_equal(a.frame, c.frame)


def test_the_truth_is_the_page_whatever_distractors_are_drawn() -> None:
    for i in range(4):
        seed = DISTRACTOR_SEEDS + i
        rng = np.random.default_rng(seed)
        with_them = _distractor_frame("w", seed, rng, (480, 270))
        bare = _distractor_frame("b", seed, np.random.default_rng(seed), (480, 270), draw=False)
        assert with_them.distractors and not bare.distractors
        assert np.array_equal(with_them.corners, bare.corners)       # the page's quad
        assert not np.array_equal(with_them.frame, bare.frame)       # something was drawn
        for placed in with_them.distractors:       # and no distractor has the page's outline
            hull = cv2.convexHull(placed.footprint.reshape(-1, 1, 2))
            gap = max(abs(cv2.pointPolygonTest(hull, (float(x), float(y)), True))
                      for x, y in with_them.corners)
            assert gap > 2.0, (seed, placed.kind)


def test_distractors_over_the_page_never_cover_one_of_its_corners() -> None:
    over = 0
    for i in range(24):
        f = make_frame(DISTRACTOR, DISTRACTOR_HELDOUT_SEEDS + i, (480, 270))
        for placed in f.distractors:
            if placed.layer is not Layer.OVER:
                continue
            over += 1
            poly = placed.footprint.reshape(-1, 1, 2)
            for x, y in f.corners:
                assert cv2.pointPolygonTest(poly, (float(x), float(y)), False) < 0, f.name
    assert over >= 4                 # the check above ran on some frames


def test_each_split_cycles_through_every_kind_as_its_main_distractor() -> None:
    for held_out in (False, True):
        mains = [f.main_distractor for f in distractor_corpus(6, held_out, (320, 180))]
        assert mains == list(DISTRACTOR_KINDS)


def test_the_distractor_seeds_are_apart_from_every_other_range() -> None:
    used: set[int] = set()
    for base in (40000, VALIDATION_SEED):            # 15 categories + the cluttered cards
        for c in range(len(ALL_CATEGORIES) + 1):
            used.update(range(base + 1000 * c, base + 1000 * c + 1000))
    in_sample = set(range(DISTRACTOR_SEEDS, DISTRACTOR_SEEDS + 1000))
    held_out = set(range(DISTRACTOR_HELDOUT_SEEDS, DISTRACTOR_HELDOUT_SEEDS + 1000))
    assert not in_sample & used and not held_out & used and not in_sample & held_out


def test_distractors_need_a_kind_and_a_split_has_at_most_a_thousand_frames() -> None:
    with pytest.raises(ValueError, match="at least one kind"):
        Distractors([], np.random.default_rng(0))
    with pytest.raises(ValueError, match="at most 1000"):
        next(distractor_corpus(1001))
    with pytest.raises(ValueError):
        DistractorKind("umbrella")
