"""The ``white_on_white_clutter`` category of the detection corpus (issue #17, SmartDoc
background 05): frames that are the same for a seed, whose truth lies on the page (paper all
along its border, barely brighter than the desk around it) with a strongly coloured magazine
cover elsewhere in view, seeds apart from every other range, and no other category moved.

Frames are made small (640x360: the scene scales with the frame) to keep the file fast; the
hashes of the existing categories are pinned in ``test_distractors.py``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from devtools.detection_corpus import (
    ALL_CATEGORIES,
    DISTRACTOR_HELDOUT_SEEDS,
    DISTRACTOR_SEEDS,
    VALIDATION_SEED,
    WHITE_ON_WHITE,
    WHITE_ON_WHITE_HELDOUT_SEEDS,
    WHITE_ON_WHITE_SEEDS,
    HardFrame,
    make_frame,
    white_on_white_corpus,
)

SMALL = (640, 360)
KERNEL = np.ones((5, 5), np.uint8)


def _page_mask(f: HardFrame) -> npt.NDArray[np.uint8]:
    mask = np.zeros(f.frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(f.corners).astype(np.int32)], 1)
    return mask


def test_a_frame_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    a = make_frame(WHITE_ON_WHITE, WHITE_ON_WHITE_SEEDS + 5, SMALL)
    b = make_frame(WHITE_ON_WHITE, WHITE_ON_WHITE_SEEDS + 5, SMALL)
    c = make_frame(WHITE_ON_WHITE, WHITE_ON_WHITE_SEEDS + 6, SMALL)
    assert a.category == WHITE_ON_WHITE and a.page_size_mm == (210.0, 297.0)
    assert np.array_equal(a.frame, b.frame) and np.array_equal(a.corners, b.corners)
    assert not np.array_equal(a.frame, c.frame)


def test_the_truth_lies_on_a_pale_page_barely_brighter_than_the_desk_beside_a_cover() -> None:
    for f in white_on_white_corpus(6, held_out=True, frame_size=SMALL):
        hsv = cv2.cvtColor(f.frame, cv2.COLOR_BGR2HSV)
        sat, val = hsv[..., 1], hsv[..., 2]
        page = _page_mask(f)
        assert page.sum() > 0.05 * page.size, f.name             # the whole page is in view
        inner = cv2.erode(page, KERNEL, iterations=1) - cv2.erode(page, KERNEL, iterations=3)
        outer = cv2.dilate(page, KERNEL, iterations=3) - cv2.dilate(page, KERNEL, iterations=1)
        # just inside the truth's border: paper (bright, unsaturated), not the magazine
        assert np.median(val[inner > 0]) > 120 and np.median(sat[inner > 0]) < 60, f.name
        # just outside: the desk, nearly as bright (the page's border is a faint edge)
        assert abs(float(np.median(val[inner > 0])) - float(np.median(val[outer > 0]))) < 45, \
            f.name
        # and a strongly coloured cover somewhere else in the frame
        assert ((sat > 120) & (val > 60) & (page == 0)).sum() > 500, f.name


def test_the_category_moves_no_seed_of_another_and_its_splits_are_apart() -> None:
    assert WHITE_ON_WHITE not in ALL_CATEGORIES
    used: set[int] = set()
    for base in (40000, VALIDATION_SEED):            # 15 categories + the cluttered cards
        for c in range(len(ALL_CATEGORIES) + 1):
            used.update(range(base + 1000 * c, base + 1000 * c + 1000))
    used.update(range(DISTRACTOR_SEEDS, DISTRACTOR_SEEDS + 1000))
    used.update(range(DISTRACTOR_HELDOUT_SEEDS, DISTRACTOR_HELDOUT_SEEDS + 1000))
    in_sample = set(range(WHITE_ON_WHITE_SEEDS, WHITE_ON_WHITE_SEEDS + 1000))
    held_out = set(range(WHITE_ON_WHITE_HELDOUT_SEEDS, WHITE_ON_WHITE_HELDOUT_SEEDS + 1000))
    assert not in_sample & used and not held_out & used and not in_sample & held_out
    names = [f.name for f in white_on_white_corpus(2, held_out=True, frame_size=(320, 180))]
    assert names == [f"{WHITE_ON_WHITE}#{WHITE_ON_WHITE_HELDOUT_SEEDS + i}" for i in range(2)]


def test_a_split_has_at_most_a_thousand_frames_and_unknown_categories_are_refused() -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        next(white_on_white_corpus(1001))
    with pytest.raises(ValueError, match="white_on_white_clutter"):
        make_frame("white_on_white", 0, SMALL)
