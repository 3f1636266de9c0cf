"""Quadrilaterals: the evidence along each candidate line, and the best quads made of four.

Stage 4 of the detector (scanner/detect.py runs them all; docs/scanner.md,
"Detection", numbers them):

- **Evidence along each line** (:class:`_LineEvidence`). Cumulative sums
  along each line of: edge pixels with the line's orientation (within a
  pixel), and of those, steps. Any stretch's figures are then O(1). The same
  evidence first ranks the Hough peaks of scanner/edges.py
  (:func:`_distinct_lines`: each counting only pixels no better line has
  claimed, so that the many lines through one strong edge or a curved cable do
  not crowd out a page's faint sides); the frame's borders are then added,
  for pages that run out of the frame.
- **Quadrilaterals** (:func:`best_quads`). Every convex quad of two roughly
  opposite pairs of lines is scored: the length of its sides backed by
  evidence beyond what a line through clutter gets (a thin line along a side,
  such as the shadow line where a sheet lies on another, counts half), times
  whether its corners are real corners (edges reach each from both sides),
  whether no step runs on past them, whether its proportions once rectified
  are a paper format's (:func:`format_prior`, also asked of a pile's top
  sheet by scanner/piles.py), and a penalty per side on the frame's border
  (such a quad is the part of a page the frame shows: it is asked no format,
  only not to be deeper across the cut than a format allows; a line across
  the page, whose neighbours run on past both its ends, is no side).

Where the numbers come from: set by hand, in the commit each comment names,
and checked since by ``python -m benchmarks --only detection`` (development
seeds 40000+, validation seeds 60000+, the SmartDoc sample; docs/scanner.md
has the last run). The commits: ede708c (the first detector: no measurement
recorded); f191562 ("detection by step evidence ...", developed on the
synthetic hard corpus's seeds 40000+ and the SmartDoc sample: synthetic set
0.93 -> 0.95 mean Jaccard); 0d3d18b (corners and thin shadow lines in the
score: SmartDoc mean 0.974); 4b58dcf, d2da1bc and a515140 (their messages
say what each fixed); c623bbc (from failures of the validation set, which is
therefore not entirely blind: docs/scanner.md). The paper formats are facts
(ISO 216, ISO/IEC 7810, US letter).
"""

from __future__ import annotations

import functools
import heapq
import logging
import math

import numpy as np
import numpy.typing as npt

from scanner.edges import EdgeImage, refit_lines

log = logging.getLogger(__name__)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def best_quads(det: EdgeImage) -> tuple[F64, F64] | None:
    """Corners (N, 4, 2) of the best quads, best first, with their scores; or None."""
    thetas, rhos = det.candidate_lines()
    if len(thetas) < 2:
        return None
    # keep the lines with the most side evidence (steps), not the most edge pixels: a
    # cable's or a pen's outline has many edge pixels and few steps
    evidence = _LineEvidence(det, thetas, rhos, border_from=len(thetas), tables_wanted=False)
    keep = _distinct_lines(det, evidence, thetas, rhos)
    thetas, rhos = refit_lines(thetas[keep], rhos[keep], *det.voters)
    n_found = len(thetas)
    thetas = np.concatenate([thetas, [0.0, 0.0, np.pi / 2, np.pi / 2]])
    rhos = np.concatenate([rhos, [0.0, det.w - 1.0, 0.0, det.h - 1.0]])
    profiles = _LineEvidence(det, thetas, rhos, border_from=n_found)
    quads = _enumerate_quads(thetas, rhos, det.w, det.h, det.params.min_area)
    if quads is None:
        return None
    lines, corners = quads
    scores = profiles.score(lines, corners, keep=max(1, det.params.finalists))
    order = np.argsort(-scores)
    best: list[int] = []
    for i in order:
        if scores[i] <= 0 or len(best) >= max(1, det.params.finalists):
            break
        # a finalist within 2 px of a better one is the same quad (by hand, 4b58dcf)
        if any(np.max(np.linalg.norm(corners[i] - corners[j], axis=1)) < 2.0 for j in best):
            continue
        best.append(int(i))
    if not best:
        return None
    log.debug("best quad score %.3f of %d quads, %d lines", scores[best[0]], len(scores),
              n_found)
    return corners[best], scores[best]


