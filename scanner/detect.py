"""Find the page in a frame: four corners, or nothing.

The method (docs/scanner.md, "Detection", says what was measured and why):

1. **Edges.** The frame is reduced to a working size (640 px for a still,
   320 px for a live preview frame) and converted to CIE Lab, so that a white
   page on a white but tinted desk still differs (in chroma). The colour
   gradient is Di Zenzo's structure tensor over L, a, b, smoothed so that
   orientations stay steady along a straight edge despite JPEG's blocky
   chroma; Canny thins it to edge pixels, with thresholds just above the
   frame's own noise: the side of a sheet lying on other sheets is a step of
   only a few Lab units.
2. **Steps, not strokes.** An edge pixel counts only where the colour differs
   from one side of it to the other near it *and* farther away (a sheet's
   side is a step; text strokes, printed rules, a cable or a pen's reflection
   are thin ridges with the same surface on both sides).
3. **Lines.** Step pixels vote in a Hough accumulator, each for every
   orientation within a few degrees of its own (alike: the peak is where the
   pixels line up, not where their noisy orientations point). The peaks are
   ranked by the step evidence along them, each counting only pixels no better
   line has claimed (so the many lines through one strong edge or a curved
   cable do not crowd out a page's faint sides), and refitted to their pixels.
   The frame's borders are added, for pages that run out of the frame.
4. **Evidence along each line.** Cumulative sums along each line of: edge
   pixels with the line's orientation (within a pixel), and of those, steps.
   Any stretch's figures are then O(1).
5. **Quadrilaterals.** Every convex quad of two roughly opposite pairs of
   lines is scored: the length of its sides backed by evidence beyond what a
   line through clutter gets (a thin line along a side, such as the shadow
   line where a sheet lies on another, counts half), times whether its
   corners are real corners (edges reach each from both sides), whether no
   step runs on past them, whether its proportions once rectified are a paper
   format's, and a penalty per side on the frame's border (such a quad is the
   part of a page the frame shows: it is asked no format, only not to be
   deeper across the cut than a format allows; a line across the page, whose
   neighbours run on past both its ends, is no side). The best quad of
   a still is refined on the full-resolution frame: the strongest colour
   step across each side, to a fraction of a pixel.
6. **Top sheet** (still). On a pile, lines a little inside the quad (or
   poking out of it) that are the side of a sheet lying on it replace its
   sides (:func:`top_sheet`): a colour step, or only a thin shadow for a line
   turned from the side (a printed rule runs parallel to it).
"""

from __future__ import annotations

import functools
import heapq
import logging
import math
from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from scanner.detectparams import LIVE, STILL, DetectorParams
from scanner.geometry import Quad, is_convex, order_corners, polygon_area
from scanner.refine import refine_corners, robust_line
from scanner.trayprior import PRIOR_FINALISTS, TrayPrior

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
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
    h, w = frame.shape[:2]
    scale = params.work_size / max(h, w)
    if scale < 1.0:
        small = _reduce(frame, scale)
    else:
        scale = 1.0
        small = frame
    if tray is None:
        found = _Detector(small, params).candidates()
    else:
        detector = _Detector(small, replace(params, finalists=max(params.finalists,
                                                                  PRIOR_FINALISTS)))
        fg = tray.foreground(small)
        detector.edges[~tray.near(fg)] = 0
        found = detector.candidates()
        if found is not None:
            found = tray.rerank(fg, *found)
    if found is None:
        return None
    corners, _ = found
    # working pixel centres to source pixel centres
    best = (corners[0] + 0.5) / scale - 0.5
    if params.refine:
        best = refine_corners(frame, best)
    if params.top_sheet:
        best = top_sheet(frame, best)
    return order_corners(best)


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


# ------------------------------------------------------------------------------ working image

