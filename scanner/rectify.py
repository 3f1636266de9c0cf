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
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from scanner.errors import BadImageError
from scanner.geometry import Quad, order_corners
from scanner.page import A4, A5, FORMATS, ID1, Image, Page, PageContent, PaperFormat

#: Largest relative difference of aspect ratio for a format to be recognised.
ASPECT_TOLERANCE = 0.06


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


def rectify(image: Image, corners: npt.ArrayLike, *, dpi: float | None = None,
            px_per_mm: float | None = None, paper: PaperFormat | None = None) -> Page:
    """The page inside ``corners``, warped to its real proportions.

    ``dpi`` defaults to the format's (200 for papers, 300 for ID-1 cards).
    ``px_per_mm`` is the scale of the frame on the tray when known (it tells A5
    from A4); ``paper`` forces a format. A page whose proportions match no
    format keeps its measured proportions, A4's width, and format "other".
    Raises BadImageError for an image that is not H x W (x 3) uint8.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
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
        name, out_dpi = "other", float(dpi or A4.dpi)
    else:
        short, long_ = fmt.width_mm, fmt.height_mm
        name, out_dpi = fmt.name, float(dpi or fmt.dpi)
    size_mm = (long_, short) if landscape else (short, long_)
    out_w = max(1, round(size_mm[0] / 25.4 * out_dpi))
    out_h = max(1, round(size_mm[1] / 25.4 * out_dpi))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    homography = cv2.getPerspectiveTransform(quad, target)
    # shrinking a lot without smoothing aliases text: blur the source to the output's scale first
    src_long = max(float(np.linalg.norm(quad[2] - quad[0])),
                   float(np.linalg.norm(quad[3] - quad[1])))
    shrink = src_long / math.hypot(out_w, out_h)
    source = image
    if shrink > 1.5:
        source = np.asarray(cv2.GaussianBlur(image, (0, 0), 0.4 * shrink), np.uint8)
    warped = np.asarray(cv2.warpPerspective(source, homography, (out_w, out_h),
                                            flags=cv2.INTER_LINEAR,
                                            borderMode=cv2.BORDER_REPLICATE), np.uint8)
    # an identity card is a colour document whatever is printed on it
    content = PageContent.COLOUR if fmt is ID1 else PageContent.UNKNOWN
    return Page(image=warped, size_mm=(round(size_mm[0], 2), round(size_mm[1], 2)), dpi=out_dpi,
                format=name, content=content)
