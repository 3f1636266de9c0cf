"""Judge a captured page: is it sharp, lit, whole, near, flat and still enough to be read?

Every figure is measured where it means the same whatever the camera:
sharpness and light on the rectified page resampled to a fixed resolution
(``QualityThresholds.measure_dpi``), size as the page's effective resolution
in the frame, tilt from the page's perspective. The thresholds were calibrated
on synthesised frames with known defects (``benchmarks/calibrate_scanner.py``;
figures and method in docs/scanner.md).

Sharpness is the no-reference blur measure of Crété-Roffet et al. (2007): the
page is blurred again along one direction and the loss of its gradient
measured; a sharp page loses much (score near 0), a blurred one little (near
1). Measured along four directions, it also tells motion blur (one direction
much blurrier than the one across it) from defocus.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from scanner.geometry import Quad, order_corners, polygon_area
from scanner.page import Image, Page, Reason, ReasonCode, Verdict


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of an acceptable page; defaults from the calibration in docs/scanner.md."""

    measure_dpi: float = 75.0        # resolution at which light and sharpness are measured
    blur: float = 0.45               # blur score (0 sharp .. 1 flat) above which a page is blurred
    motion_anisotropy: float = 0.12  # blur difference across directions that means motion
    dark_paper: float = 109.0        # paper brighter than this (0..255) or the page is too dark
    overexposed: float = 0.12        # fraction of the page burnt out (>= 250) for overexposure
    glare_level: float = 240.0       # grey level of a glare highlight on the page
    glare: float = 0.0035            # fraction of the page in glare patches: glare
    min_dpi: float = 49.0            # effective resolution of the page in the frame
    max_tilt_deg: float = 25.0       # camera-to-page tilt estimated from the perspective
    edge_margin: float = 0.004       # a corner this close to the frame edge (fraction) is cut
    max_motion: float = 0.01         # corner travel between frames, fraction of the diagonal


DEFAULT_THRESHOLDS = QualityThresholds()


def assess(page: Page | None, corners: npt.ArrayLike | None, frame: Image,
           previous: npt.ArrayLike | None = None,
           thresholds: QualityThresholds = DEFAULT_THRESHOLDS) -> Verdict:
    """The verdict on a rectified (not enhanced) ``page`` found at ``corners`` in ``frame``.

    ``previous`` is the page's corners in the preceding frame, when there is
    one: a page that moved between them is ``moving``. ``page`` or ``corners``
    None means no page was found.
    """
    if page is None or corners is None:
        return Verdict([Reason.of(ReasonCode.NO_PAGE)])
    quad = order_corners(corners)
    measures: dict[str, float] = {}
    reasons: list[Reason] = []
    t = thresholds
    h, w = frame.shape[:2]

    # -- geometry -----------------------------------------------------------------------
    margin = t.edge_margin * min(w, h)
    outside = np.concatenate([margin - quad.min(axis=0),
                              quad.max(axis=0) - (np.array([w - 1, h - 1]) - margin)])
    measures["edge_overrun_px"] = float(outside.max())
    if outside.max() > 0:
        reasons.append(Reason.of(ReasonCode.CUT_OFF, float(outside.max()), 0.0))
    area_in2 = page.size_mm[0] * page.size_mm[1] / 25.4 ** 2
    effective_dpi = float(np.sqrt(polygon_area(quad) / area_in2))
    measures["effective_dpi"] = effective_dpi
    if effective_dpi < t.min_dpi:
        reasons.append(Reason.of(ReasonCode.TOO_SMALL, effective_dpi, t.min_dpi))
    tilt = tilt_degrees(quad, page.size_mm, (w, h))
    measures["tilt_deg"] = tilt
    if tilt > t.max_tilt_deg:
        reasons.append(Reason.of(ReasonCode.TOO_TILTED, tilt, t.max_tilt_deg))
    if previous is not None:
        travel = float(np.max(np.linalg.norm(order_corners(previous) - quad, axis=1)))
        rel = travel / float(np.hypot(w, h))
        measures["motion"] = rel
        if rel > t.max_motion:
            reasons.append(Reason.of(ReasonCode.MOVING, rel, t.max_motion))

    # -- light and sharpness on the page at a fixed scale ------------------------------------
    gray = to_gray_at(page, t.measure_dpi)
    paper = float(np.percentile(gray, 90))
    measures["paper_level"] = paper
    burnt = gray >= 250
    burnt_fraction = float(np.mean(burnt))
    measures["burnt_fraction"] = burnt_fraction
    glare_fraction = glare_patch_fraction(gray >= t.glare_level)
    measures["glare_fraction"] = glare_fraction
    if paper < t.dark_paper:
        reasons.append(Reason.of(ReasonCode.TOO_DARK, paper, t.dark_paper))
    elif burnt_fraction > t.overexposed:
        reasons.append(Reason.of(ReasonCode.OVEREXPOSED, burnt_fraction, t.overexposed))
    elif glare_fraction > t.glare:
        reasons.append(Reason.of(ReasonCode.GLARE, glare_fraction, t.glare))
    blur = directional_blur(gray)
    if blur is not None:
        worst, best = max(blur), min(blur)
        measures["blur"] = worst
        measures["blur_anisotropy"] = worst - best
        if worst > t.blur:
            moving = worst - best > t.motion_anisotropy
            code = ReasonCode.MOVING if moving else ReasonCode.BLURRED
            if code not in {r.code for r in reasons}:
                reasons.append(Reason.of(code, worst, t.blur))
    return Verdict(reasons, measures)