class _Detector:
    """Edges, candidate lines and scored quads of one working image."""

    def __init__(self, image: U8, params: DetectorParams) -> None:
        self.params = params
        self.h, self.w = image.shape[:2]
        self.diag = math.hypot(self.w, self.h)
        lab = np.asarray(cv2.cvtColor(np.multiply(image, np.float32(1 / 255), dtype=np.float32),
                                      cv2.COLOR_BGR2Lab), np.float32)
        self.lab = np.asarray(cv2.GaussianBlur(lab, (0, 0), params.blur), np.float32)
        gx = np.asarray(cv2.Sobel(self.lab, cv2.CV_32F, 1, 0, ksize=3, scale=0.125), np.float32)
        gy = np.asarray(cv2.Sobel(self.lab, cv2.CV_32F, 0, 1, ksize=3, scale=0.125), np.float32)
        ones = np.ones((1, 3), np.float32)           # sums the three channels
        gxx = np.asarray(cv2.transform(cv2.multiply(gx, gx), ones), np.float32)
        gyy = np.asarray(cv2.transform(cv2.multiply(gy, gy), ones), np.float32)
        gxy = np.asarray(cv2.transform(cv2.multiply(gx, gy), ones), np.float32)
        # the structure tensor, smoothed: orientations steady along a straight edge despite JPEG's
        # blocky chroma and the staircase of a slanted edge
        tensor = np.asarray(cv2.GaussianBlur(cv2.merge([gxx, gyy, gxy]), (0, 0),
                                             params.tensor_blur), np.float32)
        txx, tyy, txy = cv2.split(tensor)
        diff = cv2.subtract(txx, tyy)
        twice = cv2.add(txy, txy)
        # the larger eigenvalue's square root: sqrt((gxx + gyy + |(diff, 2 gxy)|) / 2)
        larger = np.asarray(cv2.addWeighted(cv2.add(txx, tyy), 0.5, cv2.magnitude(diff, twice),
                                            0.5, 0.0), np.float32)
        self.magnitude = np.asarray(cv2.sqrt(np.maximum(larger, np.float32(0))), np.float32)
        # orientation of the normal, in [0, pi)
        self.theta = np.asarray(cv2.phase(diff, twice), np.float32) * np.float32(0.5)
        # thresholds above the frame's own noise: most of a frame is flat, so the median
        # gradient is the noise's (sensor, JPEG, desk grain)
        noise = float(np.median(self.magnitude[::4, ::4]))
        self.edge_low = max(params.edge_low, params.noise_factor * noise)
        self.edge_high = max(params.edge_high, 2 * params.noise_factor * noise)
        unit = 16.0                                      # Canny works on integer gradients
        gx1, gy1 = cv2.polarToCart(self.magnitude * np.float32(unit), self.theta)
        dx = np.clip(gx1, -32767, 32767).astype(np.int16)
        dy = np.clip(gy1, -32767, 32767).astype(np.int16)
        self.edges = np.asarray(cv2.Canny(dx, dy, self.edge_low * unit, self.edge_high * unit,
                                          L2gradient=True), np.uint8)

    # -- lines -------------------------------------------------------------------------------

    def step_pixels(self) -> tuple[I64, I64, F64, F64]:
        """Edge pixels between two different surfaces: x, y, normal angle, vote weight."""
        self.edge_bin = np.full(self.h * self.w, 255, np.uint8)
        self.is_step = np.zeros(self.h * self.w, bool)
        if cv2.countNonZero(self.edges) == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0), np.empty(0)
        # row by row, as np.nonzero (4x faster)
        xs, ys = np.asarray(cv2.findNonZero(self.edges)).reshape(-1, 2).T.astype(np.int64)
        normal = self.theta[ys, xs].astype(np.float64) % np.pi
        # only edges between two different surfaces vote (a step), not thin things on one
        # surface (text strokes, printed rules, a cable lying on the desk)
        step = self.step_across(xs, ys, normal)
        sel = step >= self.params.step_min
        # per pixel, for the evidence along lines: the edge's orientation (1-degree bins, 255
        # where there is no edge) and whether it is a step
        flat = ys * self.w + xs
        self.edge_bin[flat] = np.rint(normal * (180 / np.pi)).astype(np.int64) % 180
        self.is_step[flat[sel]] = True
        xs, ys, normal = xs[sel], ys[sel], normal[sel]
        weight = np.minimum(self.magnitude[ys, xs].astype(np.float64) / (2 * self.edge_high), 1.0)
        return xs.astype(np.int64), ys.astype(np.int64), normal, weight

    def step_across(self, x: I64, y: I64, normal: F64) -> F64:
        """Colour difference across each pixel (x, y), the least of three distances.

        ``normal`` is the angle of the normal there. A side of a sheet differs near it and
        farther away; a thin stroke or a cable differs only near it.
        """
        lab = self.lab.reshape(-1, 3)
        nx, ny = np.cos(normal), np.sin(normal)
        step = np.full(len(x), np.inf, np.float32)
        for dist in (self.params.band, 2.5 * self.params.band, 5 * self.params.band):
            # whole pixels: round(x + d nx) is x + round(d nx)
            dx, dy = np.rint(dist * nx).astype(np.int64), np.rint(dist * ny).astype(np.int64)
            ahead = np.clip(y + dy, 0, self.h - 1) * self.w + np.clip(x + dx, 0, self.w - 1)
            behind = np.clip(y - dy, 0, self.h - 1) * self.w + np.clip(x - dx, 0, self.w - 1)
            diff = lab[ahead] - lab[behind]
            np.minimum(step, np.einsum("nc,nc->n", diff, diff), out=step)
        return np.asarray(np.sqrt(step), np.float64)

    def candidate_lines(self) -> tuple[F64, F64]:
        """(theta, rho) of the Hough peaks, strongest first: normal angle in [0, pi), distance.

        The pixels that voted are kept in ``self.voters`` (x, y, orientation) for
        :func:`_refit`.
        """
        xs, ys, theta, weight = self.step_pixels()
        min_len = 0.01 * self.diag
        if len(xs) < min_len:
            return np.empty(0), np.empty(0)
        diag = int(np.ceil(self.diag))
        n_rho = 2 * diag + 1
        n_bins = self.params.theta_bins
        all_thetas = np.arange(n_bins) * np.pi / n_bins
        centre_bin = np.round(theta / np.pi * n_bins).astype(np.int64)
        spread = max(1, round(n_bins * self.params.vote_spread / 180))
        # every pixel votes alike for each orientation in the window: the peak is where the
        # pixels line up, not where their (noisy, sometimes biased) orientations point
        bins = (centre_bin[None, :] + np.arange(-spread, spread + 1)[:, None]) % n_bins
        cos_t = np.cos(all_thetas).astype(np.float32)
        sin_t = np.sin(all_thetas).astype(np.float32)
        rho = xs.astype(np.float32)[None, :] * cos_t[bins] \
            + ys.astype(np.float32)[None, :] * sin_t[bins]
        idx = bins * n_rho + (np.rint(rho).astype(np.int64) + diag)
        acc = np.bincount(idx.ravel(), weights=np.broadcast_to(weight, idx.shape).ravel(),
                          minlength=n_bins * n_rho)
        votes = acc.reshape(n_bins, n_rho).astype(np.float32)
        votes = np.asarray(cv2.sepFilter2D(votes, -1, np.array([0.5, 1.0, 0.5], np.float32),
                                           np.array([1.0], np.float32),
                                           borderType=cv2.BORDER_CONSTANT), np.float32)
        # theta wraps around: a line at 179.5 degrees and rho is the line at 0 degrees and -rho
        wrap = max(1, n_bins // 90)              # peaks are kept +-2 degrees and +-3 px apart
        wrapped = np.vstack([votes[-wrap:, ::-1], votes, votes[:wrap, ::-1]])
        peak = np.asarray(cv2.dilate(wrapped, np.ones((2 * wrap + 1, 7), np.uint8)),
                          np.float32)[wrap:-wrap]
        cand = np.flatnonzero((votes >= peak) & (votes > 0.6 * min_len))
        if len(cand) == 0:
            return np.empty(0), np.empty(0)
        strength = votes.ravel()[cand]
        order = np.argsort(-strength)[: self.params.max_peaks]
        thetas = all_thetas[cand[order] // n_rho]
        rhos = (cand[order] % n_rho - diag).astype(np.float64)
        self.voters = (xs, ys, theta)
        return thetas, rhos

    def _distinct_lines(self, evidence: _LineEvidence, thetas: F64, rhos: F64) -> I64:
        """The lines with the most evidence of their own, best first.

        Greedy: a line's evidence pixels are claimed once it is chosen, and a later line
        counts only unclaimed ones; so the many lines through one strong edge (a long
        desk edge, a curved cable) do not crowd out a page's faint sides.
        """
        flat_all = evidence.flat
        pixels = [flat_all[k, evidence.step_at[k]] for k in range(len(thetas))]
        # padded by a row and a pixel both ends: a claimed pixel's neighbours need no clipping
        pad = self.w + 1
        claimed = np.zeros(self.h * self.w + 2 * pad, bool)
        pixels = [p + pad for p in pixels]
        around = np.array([dy * self.w + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        chosen: list[int] = []
        # lazy greedy: a line's count of unclaimed pixels only ever drops, so a stale count
        # on top of the heap is recounted and pushed back until the top one is fresh
        heap = [(-float(len(p)), k) for k, p in enumerate(pixels)]
        heapq.heapify(heap)
        while heap and len(chosen) < self.params.max_lines:
            neg, k = heapq.heappop(heap)
            own = float(np.count_nonzero(~claimed[pixels[k]]))
            if heap and own < -heap[0][0] and own < -neg:
                heapq.heappush(heap, (-own, k))
                continue
            if own < 0.01 * self.diag:
                break
            chosen.append(k)
            claimed[(pixels[k][:, None] + around[None, :]).ravel()] = True
        return np.sort(np.asarray(chosen, np.int64))

    # -- quadrilaterals ----------------------------------------------------------------------

    def candidates(self) -> tuple[F64, F64] | None:
        """Corners (N, 4, 2) of the best quads, best first, with their scores; or None."""
        thetas, rhos = self.candidate_lines()
        if len(thetas) < 2:
            return None
        # keep the lines with the most side evidence (steps), not the most edge pixels: a
        # cable's or a pen's outline has many edge pixels and few steps
        evidence = _LineEvidence(self, thetas, rhos, border_from=len(thetas), tables_wanted=False)
        keep = self._distinct_lines(evidence, thetas, rhos)
        thetas, rhos = _refit(thetas[keep], rhos[keep], *self.voters)
        n_found = len(thetas)
        thetas = np.concatenate([thetas, [0.0, 0.0, np.pi / 2, np.pi / 2]])
        rhos = np.concatenate([rhos, [0.0, self.w - 1.0, 0.0, self.h - 1.0]])
        profiles = _LineEvidence(self, thetas, rhos, border_from=n_found)
        quads = _enumerate_quads(thetas, rhos, self.w, self.h, self.params.min_area)
        if quads is None:
            return None
        lines, corners = quads
        scores = profiles.score(lines, corners, keep=max(1, self.params.finalists))
        order = np.argsort(-scores)
        best: list[int] = []
        for i in order:
            if scores[i] <= 0 or len(best) >= max(1, self.params.finalists):
                break
            if any(np.max(np.linalg.norm(corners[i] - corners[j], axis=1)) < 2.0 for j in best):
                continue
            best.append(int(i))
        if not best:
            return None
        log.debug("best quad score %.3f of %d quads, %d lines", scores[best[0]], len(scores),
                  n_found)
        return corners[best], scores[best]


def _refit(thetas: F64, rhos: F64, xs: I64, ys: I64, pix_theta: F64) -> tuple[F64, F64]:
    """Least-squares refit of each line to the voting pixels lying along it, all at once.

    A line moves only if enough pixels (8) back it and the fit turns it by less
    than 1.5 degrees.
    """
    if len(thetas) == 0 or len(xs) == 0:
        return thetas, rhos
    px, py = xs.astype(np.float32), ys.astype(np.float32)
    cos, sin = np.cos(thetas).astype(np.float32), np.sin(thetas).astype(np.float32)
    dist = np.outer(cos, px) + np.outer(sin, py) - rhos.astype(np.float32)[:, None]   # (K, N)
    # pixel orientations within 3 degrees of the line's: |cos(difference)| > cos(3 degrees)
    agree = np.outer(cos, np.cos(pix_theta).astype(np.float32)) \
        + np.outer(sin, np.sin(pix_theta).astype(np.float32))
    sel = ((np.abs(dist) < 1.6) & (np.abs(agree) > np.float32(math.cos(math.radians(3))))
           ).astype(np.float64)
    x64, y64 = xs.astype(np.float64), ys.astype(np.float64)
    sums = sel @ np.stack([x64, y64, x64 * x64, y64 * y64, x64 * y64], axis=1)      # (K, 5)
    n = sel.sum(axis=1)
    safe = np.maximum(n, 1)
    mx, my = sums[:, 0] / safe, sums[:, 1] / safe
    sxx = sums[:, 2] / safe - mx * mx
    syy = sums[:, 3] / safe - my * my
    sxy = sums[:, 4] / safe - mx * my
    # the normal is the direction of least spread
    new_t = (0.5 * np.arctan2(2 * sxy, sxx - syy) + np.pi / 2) % np.pi
    turn = np.abs((new_t - thetas + np.pi / 2) % np.pi - np.pi / 2)
    ok = (n >= 8) & (turn < np.radians(1.5))
    new_r = mx * np.cos(new_t) + my * np.sin(new_t)
    return np.where(ok, new_t, thetas), np.where(ok, new_r, rhos)


class _LineEvidence:
    """Per candidate line, cumulative sums along it of side evidence.

    A pixel of a line is *edge* evidence when an edge pixel lies on the line
    (within a pixel) with the line's orientation, and *step* evidence when the
    colour also differs across the line near it and farther away (a side of a
    sheet, not a thin printed rule, a cable or a shadow line).
    """

    BORDER_EVIDENCE = 0.5            # what a frame border stands for: an unseen side
    BORDER_PENALTY = 0.3             # per side on the frame's border: a whole page is likelier
    BASE_RATE = 0.35                 # side evidence that says nothing either way

    def __init__(self, det: _Detector, thetas: F64, rhos: F64, border_from: int,
                 tables_wanted: bool = True) -> None:
        """``tables_wanted=False`` stops after the step pixels (to rank lines)."""
        self.thetas, self.rhos = thetas, rhos
        self.is_border = np.arange(len(thetas)) >= border_from
        h, w = det.h, det.w
        self.w, self.h = w, h
        n = np.stack([np.cos(thetas), np.sin(thetas)], axis=1)           # (K, 2)
        d = np.stack([-np.sin(thetas), np.cos(thetas)], axis=1)
        base = n * rhos[:, None]
        # sample each line (1 px apart) only where it crosses the frame: from ``origin``
        lo, hi = _clip_to_frame(base, d, w, h)
        self.origin = np.floor(lo) - 1.0
        n_samples = int(max(1.0, float(np.max(np.ceil(hi) + 1.0 - self.origin)))) + 1
        t = self.origin[:, None] + np.arange(n_samples, dtype=np.float64)[None, :]
        px = base[:, None, 0] + t * d[:, None, 0]                         # (K, T)
        py = base[:, None, 1] + t * d[:, None, 1]
        inside = (px >= -0.5) & (px <= w - 0.5) & (py >= -0.5) & (py <= h - 0.5)

        # an edge pixel on the line (within a pixel across it) with the line's orientation
        # (within 15 degrees) is edge evidence; when that pixel is a step, step evidence
        line_bin = np.rint(thetas * (180 / np.pi)).astype(np.int64) % 180
        turn = (np.arange(256)[None, :] - line_bin[:, None]) % 180
        # per line, which pixel orientation bins are aligned with it (255: no edge there)
        aligned_bins = ((turn < 15) | (turn > 165)) & (np.arange(256) < 180)[None, :]
        rows = np.arange(len(thetas))[:, None] * 256
        edge = np.zeros(px.shape, bool)
        is_step = np.zeros(px.shape, bool)
        px32, py32 = px.astype(np.float32), py.astype(np.float32)
        for off in (-1, 0, 1):
            qx = np.clip(px32 + np.float32(off) * n[:, None, 0].astype(np.float32), 0, w - 1)
            qy = np.clip(py32 + np.float32(off) * n[:, None, 1].astype(np.float32), 0, h - 1)
            flat = (qy + np.float32(0.5)).astype(np.int32) * w \
                + (qx + np.float32(0.5)).astype(np.int32)
            aligned = aligned_bins.ravel()[rows + det.edge_bin[flat]]
            edge |= aligned
            is_step |= aligned & det.is_step[flat]
            if off == 0:
                self.flat = flat
        edge &= inside
        is_step &= inside
        self.step_at = is_step
        self.total = is_step.sum(axis=1).astype(np.float64)
        if not tables_wanted:
            return
        # a thin line along a side (a ridge: the shadow line where a sheet lies on another,
        # but also a printed rule) is worth half a step
        tables = {"step": is_step.astype(np.float64), "edge": edge.astype(np.float64),
                  "value": 0.5 * (is_step.astype(np.float64) + edge)}
        for table in tables.values():
            table[self.is_border] = self.BORDER_EVIDENCE * inside[self.is_border]
        self.tables = {k: _cumsum(v) for k, v in tables.items()}
        self.inside = _cumsum(inside.astype(np.float64))

    def _index(self, t: F64) -> I64:
        return np.clip(np.round(t), 0, self.inside.shape[1] - 1).astype(np.int64)

    @staticmethod
    def _share(table: F64, inside: F64, line: I64, a: I64, b: I64, empty: float,
               least: I64 | None = None) -> F64:
        """Share of samples a..b (either order) of each line backed in ``table``.

        Only samples inside the frame count, unless ``least`` is given: then the
        share is of at least that many samples (those off the frame count as unbacked).
        """
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        n = inside[line, hi] - inside[line, lo]
        got = table[line, hi] - table[line, lo]
        if least is not None:
            n = np.maximum(n, least)
        return np.asarray(np.where(n > 0, got / np.maximum(n, 1), empty), np.float64)

    def score(self, lines: I64, corners: F64, keep: int = 8) -> F64:
        """Score of each quad; ``lines`` (N, 4) are the lines of sides c0c1, c1c2, c2c3,
        c3c0, and corner s joins sides s-1 and s.

        - *gain*: the length of the quad's sides backed by evidence beyond what a
          line through clutter gets (a-contrario style), so that a bigger page with
          a half-hidden side still beats a small, cleanly outlined object;
        - *corners*: edges reach each corner from both sides (a quad made of two
          sheets' sides has a corner where nothing is);
        - *overrun*: no step edge runs on past a corner;
        - *format*: proportions of a paper format once rectified;
        - each side on the frame's border (a page running out of the frame) halves it.

        The score is the gain times factors of at most 1, so the gain bounds it:
        quads are scored in order of gain until the ``keep``-th best score beats
        the next gain; the others are left at 0.
        """
        n_quads = len(lines)
        value = self.tables["value"]
        # where each side's corners fall along its line (all sides at once)
        theta = self.thetas[lines]                                         # (N, 4)
        dx, dy = -np.sin(theta), np.cos(theta)
        ahead = np.roll(corners, -1, axis=1)                               # corner s + 1
        origin = self.origin[lines]
        ta = corners[..., 0] * dx + corners[..., 1] * dy - origin
        tb = ahead[..., 0] * dx + ahead[..., 1] * dy - origin
        ia, ib = self._index(ta), self._index(tb)
        pos = np.stack([ia, ib], axis=2)
        length = np.maximum(np.abs(tb - ta), 1.0)
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        seen = self.inside[lines, hi] - self.inside[lines, lo]
        cov = (value[lines, hi] - value[lines, lo]) / np.maximum(seen, 1)
        border = self.is_border[lines]
        real = ~border
        gain = ((cov - self.BASE_RATE) * seen * real).sum(axis=1) / 1000.0
        weakest = np.where(real, cov, 1.0).min(axis=1)
        n_border = border.sum(axis=1)
        ok = (weakest > 0.05) & (n_border <= 2) & ((seen / length).min(axis=1) > 0.5) & (gain > 0)
        bound = np.where(ok, gain * self.BORDER_PENALTY ** n_border, 0.0)
        order = np.argsort(-bound)
        scores = np.zeros(n_quads)
        chunk = 2048
        for start in range(0, n_quads, chunk):
            idx = order[start:start + chunk]
            idx = idx[bound[idx] > 0]
            if len(idx) == 0:
                break
            scores[idx] = bound[idx] * self._factors(lines[idx], corners[idx], pos[idx],
                                                     length[idx], border[idx])
            best = np.sort(scores)[-keep] if n_quads >= keep else 0.0
            if start + chunk < n_quads and best >= bound[order[start + chunk]]:
                break
        return scores

    def _factors(self, lines: I64, corners: F64, pos: I64, length: F64, border: B) -> F64:
        """Corner, overrun and format factors (each at most 1) of some quads."""
        edge, step = self.tables["edge"], self.tables["step"]
        ia, ib = pos[..., 0], pos[..., 1]                                  # (N, 4) each
        direction = np.sign(ib - ia)
        r_near = np.round(np.maximum(0.08 * length, 3.0)).astype(np.int64) * direction
        r_past = np.round(np.maximum(0.15 * length, 3.0)).astype(np.int64) * direction
        top = self.inside.shape[1] - 1
        near = np.stack([            # edge share next to corner s (0) and s + 1 (1)
            self._share(edge, self.inside, lines, ia, np.clip(ia + r_near, 0, top), 0.5),
            self._share(edge, self.inside, lines, np.clip(ib - r_near, 0, top), ib, 0.5)],
            axis=2)
        # step share past them, of the whole stretch: a side that ends on the frame's border
        # runs on past its corner by the pixel or two left there, which says nothing
        span = np.abs(r_past)
        past = np.stack([
            self._share(step, self.inside, lines, np.clip(ia - r_past, 0, top), ia, 0.0, span),
            self._share(step, self.inside, lines, ib, np.clip(ib + r_past, 0, top), 0.0, span)],
            axis=2)
        prev_border = np.roll(border, 1, axis=1)
        at_prev = np.where(prev_border, np.inf, np.roll(near[:, :, 1], 1, axis=1))
        at_here = np.where(border, np.inf, near[:, :, 0])
        corner = np.minimum(at_prev, at_here)
        corner = np.where(np.isfinite(corner), corner, 0.5)
        over = np.maximum(np.where(prev_border, 0.0, np.roll(past[:, :, 1], 1, axis=1)),
                          np.where(border, 0.0, past[:, :, 0]))
        self.debug = {"corner": corner, "over": over}
        # a side whose neighbours both run on past it, and nothing reaches its corners, is a
        # line across the page (a text line, a fold), not its edge
        # (a corner off the frame says nothing: its side is judged by its other end)
        off = (corners[..., 0] < -0.5) | (corners[..., 0] > self.w - 0.5) \
            | (corners[..., 1] < -0.5) | (corners[..., 1] > self.h - 0.5)
        over_in = np.where(off, np.inf, over)
        corner_in = np.where(off, -np.inf, corner)
        runs_on = np.minimum(over_in, np.roll(over_in, -1, axis=1))
        reached = np.maximum(corner_in, np.roll(corner_in, -1, axis=1))
        across = np.where(np.isfinite(runs_on) & np.isfinite(reached),
                          runs_on * (1.0 - reached), 0.0)
        return np.asarray(np.prod((0.6 + 0.4 * corner) * (1.0 - 0.5 * over)
                                  * (1.0 - 0.8 * across), axis=1)
                          * _format_prior(corners, self.w, self.h, border), np.float64)


#: Long / short side of the documents a kiosk takes: US letter, A-series, ID-1 cards.
FORMAT_RATIOS = np.array([279.4 / 215.9, math.sqrt(2.0), 85.6 / 53.98])


def _format_prior(corners: F64, w: int, h: int, border: B | None = None) -> F64:
    """How much like a paper format each quad's real rectangle is (0.2 .. 1).

    The real proportions come from the quad's vanishing points with the
    principal point at the frame's centre (Zhang and He 2007, as in
    ``scanner.rectify``); when the focal length they imply is not a camera's
    (the page is seen face-on, or the quad is no rectangle's image) the mean
    side lengths are used instead.

    ``border`` (N, 4) marks sides on the frame's border: such a quad is the part
    of a page the frame shows, as deep as the page or less, so it need only be
    no deeper (across the cut) than the longest format is long for its width.
    """
    centre = np.array([w / 2.0, h / 2.0])
    m = np.concatenate([corners - centre, np.ones((*corners.shape[:2], 1))], axis=2)
    m1, m2, m4, m3 = m[:, 0], m[:, 1], m[:, 2], m[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        k2 = np.einsum("ni,ni->n", np.cross(m1, m4), m3) / np.einsum("ni,ni->n",
                                                                      np.cross(m2, m4), m3)
        k3 = np.einsum("ni,ni->n", np.cross(m1, m4), m2) / np.einsum("ni,ni->n",
                                                                      np.cross(m3, m4), m2)
        n2 = k2[:, None] * m2 - m1
        n3 = k3[:, None] * m3 - m1
        f2 = -(n2[:, 0] * n3[:, 0] + n2[:, 1] * n3[:, 1]) / (n2[:, 2] * n3[:, 2])
        big = float(max(w, h)) ** 2
        plausible = np.isfinite(f2) & (f2 > 0.09 * big) & (f2 < 100.0 * big)
        f2 = np.where(plausible, f2, 1.0)
        wid2 = n2[:, 0] ** 2 / f2 + n2[:, 1] ** 2 / f2 + n2[:, 2] ** 2
        hei2 = n3[:, 0] ** 2 / f2 + n3[:, 1] ** 2 / f2 + n3[:, 2] ** 2
        ratio = np.sqrt(hei2 / wid2)
    sides = np.linalg.norm(np.roll(corners, -1, axis=1) - corners, axis=2)
    fallback = (sides[:, 1] + sides[:, 3]) / np.maximum(sides[:, 0] + sides[:, 2], 1e-9)
    ratio = np.where(plausible & np.isfinite(ratio) & (ratio > 0), ratio, fallback)
    # height (sides 1, 3) over width (sides 0, 2)
    tall = np.maximum(ratio, 1e-9)
    ratio = np.maximum(tall, 1.0 / tall)
    off = np.min(np.abs(np.log(ratio[:, None] / FORMAT_RATIOS[None, :])), axis=1)
    if border is not None:
        # cut across the height (a border on side 0 or 2) or across the width; both: any depth
        across_h, across_w = border[:, 0] | border[:, 2], border[:, 1] | border[:, 3]
        depth = np.where(across_h, tall, 1.0 / tall)
        off_cut = np.where(across_h & across_w, 0.0,
                           np.maximum(np.log(depth / FORMAT_RATIOS.max()), 0.0))
        off = np.where(across_h | across_w, off_cut, off)
    return np.asarray(0.2 + 0.8 * np.exp(-(np.maximum(off - 0.05, 0.0) / 0.15) ** 2), np.float64)


def _clip_to_frame(base: F64, d: F64, w: int, h: int) -> tuple[F64, F64]:
    """Parameter range (lo, hi) of the lines base + t d inside the frame (Liang-Barsky).

    Lines that miss the frame get an empty range at 0.
    """
    lo = np.full(len(base), -np.inf)
    hi = np.full(len(base), np.inf)
    for axis, size in ((0, w), (1, h)):
        p0, dv = base[:, axis], d[:, axis]
        flat = np.abs(dv) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = (-0.5 - p0) / dv
            tb = (size - 0.5 - p0) / dv
        t_min = np.where(flat, np.where((p0 >= -0.5) & (p0 <= size - 0.5), -np.inf, np.inf),
                         np.minimum(ta, tb))
        t_max = np.where(flat, np.where((p0 >= -0.5) & (p0 <= size - 0.5), np.inf, -np.inf),
                         np.maximum(ta, tb))
        lo, hi = np.maximum(lo, t_min), np.minimum(hi, t_max)
    empty = ~(hi >= lo) | ~np.isfinite(lo) | ~np.isfinite(hi)
    return np.where(empty, 0.0, lo), np.where(empty, 0.0, hi)


def _cumsum(values: F64) -> F64:
    """Cumulative sum along axis 1 with a leading zero, so that sum[a:b] = c[b] - c[a]."""
    v = np.asarray(values, dtype=np.float64)
    pad = np.zeros((v.shape[0], 1, *v.shape[2:]))
    return np.concatenate([pad, np.cumsum(v, axis=1)], axis=1)


def _areas(corners: F64) -> F64:
    x, y = corners[..., 0], corners[..., 1]
    return np.asarray(np.abs(np.sum(x * np.roll(y, -1, axis=-1) - y * np.roll(x, -1, axis=-1),
                                    axis=-1)) / 2, dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _pairs_of(k: int) -> tuple[I64, I64]:
    """Indices i < j of every pair of k things (``np.triu_indices(k, 1)``, kept)."""
    i, j = np.triu_indices(k, 1)
    return np.asarray(i, np.int64), np.asarray(j, np.int64)


def _enumerate_quads(thetas: F64, rhos: F64, w: int, h: int, min_area: float
                     ) -> tuple[I64, F64] | None:
    """Every convex quad made of two pairs of roughly opposite lines, with its four corners."""
    k = len(thetas)
    # where every two lines x cos t + y sin t = r cross: (K, K, 2)
    cos, sin = np.cos(thetas), np.sin(thetas)
    det = np.subtract.outer(0.0, np.multiply.outer(sin, cos)) + np.multiply.outer(cos, sin)
    with np.errstate(divide="ignore", invalid="ignore"):
        pts = np.stack([(np.multiply.outer(rhos, sin) - np.multiply.outer(sin, rhos)) / det,
                        (np.multiply.outer(cos, rhos) - np.multiply.outer(rhos, cos)) / det],
                       axis=2)
    angle = np.abs((thetas[:, None] - thetas[None, :] + np.pi / 2) % np.pi - np.pi / 2)
    i, j = _pairs_of(k)
    # opposite sides: within 40 degrees of parallel, not crossing inside the frame
    far = ~np.all((pts[i, j] > -0.1 * np.array([w, h])) & (pts[i, j] < 1.1 * np.array([w, h])),
                  axis=1) | ~np.isfinite(pts[i, j]).all(axis=1)
    pairs = np.flatnonzero((angle[i, j] < np.radians(40)) & far)
    if len(pairs) < 2:
        return None
    pi_, pj_ = i[pairs], j[pairs]
    p, q = _pairs_of(len(pairs))
    a, b, c, d = pi_[p], pj_[p], pi_[q], pj_[q]
    # corners near the frame (first, on the K x K crossings: it rules out most pairs of pairs)
    margin = 0.15
    with np.errstate(invalid="ignore"):
        near = np.isfinite(pts).all(axis=2) \
            & (pts[..., 0] > -margin * w) & (pts[..., 0] < (1 + margin) * w) \
            & (pts[..., 1] > -margin * h) & (pts[..., 1] < (1 + margin) * h)
    keep = near[a, c] & near[c, b] & near[b, d] & near[d, a]
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    cross_ok = np.minimum.reduce([angle[a, c], angle[a, d], angle[b, c], angle[b, d]])
    keep = (cross_ok > np.radians(30)) & (a != c) & (a != d) & (b != c) & (b != d)
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if len(a) == 0:
        return None
    corners = np.stack([pts[a, c], pts[c, b], pts[b, d], pts[d, a]], axis=1)   # (N, 4, 2)
    lines = np.stack([c, b, d, a], axis=1)    # sides c0c1 on c, c1c2 on b, c2c3 on d, c3c0 on a
    ok = np.ones(len(a), bool)
    edges = np.roll(corners, -1, axis=1) - corners
    turn = edges[..., 0] * np.roll(edges, -1, axis=1)[..., 1] \
        - edges[..., 1] * np.roll(edges, -1, axis=1)[..., 0]
    ok &= np.all(turn > 0, axis=1) | np.all(turn < 0, axis=1)
    ok &= _areas(np.nan_to_num(corners)) > min_area * w * h
    # no slivers: a page seen at a slant is still no thinner than 1:5
    sides = np.linalg.norm(np.nan_to_num(edges), axis=2)
    ok &= sides.min(axis=1) > 0.2 * sides.max(axis=1)
    if not np.any(ok):
        return None
    return lines[ok], corners[ok]


# ------------------------------------------------------------------------------ a pile's top sheet

#: Knobs of :func:`top_sheet` (lengths in strip units: frame px for frames up to 1920 px).
_PILE_ROW_PX = 3.0          # spacing of the samples along a side, units
_PILE_ROW_BLUR = 6.0        # smoothing along the side, units: JPEG's blocks fade, long edges stay
_PILE_RUN = 12.0            # a sheet's edge is seen in runs at least this long, units
_PILE_IN = 0.13             # how far inside the quad a top sheet's side is looked for (of its size)
_PILE_OUT = 0.05            # and outside (a top sheet poking out past an under-sheet's side)
_PILE_MAX_OFFSET = 0.09     # a top sheet lies at most this far inside (of the quad's size)
_PILE_MIN_OFFSET = 8.0      # and at least this far, on average (nearer: the same edge, blurred)
_PILE_MAX_TURN = 6.0        # degrees between a top sheet's side and the side under it
_PILE_RIDGE = 4.0           # least depth (L units) of a thin dark line taken for a sheet's edge
_PILE_RIDGE_TURN = 1.5      # degrees a line must turn from the side for its thin dark line to count
_PILE_TOL = 1.5             # a line is seen at a row when an edge point lies this near it


class _SideStrip:
    """The frame sampled in a band along one side of a quad, and the edges in it.

    Row r is at a fraction 0.03 .. 0.97 along the side, column j at
    ``(j - j_side) * unit`` px from the side, inward. Colour (Lab) is smoothed
    along the side; edge points are local maxima across the band of the colour
    gradient that run along the side and are steps (the colour differs 3 and 8
    units away on both sides), so that a candidate line is judged by how many
    rows see an edge on it.
    """

    def __init__(self, frame: U8, quad: F64, side: int, unit: float) -> None:
        a, b = quad[side], quad[(side + 1) % 4]
        self.length = float(np.hypot(*(b - a)))
        self.along = (b - a) / max(self.length, 1e-9)
        normal = np.array([-self.along[1], self.along[0]])
        if np.dot(quad.mean(axis=0) - (a + b) / 2, normal) < 0:
            normal = -normal
        self.a, self.normal, self.unit = a, normal, unit
        self.size = max(float(np.dot(p - a, normal)) for p in (quad[(side + 2) % 4],
                                                               quad[(side + 3) % 4]))
        self.j_side = math.ceil(_PILE_OUT * self.size / unit) + 12
        j_in = math.ceil(_PILE_IN * self.size / unit) + 12
        self.rows = int(np.clip(self.length / (_PILE_ROW_PX * unit), 16, 600))
        self.t = np.linspace(0.03, 0.97, self.rows) * self.length
        offsets = (np.arange(-self.j_side, j_in + 1) * unit).astype(np.float32)
        t32 = self.t.astype(np.float32)
        mx = np.float32(a[0]) + t32[:, None] * np.float32(self.along[0]) \
            + offsets[None, :] * np.float32(normal[0])
        my = np.float32(a[1]) + t32[:, None] * np.float32(self.along[1]) \
            + offsets[None, :] * np.float32(normal[1])
        h, w = frame.shape[:2]
        self.valid = np.asarray((mx.min(axis=1) >= 0) & (mx.max(axis=1) <= w - 1)
                                & (my.min(axis=1) >= 0) & (my.max(axis=1) <= h - 1))
        sampled = cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lab = cv2.cvtColor(sampled.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_BGR2Lab)
        self.lab = np.asarray(cv2.GaussianBlur(lab, (0, 0), sigmaX=0.7,
                                               sigmaY=_PILE_ROW_BLUR / _PILE_ROW_PX),
                              np.float32)
        lab = self.lab
        cols = lab.shape[1]
        self.grad = np.zeros_like(lab)                     # across the side, per 2 units
        self.grad[:, 1:-1] = lab[:, 2:] - lab[:, :-2]
        across = np.sqrt(np.einsum("rjc,rjc->rj", self.grad, self.grad))
        along = np.zeros_like(across)
        d_along = lab[2:] - lab[:-2]
        along[1:-1] = np.sqrt(np.einsum("rjc,rjc->rj", d_along, d_along)) * (_PILE_ROW_PX / 2)
        across[~self.valid] = 0
        noise = float(np.percentile(across[self.valid], 30)) if self.valid.any() else 1.0
        self.tau = max(1.0, 4.0 * noise)
        maxima = (across >= np.roll(across, 1, axis=1)) & (across > np.roll(across, -1, axis=1)) \
            & (across >= self.tau) & (across >= 1.5 * along)
        maxima[:, :9] = False
        maxima[:, -9:] = False
        rr, jj = np.nonzero(maxima)

        def apart(k: int) -> F64:
            d = lab[rr, np.clip(jj + k, 0, cols - 1)] - lab[rr, np.clip(jj - k, 0, cols - 1)]
            return np.asarray(np.sqrt(np.einsum("nc,nc->n", d, d)), np.float64)

        step = np.minimum(apart(3), apart(8)) >= max(1.5, 0.5 * self.tau)
        self.points = (rr[step], jj[step])
        edge = np.zeros(across.shape, bool)
        edge[self.points] = True
        k = math.ceil(_PILE_TOL)
        self.near = np.asarray(cv2.dilate(edge.astype(np.uint8), np.ones((1, 2 * k + 1), np.uint8)),
                               bool)
        # thin dark lines (ridges) along the side: where a sheet lies on another of the same
        # paper, its edge is often only its own thin shadow, with no step across it; but so
        # is a printed rule, so a ridge counts only for lines turned from the side (see seen)
        light = lab[..., 0]
        depth = np.zeros_like(light)
        for k in (2, 3):
            np.maximum(depth[:, k:-k], np.minimum(light[:, :-2 * k], light[:, 2 * k:])
                       - light[:, k:-k], out=depth[:, k:-k])
        ridge = (depth >= np.roll(depth, 1, axis=1)) & (depth > np.roll(depth, -1, axis=1)) \
            & (depth >= max(_PILE_RIDGE, 2.0 * self.tau)) & self.valid[:, None]
        ridge[:, :9] = False
        ridge[:, -9:] = False
        self.ridges = np.nonzero(ridge)
        self.near_ridge = np.asarray(cv2.dilate(ridge.astype(np.uint8),
                                                np.ones((1, 2 * k + 1), np.uint8)), bool)
        # anything marked (text strokes too) makes a band not blank
        strong = maxima & (across >= max(2.5 * self.tau, 3.0))
        self.marks = np.concatenate([np.zeros((self.rows, 1), np.int32),
                                     np.cumsum(strong, axis=1, dtype=np.int32)], axis=1)

    def path(self, mid: float, drift: float) -> F64:
        """Column of the line (mid, drift) at each row: mid at the middle row, drifting."""
        return np.asarray(mid + drift * (np.arange(self.rows) / (self.rows - 1) - 0.5),
                          np.float64)

    def candidates(self, top: int = 6) -> list[tuple[float, float]]:
        """Lines (mid, drift) seen on the most rows, other than the side itself: a small Hough."""
        cols = self.near.shape[1]
        n_valid = int(self.valid.sum())
        most = int(min(math.ceil(math.tan(math.radians(_PILE_MAX_TURN)) * self.length
                                 / self.unit), cols))
        drifts = np.arange(-most, most + 1)
        turned = np.abs(drifts) >= self.least_drift()
        # steps vote for every line; ridges only for lines turned from the side
        rr = np.concatenate([self.points[0], self.ridges[0]])
        jj = np.concatenate([self.points[1], self.ridges[1]])
        is_ridge = np.arange(len(rr)) >= len(self.points[0])
        if len(rr) == 0 or n_valid == 0:
            return []
        rho = rr / (self.rows - 1) - 0.5
        mid = np.rint(jj[None, :] - drifts[:, None] * rho[None, :]).astype(np.int64)
        ok = (mid >= 0) & (mid < cols) & (~is_ridge[None, :] | turned[:, None])
        row = np.broadcast_to(np.arange(len(drifts))[:, None], mid.shape)
        acc = np.bincount((row * cols + np.clip(mid, 0, cols - 1))[ok],
                          minlength=len(drifts) * cols).reshape(len(drifts), cols)
        acc = np.asarray(cv2.GaussianBlur(acc.astype(np.float32), (3, 3), 0.6), np.float32)
        peak = np.asarray(cv2.dilate(acc, np.ones((5, 5), np.uint8)), np.float32)
        found = np.argwhere((acc >= peak) & (acc >= 0.3 * n_valid))
        votes = acc[found[:, 0], found[:, 1]]
        out: list[tuple[float, float]] = []
        paths: list[F64] = []
        for i in np.argsort(-votes):
            line = (float(found[i, 1]), float(drifts[found[i, 0]]))
            path = self.path(*line)
            if np.mean(np.abs(path - self.j_side) <= 2.5) > 0.7:
                continue                                      # the side itself
            if any(np.max(np.abs(path - other)) <= 3 for other in paths):
                continue
            out.append(line)
            paths.append(path)
            if len(out) >= top:
                break
        return out

    def least_drift(self) -> float:
        """Drift (columns over the side's length) of a line turned by ``_PILE_RIDGE_TURN``."""
        return math.tan(math.radians(_PILE_RIDGE_TURN)) * float(self.t[-1] - self.t[0]) / self.unit

    def seen(self, path: F64) -> B:
        """Rows where an edge point lies on the line, with a steady colour step across it, or
        (for a line turned from the side: not a printed rule) a thin dark line on it."""
        cols = self.near.shape[1]
        j = np.rint(path).astype(np.int64)
        inside = (j >= 9) & (j < cols - 9) & self.valid
        rows = np.arange(self.rows)
        vis = self.near[rows, np.clip(j, 0, cols - 1)] & inside
        ridge = np.zeros(self.rows, bool)
        if abs(path[-1] - path[0]) >= self.least_drift():
            ridge = self.near_ridge[rows, np.clip(j, 0, cols - 1)] & inside & ~vis
        at = np.flatnonzero(vis)
        if len(at) >= 5:
            # the same colour step all along a sheet's edge (not text, not a crossing object)
            near_cols = np.clip(j[at][:, None] + np.arange(-2, 3)[None, :], 0, cols - 1)
            g = self.grad[at[:, None], near_cols]
            g = g[np.arange(len(at)), np.argmax(np.einsum("nkc,nkc->nk", g, g), axis=1)]
            typical = np.median(g, axis=0)
            cos = g @ typical / (np.linalg.norm(g, axis=1) * max(float(np.linalg.norm(typical)),
                                                                 1e-6) + 1e-9)
            vis[at[cos < 0.7]] = False
        return np.asarray(vis | ridge, bool)

    def is_top_sheet_side(self, mid: float, drift: float) -> bool:
        """Is this line the side of a sheet lying on the one whose side the strip follows?

        See :meth:`doubt`.
        """
        return self.doubt(mid, drift) is None

    def doubt(self, mid: float, drift: float) -> str | None:
        """Why the line (mid, drift) is not the side of a sheet lying on this one, or None.

        Where the line runs inside the quad, the band between them must be blank
        paper (the sheet underneath), the band just inside the line blank too
        (the top sheet's margin), both papers alike and the top one not darker,
        the line seen on most rows. Where it runs outside (the top sheet pokes
        out past the sheet under it), the line must be seen and the quad's side
        unseen (it lies under the top sheet there). And a sheet's edge is seen
        in long runs, not in bits (text).
        """
        path = self.path(mid, drift)
        cols = self.near.shape[1]
        offset = path - self.j_side
        j = np.rint(path).astype(np.int64)
        usable = (j >= 9) & (j < cols - 9) & self.valid
        n_usable = int(usable.sum())
        vis = self.seen(path)
        rows_in = np.flatnonzero((offset > 4) & usable)
        rows_out = np.flatnonzero((offset < -4) & usable)
        if len(rows_in) + len(rows_out) < 0.3 * n_usable:
            return "the side itself"
        if len(rows_out) >= 0.1 * n_usable:
            k = max(3, round(_PILE_RUN / _PILE_ROW_PX) | 1)
            # (seen as a step or as a thin dark line: the edge of a sheet on the pile)
            side_seen = self.near[:, self.j_side] | self.near_ridge[:, self.j_side]
            side_runs = np.convolve(side_seen.astype(np.float64), np.ones(k) / k, mode="same")
            if vis[rows_out].mean() < 0.5:
                return f"unseen where it pokes out ({vis[rows_out].mean():.2f})"
            # (only where the line is seen: past the top sheet's corner, the side under it
            # shows again)
            shows = side_runs[rows_out[vis[rows_out]]] >= 0.5
            if shows.mean() > 0.25:
                return f"the side is seen under it ({shows.mean():.2f})"
        if len(rows_in) >= 0.1 * n_usable:
            off = offset[rows_in]
            if off.mean() < _PILE_MIN_OFFSET:
                return "too near the side"
            if off.max() * self.unit > _PILE_MAX_OFFSET * self.size:
                return "too far inside"
            ji = j[rows_in]
            # (not the few units just outside the line: the top sheet's own thin shadow)
            between = self.marks[rows_in, np.clip(ji - 6, 0, cols)] \
                - self.marks[rows_in, np.clip(self.j_side + 3, 0, cols)]
            margin = self.marks[rows_in, np.clip(ji + 14, 0, cols)] \
                - self.marks[rows_in, np.clip(ji + 3, 0, cols)]
            under = np.median(self.lab[rows_in, np.clip((self.j_side + ji) // 2, 0, cols - 1)],
                              axis=0)
            top = np.median(self.lab[rows_in, np.clip(ji + 6, 0, cols - 1)], axis=0)
            if vis[rows_in].mean() < 0.5:
                return f"unseen inside ({vis[rows_in].mean():.2f})"
            if (between > 0).mean() > 0.2:
                return f"marks between ({(between > 0).mean():.2f})"
            if (margin > 0).mean() > 0.3:
                return f"marks in its margin ({(margin > 0).mean():.2f})"
            if np.linalg.norm(top - under) > 12.0:
                return f"unlike papers ({np.linalg.norm(top - under):.1f})"
            # both paper: about as light as the lightest common surface in the band (a page's
            # paper), not a coloured band or a photograph inside the page
            paper = float(np.percentile(self.lab[self.valid, :, 0], 75))
            if min(top[0], under[0]) < paper - 15.0:
                return f"not paper ({min(top[0], under[0]):.0f} < {paper:.0f} - 15)"
            if top[0] - under[0] < -1.0:
                return f"darker than the sheet under it ({top[0] - under[0]:.1f})"
        runs = np.diff(np.concatenate([[0], vis[usable].astype(np.int8), [0]]))
        lengths = np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)
        if lengths[lengths >= _PILE_RUN / _PILE_ROW_PX].sum() < 0.4 * n_usable:
            return "seen in bits"
        if vis[usable].mean() < 0.45:
            return f"seen on too few rows ({vis[usable].mean():.2f})"
        return None

    def fit(self, mid: float, drift: float) -> F64:
        """Homogeneous line through the edge points along (mid, drift), to sub-pixel."""
        path = self.path(mid, drift)
        vis = self.seen(path)
        rows = np.flatnonzero(vis)
        cols = self.near.shape[1]
        j = np.rint(path[rows]).astype(np.int64)
        near_cols = np.clip(j[:, None] + np.arange(-2, 3)[None, :], 1, cols - 2)
        g = np.einsum("nkc,nkc->nk", self.grad[rows[:, None], near_cols],
                      self.grad[rows[:, None], near_cols])
        best = near_cols[np.arange(len(rows)), np.argmax(g, axis=1)]
        g0, g1, g2 = (np.einsum("nc,nc->n", self.grad[rows, best + k], self.grad[rows, best + k])
                      for k in (-1, 0, 1))
        denom = g0 - 2 * g1 + g2
        frac = np.clip(np.where(np.abs(denom) > 1e-9, 0.5 * (g0 - g2) / np.where(denom == 0, 1,
                                                                                  denom), 0.0),
                       -0.5, 0.5)
        col = best + frac
        if len(rows) < 8:
            col, rows = path, np.arange(self.rows)
        pts = self.a[None, :] + self.t[rows][:, None] * self.along[None, :] \
            + ((col - self.j_side) * self.unit)[:, None] * self.normal[None, :]
        return robust_line(pts, np.ones(len(pts)))


def top_sheet(frame: U8, quad: F64 | Quad, *, passes: int = 3) -> F64:
    """The top sheet of a pile whose outline (or a side of another sheet) ``quad`` may be.

    On a pile, the outline found is often an under-sheet's (its sides are
    strong steps against the desk; the top sheet's are faint steps on paper).
    Along each side, lines a little inside (or poking out past it, turned by a
    few degrees) that are the side of a sheet lying on it replace the side
    (see :meth:`_SideStrip.is_top_sheet_side`); the innermost wins, and the
    search repeats on the new quad (a pile of several sheets). A new quad must
    stay convex, of at least 60 % of the area and about as much like a paper
    format. Costs a few ms per pass on a 1080p frame (the strips only).
    """
    q = np.asarray(quad, np.float64).reshape(4, 2)
    h, w = frame.shape[:2]
    unit = max(1.0, max(h, w) / 1920.0)
    for _ in range(passes):
        lines = []
        changed = False
        for s in range(4):
            strip = _SideStrip(frame, q, s, unit)
            best: tuple[float, float] | None = None
            for mid, drift in strip.candidates():
                if (best is None or mid > best[0]) and strip.is_top_sheet_side(mid, drift):
                    best = (mid, drift)
            if best is None:
                lines.append(np.cross([*q[s], 1.0], [*q[(s + 1) % 4], 1.0]))
            else:
                changed = True
                lines.append(strip.fit(*best))
        if not changed:
            break
        corners = []
        for s in range(4):
            x = np.cross(lines[(s - 1) % 4], lines[s])
            if abs(x[2]) < 1e-12:
                return q
            corners.append(x[:2] / x[2])
        new = np.asarray(corners, np.float64)
        prior = _format_prior(np.stack([q, new]), w, h)
        if not is_convex(new) or polygon_area(new) < 0.6 * polygon_area(q) \
                or prior[1] < prior[0] - 0.15:
            break
        q = new
    return q
