"""Find the page in a frame: four corners, or nothing.

The method (measured on SmartDoc 2015 challenge 1 frames and on synthesised
kiosk frames; see docs/scanner.md):

1. The frame is reduced to a working size (640 px for a still, 320 px for a
   live preview frame) and converted to CIE Lab, so that a white page on a
   white desk still differs in chroma.
2. A colour gradient (Di Zenzo's structure tensor over L, a, b) gives an edge
   strength and orientation at every pixel; Canny's non-maximum suppression
   thins it to edge pixels.
3. Each edge pixel votes, with its own orientation, in a Hough accumulator;
   its peaks are the candidate lines (page sides, but also table rules, text
   baselines, desk edges), each refitted to its own edge pixels.
4. Every quadrilateral made of two roughly opposite pairs of candidate lines
   is scored at once (cumulative sums along each line make each side's
   figures O(1)): how much of each side is backed by an edge of the same
   orientation, how strongly the colour differs across it (a page side is a
   step; a printed rule is a ridge with the same paper on both sides), how
   alike the four inner margins are (one sheet of paper), and its size.
5. For a still, each side of the winner is refined on the full-resolution
   frame: the strongest colour step is looked for across the side at many
   points, to a fraction of a pixel, and a robust line is fitted through them;
   the corners are the intersections of the refined sides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from scanner.geometry import Quad, order_corners

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DetectorParams:
    """The knobs of one detection path (still or live); see docs/scanner.md."""

    work_size: int = 640            # longest side of the working image, px
    max_lines: int = 40             # candidate lines kept from the Hough accumulator
    edge_threshold: float = 16.0    # colour-gradient strength of an edge pixel (Lab units x 4)
    min_area: float = 0.015         # smallest page, as a fraction of the frame
    band: float = 4.0               # distance of the inner/outer colour bands from a side, px
    theta_bins: int = 360           # Hough orientation bins over 180 degrees
    refit_lines: bool = True        # least-squares refit of each Hough line to its edge pixels
    support_reach: int = 2          # an edge pixel this far across a line still backs it, px
    refine: bool = True             # sub-pixel refinement on the full-resolution frame


STILL = DetectorParams()
LIVE = DetectorParams(work_size=320, max_lines=24, band=3.0, theta_bins=180, refit_lines=False,
                      support_reach=1, refine=False)


def detect(frame: npt.NDArray[np.uint8]) -> Quad | None:
    """The page's corners (tl, tr, br, bl) in source pixels, refined to sub-pixel, or None."""
    return find_page(frame, STILL)


def detect_live(frame: npt.NDArray[np.uint8]) -> Quad | None:
    """A faster, coarser :func:`detect` for preview frames (no full-resolution refinement)."""
    return find_page(frame, LIVE)


