"""Edges and lines: stages 1-3 of finding a page (scanner/detect.py runs them all).

1. **Edges.** The working image (640 px for a still, 320 px for a live
   preview frame) is converted to CIE Lab, so that a white page on a white but
   tinted desk still differs (in chroma). The colour gradient is Di Zenzo's
   structure tensor over L, a, b, smoothed so that orientations stay steady
   along a straight edge despite JPEG's blocky chroma; Canny thins it to edge
   pixels, with thresholds just above the frame's own noise: the side of a
   sheet lying on other sheets is a step of only a few Lab units.
2. **Steps, not strokes.** An edge pixel counts only where the colour differs
   from one side of it to the other near it *and* farther away (a sheet's
   side is a step; text strokes, printed rules, a cable or a pen's reflection
   are thin ridges with the same surface on both sides).
3. **Lines.** Step pixels vote in a Hough accumulator, each for every
   orientation within a few degrees of its own (alike: the peak is where the
   pixels line up, not where their noisy orientations point).
   :func:`refit_lines` refits the lines kept to their pixels. Which peaks are
   kept (ranked by the step evidence along them) is scanner/quads.py's
   business, since it measures that evidence.

The per-pixel tables left on :class:`EdgeImage` (``edge_bin``, ``is_step``,
``voters``) are what the later stages read.

Where the numbers come from: the knobs are :class:`DetectorParams`'
(scanner/detectparams.py). The numbers written here were set by hand, with
no sweep recorded, in the commit each comment names: ede708c (the first
detector), f191562 ("detection by step evidence ...", developed on the
synthetic hard corpus's seeds 40000+ and the SmartDoc sample: "the synthetic
set (14 categories) goes from 0.93 to 0.95 mean Jaccard") or 4b58dcf; all
are checked by ``python -m benchmarks --only detection`` (development seeds
40000+, validation seeds 60000+, SmartDoc; docs/scanner.md). The others are
facts of the formats and kernels used (int16, Sobel's weights).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from scanner.detectparams import DetectorParams

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


class EdgeImage:
    """Edges, step pixels and candidate lines of one working image."""

    def __init__(self, image: U8, params: DetectorParams) -> None:
        self.params = params
        self.h, self.w = image.shape[:2]
        self.diag = math.hypot(self.w, self.h)
        lab = np.asarray(cv2.cvtColor(np.multiply(image, np.float32(1 / 255), dtype=np.float32),
                                      cv2.COLOR_BGR2Lab), np.float32)
        self.lab = np.asarray(cv2.GaussianBlur(lab, (0, 0), params.blur), np.float32)
        # scale 1/8: the 3 x 3 Sobel kernel's absolute weights sum to 8 (Lab units per px)
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
        # gradient is the noise's (sensor, JPEG, desk grain); every 4th px is enough (f191562)
        noise = float(np.median(self.magnitude[::4, ::4]))
        self.edge_low = max(params.edge_low, params.noise_factor * noise)
        self.edge_high = max(params.edge_high, 2 * params.noise_factor * noise)
        unit = 16.0          # Canny works on integer gradients: 1/16 Lab unit steps (f191562)
        gx1, gy1 = cv2.polarToCart(self.magnitude * np.float32(unit), self.theta)
        dx = np.clip(gx1, -32767, 32767).astype(np.int16)          # int16's range
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
        # a pixel's vote grows with its gradient up to twice the high threshold (f191562)
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
        # 1, 2.5 and 5 bands away (by hand, f191562; docs/scanner.md, "Steps, not strokes")
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
        :func:`refit_lines`.
        """
        xs, ys, theta, weight = self.step_pixels()
        min_len = 0.01 * self.diag          # 1 % of the diagonal (f191562, plain since 4b58dcf)
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
        # (the votes smoothed over +-1 px of rho, weights 1/2, 1, 1/2: by hand, ede708c)
        votes = np.asarray(cv2.sepFilter2D(votes, -1, np.array([0.5, 1.0, 0.5], np.float32),
                                           np.array([1.0], np.float32),
                                           borderType=cv2.BORDER_CONSTANT), np.float32)
        # theta wraps around: a line at 179.5 degrees and rho is the line at 0 degrees and -rho
        # peaks are kept +-2 degrees and +-3 px apart (by hand: ede708c, f191562)
        wrap = max(1, n_bins // 90)
        wrapped = np.vstack([votes[-wrap:, ::-1], votes, votes[:wrap, ::-1]])
        peak = np.asarray(cv2.dilate(wrapped, np.ones((2 * wrap + 1, 7), np.uint8)),
                          np.float32)[wrap:-wrap]
        cand = np.flatnonzero((votes >= peak) & (votes > 0.6 * min_len))   # (0.6: f191562)
        if len(cand) == 0:
            return np.empty(0), np.empty(0)
        strength = votes.ravel()[cand]
        order = np.argsort(-strength)[: self.params.max_peaks]
        thetas = all_thetas[cand[order] // n_rho]
        rhos = (cand[order] % n_rho - diag).astype(np.float64)
        self.voters = (xs, ys, theta)
        return thetas, rhos

def refit_lines(thetas: F64, rhos: F64, xs: I64, ys: I64, pix_theta: F64) -> tuple[F64, F64]:
    """Least-squares refit of each line to the voting pixels lying along it, all at once.

    A line moves only if enough pixels (8) back it and the fit turns it by less
    than 1.5 degrees. The pixels are those within 1.6 px of it and 3 degrees of
    its orientation. All four numbers set by hand in f191562 (module docstring).
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
