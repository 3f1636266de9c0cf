"""Judge a captured page: is it sharp, lit, whole, near, flat and still enough to be read?

Every figure is measured where it means the same whatever the camera:

- **sharpness** on the rectified page resampled to a fixed scale
  (``QualityThresholds.sharpness_dpi``), as an *edge width in page
  millimetres*. The page is cut into tiles of 2.5 mm; in each tile the largest
  directional derivative (along x, y and both diagonals) is divided by the
  tile's local step height (ink to paper, over the tile and its neighbours).
  For an edge of height H blurred over a width w the steepest slope is about
  H / w, so the ratio is 1 / w whatever the light, the ink or the camera's
  resolution. Over the tiles that hold a full-contrast edge (text), the
  sharpest edges seen in each direction (90th percentile of the ratio) give
  that direction's edge width. Defocus widens the edges in every direction;
  motion blur only along the motion, while the edges across it stay sharp.
  So the *blurriest* direction's width says whether the page is blurred, and
  the *sharpest* direction's width tells motion (one direction smeared) from
  defocus (all smeared).
- **light** on the page at a coarse scale (``light_dpi``): the paper's level
  (the page with its ink closed away) for darkness, the share of the page
  clipped to white for over-exposure, and glare as the share of the page
  whose paper is lifted towards white above the page's own smooth lighting
  (lift = (level - fit) / (255 - fit), the fit a robust quadratic surface of
  the paper level, so that an uneven light or a shadow is not glare): a
  specular highlight adds light, and ``glare_lift`` is the share of the way
  to white it takes, which is where the print under it fades.
- **geometry** from the corners and the frame: a corner outside, or within
  ``edge_margin`` of, the frame's border means the page is cut off; the
  page's effective resolution in the frame (pixels per inch of paper) says
  whether it is too small or too far; its tilt comes from the perspective
  the corners show beyond what ``corner_tolerance`` of error in them could
  (:func:`least_perspective`).
- **paper beyond a side** (``border_step``), from the frame's content: a
  side of the quad within ``border_band`` of the frame's border, parallel to
  it, is cross-checked against what lies between it and the border. A true
  page side has the tray beyond it, a step in colour (the detectors need
  one to find it); where the frame beyond the side looks like the paper just
  inside it, the page runs on past the side to the border and the side found
  is a text line, a rule or a fold: the page is cut off, whatever the
  corners say. (The detectors take the first line of text under the border
  for the top of a page slid out of the frame; the corners alone cannot
  tell.)
- **movement** between two frames from the corners' travel (``previous``).

Regions of the page that lie outside the frame (a cut page) are left out of
the sharpness and light figures. The thresholds were calibrated on simulated
frames with known defects (``python -m benchmarks.calibrate_scanner``; the
method and figures are in docs/scanner.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from scanner.enhance import paper_level, smooth_light
from scanner.geometry import Quad, order_corners, polygon_area
from scanner.page import Image, Page, Reason, ReasonCode, Verdict

Mask = npt.NDArray[np.bool_]
VisibleFn = Callable[[tuple[int, int]], Mask]
_T = TypeVar("_T", bound=np.generic)


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of an acceptable page.

    The measuring scales are design choices; every other default is the
    calibrated threshold (``python -m benchmarks.calibrate_scanner``, run and
    method in docs/scanner.md) rounded to two figures, except ``edge_margin``
    (geometry: a corner on the frame's border), ``max_motion`` (set by hand:
    1 % of the diagonal between preview frames), ``border_band`` and
    ``border_step`` (the paper-beyond-a-side check, see :func:`border_step`) and
    ``corner_tolerance`` (see its comment).
    """

    sharpness_dpi: float = 100.0     # scale at which edge widths are measured
    light_dpi: float = 25.0          # scale at which the paper's light is measured
    max_edge_width_mm: float = 1.6   # blurriest direction's edge width above which: blurred
    dark_paper: float = 122.0        # paper level (0..255) below which the page is too dark
    overexposed: float = 0.37        # share of the page clipped to white (>= 250)
    glare_lift: float = 0.6          # paper lifted this far towards white above its fit
    glare: float = 0.011             # share of the page so lifted: glare
    min_dpi: float = 55.0            # effective resolution of the page in the frame
    max_tilt_deg: float = 21.0       # camera-to-page tilt estimated from the perspective
    edge_margin: float = 0.003       # corners nearer the frame's border (of its short side)
    border_band: float = 0.03        # sides this near the border (of its short side): checked
    border_step: float = 0.06        # least colour step from the paper to beyond a side (of it)
    max_motion: float = 0.01         # corner travel between frames, fraction of the diagonal
    # corner error (of the frame's short side) the tilt allows for; see least_perspective().
    # In-sample split (defect_corpus seed 5000), true corners + 2 px Gaussian noise, 30 draws
    # per frame: clean identity cards read up to 78 degrees as measured, at most 5.8 with this;
    # the tilted cards (34-44 degrees) keep 34-42; 0.005 lost two of them (0 degrees).
    corner_tolerance: float = 0.003


