"""The camera's focus gauge and exposure meter, for the technician's camera screen.

Why a gauge of its own: the quality check (scanner/quality.py) answers yes or
no for one captured page; a technician turning the lens's focus ring wants a
needle that moves with every preview frame and peaks at best focus. So this
module gives, per frame (numpy in, dataclasses out, no Kivy), a number in
0..1 that rises strictly as the image gets sharper, and the exposure.

Where it is measured: **on the page**, resampled to a fixed scale
(``GAUGE_DPI``, the quality check's sharpness scale: an A4 page is then
827 px wide), so that the figure means the same whatever the camera's
resolution and wherever the page lies (the variance of the Laplacian of a
whole frame changes with the resolution and with how much of the frame the
page fills; docs/camera-calibration.md). The page is the caller's corners
(the preview's live detection), else :func:`scanner.detect.detect_live`
finds it; when there is none the whole frame is measured, resampled to
``FRAME_WIDTH`` px wide, and the result says so (``Region.FRAME``): that
figure depends on what lies on the tray and is only good for comparing
frames of one scene.

Sharpness: a Tenengrad (Sobel gradient magnitude) normalised by the local
contrast: at each pixel of a full-contrast edge (the local range, max - min
over ``WINDOW`` px, at least ``MIN_STEP`` grey levels: text) the gradient is
divided by that range. For a step blurred over w pixels the steepest slope
is about range / w, so the ratio is about 1 / w whatever the light and the
ink; the ``PERCENTILE``-th percentile over the edge pixels (the sharpest
edges, not the average: faint print and the page's shadows are blurred by
nature) is ``sharpness``, in 1 / px at ``GAUGE_DPI``.

The gauge maps it to 0..1 with a logistic curve in log sharpness,
``1 / (1 + (HALF / s) ** STEEPNESS)``: strictly increasing, never pinned at 0
or 1. Its two constants were calibrated on the camera simulator
(drivers/camera/synth.py, ``blur_sigma``; ``python -m benchmarks --only camera_service``
prints the table; figures in docs/camera-calibration.md): ``HALF`` is the
sharpness of A4 pages on a 1080p tray at the least blur the scanner's
quality corpus counts as unusable (``blur_sigma`` 3, devtools/scanner_corpus.py
``DEFECT_RANGES``), so a gauge under 0.5 means a page the scanner would call
blurred; ``STEEPNESS`` puts sharp 1080p pages (``blur_sigma`` 0) near 0.95.

Exposure: on the same region, the mean grey level, the shares of clipped
highlights (>= 250) and crushed shadows (<= 5), the paper's level (the 90th
percentile: the page is mostly paper), and a verdict: UNDER when the paper
is darker than the quality check's ``dark_paper``, OVER when more of the
region is clipped to white than its ``overexposed`` share (the same limits
that refuse a captured page).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from scanner.detect import detect_live
from scanner.errors import BadImageError
from scanner.geometry import Quad, order_corners, polygon_area
from scanner.page import PageContent
from scanner.quality import DEFAULT_THRESHOLDS
from scanner.rectify import rectify

Image = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]

#: Scale of the page the sharpness is measured at (the quality check's sharpness scale).
GAUGE_DPI = DEFAULT_THRESHOLDS.sharpness_dpi
#: Width the whole frame is resampled to when no page is found. Set by hand in 36c630b (no
#: sweep recorded): about an A4 page's width at ``GAUGE_DPI`` (827 px), so a whole-frame
#: figure is on a like scale.
FRAME_WIDTH = 800
#: Side (px at the measuring scale: 5 mm) of the window of the local contrast (wider than a
#: blurred edge, else the ratio stops falling with the blur at 1 / WINDOW). 5 mm at 100 dpi is
#: 19.7 px, taken to the odd 21; the width itself set by hand in 36c630b.
WINDOW = 21
#: Least contrast (grey levels) of an edge that is measured: text, not faint print or shadows.
#: Set by hand in 36c630b (no sweep recorded); the calibration table of ``HALF`` was made with it.
MIN_STEP = 40.0
#: Percentile of the edges' sharpness taken (the sharpest edges, module docstring). Set by hand
#: in 36c630b like ``MIN_STEP``; the calibration table of ``HALF`` was made with it.
PERCENTILE = 95.0
#: The gauge's calibrated constants (module docstring): sharpness (1/px) at gauge 0.5, calibrated
#: by ``python -m benchmarks --only camera_service`` (``focus_calibration``: A4 text pages of
#: drivers/camera/synth.py, seeds 900-905, noise 2, medians; docs/camera-calibration.md): the
#: 1080p median at ``blur_sigma`` 3, rounded.
HALF = 0.14
#: Steepness, from the same table: sharp 1080p pages (``blur_sigma`` 0) near 0.95 (0.957).
STEEPNESS = 3.5
#: Grey levels that count as clipped highlights: the quality check's own (scanner/quality.py
#: counts a page's burnt pixels at >= 250), so the meter and the check agree.
HIGHLIGHT = 250
#: And crushed shadows: set by hand in 36c630b, as far from black as ``HIGHLIGHT`` from white.
SHADOW = 5


class Region(enum.Enum):
    """What was measured (shown beside the figures: a whole-frame figure is not a page's)."""

    PAGE = "page"        # the page, resampled to GAUGE_DPI
    FRAME = "frame"      # no page found: the whole frame, resampled to FRAME_WIDTH


class Exposure(enum.Enum):
    """The exposure's verdict."""

    OK = "ok"
    UNDER = "under"      # the paper is darker than the quality check accepts
    OVER = "over"        # too much of it is clipped to white


@dataclass(frozen=True)
class FocusReading:
    """``gauge`` 0..1 (higher is sharper); ``sharpness`` the raw figure (1 / edge width, 1/px);
    ``edges`` how many edge pixels it was measured on (0: nothing to focus on)."""

    gauge: float
    sharpness: float
    edges: int


@dataclass(frozen=True)
class ExposureReading:
    """Grey levels 0..255 and shares 0..1 of the measured region."""

    mean: float
    paper: float
    highlights: float
    shadows: float
    verdict: Exposure


@dataclass(frozen=True)
class CameraReading:
    """One preview frame's gauges; ``corners`` the page measured (None: the whole frame)."""

    region: Region
    focus: FocusReading
    exposure: ExposureReading
    corners: Quad | None
    ms: float                # time taken, detection included


def gauge(sharpness: float) -> float:
    """The 0..1 gauge of a sharpness (module docstring); 0 for no sharpness at all."""
    if sharpness <= 0:
        return 0.0
    return float(1.0 / (1.0 + (HALF / sharpness) ** STEEPNESS))


def read_camera(frame: Image, corners: npt.ArrayLike | None = None, *,
                find: bool = True) -> CameraReading:
    """Focus and exposure of a BGR (or grey) uint8 preview frame.

    ``corners``: the page's corners when the caller has them (the live
    detection of the preview); else, with ``find``, the live detector looks
    for the page. A frame without a page is measured whole (``Region.FRAME``).
    Raises BadImageError for anything but an H x W (x 3) uint8 image.
    """
    start = time.perf_counter()
    # (the 32 px floor on a frame: set by hand in 36c630b, no measurement)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 32 \
            or (frame.ndim == 3 and frame.shape[2] != 3):
        raise BadImageError(f"expected an H x W (x 3) uint8 frame of at least 32 px, got "
                            f"{frame.dtype} {frame.shape}")
    bgr = frame if frame.ndim == 3 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR),
                                                   np.uint8)
    quad: Quad | None = None
    if corners is not None:
        quad = order_corners(corners)
    elif find:
        quad = detect_live(bgr)
    h, w = bgr.shape[:2]
    # a page under 0.5 % of the frame is too few pixels to measure (set by hand in 36c630b)
    if quad is not None and polygon_area(quad) >= 0.005 * w * h:
        gray = rectify(bgr, quad, dpi=GAUGE_DPI, content=PageContent.TEXT).image
        region = Region.PAGE
    else:
        quad = None
        small = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), np.uint8)
        if w > FRAME_WIDTH:
            small = np.asarray(cv2.resize(small, (FRAME_WIDTH, round(h * FRAME_WIDTH / w)),
                                          interpolation=cv2.INTER_AREA), np.uint8)
        gray, region = small, Region.FRAME
    focus = measure_focus(gray)
    exposure = measure_exposure(gray)
    return CameraReading(region, focus, exposure, quad,
                         round((time.perf_counter() - start) * 1000, 2))


