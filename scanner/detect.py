"""Find the page in a frame: four corners, or nothing. The entry point of the detector.

:func:`detect` (a still) and :func:`detect_live` (a preview frame) are
:func:`find_page` with the two parameter sets of scanner/detectparams.py. It
reduces the frame to a working size (640 px for a still, 320 px for a live
preview frame) and runs the stages, each in its own module
(docs/scanner.md, "Detection", says what was measured and why):

1-3. **Edges, steps, lines** (scanner/edges.py): the colour gradient in Lab,
     edge pixels that are steps between two surfaces (not text strokes or
     cables), and the Hough lines they vote for.
4. **Quadrilaterals** (scanner/quads.py): the side evidence along each line,
   then every convex quad of two roughly opposite pairs of lines scored by it,
   by its corners and by its proportions. With a recorded empty tray
   (scanner/trayprior.py) the best few are ranked again by what changed since.
5. **Refinement** (still; scanner/refine.py): the best quad's sides moved
   onto the strongest colour step on the full-resolution frame, to a
   fraction of a pixel.
6. **Top sheet** (still; scanner/piles.py): on a pile, the sides of a sheet
   lying on the quad found replace its sides.

Between 4 and 5, the finalists are ranked again by **what is inside**
(scanner/pageness.py): an even, bright paper with a consistent border, not a
magazine cover, a wallet or a quad half on the desk. When the preview's best
quad is still not page-like, the preview **looks again** with finer
parameters (``DetectorParams.recheck``: 480 px, then the still's 640 px
search) and keeps the likeliest answer.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from scanner.detectparams import LIVE, STILL, DetectorParams
from scanner.edges import EdgeImage
from scanner.geometry import Quad, order_corners
from scanner.pageness import rerank
from scanner.piles import top_sheet
from scanner.quads import best_quads
from scanner.refine import refine_corners
from scanner.trayprior import PRIOR_FINALISTS, TrayPrior

U8 = npt.NDArray[np.uint8]


def detect(frame: U8, tray: TrayPrior | None = None) -> Quad | None:
    """The page's corners (tl, tr, br, bl) in source pixels, refined to sub-pixel, or None.

    ``tray``: the recorded empty tray, a prior on where the page can be (scanner/trayprior.py).
    """
    return find_page(frame, STILL, tray)


def detect_live(frame: U8, tray: TrayPrior | None = None) -> Quad | None:
    """A faster, coarser :func:`detect` for preview frames (no full-resolution refinement)."""
    return find_page(frame, LIVE, tray)


def find_page(frame: U8, params: DetectorParams, tray: TrayPrior | None = None) -> Quad | None:
    """Detect with explicit parameters; ``frame`` is H x W x 3 BGR (or H x W gray) uint8.

    With ``tray``, the best few quads are ranked again by how well they match what
    changed since the empty tray was recorded (:meth:`TrayPrior.rerank`).
    Raises ValueError for anything else (or a frame smaller than 32 px, or one whose
    proportions are not the tray's).
    """
    if frame.ndim == 2:
        frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), np.uint8)
    if frame.ndim != 3 or frame.shape[2] != 3 or min(frame.shape[:2]) < 32 \
            or frame.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 BGR uint8 frame of at least 32 px, "
                         f"got {frame.dtype} {frame.shape}")
    found = _search(frame, params, tray)
    step = params
    # look again only at a frame where something was outlined but is not page-like: an empty
    # tray (the preview's frames between two citizens) costs one pass, not three
    while found is not None and step.recheck is not None and found[1] < step.recheck_below:
        step = step.recheck
        again = _search(frame, step, tray)
        if again is not None and again[1] > found[1]:
            found = again
    if found is None:
        return None
    best = found[0]
    if params.refine:
        best = refine_corners(frame, best)
    if params.top_sheet:
        best = top_sheet(frame, best)
    return order_corners(best)


def _search(frame: U8, params: DetectorParams, tray: TrayPrior | None
            ) -> tuple[npt.NDArray[np.float64], float] | None:
    """The best quad (source pixels, before refinement) and its page likeness, or None."""
    h, w = frame.shape[:2]
    scale = params.work_size / max(h, w)
    if scale < 1.0:
        small = _reduce(frame, scale)
    else:
        scale = 1.0
        small = frame
    if tray is None:
        detector = EdgeImage(small, params)
        found = best_quads(detector)
    else:
        detector = EdgeImage(small, replace(params, finalists=max(params.finalists,
                                                                  PRIOR_FINALISTS)))
        fg = tray.foreground(small)
        detector.edges[~tray.near(fg)] = 0
        found = best_quads(detector)
        if found is not None:
            found = tray.rerank(fg, *found)
    if found is None:
        return None
    corners, scores = found
    likeness = 1.0
    if params.page_likeness:
        corners, _, ranked = rerank(detector.lab, corners, scores)
        likeness = float(ranked[0])
    # working pixel centres to source pixel centres
    return (corners[0] + 0.5) / scale - 0.5, likeness


def _reduce(frame: U8, scale: float) -> U8:
    """``frame`` resized by ``scale`` (< 1) with pixel-area averaging.

    Halving is OpenCV's fastest area reduction: a 1920 px frame goes to 960 px
    first, then by the remaining factor (exactly the same averages when the
    factor is a whole even number, 30 % less time for the 320 px preview).
    """
    h, w = frame.shape[:2]
    size = (round(w * scale), round(h * scale))
    if scale <= 0.25 and h % 2 == 0 and w % 2 == 0:
        frame = np.asarray(cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
                           np.uint8)
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
