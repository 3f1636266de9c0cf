"""The empty tray as the page detector's prior: what it changes, and what it must not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from devtools.tray_scenes import CLUTTERED_CARD, kiosk_scene
from scanner import detect, detect_live
from scanner.geometry import smartdoc_jaccard
from scanner.trayprior import TrayPrior

#: Identity cards on a cluttered tray (in-sample seeds of devtools.tray_scenes, on which the
#: prior's constants were chosen) where a sheet of paper lying beside the card took the
#: detector without the prior (Jaccard 0 there, still or live).
CARD_BESIDE_SHEET = [55001, 55006, 55013]


@pytest.mark.parametrize("seed", CARD_BESIDE_SHEET)
def test_prior_finds_the_card_not_the_sheet_that_was_on_the_tray_before(seed: int) -> None:
    scene, tray = kiosk_scene(CLUTTERED_CARD, seed)
    for fn in (detect, detect_live):
        with_prior = smartdoc_jaccard(fn(scene.frame, tray), scene.corners,
                                      page=scene.page_size_mm)
        assert with_prior > 0.95, (fn.__name__, with_prior)


@pytest.mark.parametrize(("category", "seed"), [("kiosk", 72003), ("id_card", 73004)])
def test_prior_keeps_pages_the_detector_already_finds(category: str, seed: int) -> None:
    # held-out frames of the corpus (a page with clutter and a hand; a card on a bare tray)
    scene, tray = kiosk_scene(category, seed)
    without = smartdoc_jaccard(detect(scene.frame), scene.corners, page=scene.page_size_mm)
    with_prior = smartdoc_jaccard(detect(scene.frame, tray), scene.corners,
                                  page=scene.page_size_mm)
    assert with_prior >= without - 0.005 and with_prior > 0.95


def test_foreground_is_what_changed_since_the_tray_was_recorded() -> None:
    scene, tray = kiosk_scene(CLUTTERED_CARD, 55001)
    fg = tray.foreground(scene.frame[::4, ::4])
    inside = np.zeros(fg.shape, np.uint8)
    cv2.fillConvexPoly(inside, np.round(scene.corners / 4).astype(np.int32), 1)
    card = inside > 0
    assert float(fg[card].mean()) > 0.9            # the card changed
    assert float(fg[~card].mean()) < 0.02          # the tray and its clutter did not


def test_a_prior_of_other_proportions_is_refused() -> None:
    tray = TrayPrior(np.zeros((480, 640, 3), np.uint8))
    with pytest.raises(ValueError, match="proportions"):
        detect_live(np.zeros((1080, 1920, 3), np.uint8), tray)


def test_a_prior_must_be_a_colour_image() -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        TrayPrior(np.zeros((480, 640), np.uint8))
