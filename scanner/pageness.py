"""How much the inside of a quadrilateral looks like a page: paper, lying in the tray.

The quads of scanner/quads.py are scored by their outline alone: sides backed by
colour steps, real corners, a paper format's proportions. On a cluttered desk
the loudest outline is often not the page: a magazine cover, a wallet, a phone,
or a quad made of one side of the page and three of the clutter around it. A
person tells them apart by what is inside: a page is **one bright, even
surface** (the paper) carrying a little ink, and it is the **brightest large
surface** in sight, or near it; a magazine cover or a photograph is many
colours, a wallet or a phone is dark, a quad straddling the page and the desk
is two surfaces.

:func:`page_likeness` measures that on a grid of points inside each quad (its
sides inset, so that the outline's own pixels do not count), on the working
image the detector already has in CIE Lab:

- ``even``: the share of the points within ``PAPER_DELTA_E`` of the paper's
  colour (the median of the brightest 40 % of the points: the ink is darker);
- ``dimmer``: how much darker the paper is than the frame's brightest
  surfaces (``BRIGHT_PERCENTILE`` of the frame's lightness): nothing within
  ``BRIGHT_SLACK``, everything ``BRIGHT_SLACK + BRIGHT_RANGE`` below;
- ``beyond``: a **consistent border**: beyond a page's sides lies something
  else, or much the same all round (a white desk, a pile); a quad with the
  page's own paper beyond one side only (cut short at a printed rule or a
  fold) loses up to ``BORDER_WEIGHT``.

They are folded into a factor between ``FLOOR`` and 1 that multiplies a quad's
outline score (:func:`rerank`), with :func:`centrality` (the page lies in the
middle of the tray, another sheet beside it: up to ``CENTRE_WEIGHT`` less for
a quad centred on a corner of the frame). It tells a page from what is not one, not one
page-like quad from another: every quad whose measures reach ``FULL`` gets 1,
and the outline decides among them (an identity card's blue header band makes
it less "even" than the quad inside the band; the card must still win). Soft,
so that a colourful document alone on the tray still wins when nothing else
has an outline.

Calibration (``python -m devtools.pageness_calibration``, in-sample seeds
only: ``distractor`` 90000 + i and ``white_on_white_clutter`` 92000 + i, 48
each, and 6 frames per category of the hard corpus's development seeds
40000 +; the held-out seeds 91000 +, 93000 + were not used). Of 180 true
pages at the live working size, ``even`` is above 0.49 in 90 % (median 0.75)
and ``dimmer`` below 3 L units in 95 %; of 297 outline finalists that are not
the page (Jaccard < 0.5), half have ``even`` below 0.40 and a quarter are 15
or more L units dimmer. The two overlap (a quad inside the page is paper
too): the factor only keeps the clearly un-page-like from winning. With the
constants below, 72 % of the true pages get the full factor and 14 % fall
below the live path's look-again threshold (``recheck_below`` 0.8), against
21 % and 72 % of the wrong finalists (still, 640 px: 68 % / 13 % against
17 % / 72 %). Centrality is not part of these figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

# Where the values come from: chosen by hand while looking at in-sample frames (distractor
# 90002 and 90003, white_on_white_clutter 92030, the hard corpus's id_card 53000 and 53004 at
# development seeds), then checked, unchanged, by the calibration run of the module docstring
# and by the in-sample figures of docs/scanner.md ("Detection", stages 7-8). No sweep.

#: Points sampled across and along each quad (a GRID x GRID grid): hand choice (256 points,
#: well under a millisecond for the preview's six finalists).
GRID = 16
#: Share of each side's length left out at both ends and along the sides: hand choice (a 320 px
#: preview's outline is 1-3 px off; 10 % of a page is 10-30 px).
INSET = 0.1
#: Colour distance (CIE Lab units) within which a point is the paper: text anti-aliased at the
#: working size is farther, the paper's own shading (a page bent, a soft shadow) nearer
#: (hand choice; calibration run: true pages' ``even`` median 0.75 with it).
PAPER_DELTA_E = 8.0
#: ``even`` below EVEN_NONE counts for nothing, above EVEN_FULL in full (calibration run: 90 %
#: of true pages above 0.49, half of the wrong finalists below 0.40).
EVEN_NONE = 0.2
EVEN_FULL = 0.7  # with FULL, an even 0.55 (identity card with a header band) keeps ~0.99
#: The frame's brightest surfaces: this percentile of its lightness (hand choice: the page is
#: 10-50 % of the frame).
BRIGHT_PERCENTILE = 90.0
#: The paper is as bright as the frame's brightest surfaces within BRIGHT_SLACK (L units), and
#: counts for nothing BRIGHT_SLACK + BRIGHT_RANGE below them (calibration run: 95 % of true
#: pages within 3 L units, a quarter of the wrong finalists 15 or more below).
BRIGHT_SLACK = 10.0
BRIGHT_RANGE = 15.0  # 25 let a beige sheet 22 darker than the page outrank it (distractor 90488)
#: The least factor: a quad that looks nothing like a page keeps this share of its score (hand
#: choice: soft, so that a document alone on the tray always wins).
FLOOR = 0.25
#: Likeness (the product of the measures) from which a quad is a page in full: the factor tells
#: pages from what is not one, not one page-like quad from another (an identity card's printed
#: frame is as page-like as the card), which the outline's score does. 0.9 lost two in-sample
#: identity cards to the quad inside their header band (id_card 53000, 53004: 0.96 -> 0.82).
FULL = 0.75
#: Points sampled just outside each side, along its middle 70 %, this far out (a share of the
#: quad's mean side, at least BORDER_MIN_PX working pixels): hand choice, past the 1-3 px of a
#: preview's outline error and inside the 20-30 px a printed rule lies from a page's edge.
BORDER_POINTS = 8
BORDER_OUT = 0.04  # of the mean side (see above)
BORDER_MIN_PX = 3.0  # working pixels (see above)
#: What a side with the paper on both sides (a printed rule, a fold: the quad is cut short there)
#: costs: the excess of its share of paper outside over the quad's median side's, beyond
#: BORDER_FREE (a sheet's corner lifted, a pen lying across a side, are nothing), at most
#: BORDER_WEIGHT (hand choice on distractor 90002: its quad cut at a rule fell from first).
#: (BORDER_FREE was set after a frame of the hard corpus's validation seeds, cluttered#71000,
#: lost its page to the sheet under it with no dead zone: that set is not blind to this module.)
BORDER_FREE = 0.25
BORDER_WEIGHT = 0.6  # see above
#: What lying off the frame's centre costs, at most (a quad centred on a frame's corner): hand
#: choice on in-sample distractor frames where the still took a whole white sheet beside the
#: page (90398, 90363); see :func:`centrality`.
CENTRE_WEIGHT = 0.3


def _grid() -> tuple[F64, F64]:
    u = np.linspace(INSET, 1.0 - INSET, GRID)
    uu, vv = np.meshgrid(u, u)
    return uu.ravel(), vv.ravel()


_U, _V = _grid()
#: How many of the grid points are "the brightest 40 %" the paper colour is taken from (hand
#: choice: text and a header band cover less than 60 % of a page).
_TOP = int(np.ceil(0.4 * GRID * GRID))
# bilinear weights of the four corners (tl, tr, br, bl in cyclic order) at each grid point
_WEIGHTS = np.stack([(1 - _U) * (1 - _V), _U * (1 - _V), _U * _V, (1 - _U) * _V], axis=1)


def frame_brightness(lab: F32) -> float:
    """The lightness of the frame's brightest surfaces (``BRIGHT_PERCENTILE`` of L)."""
    return float(np.percentile(lab[::2, ::2, 0], BRIGHT_PERCENTILE))


