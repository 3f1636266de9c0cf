"""The calibration sheet: what the camera resolves on the tray, measured from one frame.

Why: whether the kiosk's pages can be read depends on how many camera pixels
fall on each inch of paper (the camera's resolution, its lens and its height
above the tray). A printed sheet of known geometry, laid on the tray, turns
one preview frame into that figure, so a technician can check a new kiosk,
a replaced camera or a knocked mount without guessing.

The sheet (A4 portrait, ``assets/calibration/calibration-sheet.pdf``, drawn by
``python -m devtools.calibration_sheet`` from the layout below):

- four ArUco markers (OpenCV's ``DICT_4X4_50``, ids 0-3, ``MARKER_MM`` wide)
  near its corners, at known positions (``MARKERS``): their centres' distances
  in pixels over the known millimetres give the **effective resolution** (dots
  per inch on the page plane), and their corners the homography from the
  sheet (mm) to the frame, through which everything else is sampled;
- a line-pair **resolution wedge**: bar groups of ``WEDGE_LPMM`` line pairs per
  millimetre, vertical bars on one row and horizontal bars on the next; the
  modulation of each group (its bars' range over the black-to-white range)
  says up to which fineness the camera (its lens and focus, not only its
  pixel count) separates lines;
- **grey steps**: ``GREY_STEPS`` patches from white to black; their levels give
  the black-to-white range (the light and the exposure) and how many steps
  the camera still tells apart;
- a 100 mm ruler, to check that the sheet was printed at 100 % (a printer's
  "fit to page" shrinks it by a few per cent, and every figure with it).

The verdict's limits come from the scanner's own settings, so that "OK" means
"pages will be accepted and stored as designed":
``LOW_RESOLUTION`` below ``QualityThresholds.min_dpi`` (pages refused as too
small), ``NO_BILEVEL`` below ``scanner.enhance.BILEVEL_MIN_SOURCE_DPI`` (text
pages then kept in grey, several times larger: measured, see that constant).
``LOW_CONTRAST`` when the white step is darker than the quality check's
``dark_paper`` (pages refused as too dark) or the black-to-white range is
under ``MIN_RANGE`` grey levels (set by hand, as are the next three);
``FLAT_STEPS`` (fewer than ``MIN_DISTINCT`` of the steps' differences above
``STEP_DIFF``) and ``TILTED`` (marker distances disagreeing by more than
``MAX_SPREAD``: the camera is not square to the tray).
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from scanner.enhance import BILEVEL_MIN_SOURCE_DPI
from scanner.errors import BadImageError
from scanner.quality import DEFAULT_THRESHOLDS

Image = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

# ----------------------------------------------------------------------------- the sheet's layout
# Millimetres from the sheet's top-left corner, x to the right, y down. The PDF
# (devtools/calibration_sheet.py) and render_sheet below both draw from these. They are the
# sheet's design (drawn in 84e0f35), not thresholds: a printed sheet has them as facts.

SHEET_MM = (210.0, 297.0)           # A4 portrait (ISO 216), a format fact
ARUCO_DICT = cv2.aruco.DICT_4X4_50
MARKER_MM = 30.0                    # the markers' printed width (the sheet's design)
#: Marker id -> top-left corner of the marker (its black border included).
MARKERS: dict[int, tuple[float, float]] = {
    0: (15.0, 15.0), 1: (165.0, 15.0), 2: (165.0, 252.0), 3: (15.0, 252.0)}
#: Line pairs per millimetre of the wedge's groups, and where the two rows of groups lie (the
#: sheet's design; the range spans 1.5 lp/mm, the two-pixel limit at a 1080p camera's 78 dpi).
WEDGE_LPMM = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
WEDGE_GROUP_MM = (24.0, 16.0)        # width, height of a group
WEDGE_ORIGIN_MM = (21.0, 70.0)       # top-left of the first group of the first row
WEDGE_PITCH_MM = 29.0                # from a group to the next one
WEDGE_ROW_PITCH_MM = 26.0            # from the vertical bars' row to the horizontal bars'
#: Grey steps: reflectance from white (1.0) to black (0.0), their squares and where they lie
#: (eight even steps of 1/7; the sheet's design).
GREY_STEPS = (1.0, 0.86, 0.71, 0.57, 0.43, 0.29, 0.14, 0.0)
GREY_MM = 20.0                      # side of a grey square (the sheet's design)
GREY_ORIGIN_MM = (21.0, 140.0)      # top-left of the white step
GREY_PITCH_MM = 21.0                # from a step to the next one
#: The print-scale ruler: 100 mm long, ticks every 10 mm.
RULER_ORIGIN_MM = (55.0, 200.0)
RULER_MM = 100.0                    # its length (the sheet's design)

# ----------------------------------------------------------------------------- the verdict's limits

# The first two are the scanner's own limits, calibrated where they live (docs/scanner.md:
# ``min_dpi`` by ``python -m benchmarks.calibrate_scanner``, the bilevel one by
# ``python -m benchmarks.calibrate_bilevel``); the others were set by hand in 84e0f35, with no
# sweep recorded.
MIN_DPI = DEFAULT_THRESHOLDS.min_dpi          # below: pages refused as too small
BILEVEL_DPI = BILEVEL_MIN_SOURCE_DPI          # below: text pages kept in grey
MIN_RANGE = 100.0        # grey levels from black to white (set by hand: clean frames of the
#                          simulator give about 230, a dim one whose paper is just too dark 105)
STEP_DIFF = 4.0          # grey levels that tell two neighbouring steps apart (set by hand)
MIN_DISTINCT = 6         # of the 7 differences (set by hand)
MAX_SPREAD = 0.05        # marker distances' relative disagreement (set by hand: 5 % is about
#                          the 10 degrees of tilt at which rectified text visibly changes size)
RESOLVED = 0.25          # a wedge group whose modulation is at least this is resolved (set
#                          by hand; no measurement recorded)


class SheetIssue(enum.Enum):
    """What the technician is told to fix (docs/camera-calibration.md says how)."""

    NO_SHEET = "no_sheet"                # the four markers were not all found
    LOW_RESOLUTION = "low_resolution"    # pages would be refused as too small
    NO_BILEVEL = "no_bilevel"            # text pages would be kept in grey (larger dossiers)
    LOW_CONTRAST = "low_contrast"        # white too dark, or black and white too close
    FLAT_STEPS = "flat_steps"            # grey steps merge: clipped or crushed
    TILTED = "tilted"                    # the camera is not square to the tray


@dataclass(frozen=True)
class SheetReading:
    """What one frame of the sheet says; ``dpi`` etc. are None when no sheet was found."""

    issues: tuple[SheetIssue, ...]
    dpi: float | None = None              # mean of the six marker distances, px/inch
    dpi_spread: float | None = None       # (max - min) / mean of those six
    grey_levels: tuple[float, ...] = ()   # mean grey level of each step, white first
    grey_range: float | None = None       # white step - black step
    distinct_steps: int = 0               # neighbouring steps told apart (of 7)
    modulation: dict[float, float] | None = None   # lp/mm -> least of the two rows' modulation
    resolved_lpmm: float | None = None    # finest group resolved (and every coarser one)
    markers: int = 0                      # markers found

    @property
    def ok(self) -> bool:
        return not self.issues


def marker_centres_mm() -> dict[int, tuple[float, float]]:
    return {k: (x + MARKER_MM / 2, y + MARKER_MM / 2) for k, (x, y) in MARKERS.items()}


def marker_cells(marker_id: int) -> Image:
    """The marker's 6 x 6 cells (0 black, 255 white), its black border included."""
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICT)
    return np.asarray(cv2.aruco.generateImageMarker(dictionary, marker_id, 6), np.uint8)


