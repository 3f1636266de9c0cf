"""The top sheet of a pile (scanner.piles.top_sheet), and what must not be taken for one.

On a real pile (SmartDoc background 05) a sheet lies on sheets of the same
paper and its edge shows only as its own thin shadow: no colour step across
it. A printed rule near a page's edge (a form's frame) looks just the same,
but runs parallel to the page's side; taken for a top sheet's edge, it would
crop the page.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drivers.camera.pagegen import render_text_page
from scanner import detect
from scanner.geometry import Quad, order_corners, smartdoc_jaccard
from scanner.piles import top_sheet

PAPER = (228.0, 230.0, 232.0)          # BGR, both sheets
DESK = (70.0, 95.0, 125.0)
FRAME = (1920, 1080)


def rectangle(cx: float, cy: float, w: float, h: float, degrees: float) -> Quad:
    a = np.radians(degrees)
    turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return np.asarray(corners @ turn + [cx, cy], dtype=np.float32)


def desk_scene(seed: int, *, pile: bool, frame_rule: bool) -> tuple[np.ndarray, Quad, Quad]:
    """A JPEG'd frame of a text page on a desk, on another sheet turned by 2.5 degrees
    (``pile``), whose only edge is its thin shadow; or alone, with a frame printed 5 %
    inside its edges (``frame_rule``). Returns the frame, the page and the sheet under it
    (the page when there is none)."""
    rng = np.random.default_rng(seed)
    frame: np.ndarray = np.full((FRAME[1], FRAME[0], 3), DESK, np.float32)
    page_quad = rectangle(960, 540, 640, 905, 0.0)
    under = rectangle(965, 542, 700, 960, -2.5) if pile else page_quad
    if pile:
        cv2.fillConvexPoly(frame, np.round(under).astype(np.int32), PAPER, cv2.LINE_AA)
    page = render_text_page(seed, dpi=60).astype(np.float32)
    ph, pw = page.shape[:2]
    if frame_rule:
        m = int(0.05 * pw)
        cv2.rectangle(page, (m, m), (pw - 1 - m, ph - 1 - m), (40, 40, 40), 1, cv2.LINE_AA)
    page *= np.array(PAPER, dtype=np.float32) / np.maximum(page.reshape(-1, 3).max(axis=0), 1)
    hom = cv2.getPerspectiveTransform(
        np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32), page_quad)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), hom, FRAME)[..., None]
    frame = frame * (1 - mask) + cv2.warpPerspective(page, hom, FRAME) * mask
    if pile:
        cv2.polylines(frame, [np.round(page_quad * 4).astype(np.int32)], True, (150, 150, 152), 2,
                      cv2.LINE_AA, shift=2)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.8) + rng.normal(0, 1.5, frame.shape)
    _, jpeg = cv2.imencode(".jpg", np.clip(frame, 0, 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 85])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded, page_quad, under


@pytest.mark.parametrize("seed", [1, 2])
def test_a_top_sheet_whose_edge_is_only_its_shadow_is_found_on_the_sheet_under_it(
        seed: int) -> None:
    frame, page, under = desk_scene(seed, pile=True, frame_rule=False)
    assert smartdoc_jaccard(order_corners(under), page) < 0.9
    assert smartdoc_jaccard(order_corners(top_sheet(frame, under)), page) > 0.98
    assert smartdoc_jaccard(detect(frame), page) > 0.98


@pytest.mark.parametrize("seed", [1, 2])
def test_a_frame_printed_near_the_page_edge_is_not_taken_for_a_top_sheet(seed: int) -> None:
    frame, page, _ = desk_scene(seed, pile=False, frame_rule=True)
    # the frame's lines are as thin and dark as a sheet's shadow, but parallel to the sides
    assert np.max(np.abs(top_sheet(frame, page) - page)) < 1.0
    assert smartdoc_jaccard(detect(frame), page) > 0.98
