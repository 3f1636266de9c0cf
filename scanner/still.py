"""The captured still: find the page quickly, then rectify, judge, enhance and compress it.

A still is large (12 MP on a document camera) and follows preview frames in
which the live detector already found the page, so the precise still
detector (:func:`scanner.detect.detect`, about a tenth of a second even on a
reduced still) is rarely needed. :func:`locate` tries, in order:

1. **rough corners**: the caller's ``hint`` (the live corners of the preview,
   see :func:`process_still`), else :func:`scanner.detect.detect_live` on the
   still reduced by whole halvings to ``LIVE_MIN_SIDE`` or more (exact block
   averages, a few milliseconds);
2. **refinement** of the rough corners on the still reduced to at most
   ``DETECT_MAX_SIDE`` (:func:`scanner.refine.refine_corners`: each side
   moves onto the strongest colour step across it, to a fraction of a
   pixel; only the page's bounding box is handed over);
3. **checks** of the refined quad, any of which sends the still to the
   precise detector instead: a corner moved farther than the rough corners'
   error allows (``MAX_TRAVEL``: refinement caught another edge), the quad
   is not a page (not convex, a corner outside the frame, smaller than
   ``MIN_AREA`` of the frame, proportions of no paper format), or a side is
   not backed by a colour step along enough of its length
   (``MIN_SIDE_SUPPORT``).

The precise path is :func:`scanner.detect.detect` on the still reduced to at
most ``DETECT_MAX_SIDE`` (corners within 0.1-0.3 px of those found on the
full still, in half the time). Accuracy of both paths and the share of
fallbacks are measured by ``python -m benchmarks --only scanner``
(``still_detection``) and recorded in docs/scanner.md.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from scanner.compress import compress
from scanner.detect import detect, detect_live
from scanner.enhance import enhance
from scanner.geometry import Quad, is_convex, order_corners, polygon_area
from scanner.page import EncodedPage, Image, Page, Verdict
from scanner.quality import assess
from scanner.rectify import Levels, estimate_aspect, recognise_format, rectify
from scanner.refine import refine_corners
from scanner.trayprior import TrayPrior

log = logging.getLogger(__name__)

#: Longest side at which the still is searched by the precise detector and corners refined.
DETECT_MAX_SIDE = 2000
#: Least long side of the reduced still given to the live detector (it works at 320 px).
LIVE_MIN_SIDE = 480
#: How far (px of the reduced still) each side is searched for its colour step, and in how many
#: rounds: the live detector's corners lie within 1-3 px of it there, and a second round
#: (``refine_corners``' default) adds nothing measurable for 60 % more time.
REFINE_REACH = 6.0
REFINE_ROUNDS = 1  # measured in 712c5b1 (see above)
#: A refined corner farther than this many times ``REFINE_REACH`` from the rough one means the
#: sides turned onto something else.
MAX_TRAVEL = 2.0
#: Smallest page, as a fraction of the frame's area.
MIN_AREA = 0.02
#: Least share of each side's length along which the colour steps across it.
MIN_SIDE_SUPPORT = 0.5
#: Colour step (Euclidean, BGR levels) across a side that counts as support.
SIDE_STEP = 12.0

Method = Literal["given", "hint", "fast", "precise"]


@dataclass(frozen=True)
class Located:
    """Where the page is in a still, and how that was found.

    ``method``: "given" (the caller's corners, used as they are), "hint" (the
    caller's rough corners, refined and checked), "fast" (the live detector on
    the reduced still, refined and checked), "precise" (the still detector);
    ``doubt`` says why the hint or the fast path was not trusted.
    """

    corners: Quad | None
    method: Method
    doubt: str | None = None


@dataclass(frozen=True, eq=False)
class StillResult:
    """What the pipeline makes of one captured still."""

    corners: Quad | None
    verdict: Verdict
    page: Page | None           # enhanced page, None when no page was found
    encoded: EncodedPage | None
    method: Method = "precise"  # how the page was found (:class:`Located`)


def process_still(frame: Image, *, corners: npt.ArrayLike | None = None,
                  hint: npt.ArrayLike | None = None,
                  previous: npt.ArrayLike | None = None,
                  tray: TrayPrior | None = None) -> StillResult:
    """Find (unless ``corners`` are given), rectify, judge, enhance and compress a still.

    ``corners`` (tl, tr, br, bl, the still's pixels) are used as they are.
    ``hint`` is rough corners to start from, typically the corners
    :class:`scanner.AutoCapture` found on the last preview frames, scaled to
    the still's pixels (:func:`scale_corners`). They may be trusted as a
    start when the preview and the still come from the same camera, in the
    same position, with the same field of view (a still mode that crops the
    sensor differently must be mapped accordingly), and the page has not
    moved since (AutoCapture captures only a page that stayed still for its
    hold time). A wrong hint costs time, not the page: it is refined and
    checked like the fast path's own corners, and the precise detector runs
    when the checks fail. ``previous`` is the page's corners in the preceding
    frame, for the ``moving`` verdict. ``tray`` is the recorded empty tray, the
    detectors' prior (scanner/trayprior.py).
    """
    levels = Levels(frame)
    if corners is not None:
        located = Located(order_corners(corners), "given")
    else:
        located = locate(levels, hint=hint, tray=tray)
    if located.corners is None:
        return StillResult(None, assess(None, None, frame), None, None, located.method)
    found = located.corners
    page = rectify(frame, found, halved=levels.made())
    verdict = assess(page, found, frame, previous=previous)
    clean = enhance(page)
    return StillResult(found, verdict, clean, compress(clean), located.method)


def locate(frame: Image | Levels, *, hint: npt.ArrayLike | None = None,
           fallback: bool = True, tray: TrayPrior | None = None) -> Located:
    """The page's corners in a still (its pixels), by the fast path and, if in doubt, the
    precise one (see the module docstring). ``fallback=False`` gives the fast path's
    answer whatever the checks say (for measurement)."""
    levels = frame if isinstance(frame, Levels) else Levels(frame)
    h, w = levels[0].shape[:2]
    refine_level = _level_for(max(h, w), DETECT_MAX_SIDE)
    method: Method = "hint" if hint is not None else "fast"
    rough: Quad | None
    if hint is not None:
        rough = order_corners(hint)
    else:
        k = _live_level(max(h, w))
        found = detect_live(levels[k], tray)
        rough = None if found is None else _to_level0(found, k)
    doubt = "the live detector found no page"
    if rough is not None:
        refined = _refine(levels, refine_level, rough)
        doubt = check(levels, refine_level, rough, refined) or ""
        if not doubt or not fallback:
            return Located(refined, method, doubt or None)
    if not fallback:
        return Located(None, method, doubt)
    found = detect(levels[refine_level], tray)
    log.info("still: precise detection (%s)", doubt)
    return Located(None if found is None else _to_level0(found, refine_level), "precise", doubt)


def detect_reduced(frame: Image, max_side: int = DETECT_MAX_SIDE) -> Quad | None:
    """:func:`scanner.detect.detect` on ``frame`` halved to at most ``max_side``.

    The corners are returned in ``frame``'s pixels (pixel centres at integers:
    a block of k pixels is centred on k i + (k - 1) / 2).
    """
    levels = Levels(frame)
    k = _level_for(max(frame.shape[:2]), max_side)
    found = detect(levels[k])
    return None if found is None else _to_level0(found, k)


def scale_corners(corners: npt.ArrayLike, from_size: tuple[int, int],
                  to_size: tuple[int, int]) -> Quad:
    """Corners in a frame of ``from_size`` (w, h) moved to the same view at ``to_size``.

    For a preview and a still of the same field of view at two resolutions
    (pixel centres on integers in both).
    """
    q = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    scale = np.array([to_size[0] / from_size[0], to_size[1] / from_size[1]])
    return np.asarray((q + 0.5) * scale - 0.5, dtype=np.float32)


def check(levels: Levels, k: int, rough: Quad, refined: Quad) -> str | None:
    """Why a refined quad (level 0 pixels) is doubtful, or None when it is not."""
    h, w = levels[0].shape[:2]
    travel = float(np.max(np.linalg.norm(refined - rough, axis=1))) / 2 ** k
    if travel > MAX_TRAVEL * REFINE_REACH:
        return f"refinement moved a corner {travel:.0f} px (reduced still)"
    if not is_convex(refined):
        return "the refined quad is not convex"
    if np.any(refined < -0.5) or np.any(refined[:, 0] > w - 0.5) or np.any(refined[:, 1] > h - 0.5):
        return "a corner lies outside the frame"
    if polygon_area(refined) < MIN_AREA * w * h:
        return "the quad is too small to be a page"
    if recognise_format(estimate_aspect(refined, (w, h))) is None:
        return "the quad has the proportions of no paper format"
    support = side_support(levels[k], _from_level0(refined, k))
    if min(support) < MIN_SIDE_SUPPORT:
        return f"a side is backed by a colour step along {min(support):.0%} of it"
    return None


def side_support(image: Image, quad: npt.ArrayLike, *, band: float = 3.0) -> list[float]:
    """For each side (tl-tr, tr-br, br-bl, bl-tl), the share of its length where the colour
    steps across it: points ``band`` px either side differ by ``SIDE_STEP`` or more.

    Points outside the image are left out (a side on the frame's border is
    supported by whatever part is seen); a side entirely outside counts as
    supported (the verdict says the page is cut off).
    """
    q = np.asarray(quad, dtype=np.float64)
    h, w = image.shape[:2]
    out = []
    for s in range(4):
        a, b = q[s], q[(s + 1) % 4]
        length = float(np.hypot(*(b - a)))
        n = int(np.clip(length / 4, 16, 256))
        t = np.linspace(0.08, 0.92, n)[:, None]
        d = (b - a) / max(length, 1e-9)
        normal = np.array([-d[1], d[0]])
        pts = a + t * (b - a)
        inner = pts + band * normal
        outer = pts - band * normal
        seen = _inside(inner, w, h) & _inside(outer, w, h)
        if not np.any(seen):
            out.append(1.0)
            continue
        both = np.concatenate([inner[seen], outer[seen]]).astype(np.float32)
        samples = cv2.remap(image, both[:, 0:1], both[:, 1:2], cv2.INTER_LINEAR)
        values = samples.reshape(2, -1, image.shape[2] if image.ndim == 3 else 1)
        step = np.linalg.norm(values[0].astype(np.float32) - values[1], axis=-1)
        out.append(float(np.mean(step >= SIDE_STEP)))
    return out


def _refine(levels: Levels, k: int, rough: Quad) -> Quad:
    """``rough`` refined on level ``k``, given only the quad's bounding box (and a margin)."""
    image = levels[k]
    h, w = image.shape[:2]
    q = _from_level0(rough, k)
    margin = 24
    x0 = max(0, math.floor(float(q[:, 0].min())) - margin)
    y0 = max(0, math.floor(float(q[:, 1].min())) - margin)
    x1 = min(w, math.ceil(float(q[:, 0].max())) + margin)
    y1 = min(h, math.ceil(float(q[:, 1].max())) + margin)
    if x1 - x0 < 32 or y1 - y0 < 32:
        return rough
    offset = np.array([x0, y0], np.float64)
    refined = refine_corners(image[y0:y1, x0:x1], q - offset,
                             reach=REFINE_REACH, rounds=REFINE_ROUNDS)
    return _to_level0(np.asarray(refined, np.float64) + offset, k)


def _inside(pts: npt.NDArray[np.float64], w: int, h: int) -> npt.NDArray[np.bool_]:
    return np.asarray((pts[:, 0] >= 0) & (pts[:, 0] <= w - 1) & (pts[:, 1] >= 0)
                      & (pts[:, 1] <= h - 1), dtype=np.bool_)


def _level_for(long_side: int, max_side: int) -> int:
    """How many halvings bring ``long_side`` to ``max_side`` or less."""
    k = 0
    while long_side >> k > max_side:
        k += 1
    return k


def _live_level(long_side: int) -> int:
    """How many halvings keep ``long_side`` at ``LIVE_MIN_SIDE`` or more."""
    k = 0
    while long_side >> (k + 1) >= LIVE_MIN_SIDE:
        k += 1
    return k


def _to_level0(corners: npt.ArrayLike, k: int) -> Quad:
    q = np.asarray(corners, dtype=np.float64)
    return order_corners((q + 0.5) * 2 ** k - 0.5)


def _from_level0(corners: npt.ArrayLike, k: int) -> npt.NDArray[np.float64]:
    return np.asarray((np.asarray(corners, dtype=np.float64) + 0.5) / 2 ** k - 0.5, np.float64)