def find_page(frame: npt.NDArray[np.uint8], params: DetectorParams) -> Quad | None:
    """Detect with explicit parameters; ``frame`` is H x W x 3 BGR (or H x W gray) uint8."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.ndim != 3 or frame.shape[2] != 3 or min(frame.shape[:2]) < 32:
        raise ValueError(f"expected an H x W x 3 BGR frame of at least 32 px, got {frame.shape}")
    h, w = frame.shape[:2]
    scale = params.work_size / max(h, w)
    if scale < 1.0:
        small = cv2.resize(frame, (round(w * scale), round(h * scale)),
                           interpolation=cv2.INTER_AREA)
    else:
        scale = 1.0
        small = frame
    analysis = _Analysis(small, params)
    quad = analysis.best_quad()
    if quad is None:
        return None
    quad = quad / scale
    if params.refine:
        quad = refine_corners(frame, quad)
    return order_corners(quad)


class _Analysis:
    """Gradients, edge pixels and candidate lines of one working image."""

    def __init__(self, image: npt.NDArray[np.uint8], params: DetectorParams) -> None:
        self.params = params
        self.h, self.w = image.shape[:2]
        lab = cv2.cvtColor(image, cv2.COLOR_BGR2Lab).astype(np.float32)
        self.lab = cv2.GaussianBlur(lab, (0, 0), 1.0)
        gx = cv2.Sobel(self.lab, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(self.lab, cv2.CV_32F, 0, 1, ksize=3)
        weights = np.array([1.0, 1.5, 1.5], np.float32)   # chroma steps are smaller than lightness
        gxx = (gx * gx) @ (weights ** 2)
        gyy = (gy * gy) @ (weights ** 2)
        gxy = (gx * gy) @ (weights ** 2)
        root = np.sqrt((gxx - gyy) ** 2 + 4 * gxy ** 2)
        self.magnitude = np.sqrt(np.maximum(0.5 * (gxx + gyy + root), 0)).astype(np.float32)
        # orientation of the normal, in (-pi/2, pi/2]
        self.theta = (0.5 * np.arctan2(2 * gxy, gxx - gyy)).astype(np.float32)
        dx = np.clip(self.magnitude * np.cos(self.theta), -32767, 32767).astype(np.int16)
        dy = np.clip(self.magnitude * np.sin(self.theta), -32767, 32767).astype(np.int16)
        t = params.edge_threshold
        self.edges = cv2.Canny(dx, dy, t, 2 * t, L2gradient=True)

    # -- lines -------------------------------------------------------------------------------

    def candidate_lines(self) -> tuple[F64, F64]:
        """(theta, rho) of the strongest lines: normal angle in [0, pi) and signed distance."""
        ys, xs = np.nonzero(self.edges)
        if len(xs) < 20:
            return np.empty(0), np.empty(0)
        theta = self.theta[ys, xs].astype(np.float64) % np.pi
        weight = np.minimum(self.magnitude[ys, xs], 4 * self.params.edge_threshold) \
            .astype(np.float64)
        diag = int(np.ceil(np.hypot(self.h, self.w)))
        n_rho = 2 * diag + 1
        n_bins = self.params.theta_bins
        all_thetas = np.arange(n_bins) * np.pi / n_bins
        centre_bin = np.round(theta / np.pi * n_bins).astype(np.int64)
        spread = max(1, n_bins // 90)   # each pixel votes within +-2 degrees of its orientation
        acc = np.zeros(n_bins * n_rho, np.float64)
        for k in range(-spread, spread + 1):
            bins = (centre_bin + k) % n_bins
            th = all_thetas[bins]
            rho = xs * np.cos(th) + ys * np.sin(th)
            idx = bins * n_rho + np.round(rho).astype(np.int64) + diag
            acc += np.bincount(idx, weights=weight * (1.0 - abs(k) / (spread + 1)),
                               minlength=acc.size)
        votes = acc.reshape(n_bins, n_rho).astype(np.float32)
        # pixel positions scatter a line's votes over two neighbouring rho bins
        votes = cv2.sepFilter2D(votes, -1, np.array([0.5, 1.0, 0.5], np.float32),
                                np.array([1.0], np.float32), borderType=cv2.BORDER_CONSTANT)
        # theta wraps around: a line at 179.5 degrees and rho is the line at 0 degrees and -rho
        wrap = max(1, n_bins // 60)     # peaks are kept +-3 degrees and +-5 px apart
        wrapped = np.vstack([votes[-wrap:, ::-1], votes, votes[:wrap, ::-1]])
        peak = cv2.dilate(wrapped, np.ones((2 * wrap + 1, 11), np.uint8))[wrap:-wrap]
        floor = 0.1 * min(self.h, self.w) * self.params.edge_threshold  # a short, faint side
        cand = np.argwhere((votes >= peak) & (votes > floor))
        if len(cand) == 0:
            return np.empty(0), np.empty(0)
        strength = votes[cand[:, 0], cand[:, 1]]
        order = np.argsort(-strength)[: self.params.max_lines]
        thetas = all_thetas[cand[order, 0]]
        rhos = (cand[order, 1] - diag).astype(np.float64)
        if not self.params.refit_lines:
            return thetas, rhos
        return self._refit(thetas, rhos, xs, ys, theta)

    def _refit(self, thetas: F64, rhos: F64, xs: I64, ys: I64, pix_theta: F64
               ) -> tuple[F64, F64]:
        """Least-squares refit of each line to the edge pixels lying on it with its orientation."""
        out_t, out_r = thetas.copy(), rhos.copy()
        px = xs.astype(np.float64)
        py = ys.astype(np.float64)
        for i, (th, rho) in enumerate(zip(thetas, rhos, strict=True)):
            dist = px * np.cos(th) + py * np.sin(th) - rho
            dtheta = np.abs((pix_theta - th + np.pi / 2) % np.pi - np.pi / 2)
            sel = (np.abs(dist) < 2.0) & (dtheta < np.radians(4))
            if np.count_nonzero(sel) < 10:
                continue
            pts = np.stack([px[sel], py[sel]], axis=1)
            mean = pts.mean(axis=0)
            cov = np.cov((pts - mean).T)
            _, evecs = np.linalg.eigh(cov)
            normal = evecs[:, 0]
            new_t = float(np.arctan2(normal[1], normal[0]) % np.pi)
            new_n = np.array([np.cos(new_t), np.sin(new_t)])
            if abs((new_t - th + np.pi / 2) % np.pi - np.pi / 2) < np.radians(2):
                out_t[i] = new_t
                out_r[i] = float(mean @ new_n)
        return out_t, out_r

    # -- quadrilaterals ----------------------------------------------------------------------

    def best_quad(self) -> F64 | None:
        thetas, rhos = self.candidate_lines()
        if len(thetas) < 2:
            return None
        # the frame's own borders stand in for a side that lies outside the frame (a cut page),
        # with a weak fixed support so that a whole page always beats them
        n_found = len(thetas)
        thetas = np.concatenate([thetas, [0.0, 0.0, np.pi / 2, np.pi / 2]])
        rhos = np.concatenate([rhos, [0.0, self.w - 1.0, 0.0, self.h - 1.0]])
        profiles = _LineProfiles(self, thetas, rhos, border_from=n_found)
        quads = _enumerate_quads(thetas, rhos, self.w, self.h, self.params.min_area)
        if quads is None:
            return None
        lines, corners = quads
        scores = profiles.score(lines, corners)
        return _pick(corners, scores)


def _pick(corners: F64, scores: F64) -> F64 | None:
    """The best-scoring quad, or None when none scores above zero.

    (Promoting a larger quad around the winner, to prefer the page over a box
    printed on it, was tried and lost more than it won on the simulated
    frames: it picked quads that ran into the clutter. See docs/scanner.md.)
    """
    best = int(np.argmax(scores))
    if scores[best] <= 0:
        return None
    log.debug("picked quad %d of %d, score %.3f", best, len(scores), scores[best])
    return np.asarray(corners[best], dtype=np.float64)


class _LineProfiles:
    """Per candidate line, cumulative sums along it of edge support and of colour on each side."""

    BORDER_SUPPORT = 0.35

    def __init__(self, analysis: _Analysis, thetas: F64, rhos: F64, border_from: int) -> None:
        self.thetas, self.rhos = thetas, rhos
        self.is_border = np.arange(len(thetas)) >= border_from
        h, w = analysis.h, analysis.w
        self.half = int(np.ceil(np.hypot(h, w)))
        t = np.arange(-self.half, self.half + 1, dtype=np.float64)
        n = np.stack([np.cos(thetas), np.sin(thetas)], axis=1)           # (K, 2)
        d = np.stack([-np.sin(thetas), np.cos(thetas)], axis=1)
        base = n * rhos[:, None]
        px = base[:, None, 0] + t[None, :] * d[:, None, 0]              # (K, T)
        py = base[:, None, 1] + t[None, :] * d[:, None, 1]
        inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)

        # edge support: an edge pixel within 2 px across the line, oriented like the line
        support = np.zeros(px.shape, np.float64)
        pix_theta = analysis.theta
        reach = analysis.params.support_reach
        for off in range(-reach, reach + 1):
            qx = np.clip(np.round(px + off * n[:, None, 0]), 0, w - 1).astype(np.int64)
            qy = np.clip(np.round(py + off * n[:, None, 1]), 0, h - 1).astype(np.int64)
            on = analysis.edges[qy, qx] > 0
            dtheta = np.abs((pix_theta[qy, qx] - thetas[:, None] + np.pi / 2) % np.pi - np.pi / 2)
            support = np.maximum(support, (on & (dtheta < np.radians(12))).astype(np.float64))
        support *= inside
        support[self.is_border] = self.BORDER_SUPPORT * inside[self.is_border]
        self.support = _cumsum(support)
        self.inside = _cumsum(inside.astype(np.float64))

        # colour to each side of the line (side "+" is along the normal), near and farther
        # away: a printed rule or a cable is a ridge, with the same colour on both sides of it
        band = analysis.params.band
        self.colour: dict[tuple[int, int], F64] = {}
        for sign in (1, -1):
            for far, dist in enumerate((band, 2.5 * band)):
                qx = np.clip(np.round(px + sign * dist * n[:, None, 0]), 0, w - 1).astype(np.int64)
                qy = np.clip(np.round(py + sign * dist * n[:, None, 1]), 0, h - 1).astype(np.int64)
                lab = analysis.lab[qy, qx].astype(np.float64) * inside[..., None]   # (K, T, 3)
                self.colour[sign, far] = _cumsum(lab)

    def _span(self, line: I64, a: F64, b: F64) -> tuple[I64, I64]:
        """Sample indices of the stretch of each line between points a and b."""
        d = np.stack([-np.sin(self.thetas[line]), np.cos(self.thetas[line])], axis=-1)
        ta = np.einsum("...i,...i->...", a, d)
        tb = np.einsum("...i,...i->...", b, d)
        lo = np.clip(np.round(np.minimum(ta, tb)) + self.half, 0, 2 * self.half + 1)
        hi = np.clip(np.round(np.maximum(ta, tb)) + self.half, 0, 2 * self.half + 1)
        return lo.astype(np.int64), hi.astype(np.int64)

    def score(self, lines: I64, corners: F64, debug: bool = False) -> F64:
        """Score of each quad; ``lines`` (N, 4) are the lines of sides c0c1, c1c2, c2c3, c3c0."""
        n_quads = len(lines)
        centre = corners.mean(axis=1)                                      # (N, 2)
        side_q = np.zeros((n_quads, 4))
        terms = np.zeros((n_quads, 4, 4))
        inner = np.zeros((n_quads, 4, 3))
        for s in range(4):
            line = lines[:, s]
            a, b = corners[:, s], corners[:, (s + 1) % 4]
            lo, hi = self._span(line, a, b)
            length = np.maximum(hi - lo, 1).astype(np.float64)
            seen = self.inside[line, hi] - self.inside[line, lo]
            seen1 = np.maximum(seen, 1)
            support = (self.support[line, hi] - self.support[line, lo]) / seen1
            coverage = seen / length
            # beyond its corners a page side has no edge: a side cut short by a cable has
            ext = np.maximum(np.round(0.15 * length), 2).astype(np.int64)
            top = self.support.shape[1] - 1
            lo2, hi2 = np.clip(lo - ext, 0, top), np.clip(hi + ext, 0, top)
            beyond = (self.support[line, lo] - self.support[line, lo2]
                      + self.support[line, hi2] - self.support[line, hi])
            beyond_seen = (self.inside[line, lo] - self.inside[line, lo2]
                           + self.inside[line, hi2] - self.inside[line, hi])
            overrun = beyond / np.maximum(beyond_seen, 1)
            normal = np.stack([np.cos(self.thetas[line]), np.sin(self.thetas[line])], axis=1)
            inward = np.einsum("ni,ni->n", centre, normal) > self.rhos[line]
            contrast = np.full(n_quads, np.inf)
            for far in (0, 1):
                c_plus = (self.colour[1, far][line, hi] - self.colour[1, far][line, lo]) \
                    / seen1[:, None]
                c_minus = (self.colour[-1, far][line, hi] - self.colour[-1, far][line, lo]) \
                    / seen1[:, None]
                c_in = np.where(inward[:, None], c_plus, c_minus)
                c_out = np.where(inward[:, None], c_minus, c_plus)
                contrast = np.minimum(contrast, np.linalg.norm(c_in - c_out, axis=1))
                if far == 0:
                    inner[:, s] = c_in
            contrast = np.where(self.is_border[line], 12.0, contrast)
            terms[:, s] = np.stack([support, contrast, coverage, overrun], axis=1)
            side_q[:, s] = (support * np.sqrt(np.clip(contrast / 12.0, 0, 1))
                            * (0.5 + 0.5 * coverage)
                            * (1.0 - 0.5 * overrun))
        spread = np.linalg.norm(inner - inner.mean(axis=1, keepdims=True), axis=2).max(axis=1)
        area = _areas(corners) / (self.half ** 2)
        score = np.prod(np.maximum(side_q, 1e-6), axis=1) ** 0.25 * area ** 0.3
        if debug:
            self.debug = {"terms": terms, "side_q": side_q, "spread": spread, "area": area}
        return np.asarray(score, dtype=np.float64)


def _cumsum(values: F64 | npt.NDArray[np.bool_]) -> F64:
    """Cumulative sum along axis 1 with a leading zero, so that sum[a:b] = c[b] - c[a]."""
    v = np.asarray(values, dtype=np.float64)
    pad = np.zeros((v.shape[0], 1, *v.shape[2:]))
    return np.concatenate([pad, np.cumsum(v, axis=1)], axis=1)


def _areas(corners: F64) -> F64:
    x, y = corners[..., 0], corners[..., 1]
    return np.asarray(np.abs(np.sum(x * np.roll(y, -1, axis=-1) - y * np.roll(x, -1, axis=-1),
                                    axis=-1)) / 2, dtype=np.float64)


def _enumerate_quads(thetas: F64, rhos: F64, w: int, h: int, min_area: float
                     ) -> tuple[I64, F64] | None:
    """Every convex quad made of two pairs of roughly opposite lines, with its four corners."""
    k = len(thetas)
    hom = np.stack([np.cos(thetas), np.sin(thetas), -rhos], axis=1)
    cross = np.cross(hom[:, None, :], hom[None, :, :])                  # (K, K, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        pts = cross[..., :2] / cross[..., 2:3]
    angle = np.abs((thetas[:, None] - thetas[None, :] + np.pi / 2) % np.pi - np.pi / 2)
    i, j = np.triu_indices(k, 1)
    # opposite sides: within 40 degrees of parallel, not crossing inside the frame
    far = ~np.all((pts[i, j] > -0.1 * np.array([w, h])) & (pts[i, j] < 1.1 * np.array([w, h])),
                  axis=1) | ~np.isfinite(pts[i, j]).all(axis=1)
    pairs = np.flatnonzero((angle[i, j] < np.radians(40)) & far)
    if len(pairs) < 2:
        return None
    pi_, pj_ = i[pairs], j[pairs]
    p, q = np.triu_indices(len(pairs), 1)
    a, b, c, d = pi_[p], pj_[p], pi_[q], pj_[q]
    cross_ok = np.minimum.reduce([angle[a, c], angle[a, d], angle[b, c], angle[b, d]])
    keep = (cross_ok > np.radians(30)) & (a != c) & (a != d) & (b != c) & (b != d)
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if len(a) == 0:
        return None
    corners = np.stack([pts[a, c], pts[c, b], pts[b, d], pts[d, a]], axis=1)   # (N, 4, 2)
    lines = np.stack([c, b, d, a], axis=1)    # sides c0c1 on c, c1c2 on b, c2c3 on d, c3c0 on a
    margin = 0.25
    ok = np.isfinite(corners).all(axis=(1, 2))
    ok &= np.all((corners[..., 0] > -margin * w) & (corners[..., 0] < (1 + margin) * w)
                 & (corners[..., 1] > -margin * h) & (corners[..., 1] < (1 + margin) * h), axis=1)
    edges = np.roll(corners, -1, axis=1) - corners
    turn = edges[..., 0] * np.roll(edges, -1, axis=1)[..., 1] \
        - edges[..., 1] * np.roll(edges, -1, axis=1)[..., 0]
    ok &= np.all(turn > 0, axis=1) | np.all(turn < 0, axis=1)
    ok &= _areas(np.nan_to_num(corners)) > min_area * w * h
    if not np.any(ok):
        return None
    return lines[ok], corners[ok]


# -- full-resolution refinement ------------------------------------------------------------------

def refine_corners(frame: npt.NDArray[np.uint8], quad: F64 | Quad, *, reach: float = 8.0,
                   rounds: int = 2) -> F64:
    """Move each side of ``quad`` onto the strongest colour step across it, to sub-pixel.

    For each side, the frame is sampled along 2 * reach px normals at points
    along the side (away from the corners); the position of the largest colour
    gradient on each normal (parabola-interpolated) is a point of the side; a
    line is fitted through them with Tukey weights, so that a pen, a finger or
    a shadow across the side does not pull it. The corners are where adjacent
    refined sides meet. A side with too few good points keeps its old line.
    """
    q = order_corners(quad).astype(np.float64)
    h, w = frame.shape[:2]
    img = frame.astype(np.float32)
    for r in range(rounds):
        reach_r = reach / (2 ** r)
        lines = []
        for s in range(4):
            a, b = q[s], q[(s + 1) % 4]
            lines.append(_refine_side(img, a, b, reach_r, w, h))
        new = []
        for s in range(4):
            x = np.cross(lines[(s - 1) % 4], lines[s])
            if abs(x[2]) < 1e-12:
                return q
            new.append(x[:2] / x[2])
        moved = np.asarray(new)
        if np.max(np.linalg.norm(moved - q, axis=1)) > 4 * reach:
            return q                          # refinement ran away: keep the coarse corners
        q = moved
    return q


def _refine_side(img: F32, a: F64, b: F64, reach: float, w: int, h: int) -> F64:
    """The homogeneous line of side ab, refitted to the colour step along it."""
    direction = b - a
    length = float(np.hypot(*direction))
    old = np.cross([*a, 1.0], [*b, 1.0])
    old = old / np.hypot(old[0], old[1])
    if length < 8:
        return np.asarray(old, dtype=np.float64)
    d = direction / length
    n = np.array([-d[1], d[0]])
    n_points = int(np.clip(length / 4, 16, 200))
    t = np.linspace(0.06, 0.94, n_points) * length
    step = 0.5
    offsets = np.arange(-reach, reach + step / 2, step)
    px = a[0] + t[:, None] * d[0] + offsets[None, :] * n[0]
    py = a[1] + t[:, None] * d[1] + offsets[None, :] * n[1]
    valid = ((px.min(axis=1) >= 1) & (px.max(axis=1) <= w - 2)
             & (py.min(axis=1) >= 1) & (py.max(axis=1) <= h - 2))
    if np.count_nonzero(valid) < 8:
        return np.asarray(old, dtype=np.float64)
    prof = cv2.remap(img, px.astype(np.float32), py.astype(np.float32), cv2.INTER_LINEAR)
    prof = cv2.GaussianBlur(prof, (0, 0), sigmaX=1.2, sigmaY=1.5)       # across, then along
    diff = prof[:, 2:] - prof[:, :-2]                                     # central difference
    strength = np.sqrt(np.sum(diff.astype(np.float64) ** 2, axis=2))      # (P, M-2)
    # prefer the step nearest the coarse line when two are alike (a shadow beside the edge)
    m = strength.shape[1]
    prior = 1.0 - 0.3 * (np.abs(np.arange(m) - (m - 1) / 2) / ((m - 1) / 2)) ** 2
    best = np.argmax(strength * prior, axis=1)
    inner = (best > 0) & (best < m - 1)
    rows = np.arange(len(best))
    bm = np.clip(best, 1, m - 2)
    s0, s1, s2 = strength[rows, bm - 1], strength[rows, bm], strength[rows, bm + 1]
    denom = s0 - 2 * s1 + s2
    frac = np.where(np.abs(denom) > 1e-9, 0.5 * (s0 - s2) / np.where(denom == 0, 1, denom), 0.0)
    frac = np.clip(frac, -0.5, 0.5)
    peak = strength[rows, best]
    good = valid & inner & (peak > 0.25 * np.median(peak[valid]))
    if np.count_nonzero(good) < 8:
        return np.asarray(old, dtype=np.float64)
    off = offsets[1:-1][best] + frac * step
    pts = np.stack([a + t * d + off * n for t, off in zip(t, off, strict=True)])[good]
    weight = peak[good]
    return _robust_line(pts, weight)


def _robust_line(pts: F64, weight: F64) -> F64:
    """Weighted total-least-squares line with Tukey re-weighting of outliers."""
    wts = weight / weight.max()
    line = np.zeros(3)
    for _ in range(6):
        mean = (pts * wts[:, None]).sum(axis=0) / wts.sum()
        centred = pts - mean
        cov = (centred * wts[:, None]).T @ centred
        _, evecs = np.linalg.eigh(cov)
        normal = evecs[:, 0]
        line = np.array([normal[0], normal[1], -normal @ mean])
        resid = centred @ normal
        scale = max(1.4826 * float(np.median(np.abs(resid))), 0.3)
        u = resid / (4.685 * scale)
        wts = weight / weight.max() * np.where(np.abs(u) < 1, (1 - u ** 2) ** 2, 0.0)
        if wts.sum() < 1e-6:
            break
    return line
