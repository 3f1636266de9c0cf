"""Quadrilaterals: corner order, areas, convexity, and the SmartDoc Jaccard measure."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

#: Four corners, float32 (4, 2), in the order top-left, top-right, bottom-right, bottom-left.
Quad = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

#: The page frame of the SmartDoc 2015 challenge 1 ground truth (A4 in 1/10 mm): a fact of the
#: data set's evaluation (its A4 pages, ISO 216's 210 x 297 mm).
SMARTDOC_PAGE = (2100.0, 2970.0)


def order_corners(points: npt.ArrayLike) -> Quad:
    """The four points of a convex quadrilateral as top-left, top-right, bottom-right, bottom-left.

    The points are first put in clockwise order (in image coordinates, y down)
    around their centroid; the top-left one is then the one with the smallest
    x + y, which stays right for pages turned by up to 45 degrees.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]            # clockwise on screen (y points down)
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0).astype(np.float32)


def polygon_area(quad: npt.ArrayLike) -> float:
    """Unsigned area of a polygon (shoelace)."""
    p = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def is_convex(quad: npt.ArrayLike) -> bool:
    """True when the polygon's turns all go the same way (no self-crossing, no dent)."""
    p = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    edges = np.roll(p, -1, axis=0) - p
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1,
                                                                                    axis=0)[:, 0]
    return bool(np.all(cross > 0) or np.all(cross < 0))


def line_through(p: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    """Homogeneous line (a, b, c), a x + b y + c = 0, with (a, b) a unit normal."""
    p1 = np.array([*np.asarray(p, dtype=np.float64), 1.0])
    p2 = np.array([*np.asarray(q, dtype=np.float64), 1.0])
    line = np.cross(p1, p2)
    norm = float(np.hypot(line[0], line[1]))
    return line / norm if norm > 0 else line


def intersect(l1: npt.ArrayLike, l2: npt.ArrayLike) -> FloatArray | None:
    """The point where two homogeneous lines meet, or None when they are parallel."""
    x = np.cross(np.asarray(l1, dtype=np.float64), np.asarray(l2, dtype=np.float64))
    if abs(x[2]) < 1e-12:
        return None
    return np.asarray(x[:2] / x[2], dtype=np.float64)


def smartdoc_jaccard(found: npt.ArrayLike | None, truth: npt.ArrayLike,
                     page: tuple[float, float] = SMARTDOC_PAGE) -> float:
    """The SmartDoc 2015 challenge 1 score of one frame.

    Both quadrilaterals (tl, tr, br, bl) are mapped into the page's own frame
    with the homography taking the true corners to the page rectangle, then
    the Jaccard index (intersection over union) of the two polygons is taken.
    No answer scores 0.
    """
    if found is None:
        return 0.0
    w, h = page
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(np.asarray(truth, dtype=np.float32), target)
    warped = np.asarray(cv2.perspectiveTransform(
        np.asarray(found, dtype=np.float32).reshape(1, 4, 2), homography), np.float64).reshape(4, 2)
    if not is_convex(warped):
        return _raster_jaccard(warped, target)
    area_found = polygon_area(warped)
    inter, _ = cv2.intersectConvexConvex(order_corners(warped), target)
    union = area_found + w * h - inter
    return float(inter / union) if union > 0 else 0.0


def visible_jaccard(found: npt.ArrayLike | None, truth: npt.ArrayLike,
                    frame_size: tuple[int, int]) -> float:
    """Jaccard index, in frame pixels, of the parts of two convex quads inside the frame.

    For a page that runs out of the frame (``frame_size`` is (w, h)): the best
    answer is the part the frame shows, so both quads are clipped to the
    frame's outer edge first. No answer, or nothing of either inside, scores 0.
    """
    if found is None:
        return 0.0
    w, h = frame_size
    frame = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]],
                     np.float32)
    area_t, seen_t = cv2.intersectConvexConvex(order_corners(truth).astype(np.float32), frame)
    area_f, seen_f = cv2.intersectConvexConvex(order_corners(found).astype(np.float32), frame)
    if seen_t is None or seen_f is None or area_t <= 0 or area_f <= 0:
        return 0.0
    both, _ = cv2.intersectConvexConvex(seen_t, seen_f)
    return float(both / (area_t + area_f - both))


def _raster_jaccard(warped: FloatArray, target: npt.NDArray[np.float32]) -> float:
    """Jaccard by rasterisation, for a found polygon that is not convex once warped."""
    scale = 0.25           # raster px per page unit: 0.4 mm a px at 1/10 mm units (set by hand)
    lo = np.minimum(warped.min(axis=0), 0.0)
    hi = np.maximum(warped.max(axis=0), target.max(axis=0))
    size = np.ceil((hi - lo) * scale).astype(int) + 2
    # the found quad lies far off the page: 20 M px (a memory bound set by hand in ede708c)
    if size[0] * size[1] > 20_000_000:
        return 0.0
    a = np.zeros((size[1], size[0]), np.uint8)
    b = np.zeros_like(a)
    cv2.fillPoly(a, [np.round((warped - lo) * scale).astype(np.int32)], 1)
    cv2.fillPoly(b, [np.round((target - lo) * scale).astype(np.int32)], 1)
    union = int(np.count_nonzero(a | b))
    return float(np.count_nonzero(a & b) / union) if union else 0.0
