"""Rectify a page to its real proportions, at a fixed resolution.

The proportions of the real rectangle are recovered from the quadrilateral
with the method of Zhang and He ("Whiteboard scanning and image enhancement",
2007): assuming square pixels and the principal point at the frame's centre,
the two vanishing points give the focal length, and with it the true aspect
ratio. When the page is seen nearly face-on the focal length is undefined and
the mean side lengths are used instead. The aspect then picks the paper format
(A4, A5, US letter, ID-1); A4 and A5 share their proportions, so the page's
size in the frame decides between them when the frame's scale is known
(``px_per_mm``, the kiosk's calibrated tray), and A4 is assumed otherwise.

Cost matters (a 12 MP still goes through here once per page), so the page is
looked at small before it is warped large:

- the camera's resolution on the page (``source_dpi``) comes from the
  quadrilateral's area;
- whether it is a text or a colour page is decided on a 25 dpi colour copy
  warped from a reduced frame;
- the page is then warped once, straight to the resolution it is stored at,
  in grey for a text page (one channel instead of three), from the frame
  halved (exact 2 x 2 block averages) as many times as keeps the warp within
  0.75-1.5 x of the source's scale: the area averaging of a shrink without
  warping the whole frame twice.

The resolution stored (:func:`storage_dpi`): the format's (200 dpi, 300 for
an identity card) for a text page the camera saw well enough to make it
bilevel; otherwise ``GREY_OVERSAMPLING`` times what the camera saw, at least
``MIN_STORAGE_DPI`` — a page seen at 50 dpi holds no more at 200.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from scanner.enhance import CLASSIFY_DPI, bilevel_safe, classify_colours
from scanner.errors import BadImageError
from scanner.geometry import Quad, order_corners, polygon_area
from scanner.page import A4, A5, FORMATS, ID1, Image, Page, PageContent, PaperFormat

#: Largest relative difference of aspect ratio for a format to be recognised.
ASPECT_TOLERANCE = 0.06
#: Least resolution a page is stored at (also the scale at which sharpness is judged).
MIN_STORAGE_DPI = 100.0
#: A page kept in grey or colour is stored at this many times the camera's resolution on it
#: (chosen by measurement: docs/scanner.md, "Bilevel or grey").
GREY_OVERSAMPLING = 1.5
#: A warp shrinks or enlarges its source by at most this factor (beyond, a halved level is used).
MAX_WARP_SHRINK = 1.5


def estimate_aspect(corners: npt.ArrayLike, frame_size: tuple[int, int]) -> float:
    """Height / width of the real rectangle seen as ``corners`` (tl, tr, br, bl), frame (w, h)."""
    q = order_corners(corners).astype(np.float64)
    w, h = frame_size
    centre = np.array([w / 2.0, h / 2.0])
    tl, tr, br, bl = (np.array([*(p - centre), 1.0]) for p in q)
    m1, m2, m3, m4 = tl, tr, bl, br        # Zhang & He: m1 (0,0), m2 (w,0), m3 (0,h), m4 (w,h)
    k2 = np.dot(np.cross(m1, m4), m3) / np.dot(np.cross(m2, m4), m3)
    k3 = np.dot(np.cross(m1, m4), m2) / np.dot(np.cross(m3, m4), m2)
    n2 = k2 * m2 - m1
    n3 = k3 * m3 - m1
    side_w = float(np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    side_h = float(np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    fallback = side_h / max(side_w, 1e-9)
    if abs(n2[2] * n3[2]) < 1e-9:
        return fallback
    f2 = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2])
    # a focal length far outside what cameras have means the quad is nearly face-on
    if not (0.09 * max(w, h) ** 2 < f2 < 100.0 * max(w, h) ** 2):
        return fallback
    inv = np.diag([1.0 / f2, 1.0 / f2, 1.0])
    ratio_wh = math.sqrt(float(n2 @ inv @ n2) / float(n3 @ inv @ n3))
    return 1.0 / ratio_wh


def recognise_format(aspect: float, *, long_side_mm: float | None = None) -> PaperFormat | None:
    """The paper format whose proportions (long / short side) are nearest, within tolerance."""
    ratio = max(aspect, 1.0 / aspect)
    best = min(FORMATS, key=lambda f: abs(math.log(ratio / f.aspect)))
    if abs(ratio / best.aspect - 1.0) > ASPECT_TOLERANCE:
        return None
    if best in (A4, A5):      # same proportions: only the size tells them apart
        small = long_side_mm is not None and long_side_mm < (A4.height_mm + A5.height_mm) / 2
        best = A5 if small else A4
    return best


def source_dpi(corners: npt.ArrayLike, size_mm: tuple[float, float]) -> float:
    """Frame pixels per inch of paper: sqrt(the page's area in the frame / its paper area)."""
    area_in2 = size_mm[0] * size_mm[1] / 25.4 ** 2
    return float(math.sqrt(polygon_area(corners) / area_in2))


def storage_dpi(fmt_dpi: float, seen_dpi: float, content: PageContent) -> float:
    """The resolution a page is stored at (see the module docstring)."""
    if content is PageContent.TEXT and bilevel_safe(seen_dpi):
        return fmt_dpi
    return float(min(fmt_dpi, max(MIN_STORAGE_DPI, round(GREY_OVERSAMPLING * seen_dpi))))


def halve(image: Image) -> Image:
    """``image`` at half size, each pixel the exact mean of a 2 x 2 block (odd edges dropped).

    A pixel centre x of the half image lies at 2 x + 0.5 in ``image``.
    """
    h, w = image.shape[:2]
    if h < 2 or w < 2:
        raise BadImageError(f"cannot halve an image of {w} x {h} px")
    even = image[: h // 2 * 2, : w // 2 * 2]
    return np.asarray(cv2.resize(even, (w // 2, h // 2), interpolation=cv2.INTER_AREA), np.uint8)


class Levels:
    """An image and its successive halvings, made when first asked for and then kept."""

    def __init__(self, image: Image, halved: Sequence[Image] = ()) -> None:
        """``halved``: the image halved once, twice... (:func:`halve`), when already made."""
        self._levels = [image, *halved]

    def made(self) -> list[Image]:
        """The halvings made so far (to hand to another ``Levels`` of the same image)."""
        return self._levels[1:]

    def __getitem__(self, k: int) -> Image:
        """The image halved ``k`` times (``2 ** k`` times smaller)."""
        while len(self._levels) <= k:
            self._levels.append(halve(self._levels[-1]))
        return self._levels[k]

    def deepest(self, seen_dpi: float, wanted_dpi: float, *, shrink: float = MAX_WARP_SHRINK
                ) -> int:
        """The least halved level from which a warp to ``wanted_dpi`` shrinks less than ``shrink``.

        ``seen_dpi`` is the scale of level 0. The warp from the level returned
        then enlarges by at most ``2 / shrink`` (levels stop at 16 px).
        """
        k = 0
        h, w = self._levels[0].shape[:2]
        while seen_dpi / 2 ** k >= shrink * wanted_dpi and min(h, w) >> (k + 1) >= 16:
            k += 1
        return k


def warp_from(levels: Levels, quad: Quad, seen_dpi: float, size: tuple[int, int], *,
              gray: bool) -> Image:
    """The inside of ``quad`` (level 0 pixels) warped to ``size`` (w, h), bilinear.

    From the most halved level that keeps the warp's shrink under
    ``MAX_WARP_SHRINK``; only the quad's bounding box (and two pixels around
    it) is converted to grey when ``gray``. Outside the image, its border is
    replicated.
    """
    out_w, out_h = size
    wanted = seen_dpi * math.hypot(out_w, out_h) / max(_diagonal(quad), 1.0)
    k = levels.deepest(seen_dpi, wanted)
    image = levels[k]
    q = (quad.astype(np.float64) + 0.5) / 2 ** k - 0.5
    h, w = image.shape[:2]
    x0 = max(0, math.floor(q[:, 0].min()) - 2)
    y0 = max(0, math.floor(q[:, 1].min()) - 2)
    x1 = min(w, math.ceil(q[:, 0].max()) + 3)
    y1 = min(h, math.ceil(q[:, 1].max()) + 3)
    if x1 - x0 < 2 or y1 - y0 < 2:                 # the quad lies outside the image
        x0, y0, x1, y1 = 0, 0, w, h
    crop = image[y0:y1, x0:x1]
    if gray and crop.ndim == 3:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), np.uint8)
    elif not gray and crop.ndim == 2:
        crop = np.asarray(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), np.uint8)
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    # pixel edges of the quad (corners) onto the output's pixel edges
    homography = cv2.getPerspectiveTransform((q - [x0, y0]).astype(np.float32), target)
    return np.asarray(cv2.warpPerspective(crop, homography, (out_w, out_h),
                                          flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REPLICATE), np.uint8)


def _diagonal(quad: Quad) -> float:
    return max(float(np.linalg.norm(quad[2] - quad[0])), float(np.linalg.norm(quad[3] - quad[1])))


def classify_seen(levels: Levels, quad: Quad, seen_dpi: float, size_mm: tuple[float, float]
                  ) -> PageContent:
    """TEXT or COLOUR, from a colour copy of the page at ``CLASSIFY_DPI``.

    The page is warped at twice that from a level at most 1.5 x finer, then
    block-averaged 2 x 2, so that each pixel is an average (a thin coloured
    line is diluted as on a page shrunk by area, as the classifier expects).
    """
    if levels[0].ndim == 2:
        return PageContent.TEXT
    w2 = max(2, round(size_mm[0] / 25.4 * 2 * CLASSIFY_DPI) // 2 * 2)
    h2 = max(2, round(size_mm[1] / 25.4 * 2 * CLASSIFY_DPI) // 2 * 2)
    small = warp_from(levels, quad, seen_dpi, (w2, h2), gray=False)
    return classify_colours(halve(small))


def rectify(image: Image, corners: npt.ArrayLike, *, dpi: float | None = None,
            px_per_mm: float | None = None, paper: PaperFormat | None = None,
            content: PageContent | None = None, halved: Sequence[Image] = ()) -> Page:
    """The page inside ``corners``, warped to its real proportions.

    ``dpi`` defaults to the resolution the page is stored at
    (:func:`storage_dpi`: the format's — 200 for papers, 300 for ID-1 cards —
    for a text page seen well enough to become bilevel, else matched to what
    the camera saw). ``px_per_mm`` is the scale of the frame on the tray when
    known (it tells A5 from A4); ``paper`` forces a format. A page whose
    proportions match no format keeps its measured proportions, A4's width,
    and format "other". ``content`` skips the classification: TEXT gives a
    grey page, COLOUR a colour one. ``halved``: ``image`` already halved once,
    twice... (:func:`halve`), which the warp may use. The page's
    ``source_dpi`` is the camera's resolution on it.
    Raises BadImageError for an image that is not H x W (x 3) uint8.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0 \
            or (image.ndim == 3 and image.shape[2] != 3):
        raise BadImageError(f"expected an H x W (x 3) uint8 image, got {image.dtype} "
                            f"{image.shape}")
    quad: Quad = order_corners(corners)
    h, w = image.shape[:2]
    aspect = estimate_aspect(quad, (w, h))                   # height / width as placed
    landscape = aspect < 1.0
    long_mm = None
    if px_per_mm:
        long_px = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0]))
        long_mm = float(long_px / px_per_mm)
    fmt = paper or recognise_format(aspect, long_side_mm=long_mm)
    if fmt is None:
        short, long_ = A4.width_mm, A4.width_mm * max(aspect, 1.0 / aspect)
        name, fmt_dpi = "other", float(A4.dpi)
    else:
        short, long_ = fmt.width_mm, fmt.height_mm
        name, fmt_dpi = fmt.name, float(fmt.dpi)
    size_mm = (long_, short) if landscape else (short, long_)
    seen = source_dpi(quad, size_mm)
    levels = Levels(image, halved)
    if content is None or content is PageContent.UNKNOWN:
        # an identity card is a colour document whatever is printed on it
        content = PageContent.COLOUR if fmt is ID1 else classify_seen(levels, quad, seen,
                                                                      size_mm)
    out_dpi = float(dpi) if dpi else storage_dpi(fmt_dpi, seen, content)
    out_w = max(1, round(size_mm[0] / 25.4 * out_dpi))
    out_h = max(1, round(size_mm[1] / 25.4 * out_dpi))
    warped = warp_from(levels, quad, seen, (out_w, out_h), gray=content is PageContent.TEXT)
    return Page(image=warped, size_mm=(round(size_mm[0], 2), round(size_mm[1], 2)), dpi=out_dpi,
                format=name, content=content, source_dpi=round(seen, 2))