def to_gray_at(page: Page, dpi: float) -> Image:
    """The page in gray at ``dpi`` (never enlarged beyond its own resolution)."""
    gray = page.image if page.image.ndim == 2 else cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)
    if page.dpi <= dpi:
        return gray
    f = dpi / page.dpi
    h, w = gray.shape
    return cv2.resize(gray, (max(8, round(w * f)), max(8, round(h * f))),
                      interpolation=cv2.INTER_AREA)


def glare_patch_fraction(burnt: npt.NDArray[np.bool_]) -> float:
    """Fraction of the page covered by burnt-out patches (glare), ignoring specks."""
    mask = burnt.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return float(mask.mean())


_DIRECTIONS = ((1, 0), (0, 1), (1, 1), (1, -1))


def directional_blur(gray: Image, *, min_content: float = 0.3) -> list[float] | None:
    """Crété-Roffet blur score along x, y and both diagonals; None on a blank page.

    Each score is in [0, 1]: the share of the page's gradient that survives
    when the page is blurred again (9-pixel box) along that direction.
    """
    img = gray.astype(np.float32)
    border = 6
    img = img[border:-border, border:-border] if min(img.shape) > 4 * border else img
    scores: list[float] = []
    for dx, dy in _DIRECTIONS:
        kernel = np.zeros((9, 9), np.float32)
        for k in range(-4, 5):
            kernel[4 + k * dy, 4 + k * dx] = 1.0 / 9.0
        again = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        d_img = _diff(img, dx, dy)
        d_again = _diff(again, dx, dy)
        total = float(d_img.sum())
        if total < min_content * d_img.size:
            return None
        kept = np.maximum(d_img - d_again, 0).sum()
        scores.append(float((total - kept) / total))
    return scores


def _diff(img: npt.NDArray[np.float32], dx: int, dy: int) -> npt.NDArray[np.float32]:
    h, w = img.shape
    y0, y1 = max(0, -dy), h - max(0, dy)
    a = img[y0:y1, 0: w - dx]
    b = img[y0 + dy: y1 + dy, dx: w]
    return np.abs(b - a)


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
    homography = cv2.getPerspectiveTransform(src, pts.astype(np.float32))
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