def wedge_groups() -> list[tuple[float, bool, tuple[float, float]]]:
    """(lp/mm, vertical bars, top-left mm) of each group of the wedge."""
    out = []
    for row, vertical in enumerate((True, False)):
        for k, lpmm in enumerate(WEDGE_LPMM):
            out.append((lpmm, vertical, (WEDGE_ORIGIN_MM[0] + k * WEDGE_PITCH_MM,
                                         WEDGE_ORIGIN_MM[1] + row * WEDGE_ROW_PITCH_MM)))
    return out


def grey_patches() -> list[tuple[float, tuple[float, float]]]:
    """(reflectance, top-left mm) of each grey step."""
    return [(r, (GREY_ORIGIN_MM[0] + k * GREY_PITCH_MM, GREY_ORIGIN_MM[1]))
            for k, r in enumerate(GREY_STEPS)]


def render_sheet(dpi: float) -> Image:
    """The sheet as a grey image at ``dpi`` (what the PDF prints, without its text)."""
    scale = dpi / 25.4                      # 25.4 mm per inch
    w, h = round(SHEET_MM[0] * scale), round(SHEET_MM[1] * scale)
    img = np.full((h, w), 255, np.uint8)

    def rect(x0: float, y0: float, x1: float, y1: float, value: int) -> None:
        # pixel (i, j) covers [i, i + 1) x [j, j + 1) mm * scale: fill those mostly inside
        img[round(y0 * scale):round(y1 * scale), round(x0 * scale):round(x1 * scale)] = value

    for marker_id, (mx, my) in MARKERS.items():
        cells = marker_cells(marker_id)
        cell = MARKER_MM / 6
        for r, c in itertools.product(range(6), range(6)):
            if cells[r, c] == 0:
                rect(mx + c * cell, my + r * cell, mx + (c + 1) * cell, my + (r + 1) * cell, 0)
    for lpmm, vertical, (x, y) in wedge_groups():
        period = 1.0 / lpmm
        gw, gh = WEDGE_GROUP_MM
        n = round((gw if vertical else gh) * lpmm)
        for k in range(n):
            a = k * period
            if vertical:
                rect(x + a, y, x + a + period / 2, y + gh, 0)
            else:
                rect(x, y + a, x + gw, y + a + period / 2, 0)
    for reflectance, (x, y) in grey_patches():
        rect(x, y, x + GREY_MM, y + GREY_MM, round(255 * reflectance))
    # the steps' outline, so that the white step shows
    x0, y0 = GREY_ORIGIN_MM
    x1 = x0 + (len(GREY_STEPS) - 1) * GREY_PITCH_MM + GREY_MM
    cv2.rectangle(img, (round(x0 * scale) - 1, round(y0 * scale) - 1),
                  (round(x1 * scale), round((y0 + GREY_MM) * scale)), 0, 1)
    rx, ry = RULER_ORIGIN_MM
    rect(rx, ry, rx + RULER_MM, ry + 0.5, 0)
    for k in range(11):
        rect(rx + 10 * k - 0.25, ry - 4.0, rx + 10 * k + 0.25, ry, 0)
    return img


