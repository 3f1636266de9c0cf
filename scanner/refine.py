"""Refinement: a still's quad moved onto the colour step along each side, to sub-pixel.

Stage 5 of the detector (scanner/detect.py), for a still only. The quad
scanner/quads.py finds is in working pixels (640 px for a still), a few source
pixels off on a 1080p frame; :func:`refine_corners` samples the
full-resolution frame along normals to each side and fits a line through the
strongest colour step on each, robustly (a pen, a finger or a shadow across a
side does not pull it). scanner/still.py also calls it directly, to refine the
live detector's corners on a captured still; :func:`robust_line` is shared
with scanner/piles.py.

Where the numbers come from: unless a comment says otherwise, each was set by
hand in the first detector (ede708c: "page detection by colour-edge Hough
lines ... with sub-pixel refinement of the still"), with no measurement
recorded, and has been checked since by every run of
``python -m benchmarks --only detection`` (SmartDoc sample, synthetic seeds
40000+ and 60000+; docs/scanner.md). 489ca1c changed how the samples are
taken and reports its effect (same corners within 0.3 px on the SmartDoc
frames, 0.01 px on 12 MP synthetic stills). The Tukey constants are
statistics' own.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from scanner.geometry import Quad, order_corners

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]


_REFINE_POINTS = 200         # normals along a side, at most (by hand, ede708c)
_REFINE_SAMPLES = 16         # samples along a normal per reach (at least every half pixel):
#                              489ca1c, same corners within 0.3 px on SmartDoc (docstring)


# reach and rounds: by hand in ede708c (see the docstring for the live detector's reach)
def refine_corners(frame: U8, quad: F64 | Quad, *, reach: float = 8.0,
                   rounds: int = 2) -> F64:
    """Move each side of ``quad`` onto the strongest colour step across it, to sub-pixel.

    For each side, the frame is sampled along 2 * reach px normals at points
    along the side (away from the corners); the position of the largest colour
    gradient on each normal (parabola-interpolated, the nearer of two alike) is
    a point of the side; a line is fitted through them with Tukey weights, so
    that a pen, a finger or a shadow across the side does not pull it. The
    corners are where adjacent refined sides meet. A side with too few good
    points keeps its old line. Each round halves the reach; a result that moved
    a corner by more than 4 x reach is refused (the coarse corners come back).

    ``reach`` must cover the coarse corners' error: 8 px suits the working image
    of :func:`scanner.detect.detect` (640 px) on a 1080p frame; seeded by
    :func:`scanner.detect.detect_live` (320 px) give it about 2 working pixels'
    worth, ``2 * max(h, w) / 320`` px,
    and one round suffices (docs/scanner.md, "Detection", has the figures).
    The cost is that of the samples only (4 sides x at most 200 normals x
    4 reach samples), not of the frame's size: about 1-2 ms a round.
    ``frame`` is H x W x 3 (or H x W) uint8; corners come back tl, tr, br, bl
    as float64.
    """
    q = order_corners(quad).astype(np.float64)
    for r in range(rounds):
        reach_r = reach / (2 ** r)
        lines = _refine_sides(frame, q, reach_r)
        crossed = np.cross(np.roll(lines, 1, axis=0), lines)    # corner s: sides s-1 and s
        if np.any(np.abs(crossed[:, 2]) < 1e-12):
            return q
        moved = crossed[:, :2] / crossed[:, 2:3]
        if np.max(np.linalg.norm(moved - q, axis=1)) > 4 * reach:     # (4: by hand, ede708c)
            return q                          # refinement ran away: keep the coarse corners
        q = moved
    return q


def _refine_sides(frame: U8, q: F64, reach: float) -> F64:
    """The homogeneous lines (4, 3) of the quad's sides, refitted to the colour step along them.

    All four sides at once. Only the samples are interpolated (from the 8-bit
    frame: rounding them to whole levels moves a step by hundredths of a pixel),
    never the whole frame converted: on a 12 MP still that alone took 20-50 ms.
    """
    h, w = frame.shape[:2]
    a, b = q, np.roll(q, -1, axis=0)
    direction = b - a
    length = np.hypot(direction[:, 0], direction[:, 1])
    old = np.cross(np.column_stack([a, np.ones(4)]), np.column_stack([b, np.ones(4)]))
    old = old / np.maximum(np.hypot(old[:, 0], old[:, 1]), 1e-12)[:, None]
    d = direction / np.maximum(length, 1e-9)[:, None]
    n = np.column_stack([-d[:, 1], d[:, 0]])
    # a normal every 4 px, 16 at least, 6 % of the side left out at each corner (by hand, ede708c)
    n_points = int(np.clip(length.max() / 4, 16, _REFINE_POINTS))
    t = np.linspace(0.06, 0.94, n_points)[None, :] * length[:, None]            # (4, P)
    step = max(0.5, reach / _REFINE_SAMPLES)
    offsets = np.arange(-reach, reach + step / 2, step)
    px = a[:, 0, None, None] + t[:, :, None] * d[:, 0, None, None] \
        + offsets[None, None, :] * n[:, 0, None, None]                          # (4, P, M)
    py = a[:, 1, None, None] + t[:, :, None] * d[:, 1, None, None] \
        + offsets[None, None, :] * n[:, 1, None, None]
    valid = ((px.min(axis=2) >= 1) & (px.max(axis=2) <= w - 2)
             & (py.min(axis=2) >= 1) & (py.max(axis=2) <= h - 2))               # (4, P)
    m = len(offsets)
    sampled = cv2.remap(frame, px.reshape(4 * n_points, m).astype(np.float32),
                        py.reshape(4 * n_points, m).astype(np.float32), cv2.INTER_LINEAR)
    sampled = sampled.reshape(4, n_points, m, -1).astype(np.float32)
    # smoothing across the side (1.2 samples) and along it (1.5 normals): by hand, ede708c
    prof = np.stack([np.asarray(cv2.GaussianBlur(sampled[s], (0, 0), sigmaX=1.2, sigmaY=1.5),
                                np.float32).reshape(n_points, m, -1) for s in range(4)])
    diff = prof[:, :, 2:] - prof[:, :, :-2]                                     # central difference
    strength = np.sqrt(np.einsum("spmc,spmc->spm", diff, diff))                # (4, P, M-2)
    # prefer the step nearest the coarse line when two are alike (a shadow beside the edge):
    # at the reach's ends a step counts 0.3 less (by hand, ede708c)
    k = m - 2
    prior = 1.0 - 0.3 * (np.abs(np.arange(k) - (k - 1) / 2) / ((k - 1) / 2)) ** 2
    best = np.argmax(strength * prior, axis=2)
    inner = (best > 0) & (best < k - 1)
    bm = np.clip(best, 1, k - 2)[..., None]
    s0, s1, s2 = (np.take_along_axis(strength, bm + o, axis=2)[..., 0] for o in (-1, 0, 1))
    denom = s0 - 2 * s1 + s2
    frac = np.clip(np.where(np.abs(denom) > 1e-9, 0.5 * (s0 - s2) / np.where(denom == 0, 1, denom),
                            0.0), -0.5, 0.5)
    peak = np.take_along_axis(strength, best[..., None], axis=2)[..., 0]
    # a point whose step is under a quarter of the side's median is noise (by hand, ede708c)
    good = valid & inner & (peak > 0.25 * _masked_median(peak, valid)[:, None])
    off = offsets[1:-1][best] + frac * step
    pts = a[:, None, :] + t[:, :, None] * d[:, None, :] + off[:, :, None] * n[:, None, :]
    lines = _robust_lines(pts, peak, good)
    # fewer than 8 px of side or 8 good points: too few to fit (by hand, ede708c)
    keep_old = (length < 8) | (valid.sum(axis=1) < 8) | (good.sum(axis=1) < 8)
    return np.where(keep_old[:, None], old, lines)


def _robust_lines(pts: F64, weight: F64, mask: B) -> F64:
    """Weighted total-least-squares lines (S, 3) through point sets (S, P, 2), Tukey-reweighted.

    Points where ``mask`` is False are left out; a set with no weight gives a
    zero line.
    """
    base = np.where(mask, weight, 0.0)
    base = base / np.maximum(base.max(axis=1, keepdims=True), 1e-12)
    wts = base
    lines = np.zeros((len(pts), 3))
    for _ in range(6):                                       # re-weightings (by hand, ede708c)
        total = np.maximum(wts.sum(axis=1), 1e-12)
        mean = np.einsum("sp,spc->sc", wts, pts) / total[:, None]
        centred = pts - mean[:, None, :]
        sxx = np.einsum("sp,sp->s", wts, centred[..., 0] ** 2)
        syy = np.einsum("sp,sp->s", wts, centred[..., 1] ** 2)
        sxy = np.einsum("sp,sp->s", wts, centred[..., 0] * centred[..., 1])
        # the normal is the direction of least spread
        angle = 0.5 * np.arctan2(2 * sxy, sxx - syy) + np.pi / 2
        normal = np.column_stack([np.cos(angle), np.sin(angle)])
        lines = np.column_stack([normal, -np.einsum("sc,sc->s", normal, mean)])
        resid = np.einsum("spc,sc->sp", centred, normal)
        # 1.4826 x the median absolute residual is a normal law's sigma; 4.685 sigmas is
        # Tukey's biweight constant (95 % efficiency at the normal law): both statistics' facts.
        # The 0.3 px floor on the scale: by hand, ede708c.
        scale = np.maximum(1.4826 * _masked_median(np.abs(resid), mask), 0.3)
        u = resid / (4.685 * scale[:, None])
        wts = base * np.where(np.abs(u) < 1, (1 - u ** 2) ** 2, 0.0)
    return lines


def _masked_median(values: F64, mask: B) -> F64:
    """Median of each row's values where ``mask`` holds (0 for an empty row)."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    count = mask.sum(axis=1)
    lo = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(ordered, np.minimum(count // 2, values.shape[1] - 1)[:, None],
                            axis=1)[:, 0]
    return np.asarray(np.where(count > 0, (lo + hi) / 2, 0.0), np.float64)


def robust_line(pts: F64, weight: F64) -> F64:
    """Weighted total-least-squares line through points (P, 2) with Tukey re-weighting."""
    return np.asarray(_robust_lines(pts[None], weight[None], np.ones((1, len(pts)), bool))[0],
                      np.float64)
