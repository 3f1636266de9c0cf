"""A pile's top sheet: the page lying on other sheets, not the outline of the pile.

Stage 6 of the detector (scanner/detect.py), for a still only. On a pile, the
outline found is often an under-sheet's: its sides are strong steps against
the desk, the top sheet's only faint steps on paper. Lines a little inside the
quad (or poking out of it) that are the side of a sheet lying on it replace
its sides (:func:`top_sheet`): a colour step, or only a thin shadow for a line
turned from the side (a printed rule runs parallel to it). Each side is looked
at in a strip of the full-resolution frame sampled along it
(:class:`_SideStrip`), so the cost is the strips', not the frame's.

Where the numbers come from: every number in this module was set by hand in
926ca49 (the top-sheet pass: "look for the top sheet of a pile inside the
quad found"), for SmartDoc background 05 and the synthetic corpus's piles
(the sheets under a page, as in ``stacked``), which that commit reworked;
no sweep is recorded. Exceptions name their commit in a comment: c2e8449
(the thin dark line of a sheet on the same paper, measured on background 05
at 30 L units deep and 2 px wide; background05_datasheet 0.904 -> 0.918, hard
corpus unchanged) or 6e6f243 (the top sheet's own shadow skipped, both bands
asked to be paper). They are checked by ``python -m benchmarks --only
detection`` (docs/scanner.md, "Detection", step 6) and
tests/scanner/test_detect_pile.py.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from scanner.geometry import Quad, is_convex, polygon_area
from scanner.quads import format_prior
from scanner.refine import robust_line

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]


#: Knobs of :func:`top_sheet` (lengths in strip units: frame px for frames up to 1920 px). Set
#: by hand in 926ca49 (no sweep recorded; module docstring), except the two ridge ones.
_PILE_ROW_PX = 3.0          # spacing of the samples along a side, units
_PILE_ROW_BLUR = 6.0        # smoothing along the side, units: JPEG's blocks fade, long edges stay
_PILE_RUN = 12.0            # a sheet's edge is seen in runs at least this long, units
_PILE_IN = 0.13             # how far inside the quad a top sheet's side is looked for (of its size)
_PILE_OUT = 0.05            # and outside (a top sheet poking out past an under-sheet's side)
_PILE_MAX_OFFSET = 0.09     # a top sheet lies at most this far inside (of the quad's size)
_PILE_MIN_OFFSET = 8.0      # and at least this far, on average (nearer: the same edge, blurred)
_PILE_MAX_TURN = 6.0        # degrees between a top sheet's side and the side under it
#: Least depth (L units) of a thin dark line taken for a sheet's edge, and how many degrees a
#: line must turn from the side for its thin dark line to count: by hand in c2e8449 (the shadow
#: measured 30 L deep on SmartDoc background 05; a printed rule runs parallel to the side).
_PILE_RIDGE = 4.0
_PILE_RIDGE_TURN = 1.5      # (c2e8449, see above; tests/scanner/test_detect_pile.py pins it)
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
        for k in (2, 3):                          # 2 and 3 units either side (c2e8449)
            np.maximum(depth[:, k:-k], np.minimum(light[:, :-2 * k], light[:, 2 * k:])
                       - light[:, k:-k], out=depth[:, k:-k])
        ridge = (depth >= np.roll(depth, 1, axis=1)) & (depth > np.roll(depth, -1, axis=1)) \
            & (depth >= max(_PILE_RIDGE, 2.0 * self.tau)) & self.valid[:, None]    # (c2e8449)
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
            # (not the few units just outside the line: the top sheet's own thin shadow; 6
            # units, 2 before 6e6f243)
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
            # paper), not a coloured band or a photograph inside the page (75th percentile,
            # 15 L units: by hand in 6e6f243)
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
        prior = format_prior(np.stack([q, new]), w, h)
        if not is_convex(new) or polygon_area(new) < 0.6 * polygon_area(q) \
                or prior[1] < prior[0] - 0.15:
            break
        q = new
    return q