DEFAULT_THRESHOLDS = QualityThresholds()

#: Order in which reasons are reported (the first is the one the citizen hears first).
_PRIORITY = (ReasonCode.NO_PAGE, ReasonCode.CUT_OFF, ReasonCode.TOO_SMALL, ReasonCode.TOO_TILTED,
             ReasonCode.MOVING, ReasonCode.TOO_DARK, ReasonCode.OVEREXPOSED, ReasonCode.GLARE,
             ReasonCode.BLURRED)


def assess(page: Page | None, corners: npt.ArrayLike | None, frame: Image,
           previous: npt.ArrayLike | None = None,
           thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """The verdict on a rectified (not enhanced) ``page`` found at ``corners`` in ``frame``.

    ``previous`` is the page's corners in the preceding frame, when there is
    one: a page that moved between them is ``moving``. ``page`` or ``corners``
    None means no page was found. ``frame`` gives its size and, near its
    border, what lies beyond the page's sides (:func:`border_step`).
    """
    if page is None or corners is None:
        return Verdict([Reason.of(ReasonCode.NO_PAGE)])
    h, w = frame.shape[:2]
    measures = measure(page, corners, (w, h), previous=previous, thresholds=thresholds,
                       frame=frame)
    return Verdict(judge(measures, thresholds), measures)


def measure(page: Page, corners: npt.ArrayLike, frame_size: tuple[int, int], *,
            previous: npt.ArrayLike | None = None,
            thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
            frame: Image | None = None) -> dict[str, float]:
    """Every figure :func:`judge` looks at (of the thresholds, only the two scales,
    ``border_band`` and ``corner_tolerance`` are used here).

    Keys: ``edge_clearance``, ``effective_dpi``, ``tilt_deg``, ``motion`` (with
    ``previous``), ``border_step`` (with ``frame``, when a side lies near its
    border), ``paper_level``, ``burnt_fraction``, ``glare_fraction``,
    ``edge_width_mm`` and ``edge_width_across_mm`` (absent on a blank page).
    """
    quad = order_corners(corners)
    w, h = frame_size
    measures: dict[str, float] = {}
    # -- geometry
    measures["edge_clearance"] = edge_clearance(quad, (w, h))
    if frame is not None:
        step = border_step(frame, quad, thresholds.border_band)
        if step is not None:
            measures["border_step"] = step
    area_in2 = page.size_mm[0] * page.size_mm[1] / 25.4 ** 2
    measures["effective_dpi"] = float(np.sqrt(polygon_area(quad) / area_in2))
    tolerance = thresholds.corner_tolerance * min(w, h)
    measures["tilt_deg"] = tilt_degrees(least_perspective(quad, tolerance), page.size_mm, (w, h))
    if previous is not None:
        travel = float(np.max(np.linalg.norm(order_corners(previous) - quad, axis=1)))
        measures["motion"] = travel / float(np.hypot(w, h))
    # -- light, on the page at a coarse scale
    sharp = resample(page, thresholds.sharpness_dpi)
    light = resample(page, thresholds.light_dpi)
    seen = visible_mask(quad, (w, h), light.shape)
    if not np.any(seen):
        seen = np.ones(light.shape, np.bool_)
    paper = paper_level(light)
    measures["paper_level"] = float(np.percentile(paper[seen], 50))
    measures["burnt_fraction"] = float(np.mean(light[seen] >= 250))
    measures["glare_fraction"] = glare_fraction(paper, seen, thresholds.glare_lift)
    # -- sharpness, on the page at a fixed scale
    widths = edge_widths_mm(sharp, thresholds.sharpness_dpi,
                            visible=lambda shape: visible_mask(quad, (w, h), shape))
    if widths is not None:
        measures["edge_width_mm"] = max(widths)
        measures["edge_width_across_mm"] = min(widths)
    return measures


def judge(measures: dict[str, float], thresholds: QualityThresholds = DEFAULT_THRESHOLDS
          ) -> list[Reason]:
    """The reasons against a page, from its :func:`measure` figures, most urgent first."""
    t = thresholds
    m = measures
    reasons: list[Reason] = []

    def flag(code: ReasonCode, value: float, limit: float) -> None:
        if code not in {r.code for r in reasons}:
            reasons.append(Reason.of(code, value, limit))

    if m["edge_clearance"] < t.edge_margin:
        flag(ReasonCode.CUT_OFF, m["edge_clearance"], t.edge_margin)
    if m.get("border_step", np.inf) < t.border_step:
        flag(ReasonCode.CUT_OFF, m["border_step"], t.border_step)
    if m["effective_dpi"] < t.min_dpi:
        flag(ReasonCode.TOO_SMALL, m["effective_dpi"], t.min_dpi)
    if m["tilt_deg"] > t.max_tilt_deg:
        flag(ReasonCode.TOO_TILTED, m["tilt_deg"], t.max_tilt_deg)
    if m.get("motion", 0.0) > t.max_motion:
        flag(ReasonCode.MOVING, m["motion"], t.max_motion)
    overexposed = m["burnt_fraction"] > t.overexposed
    if m["paper_level"] < t.dark_paper:
        flag(ReasonCode.TOO_DARK, m["paper_level"], t.dark_paper)
    elif overexposed:
        flag(ReasonCode.OVEREXPOSED, m["burnt_fraction"], t.overexposed)
    if m["glare_fraction"] > t.glare and not overexposed:
        flag(ReasonCode.GLARE, m["glare_fraction"], t.glare)
    width = m.get("edge_width_mm")
    if width is not None and width > t.max_edge_width_mm:
        # smeared in one direction only (sharp across it): the page moved during the exposure
        if m["edge_width_across_mm"] <= t.max_edge_width_mm:
            flag(ReasonCode.MOVING, width, t.max_edge_width_mm)
        else:
            flag(ReasonCode.BLURRED, width, t.max_edge_width_mm)
    reasons.sort(key=lambda r: _PRIORITY.index(r.code))
    return reasons


# -- sharpness ----------------------------------------------------------------------------------

#: Side of the tiles in which edges are measured, in page millimetres.
TILE_MM = 2.5
#: Least local step (grey levels) of a tile whose edges are measured.
MIN_STEP = 40.0


def edge_widths_mm(gray: Image, dpi: float, *, visible: VisibleFn | None = None,
                   percentile: float = 90.0) -> tuple[float, float, float, float] | None:
    """Edge width (mm) along x, y and both diagonals of a gray page at ``dpi``; None if blank.

    See the module docstring. ``visible(shape)`` gives the tiles (a boolean
    array of that shape) that lie inside the frame; the others are skipped.
    """
    px_per_mm = dpi / 25.4
    size = max(4, round(TILE_MM * px_per_mm))
    h, w = gray.shape
    ny, nx = h // size, w // size
    if ny < 3 or nx < 3:
        return None
    g = np.ascontiguousarray(gray[: ny * size, : nx * size])
    # 3x3 Sobel in int16: 8 x the slope in grey levels per pixel, exact and fast
    gx = np.asarray(cv2.Sobel(g, cv2.CV_16S, 1, 0, ksize=3), dtype=np.int16)
    gy = np.asarray(cv2.Sobel(g, cv2.CV_16S, 0, 1, ksize=3), dtype=np.int16)
    slopes = (np.abs(gx), np.abs(gy), np.abs(gx + gy), np.abs(gx - gy))
    norm = (8.0, 8.0, 8.0 * 2 ** 0.5, 8.0 * 2 ** 0.5)       # to grey levels per pixel
    near = np.ones((3, 3), np.uint8)
    high = cv2.dilate(_tile_max(g, size, ny, nx), near).astype(np.float32)
    low = cv2.erode(_tile_min(g, size, ny, nx), near).astype(np.float32)
    step = high - low
    chosen = step > MIN_STEP
    if visible is not None:
        chosen &= visible((ny, nx))
    if np.count_nonzero(chosen) < 10:
        return None
    chosen &= step >= 0.5 * float(np.percentile(step[chosen], 95))
    if np.count_nonzero(chosen) < 10:
        return None
    out = []
    for s, k in zip(slopes, norm, strict=True):
        steepest = _tile_max(s, size, ny, nx)[chosen].astype(np.float32) / k
        ratio = float(np.percentile(steepest / step[chosen], percentile))   # 1 / width, per px
        out.append(float("inf") if ratio <= 0 else 1.0 / ratio / px_per_mm)
    return out[0], out[1], out[2], out[3]


def _tile_max(a: npt.NDArray[_T], size: int, ny: int, nx: int) -> npt.NDArray[_T]:
    """The maximum of each size x size tile."""
    rows = a[: ny * size, : nx * size].reshape(ny, size, nx * size).max(axis=1)
    return np.ascontiguousarray(rows.reshape(ny, nx, size).max(axis=2))


def _tile_min(a: npt.NDArray[_T], size: int, ny: int, nx: int) -> npt.NDArray[_T]:
    """The minimum of each size x size tile."""
    rows = a[: ny * size, : nx * size].reshape(ny, size, nx * size).min(axis=1)
    return np.ascontiguousarray(rows.reshape(ny, nx, size).min(axis=2))


# -- light --------------------------------------------------------------------------------------

def glare_fraction(paper: Image, seen: Mask, lift: float) -> float:
    """Share of the page whose paper is lifted towards white by ``lift`` over its smooth fit."""
    if np.count_nonzero(seen) < 16:
        return 0.0
    fit = smooth_light(paper, seen)
    lifted = (paper.astype(np.float32) - fit) / np.maximum(255.0 - fit, 8.0)
    return float(np.count_nonzero(seen & (lifted > lift)) / np.count_nonzero(seen))


# -- helpers ------------------------------------------------------------------------------------

def resample(page: Page, dpi: float) -> Image:
    """The page in gray at ``dpi`` (area-averaged when shrinking, bilinear when enlarging)."""
    return page.gray_at(dpi)


def visible_mask(quad: Quad, frame_size: tuple[int, int], shape: tuple[int, ...]) -> Mask:
    """Which cells of a grid of ``shape`` laid over the page fall inside the frame."""
    ny, nx = shape[0], shape[1]
    grid = np.array([[0, 0], [nx, 0], [nx, ny], [0, ny]], np.float32)
    to_grid = np.asarray(cv2.getPerspectiveTransform(np.asarray(quad, np.float32), grid),
                         dtype=np.float64)
    w, h = frame_size
    border = np.array([[1, 1], [w - 2, 1], [w - 2, h - 2], [1, h - 2]], np.float64)
    # the frame's border seen from the page (cell centres at +0.5); a frame corner behind the
    # page's horizon would not map to a convex quad: then every cell is mapped one by one
    homogeneous = np.hstack([border, np.ones((4, 1))]) @ to_grid.T
    mask = np.zeros((ny, nx), np.uint8)
    if np.all(homogeneous[:, 2] > 0):
        polygon = homogeneous[:, :2] / homogeneous[:, 2:] - 0.5
        if cv2.isContourConvex(np.round(polygon * 16).astype(np.int32)):
            limit = 4.0 * (nx + ny)      # far outside the grid: clip, fillConvexPoly needs ints
            polygon = np.clip(polygon, -limit, limit)
            cv2.fillConvexPoly(mask, np.round(polygon * 16).astype(np.int32), 1, cv2.LINE_8,
                               shift=4)
            return mask.astype(np.bool_)
    to_frame = np.linalg.inv(to_grid)
    ys, xs = np.mgrid[0:ny, 0:nx].astype(np.float64)
    cells = np.stack([xs + 0.5, ys + 0.5, np.ones_like(xs)], axis=-1) @ to_frame.T
    fx = cells[..., 0] / cells[..., 2]
    fy = cells[..., 1] / cells[..., 2]
    return np.asarray((fx >= 1) & (fx <= w - 2) & (fy >= 1) & (fy <= h - 2), dtype=np.bool_)


def edge_clearance(quad: Quad, frame_size: tuple[int, int]) -> float:
    """Smallest distance from a corner to the frame's border, over the frame's short side.

    Negative when a corner lies outside the frame: a page side on or beyond the
    border has both its corners there.
    """
    w, h = frame_size
    q = np.asarray(quad, dtype=np.float64)
    gaps = np.concatenate([q[:, 0], q[:, 1], (w - 1) - q[:, 0], (h - 1) - q[:, 1]])
    return float(gaps.min() / min(w, h))


#: Least width (px) of the frame between a side and the border worth looking at: nearer,
#: ``edge_clearance`` decides (``edge_margin`` is 3 px on a 1080p frame).
_MIN_GAP_PX = 2.0
#: Pixels either side of a page side left out of the bands compared (the edge's own blur).
_SIDE_PX = 3
#: Samples along a side, and the share of its length they span (its middle).
_SAMPLES = 24
_SPAN = (0.1, 0.9)  # hand choice: the middle 80 %, clear of the corners
#: Sides at more than 30 degrees to a border are not checked against it (sin 30 degrees).
_SLANT = 0.5


def border_step(frame: Image, quad: Quad, band: float) -> float | None:
    """Colour step from the paper inside the sides near the frame's border to the frame beyond
    them, as a share of the paper's level; None when no side lies within ``band`` (of the
    short side) of the border.

    For each side at less than 30 degrees to a border, at the points along
    the middle of its part the frame shows that lie within the band of that
    border (at least a quarter of them; nearer than 5 px, ``edge_clearance``
    decides), the frame between
    the side and the border, its half nearest the border (what reaches the
    border, even when the side was found a few pixels inside the paper), is
    compared with a band as wide as the gap (at least 6 px) just inside the
    page (``_SIDE_PX`` either side of the side left out). Each band's
    colour is the 75th percentile of its pixels per channel (the paper, not
    the ink); the step is the largest channel difference over the inside's
    brightest channel (relative, so that a page in a dim corner of an uneven
    light is judged like one in full light). Of several sides, the smallest
    step. A true side has the tray beyond it; paper beyond it (a small step)
    means the page runs on to the border.

    ``border_step`` 0.06 (about 12 levels on paper at 200-240, the colour step
    the still's fast path asks of a side): on the in-sample split
    (``python -m benchmarks --only quality``, seed 5000) the pages running on
    past a side found near the border step 0.000-0.005, the one clean page
    whose true side lies within the band 0.34; the lightest simulated tray
    (``synth.TRAY_COLOURS``, 194 at most) beside paper at 220 would step 0.12.
    """
    h, w = frame.shape[:2]
    near_px = band * min(w, h)
    q = np.asarray(quad, np.float64)
    pixels = frame if frame.ndim == 3 else frame[:, :, None]
    steps: list[float] = []
    # borders: (axis of the coordinate that meets it, its value there, outward sign)
    for axis, edge, sign in ((0, 0.0, -1), (0, w - 1.0, 1), (1, 0.0, -1), (1, h - 1.0, 1)):
        gaps = (edge - q[:, axis]) * sign          # distance inside the frame to that border
        for i in range(4):
            j = (i + 1) % 4
            if min(gaps[i], gaps[j]) > near_px or abs(gaps[i] - gaps[j]) > _SLANT * np.hypot(
                    *(q[j] - q[i])):
                continue                        # far from this border, or not along it
            outside: list[npt.NDArray[np.uint8]] = []
            inside: list[npt.NDArray[np.uint8]] = []
            t0, t1 = _in_frame(q[i, 1 - axis], q[j, 1 - axis], (h, w)[axis])
            if t1 <= t0:
                continue                        # the side lies beyond another border
            for u in np.linspace(*_SPAN, _SAMPLES):
                t = t0 + u * (t1 - t0)          # along the part of the side the frame shows
                point = q[i] + t * (q[j] - q[i])
                gap = (edge - point[axis]) * sign
                if not _MIN_GAP_PX + _SIDE_PX <= gap <= near_px:
                    continue
                at = round(float(point[axis]))
                across = round(float(point[1 - axis]))
                if not 0 <= across < (h, w)[axis]:
                    continue                    # this point of the side is beyond another border
                lo, hi = max(0, across - 1), min((h, w)[axis] - 1, across + 1) + 1
                width = max(6, int(gap))
                outer = max(2, int(gap) // 2)     # the half of the strip nearest the border
                if sign > 0:
                    beyond = (max(at + _SIDE_PX + 1, int(edge) + 1 - outer), int(edge) + 1)
                    within = (at - _SIDE_PX - width, at - _SIDE_PX)
                else:
                    beyond = (0, min(at - _SIDE_PX, outer))
                    within = (at + _SIDE_PX + 1, at + _SIDE_PX + 1 + width)
                limit = (w, h)[axis]
                within = (max(0, within[0]), min(limit, within[1]))
                if beyond[1] <= beyond[0] or within[1] <= within[0]:
                    continue
                outside.append(_patch(pixels, axis, beyond, (lo, hi)))
                inside.append(_patch(pixels, axis, within, (lo, hi)))
            if len(outside) < _SAMPLES // 4:
                continue
            a = np.percentile(np.concatenate(outside), 75, axis=0)
            b = np.percentile(np.concatenate(inside), 75, axis=0)
            steps.append(float(np.max(np.abs(a - b)) / max(float(np.max(b)), 16.0)))
    return min(steps) if steps else None


def _patch(pixels: Image, axis: int, towards: tuple[int, int], along: tuple[int, int]
           ) -> npt.NDArray[np.uint8]:
    """The pixels (one row each) of ``pixels`` from ``towards`` across a border meeting ``axis``
    and ``along`` it."""
    rows, cols = (along, towards) if axis == 0 else (towards, along)
    return np.asarray(pixels[rows[0]:rows[1], cols[0]:cols[1]].reshape(-1, pixels.shape[2]),
                      np.uint8)


def _in_frame(a: float, b: float, size: int) -> tuple[float, float]:
    """The range of t in [0, 1] over which a + t (b - a) lies in [0, size - 1]."""
    if a == b:
        return (0.0, 1.0) if 0 <= a <= size - 1 else (0.0, 0.0)
    ends = sorted(((0.0 - a) / (b - a), (size - 1.0 - a) / (b - a)))
    return max(0.0, ends[0]), min(1.0, ends[1])


def least_perspective(quad: Quad, tolerance_px: float) -> Quad:
    """``quad`` with each corner moved by up to ``tolerance_px`` towards a parallelogram.

    A quad's perspective (what :func:`tilt_degrees` reads) is its departure
    from a parallelogram, v = tl - tr + br - bl; moving the corners by s, -s,
    s, -s against it takes 4|s| off. On a small document (an identity card is
    about 260 px wide in a 1080p frame) corners a pixel or two off make a
    flat card look tilted by 20-70 degrees; the tilt of the least tilted quad
    within the detector's corner error is what the page surely has.
    """
    q = order_corners(quad).astype(np.float64)
    v = q[0] - q[1] + q[2] - q[3]
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return q.astype(np.float32)
    s = v / 4.0 * min(1.0, tolerance_px / (norm / 4.0))
    return np.asarray(q + np.array([-s, s, -s, s]), np.float32)


def tilt_degrees(quad: Quad, size_mm: tuple[float, float], frame_size: tuple[int, int]) -> float:
    """Angle between the page's plane and the image plane, from the page's homography.

    With square pixels, the principal point at the frame's centre and the focal
    length estimated from the same perspective (or, seen nearly face-on, no
    tilt to speak of), the homography from the page (in mm) to the frame
    decomposes into a rotation whose third column is the page's normal.
    """
    w, h = frame_size
    centre = np.array([w / 2.0, h / 2.0])
    pts = order_corners(quad).astype(np.float64) - centre
    pw, ph = size_mm
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    homography = np.asarray(cv2.getPerspectiveTransform(src, pts.astype(np.float32)),
                            dtype=np.float64)
    h1, h2 = homography[:, 0], homography[:, 1]
    # orthogonality of the rotation's first two columns gives the focal length
    denom = h1[2] * h2[2]
    if abs(denom) < 1e-12:
        return 0.0
    f2 = -(h1[0] * h2[0] + h1[1] * h2[1]) / denom
    if f2 <= 0:
        # the equal-length constraint of the two columns instead
        num = (h1[0] ** 2 + h1[1] ** 2) - (h2[0] ** 2 + h2[1] ** 2)
        den = h2[2] ** 2 - h1[2] ** 2
        f2 = num / den if abs(den) > 1e-12 else 0.0
    if f2 <= 0:
        return 0.0
    k_inv = np.diag([1.0 / np.sqrt(f2), 1.0 / np.sqrt(f2), 1.0])
    r1 = k_inv @ h1
    r2 = k_inv @ h2
    r1 /= np.linalg.norm(r1)
    r2 /= np.linalg.norm(r2)
    normal = np.cross(r1, r2)
    return float(np.degrees(np.arccos(min(1.0, abs(normal[2]) / np.linalg.norm(normal)))))