def _distinct_lines(det: EdgeImage, evidence: _LineEvidence, thetas: F64, rhos: F64) -> I64:
    """The lines with the most evidence of their own, best first.

    Greedy: a line's evidence pixels are claimed once it is chosen, and a later line
    counts only unclaimed ones; so the many lines through one strong edge (a long
    desk edge, a curved cable) do not crowd out a page's faint sides.
    """
    flat_all = evidence.flat
    pixels = [flat_all[k, evidence.step_at[k]] for k in range(len(thetas))]
    # padded by a row and a pixel both ends: a claimed pixel's neighbours need no clipping
    pad = det.w + 1
    claimed = np.zeros(det.h * det.w + 2 * pad, bool)
    pixels = [p + pad for p in pixels]
    around = np.array([dy * det.w + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    chosen: list[int] = []
    # lazy greedy: a line's count of unclaimed pixels only ever drops, so a stale count
    # on top of the heap is recounted and pushed back until the top one is fresh
    heap = [(-float(len(p)), k) for k, p in enumerate(pixels)]
    heapq.heapify(heap)
    while heap and len(chosen) < det.params.max_lines:
        neg, k = heapq.heappop(heap)
        own = float(np.count_nonzero(~claimed[pixels[k]]))
        if heap and own < -heap[0][0] and own < -neg:
            heapq.heappush(heap, (-own, k))
            continue
        if own < 0.01 * det.diag:          # less than 1 % of the diagonal its own (f191562)
            break
        chosen.append(k)
        claimed[(pixels[k][:, None] + around[None, :]).ravel()] = True
    return np.sort(np.asarray(chosen, np.int64))


class _LineEvidence:
    """Per candidate line, cumulative sums along it of side evidence.

    A pixel of a line is *edge* evidence when an edge pixel lies on the line
    (within a pixel) with the line's orientation, and *step* evidence when the
    colour also differs across the line near it and farther away (a side of a
    sheet, not a thin printed rule, a cable or a shadow line).
    """

    #: What a frame border stands for: an unseen side (by hand, f191562).
    BORDER_EVIDENCE = 0.5
    #: Per side on the frame's border: a whole page is likelier. 0.7 in f191562, 0.3 by hand in
    #: d2da1bc: a sleeve running out of the frame beat an identity card (corpus id_card).
    BORDER_PENALTY = 0.3
    #: Side evidence that says nothing either way: what a line through clutter gets (by hand,
    #: f191562; docs/scanner.md, "Detection", step 4).
    BASE_RATE = 0.35

    def __init__(self, det: EdgeImage, thetas: F64, rhos: F64, border_from: int,
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
        # (within 15 degrees: by hand, f191562) is edge evidence; when that pixel is a step,
        # step evidence
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
        # but also a printed rule) is worth half a step (by hand, 0d3d18b)
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

    # (keep: best_quads passes DetectorParams.finalists)
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
        # (in thousands of px: a unit, no threshold)
        gain = ((cov - self.BASE_RATE) * seen * real).sum(axis=1) / 1000.0
        weakest = np.where(real, cov, 1.0).min(axis=1)
        n_border = border.sum(axis=1)
        # a side may be almost unseen (5 % backed: 0.15 before c623bbc, lowered for the white
        # on white frames of the validation set); at most two sides on the border; each side at
        # least half in the frame (by hand, ede708c)
        ok = (weakest > 0.05) & (n_border <= 2) & ((seen / length).min(axis=1) > 0.5) & (gain > 0)
        bound = np.where(ok, gain * self.BORDER_PENALTY ** n_border, 0.0)
        order = np.argsort(-bound)
        scores = np.zeros(n_quads)
        chunk = 2048        # quads scored per batch: speed only, the scores do not depend on it
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
        # the stretches next to a corner (8 % of the side) and past it (15 %), 3 px at least:
        # by hand (ede708c for the 15 %, 0d3d18b for the 8 %)
        r_near = np.round(np.maximum(0.08 * length, 3.0)).astype(np.int64) * direction
        r_past = np.round(np.maximum(0.15 * length, 3.0)).astype(np.int64) * direction
        top = self.inside.shape[1] - 1
        # edge share next to corner s (0) and s + 1 (1); none of the stretch in the frame: 0.5,
        # unknown (by hand, f191562)
        near = np.stack([
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
        # both ends on the border: unknown, 0.5 (f191562)
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
        # the factors' weights, all by hand: corner 0.6 + 0.4 (0d3d18b), overrun 0.5 (ede708c),
        # a line across the page 0.8 (a515140, measured there together with a change dropped
        # since in bfd56e2); docs/scanner.md, "Detection", step 4
        return np.asarray(np.prod((0.6 + 0.4 * corner) * (1.0 - 0.5 * over)
                                  * (1.0 - 0.8 * across), axis=1)
                          * format_prior(corners, self.w, self.h, border), np.float64)



#: Long / short side of the documents a kiosk takes: US letter (8.5 x 11 in), A-series (ISO 216,
#: sqrt 2), ID-1 cards (ISO/IEC 7810, 85.60 x 53.98 mm). Format facts.
FORMAT_RATIOS = np.array([279.4 / 215.9, math.sqrt(2.0), 85.6 / 53.98])


def format_prior(corners: F64, w: int, h: int, border: B | None = None) -> F64:
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
        # a camera's focal length: 0.3 to 10 times the frame's long side (by hand, f191562)
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
    # free within 5 % of a format's ratio, a Gaussian of 0.15 (in log ratio) beyond, a floor of
    # 0.2: by hand, f191562
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
    # opposite sides: within 40 degrees of parallel, not crossing inside the frame (or 10 %
    # around it): by hand, ede708c
    far = ~np.all((pts[i, j] > -0.1 * np.array([w, h])) & (pts[i, j] < 1.1 * np.array([w, h])),
                  axis=1) | ~np.isfinite(pts[i, j]).all(axis=1)
    pairs = np.flatnonzero((angle[i, j] < np.radians(40)) & far)
    if len(pairs) < 2:
        return None
    pi_, pj_ = i[pairs], j[pairs]
    p, q = _pairs_of(len(pairs))
    a, b, c, d = pi_[p], pj_[p], pi_[q], pj_[q]
    # corners near the frame (first, on the K x K crossings: it rules out most pairs of pairs)
    margin = 0.15           # corners at most 15 % of the frame outside it (by hand, f191562)
    with np.errstate(invalid="ignore"):
        near = np.isfinite(pts).all(axis=2) \
            & (pts[..., 0] > -margin * w) & (pts[..., 0] < (1 + margin) * w) \
            & (pts[..., 1] > -margin * h) & (pts[..., 1] < (1 + margin) * h)
    keep = near[a, c] & near[c, b] & near[b, d] & near[d, a]
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    cross_ok = np.minimum.reduce([angle[a, c], angle[a, d], angle[b, c], angle[b, d]])
    # adjacent sides at least 30 degrees apart (by hand, ede708c)
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
    # no slivers: a page seen at a slant is still no thinner than 1:5 (by hand, f191562)
    sides = np.linalg.norm(np.nan_to_num(edges), axis=2)
    ok &= sides.min(axis=1) > 0.2 * sides.max(axis=1)
    if not np.any(ok):
        return None
    return lines[ok], corners[ok]