@dataclass(frozen=True)
class Measures:
    """The raw measures of some quads, one value per quad (what :func:`page_likeness` folds)."""

    even: F64        # share of the inside within PAPER_DELTA_E of the paper's colour
    dimmer: F64      # how much darker the paper is than the frame's brightest surfaces (L units)
    beyond: F64      # excess share of paper beyond the quad's most papery side (0 .. 1)


def measure(lab: F32, corners: F64, brightest: float | None = None) -> Measures:
    """The raw measures of each quad (see the module's docstring).

    ``lab``: the working image in CIE Lab (float, L in 0-100), H x W x 3;
    ``corners``: (N, 4, 2) quads in cyclic order, working pixels;
    ``brightest``: :func:`frame_brightness` of ``lab`` (computed when not given).
    """
    corners = np.asarray(corners, np.float64).reshape(-1, 4, 2)
    if brightest is None:
        brightest = frame_brightness(lab)
    if len(corners) == 0:
        empty = np.empty(0)
        return Measures(empty, empty, empty)
    h, w = lab.shape[:2]
    points = _WEIGHTS @ corners                                            # (N, G, 2)
    x = np.clip(np.rint(points[..., 0]).astype(np.int64), 0, w - 1)
    y = np.clip(np.rint(points[..., 1]).astype(np.int64), 0, h - 1)
    samples = lab[y, x].astype(np.float64)                                 # (N, G, 3)
    # the paper: the median colour of the brightest 40 % of the points (the ink is darker)
    brightest_points = np.argpartition(-samples[..., 0], _TOP - 1, axis=1)[:, :_TOP]
    paper = np.median(np.take_along_axis(samples, brightest_points[..., None], axis=1), axis=1)
    distance = np.linalg.norm(samples - paper[:, None, :], axis=2)
    return Measures(even=np.mean(distance < PAPER_DELTA_E, axis=1),
                    dimmer=brightest - paper[:, 0], beyond=_paper_beyond(lab, corners, paper))