def measure_focus(gray: Image) -> FocusReading:
    """Sharpness and gauge of a grey image already at the measuring scale."""
    g = gray.astype(np.float32)
    # scale 1/8: the 3 x 3 Sobel kernel's absolute weights sum to 8 (grey levels per px)
    gx = np.asarray(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, scale=0.125), np.float32)
    gy = np.asarray(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, scale=0.125), np.float32)
    magnitude = np.asarray(cv2.magnitude(gx, gy), np.float32)
    kernel = np.ones((WINDOW, WINDOW), np.uint8)
    local = np.asarray(cv2.dilate(gray, kernel), np.float32) \
        - np.asarray(cv2.erode(gray, kernel), np.float32)
    edges = local >= MIN_STEP
    count = int(np.count_nonzero(edges))
    if count < 50:                      # too few edge pixels for a percentile (set by hand)
        return FocusReading(0.0, 0.0, count)
    # the gradient over the step: ~1 / edge width at an edge's steepest point
    ratio = magnitude[edges] / local[edges]
    k = min(len(ratio) - 1, int(PERCENTILE / 100 * len(ratio)))
    sharpness = float(np.partition(ratio, k)[k])        # the percentile, without a full sort
    return FocusReading(round(gauge(sharpness), 4), round(sharpness, 4), count)


def measure_exposure(gray: Image) -> ExposureReading:
    """Mean, paper level, clipped shares and verdict of a grey image (module docstring)."""
    t = DEFAULT_THRESHOLDS
    # one histogram gives every figure (a percentile by sorting costs 10x more)
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = float(hist.sum())
    mean = float(np.dot(hist, np.arange(256))) / total
    # the 90th percentile: the page is mostly paper (set by hand in 36c630b)
    paper = float(np.searchsorted(np.cumsum(hist), 0.9 * total))
    highlights = float(hist[HIGHLIGHT:].sum()) / total
    shadows = float(hist[: SHADOW + 1].sum()) / total
    if highlights > t.overexposed:
        verdict = Exposure.OVER
    elif paper < t.dark_paper:
        verdict = Exposure.UNDER
    else:
        verdict = Exposure.OK
    return ExposureReading(round(mean, 2), round(paper, 2), round(highlights, 4),
                           round(shadows, 4), verdict)