# ----------------------------------------------------------------------------- measuring a frame

def _detect_markers(gray: Image) -> dict[int, npt.NDArray[np.float32]]:
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(ARUCO_DICT), params)
    corners, ids, _ = detector.detectMarkers(gray)
    found: dict[int, npt.NDArray[np.float32]] = {}
    # the stubs say ids is always an array; OpenCV gives None when nothing was found
    id_list = [] if ids is None else [int(i) for i in np.asarray(ids).ravel()]
    for quad, marker_id in zip(corners, id_list, strict=True):
        if int(marker_id) in MARKERS and int(marker_id) not in found:
            found[int(marker_id)] = np.asarray(quad, np.float32).reshape(4, 2)
    return found


def measure_sheet(frame: Image) -> SheetReading:
    """Effective resolution, grey steps and wedge of the calibration sheet in ``frame``.

    ``frame`` is BGR or grey uint8. A frame without all four markers gives a
    reading with ``NO_SHEET`` only. Raises BadImageError for anything else.
    """
    # (the 32 px floor: set by hand in 84e0f35, as in scanner/focus.py)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 32 \
            or (frame.ndim == 3 and frame.shape[2] != 3):
        raise BadImageError(f"expected an H x W (x 3) uint8 frame, got {frame.dtype} "
                            f"{frame.shape}")
    gray = frame if frame.ndim == 2 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY),
                                                    np.uint8)
    found = _detect_markers(gray)
    if len(found) < len(MARKERS):
        return SheetReading((SheetIssue.NO_SHEET,), markers=len(found))
    # resolution: the six distances between marker centres, pixels over millimetres
    centres_px = {k: q.mean(axis=0).astype(np.float64) for k, q in found.items()}
    centres_mm = marker_centres_mm()
    ratios = [float(np.linalg.norm(centres_px[a] - centres_px[b]))
              / math.dist(centres_mm[a], centres_mm[b])
              for a, b in itertools.combinations(sorted(MARKERS), 2)]
    dpi = float(np.mean(ratios)) * 25.4                 # px per mm -> px per inch (25.4 mm)
    spread = (max(ratios) - min(ratios)) / float(np.mean(ratios))
    # the sheet-to-frame homography, from the sixteen marker corners (tl, tr, br, bl each)
    src, dst = [], []
    for k, (mx, my) in MARKERS.items():
        src += [(mx, my), (mx + MARKER_MM, my), (mx + MARKER_MM, my + MARKER_MM),
                (mx, my + MARKER_MM)]
        dst += [tuple(p) for p in found[k]]
    found_hom, _ = cv2.findHomography(np.array(src, np.float32), np.array(dst, np.float32), 0)
    hom = np.asarray(found_hom, np.float64)       # OpenCV gives None (here: nan) when degenerate
    if hom.shape != (3, 3) or not np.isfinite(hom).all():
        return SheetReading((SheetIssue.NO_SHEET,), markers=len(found))
    levels = tuple(round(_patch_mean(gray, hom, x, y, GREY_MM, GREY_MM), 1)
                   for _, (x, y) in grey_patches())
    grey_range = levels[0] - levels[-1]
    distinct = sum(1 for a, b in itertools.pairwise(levels) if a - b >= STEP_DIFF)
    modulation: dict[float, float] = {}
    for lpmm, vertical, (x, y) in wedge_groups():
        m = _modulation(gray, hom, x, y, vertical, max(grey_range, 1.0))
        modulation[lpmm] = round(min(modulation.get(lpmm, 1.0), m), 3)
    # from the coarsest up, until the first group that is not resolved (a finer one can show
    # a false modulation: bars finer than two pixels alias into coarser stripes)
    resolved = list(itertools.takewhile(lambda lp: modulation[lp] >= RESOLVED, WEDGE_LPMM))
    issues: list[SheetIssue] = []
    if dpi < MIN_DPI:
        issues.append(SheetIssue.LOW_RESOLUTION)
    elif dpi < BILEVEL_DPI:
        issues.append(SheetIssue.NO_BILEVEL)
    if levels[0] < DEFAULT_THRESHOLDS.dark_paper or grey_range < MIN_RANGE:
        issues.append(SheetIssue.LOW_CONTRAST)
    if distinct < MIN_DISTINCT:
        issues.append(SheetIssue.FLAT_STEPS)
    if spread > MAX_SPREAD:
        issues.append(SheetIssue.TILTED)
    return SheetReading(tuple(issues), round(dpi, 2), round(spread, 4), levels,
                        round(grey_range, 1), distinct, modulation,
                        max(resolved) if resolved else None, len(found))