def page_likeness(lab: F32, corners: F64, brightest: float | None = None) -> F64:
    """A factor in [``FLOOR``, 1] per quad: how much its inside looks like a page.

    Arguments as :func:`measure`'s.
    """
    m = measure(lab, corners, brightest)
    even_f = np.clip((m.even - EVEN_NONE) / (EVEN_FULL - EVEN_NONE), 0.0, 1.0)
    bright_f = np.clip(1.0 - (m.dimmer - BRIGHT_SLACK) / BRIGHT_RANGE, 0.0, 1.0)
    excess = np.clip((m.beyond - BORDER_FREE) / (1.0 - BORDER_FREE), 0.0, 1.0)
    border_f = 1.0 - BORDER_WEIGHT * excess
    likeness = np.minimum(even_f * bright_f * border_f / FULL, 1.0)
    return np.asarray(FLOOR + (1.0 - FLOOR) * likeness, np.float64)


def _paper_beyond(lab: F32, corners: F64, paper: F64) -> F64:
    """Per quad, how much more one side has the paper beyond it than the quad's usual side.

    A page's border is where the paper ends: beyond its sides lies something else, or
    (a white page on a white desk, a sheet on a pile) much the same on every side.
    A side drawn along a printed rule or a fold has the page's own paper beyond it
    where the other sides do not.
    """
    h, w = lab.shape[:2]
    ahead = np.roll(corners, -1, axis=1)
    centre = corners.mean(axis=1, keepdims=True)                          # (N, 1, 2)
    side = ahead - corners                                                 # (N, 4, 2)
    length = np.linalg.norm(side, axis=2, keepdims=True)
    normal = np.stack([side[..., 1], -side[..., 0]], axis=2) / np.maximum(length, 1e-9)
    mid = (corners + ahead) / 2.0
    outward = np.sign(np.sum(normal * (mid - centre), axis=2))[..., None]
    reach = np.maximum(BORDER_OUT * length.mean(axis=1, keepdims=True), BORDER_MIN_PX)
    t = np.linspace(0.15, 0.85, BORDER_POINTS)
    along = corners[:, :, None, :] + t[None, None, :, None] * side[:, :, None, :]
    points = along + (outward * normal * reach)[:, :, None, :]            # (N, 4, P, 2)
    x = np.rint(points[..., 0]).astype(np.int64)
    y = np.rint(points[..., 1]).astype(np.int64)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    samples = lab[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)].astype(np.float64)
    near = np.linalg.norm(samples - paper[:, None, None, :], axis=3) < PAPER_DELTA_E
    # off the frame, nothing is known: counted as not paper
    share = np.mean(near & inside, axis=2)                                 # (N, 4)
    beyond = np.clip(share.max(axis=1) - np.median(share, axis=1), 0.0, 1.0)
    return np.asarray(beyond, np.float64)


def centrality(corners: F64, w: int, h: int) -> F64:
    """A factor in [1 - ``CENTRE_WEIGHT``, 1] per quad: how near the frame's centre it lies.

    The citizen lays the page in the middle of the tray, which the camera frames; another
    sheet, a magazine, lies beside it. 1 for a quad centred in the frame, 1 - CENTRE_WEIGHT
    for one centred on a corner of the frame (quadratic in the distance between).
    """
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    reach = float(np.hypot(w, h)) / 2.0
    off = np.linalg.norm(np.asarray(corners, np.float64).mean(axis=1) - centre, axis=1) / reach
    return np.asarray(1.0 - CENTRE_WEIGHT * np.minimum(off, 1.0) ** 2, np.float64)


def rerank(lab: F32, corners: F64, scores: F64) -> tuple[F64, F64, F64]:
    """The quads ranked again by score x :func:`page_likeness` x :func:`centrality`, best first.

    Returns (corners, scores, likeness), each in the new order.
    """
    likeness = page_likeness(lab, corners)
    h, w = lab.shape[:2]
    adjusted = np.asarray(scores, np.float64) * likeness * centrality(corners, w, h)
    order = np.argsort(-adjusted, kind="stable")
    return corners[order], adjusted[order], likeness[order]