#: Samples per millimetre when a part of the sheet is resampled from the frame (set by hand in
#: 84e0f35: 203 dpi, finer than a camera sees the sheet; 2.7 samples per line pair at 3 lp/mm).
_SAMPLES_PER_MM = 8.0


def _sample(gray: Image, hom: F64, x: float, y: float, w_mm: float, h_mm: float) -> F64:
    """The rectangle (x, y, w, h mm) of the sheet resampled from the frame."""
    s = _SAMPLES_PER_MM
    size = (max(2, round(w_mm * s)), max(2, round(h_mm * s)))
    # output pixel (i, j) centre -> sheet mm -> frame px
    to_mm = np.array([[1 / s, 0, x + 0.5 / s], [0, 1 / s, y + 0.5 / s], [0, 0, 1]])
    out = cv2.warpPerspective(gray, hom @ to_mm, size,
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, np.float64)


def _patch_mean(gray: Image, hom: F64, x: float, y: float, w_mm: float, h_mm: float) -> float:
    """Mean grey level of the middle of a patch (a fifth of it left on each side)."""
    # (a fifth off each side: the printer's and the warp's blurred edges stay out; by hand)
    return float(_sample(gray, hom, x + w_mm / 5, y + h_mm / 5, w_mm * 0.6, h_mm * 0.6).mean())


def _modulation(gray: Image, hom: F64, x: float, y: float, vertical: bool,
                full_range: float) -> float:
    """The bars' range (the profile across them, averaged along them) over the full range."""
    gw, gh = WEDGE_GROUP_MM
    # (1 mm and a fifth trimmed off the group's ends, the 5th-95th percentiles for its range:
    # set by hand in 84e0f35, so that a stray dark or light pixel does not make a modulation)
    patch = _sample(gray, hom, x + 1.0, y + gh * 0.2, gw - 2.0, gh * 0.6) if vertical else \
        _sample(gray, hom, x + gw * 0.2, y + 1.0, gw * 0.6, gh - 2.0)
    profile = patch.mean(axis=0) if vertical else patch.mean(axis=1)
    low, high = np.percentile(profile, [5, 95])
    return float((high - low) / full_range)
