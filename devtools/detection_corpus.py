"""A harder synthetic validation set for page detection: hand-held desk photos.

``devtools.scanner_corpus`` covers the kiosk's own tray (a camera straight
above, one page, mild clutter). The SmartDoc 2015 frames the detector must
also handle are harder: a phone held over a desk at an angle, the page lying
on other sheets, a cable and pens across it, fingers on its margin, a
colourful magazine page, other papers and objects around, motion blur, the
page touching the frame's edge or running out of it (``cut``: the truth is the
whole page; score those with :func:`scanner.geometry.visible_jaccard`, on what
the frame shows). This module composes such frames, by
category, with the page's true corners (tl, tr, br, bl of the **top** page).

How a frame is made (everything drawn from one seed, so the set is the same
on every machine):

- a virtual camera (focal length, tilt up to 45 degrees, roll, distance) gives
  the homography from the desk plane (mm) to the frame;
- the desk (plain, near-white with a tint, wood, tiles, fabric, dark) is drawn
  in desk coordinates and seen through that homography, so its straight
  lines converge as a real desk's do;
- sheets and objects lie on the desk: sheets under the page (small offsets
  and turns), other papers, a magazine, a mouse, a mug; then the page itself
  (``drivers.camera.synth`` sample pages, generated letters, or a generated
  colourful magazine page); then what lies on it: a cable, pens, a
  highlighter, fingers; each casts a soft shadow;
- light (colour cast, gradient, vignetting, a soft shadow), defocus or motion
  blur, sensor noise and JPEG compression with chroma subsampling, as a
  phone's video frames have.

``kiosk`` and ``id_card`` frames come from ``drivers.camera.synth.synthesize``
itself (the kiosk's tray, seen from above), so one run covers both worlds.

Nothing here is fitted to the SmartDoc sample frames: the ranges are those of
hand-held phone video of A4 pages on a desk (page 30-90 % of the frame
height, tilt up to 45 degrees).

Seeds and splits
----------------
- ``CATEGORIES`` and ``cut``: **in-sample** 40000 + 1000 c + i (the detector was designed
  and tuned on these), **held-out** ``VALIDATION_SEED`` = 60000 + 1000 c + i (c: index in
  ``ALL_CATEGORIES``; ``devtools.tray_scenes`` numbers its cluttered cards c = 15).
- ``distractor`` (issue #17): the kiosk's tray, page and light of the ``kiosk`` frames
  with :mod:`drivers.camera.distractors` beside, under or over the page's edges
  (magazine covers, photographs, a phone, a wallet, keys and a pen, other white
  sheets), never over a corner. Kept apart from ``ALL_CATEGORIES`` so no other
  category's seeds move. **in-sample** ``DISTRACTOR_SEEDS`` = 90000 + i (tune on
  these), **held-out** ``DISTRACTOR_HELDOUT_SEEDS`` = 91000 + i (report only, never
  tune), i < 1000; frame i's main kind is ``DISTRACTOR_KINDS[i % 6]`` (balanced),
  with 0-2 more of other kinds, all recorded in ``HardFrame.distractors``.
- ``white_on_white_clutter`` (issue #17, SmartDoc background 05): the desk renderer's
  hand-held phone (tilt 10-40 degrees) over a pale, tinted desk the page's own white,
  the page sometimes on a sheet or two, a magazine cover (``drivers.camera.distractors``'
  drawing, full-bleed photo and colour blocks) beside the page or partly under it, often a
  dark monitor base at the frame's edge, a mouse, a mug, a cable and pens across the page,
  uneven light (a soft shadow in most frames). The page's border is the faintest edge of
  the frame; the cover's are the strongest. Kept apart from ``ALL_CATEGORIES`` like
  ``distractor``. **in-sample** ``WHITE_ON_WHITE_SEEDS`` = 92000 + i (tune on these),
  **held-out** ``WHITE_ON_WHITE_HELDOUT_SEEDS`` = 93000 + i (report only), i < 1000.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.distractors import DistractorKind, Distractors, Placed, magazine_cover
from drivers.camera.synth import Defects, render_text_page, sample_pages, synthesize

Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Corners = npt.NDArray[np.float32]

A4_MM = (210.0, 297.0)

#: Every category, in the order a run goes through them.
CATEGORIES: tuple[str, ...] = (
    "plain",          # one page on a plain desk, moderate perspective (the easy case)
    "white_desk",     # white page on a near-white, slightly tinted desk
    "stacked",        # other sheets under the page, offset by a few mm and turned slightly
    "cable_pens",     # a dark cable and pens or a highlighter lying across the page
    "fingers",        # fingers holding the page down on one side
    "perspective",    # a strongly tilted camera (30-45 degrees)
    "motion",         # motion blur of a hand-held phone
    "magazine",       # a colourful magazine page, sometimes printed to its edges
    "papers_nearby",  # other papers, a magazine and objects around the page
    "frame_edge",     # the page touching or slightly crossing the frame's edge
    "textured",       # wood, tiles or fabric desks
    "cluttered",      # all of it at once: stacked sheets, white desk, cable, pens, objects
    "kiosk",          # drivers.camera.synth kiosk frames with clutter, hand, tilt
    "id_card",        # an identity card (ID-1) on the kiosk tray
)

#: The page running out of the frame by 8-25 % of its size. Apart from ``CATEGORIES``: the
#: whole page is not in the frame, so its score is on what the frame shows
#: (:func:`scanner.geometry.visible_jaccard`), not SmartDoc's.
CUT = "cut"
ALL_CATEGORIES: tuple[str, ...] = (*CATEGORIES, CUT)

#: The kiosk's tray with distractors around the page (issue #17). Apart from
#: ``ALL_CATEGORIES``, with seeds of its own (module docstring), so that adding it moves
#: no other category's seeds (``devtools.tray_scenes.seed_of`` counts ``ALL_CATEGORIES``).
DISTRACTOR = "distractor"
DISTRACTOR_KINDS: tuple[DistractorKind, ...] = tuple(DistractorKind)
#: Frame i of the in-sample split is seed 90000 + i; of the held-out split 91000 + i.
DISTRACTOR_SEEDS = 90000
DISTRACTOR_HELDOUT_SEEDS = 91000

#: SmartDoc background 05 on the desk renderer (module docstring): a white page on a white
#: desk beside a magazine cover, seen by a hand-held phone. Apart from ``ALL_CATEGORIES``.
WHITE_ON_WHITE = "white_on_white_clutter"
#: Frame i of the in-sample split is seed 92000 + i; of the held-out split 93000 + i.
WHITE_ON_WHITE_SEEDS = 92000
WHITE_ON_WHITE_HELDOUT_SEEDS = 93000
#: The categories with seeds of their own, outside ``ALL_CATEGORIES``.
APART: tuple[str, ...] = (DISTRACTOR, WHITE_ON_WHITE)


@dataclass(frozen=True, eq=False)
class HardFrame:
    """One frame of the set, and the truth about it."""

    name: str
    category: str
    frame: Image = field(repr=False)
    corners: Corners = field(repr=False)            # tl, tr, br, bl of the top page
    page_size_mm: tuple[float, float] = A4_MM
    #: ``distractor`` frames: what was drawn, the frame's main kind first.
    distractors: tuple[Placed, ...] = field(default=(), repr=False)

    @property
    def main_distractor(self) -> DistractorKind | None:
        """The kind this frame was made for (the split is balanced on it), None if none."""
        return self.distractors[0].kind if self.distractors else None


#: Seeds of the validation frames the benchmark and the tests use. The detector was
#: designed and tuned on another range (40000 + 1000 c + i), so these say how it does
#: on frames it was not tuned on.
VALIDATION_SEED = 60000


def hard_corpus(per_category: int, seed: int = VALIDATION_SEED,
                categories: Sequence[str] = CATEGORIES,
                frame_size: tuple[int, int] = (1920, 1080)) -> Iterator[HardFrame]:
    """``per_category`` frames of each category (frame i of category c: seed + 1000 c + i)."""
    for c, category in enumerate(categories):
        for i in range(per_category):
            yield make_frame(category, seed + 1000 * c + i, frame_size)


def distractor_corpus(count: int, held_out: bool = False,
                      frame_size: tuple[int, int] = (1920, 1080)) -> Iterator[HardFrame]:
    """``count`` ``distractor`` frames of the in-sample split, or of the held-out one."""
    return _split(DISTRACTOR, DISTRACTOR_HELDOUT_SEEDS if held_out else DISTRACTOR_SEEDS,
                  count, frame_size)


def white_on_white_corpus(count: int, held_out: bool = False,
                          frame_size: tuple[int, int] = (1920, 1080)) -> Iterator[HardFrame]:
    """``count`` ``white_on_white_clutter`` frames of the in-sample split, or the held-out one."""
    return _split(WHITE_ON_WHITE,
                  WHITE_ON_WHITE_HELDOUT_SEEDS if held_out else WHITE_ON_WHITE_SEEDS,
                  count, frame_size)


def _split(category: str, base: int, count: int,
           frame_size: tuple[int, int]) -> Iterator[HardFrame]:
    """Frames ``base`` + 0 .. count - 1 of a category kept apart, with its own seed ranges."""
    if not 0 <= count <= 1000:
        raise ValueError(f"a {category} split has at most 1000 frames, not {count}")
    return (make_frame(category, base + i, frame_size) for i in range(count))


def make_frame(category: str, seed: int,
               frame_size: tuple[int, int] = (1920, 1080)) -> HardFrame:
    """The frame of ``category`` drawn from ``seed``; ValueError for an unknown category."""
    if category not in ALL_CATEGORIES and category not in APART:
        raise ValueError(f"unknown category {category!r} "
                         f"(valid: {', '.join((*ALL_CATEGORIES, *APART))})")
    rng = np.random.default_rng(seed)
    name = f"{category}#{seed}"
    if category == DISTRACTOR:
        return _distractor_frame(name, seed, rng, frame_size)
    if category == "kiosk":
        return _kiosk_frame(name, rng, frame_size)
    if category == "id_card":
        return _id_card_frame(name, rng, frame_size)
    spec = _Spec.for_category(category, rng)
    frame, corners = _render(spec, rng, frame_size)
    return HardFrame(name, category, frame, corners, A4_MM)


# ---------------------------------------------------------------- what a frame holds

@dataclass
class _Spec:
    desk: str = "plain"               # plain, white, wood, tiles, fabric, dark
    tilt_min: float = 0.0             # degrees (0: the same draws as before it existed)
    tilt_max: float = 25.0            # degrees
    fill: tuple[float, float] = (0.45, 0.85)   # page height / frame height (before tilt)
    under_sheets: int = 0
    cable: bool = False
    pens: int = 0
    fingers: bool = False
    motion: tuple[float, float] = (0.0, 4.0)   # motion blur length, px
    magazine_page: bool = False
    papers_nearby: int = 0
    objects: bool = False
    touch_edge: bool = False
    cut: bool = False                 # runs out of the frame by 8-25 % of its size
    cover_beside: bool = False        # a magazine cover beside the page or partly under it
    monitor: bool = False             # a dark monitor base, mostly out of the frame
    shade_chance: float = 0.3         # chance of the phone's or arm's soft shadow

    @classmethod
    def for_category(cls, category: str, rng: np.random.Generator) -> _Spec:
        desk = str(rng.choice(["plain", "white", "wood", "dark"]))
        s = cls(desk=desk)
        if category == "white_desk":
            s.desk = "white"
        elif category == "stacked":
            s.desk = str(rng.choice(["white", "plain", "wood"]))
            s.under_sheets = int(rng.integers(1, 4))
        elif category == "cable_pens":
            s.cable = bool(rng.random() < 0.8)
            s.pens = int(rng.integers(1, 3))
        elif category == "fingers":
            s.fingers = True
        elif category == "perspective":
            s.tilt_max = 45.0
            s.fill = (0.5, 0.9)
        elif category == "motion":
            s.motion = (8.0, 28.0)
        elif category == "magazine":
            s.magazine_page = True
        elif category == "papers_nearby":
            s.papers_nearby = int(rng.integers(1, 4))
            s.objects = True
        elif category == "frame_edge":
            s.touch_edge = True
            s.fill = (0.6, 0.95)
        elif category == CUT:
            s.touch_edge = s.cut = True
            s.fill = (0.6, 0.95)
        elif category == WHITE_ON_WHITE:
            s.desk = "white"
            s.tilt_min, s.tilt_max = 10.0, 40.0
            s.fill = (0.4, 0.7)
            s.under_sheets = int(rng.integers(0, 3))
            s.cable = bool(rng.random() < 0.7)
            s.pens = int(rng.integers(0, 3))
            s.objects = True
            s.cover_beside = True
            s.monitor = bool(rng.random() < 0.5)
            s.motion = (0.0, 6.0)
            s.shade_chance = 0.7
        elif category == "textured":
            s.desk = str(rng.choice(["wood", "tiles", "fabric"]))
        elif category == "cluttered":
            s.desk = str(rng.choice(["white", "white", "plain", "wood"]))
            s.under_sheets = int(rng.integers(1, 3))
            s.cable = True
            s.pens = int(rng.integers(1, 3))
            s.papers_nearby = int(rng.integers(0, 2))
            s.objects = True
            s.magazine_page = bool(rng.random() < 0.2)
            s.motion = (0.0, 10.0)
        return s


# ---------------------------------------------------------------- the camera

def _camera(rng: np.random.Generator, frame_size: tuple[int, int], spec: _Spec) -> F64:
    """Homography from desk millimetres (page centred at 0, y towards the page's bottom) to px."""
    w, h = frame_size
    focal = float(rng.uniform(0.75, 1.3)) * w
    tilt = math.radians(float(rng.uniform(spec.tilt_min, spec.tilt_max)))
    azimuth = float(rng.uniform(0, 2 * math.pi))
    # mostly portrait pages turned a little; sometimes the phone is held sideways
    roll = float(rng.normal(0.0, 12.0)) + (90.0 if rng.random() < 0.12 else 0.0)
    roll = math.radians(roll)
    # tilt about a horizontal axis at ``azimuth``, then roll about the optical axis
    axis = np.array([math.cos(azimuth), math.sin(azimuth), 0.0])
    r_tilt, _ = cv2.Rodrigues(axis * tilt)
    r_roll, _ = cv2.Rodrigues(np.array([0.0, 0.0, roll]))
    rot = np.asarray(r_roll, np.float64) @ np.asarray(r_tilt, np.float64)   # desk -> camera
    # distance: the page's height covers ``fill`` of the frame height when seen square-on
    fill = float(rng.uniform(*spec.fill))
    distance = focal * A4_MM[1] / (fill * h)
    centre = np.array([0.0, 0.0, 0.0])
    forward = rot.T @ np.array([0.0, 0.0, 1.0])
    camera = centre - distance * forward
    k = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1.0]])
    hom = k @ np.column_stack([rot[:, 0], rot[:, 1], -rot @ camera])
    # where the page lands: near the middle, anywhere it still fits (the page moves on the
    # desk, so the principal point stays at the frame's centre, as in a phone's frames)
    side = int(rng.integers(0, 4))
    over_u = float(rng.uniform(-0.01, 0.03))
    if spec.cut:                          # the same draw, stretched: no other frame changes
        over_u = 0.08 + 0.17 * (over_u + 0.01) / 0.04
    place_u = (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8)), float(rng.random()))
    for _ in range(3):
        shift = _placement_shift(hom, (w, h), spec.touch_edge, side, over_u, place_u)
        target = _project(hom, np.array([[0.0, 0.0]]))[0] + shift
        desk = _project(np.linalg.inv(hom), target[None, :])[0]
        hom = hom @ np.array([[1.0, 0, desk[0]], [0, 1.0, desk[1]], [0, 0, 1.0]])
    return np.asarray(hom, np.float64)


def _placement_shift(hom: F64, size: tuple[int, int], touch_edge: bool, side: int,
                     over_u: float, place_u: tuple[float, float, float]) -> F64:
    """How far (px) the page's image should move to sit where the frame wants it."""
    w, h = size
    corners = _project(hom, _rect_mm(A4_MM))
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    if touch_edge:
        over = over_u * float((hi - lo).max())               # > 0: crosses the edge
        dx = dy = 0.0
        free = (w - (hi[0] - lo[0]), h - (hi[1] - lo[1]))
        if side < 2:
            dx = -lo[0] - over if side == 0 else (w - 1) - hi[0] + over
            dy = -lo[1] + place_u[2] * max(0.0, free[1]) if free[1] > 0 else \
                (h - 1) / 2 - (lo[1] + hi[1]) / 2
        else:
            dy = -lo[1] - over if side == 2 else (h - 1) - hi[1] + over
            dx = -lo[0] + place_u[2] * max(0.0, free[0]) if free[0] > 0 else \
                (w - 1) / 2 - (lo[0] + hi[0]) / 2
        return np.array([dx, dy])
    margin = 0.03 * h
    free_x = max(0.0, (w - (hi[0] - lo[0])) / 2 - margin)
    free_y = max(0.0, (h - (hi[1] - lo[1])) / 2 - margin)
    return np.array([(w - 1) / 2 - (lo[0] + hi[0]) / 2 + place_u[0] * free_x,
                     (h - 1) / 2 - (lo[1] + hi[1]) / 2 + place_u[1] * free_y])


def _rect_mm(size: tuple[float, float], centre: tuple[float, float] = (0.0, 0.0),
             angle_deg: float = 0.0) -> F64:
    """Corners tl, tr, br, bl of a size[0] x size[1] mm sheet centred at ``centre``, turned."""
    w, h = size
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.asarray(pts @ rot.T + np.asarray(centre), np.float64)


def _project(hom: F64, pts: F64) -> F64:
    p = np.asarray(pts, np.float64).reshape(-1, 1, 2)
    return np.asarray(cv2.perspectiveTransform(p, hom).reshape(-1, 2), np.float64)


def _px_per_mm(hom: F64, at: F64) -> float:
    """Local scale of the homography at desk point ``at`` (geometric mean of both axes)."""
    p = _project(hom, np.array([at, at + np.array([1.0, 0.0]), at + np.array([0.0, 1.0])]))
    return float(math.sqrt(np.linalg.norm(p[1] - p[0]) * np.linalg.norm(p[2] - p[0])))


# ---------------------------------------------------------------- drawing helpers

@dataclass(frozen=True, eq=False)
class _Mask:
    """Coverage (0..1) of a shape over the frame window [y0:y0+h, x0:x0+w]."""

    alpha: FloatImage
    x0: int
    y0: int

    def __mul__(self, k: float) -> _Mask:
        return _Mask(self.alpha * np.float32(k), self.x0, self.y0)


class _Canvas:
    """The frame being composed (float32 BGR), with anti-aliased drawing in desk mm.

    Shapes are drawn into a window around them only, so that many small
    objects cost little on a 1080p frame.
    """

    def __init__(self, hom: F64, frame_size: tuple[int, int]) -> None:
        self.hom = hom
        self.w, self.h = frame_size
        self.img = np.zeros((self.h, self.w, 3), np.float32)

    def _window(self, px: F64, pad: float) -> tuple[int, int, int, int] | None:
        x0 = max(0, math.floor(float(px[:, 0].min()) - pad))
        y0 = max(0, math.floor(float(px[:, 1].min()) - pad))
        x1 = min(self.w, math.ceil(float(px[:, 0].max()) + pad) + 1)
        y1 = min(self.h, math.ceil(float(px[:, 1].max()) + pad) + 1)
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def mask_poly(self, pts_mm: F64, pad: float = 2.0) -> _Mask:
        px = _project(self.hom, pts_mm)
        win = self._window(px, pad)
        if win is None:
            return _Mask(np.zeros((0, 0), np.float32), 0, 0)
        x0, y0, x1, y1 = win
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round((px - [x0, y0]) * 16).astype(np.int32)], 255,
                     cv2.LINE_AA, shift=4)
        return _Mask(mask.astype(np.float32) / 255.0, x0, y0)

    def mask_path(self, pts_mm: F64, width_mm: float) -> _Mask:
        return self.mask_paths([(pts_mm, width_mm)])

    def mask_paths(self, paths: Sequence[tuple[F64, float]]) -> _Mask:
        """Coverage of thick poly-lines (points in mm, width in mm), drawn together."""
        drawn = []
        for pts_mm, width_mm in paths:
            px = _project(self.hom, pts_mm)
            scale = _px_per_mm(self.hom, pts_mm.mean(axis=0))
            drawn.append((px, max(1, round(width_mm * scale))))
        every = np.concatenate([px for px, _ in drawn])
        win = self._window(every, max(t for _, t in drawn) / 2 + 2)
        if win is None:
            return _Mask(np.zeros((0, 0), np.float32), 0, 0)
        x0, y0, x1, y1 = win
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for px, thick in drawn:
            cv2.polylines(mask, [np.round((px - [x0, y0]) * 16).astype(np.int32)], False, 255,
                          thick, cv2.LINE_AA, shift=4)
        return _Mask(mask.astype(np.float32) / 255.0, x0, y0)

    def paint(self, mask: _Mask, colour: Sequence[float] | FloatImage) -> None:
        h, w = mask.alpha.shape
        if h == 0 or w == 0:
            return
        region = self.img[mask.y0:mask.y0 + h, mask.x0:mask.x0 + w]
        m = mask.alpha[:, :, None]
        fill = np.asarray(colour, np.float32)
        if fill.ndim == 3 and fill.shape[:2] == (self.h, self.w):   # a full-frame colour image
            fill = fill[mask.y0:mask.y0 + h, mask.x0:mask.x0 + w]
        region *= 1.0 - m
        region += m * fill

    def shadow(self, mask: _Mask, strength: float, blur_px: float,
               offset_px: tuple[int, int] = (3, 4)) -> None:
        h, w = mask.alpha.shape
        if h == 0 or w == 0:
            return
        pad = math.ceil(3 * blur_px) + max(abs(offset_px[0]), abs(offset_px[1]))
        big = np.zeros((h + 2 * pad, w + 2 * pad), np.float32)
        big[pad:pad + h, pad:pad + w] = mask.alpha
        soft = cv2.GaussianBlur(big, (0, 0), max(0.5, blur_px))
        x0, y0 = mask.x0 - pad + offset_px[0], mask.y0 - pad + offset_px[1]
        fx0, fy0 = max(0, x0), max(0, y0)
        fx1, fy1 = min(self.w, x0 + big.shape[1]), min(self.h, y0 + big.shape[0])
        if fx1 <= fx0 or fy1 <= fy0:
            return
        part = soft[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
        self.img[fy0:fy1, fx0:fx1] *= (1.0 - strength * part)[:, :, None]


def _noise_field(rng: np.random.Generator, w: int, h: int, cells: int) -> FloatImage:
    small = rng.standard_normal((max(2, round(cells * h / w)), max(2, cells))).astype(np.float32)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


def _desk(rng: np.random.Generator, kind: str, canvas: _Canvas) -> None:
    """Fill the canvas with a desk of ``kind``, drawn in desk coordinates."""
    # a texture over the desk area the frame sees, at about 1 px per mm
    inv = np.asarray(np.linalg.inv(canvas.hom), np.float64)
    frame_pts = np.array([[0, 0], [canvas.w, 0], [canvas.w, canvas.h], [0, canvas.h]], np.float64)
    seen = _project(inv, frame_pts)
    lo = np.maximum(seen.min(axis=0), -2500.0)
    hi = np.minimum(seen.max(axis=0), 2500.0)
    res = min(1.5, 2400.0 / max(1.0, float((hi - lo).max())))
    tw, th = max(16, int((hi[0] - lo[0]) * res)), max(16, int((hi[1] - lo[1]) * res))
    if kind == "white":
        base = np.array([232, 228, 236], np.float32) * float(rng.uniform(0.88, 1.0))
        tint = rng.normal(0, 6, 3).astype(np.float32)
        tint[1] -= abs(float(rng.normal(0, 5)))      # pink/violet casts are common on white desks
        colour = base + tint
    elif kind == "dark":
        colour = np.array(rng.uniform(25, 80, 3), np.float32)
    elif kind == "wood":
        colour = np.array([80, 125, 170], np.float32) * float(rng.uniform(0.6, 1.15))
    else:
        colour = np.array(rng.uniform(60, 200, 3), np.float32)
        colour = colour * 0.5 + colour.mean() * 0.5          # desks are not saturated
    tone = 1.0 + 0.05 * _noise_field(rng, tw, th, 5)
    if kind == "wood":
        streaks = rng.standard_normal((th, max(2, tw // 30))).astype(np.float32)
        grain = cv2.resize(streaks, (tw, th), interpolation=cv2.INTER_LINEAR)
        ys = np.arange(th, dtype=np.float32)[:, None] + 30.0 * _noise_field(rng, tw, th, 6)
        tone = tone + 0.06 * grain + 0.05 * np.sin(ys / float(rng.uniform(6, 18)))
        if rng.random() < 0.5:                       # boards: straight seams across the desk
            period = int(rng.uniform(90, 200) * res)
            for x in range(int(rng.integers(0, period)), tw, period):
                tone[:, max(0, x - 1):x + 1] *= 0.6
        if rng.random() < 0.5:
            tone = tone.T.copy() if tone.shape[0] == tone.shape[1] else \
                np.asarray(cv2.resize(tone.T.copy(), (tw, th)), np.float32)
    elif kind == "tiles":
        tile = float(rng.uniform(40, 160)) * res
        xs = np.arange(tw, dtype=np.float32)[None, :]
        ys = np.arange(th, dtype=np.float32)[:, None]
        grout = ((xs % tile) < 2.5 * res) | ((ys % tile) < 2.5 * res)
        checker = ((xs // tile + ys // tile) % 2).astype(np.float32)
        tone = tone * (1.0 - 0.08 * checker * float(rng.random() < 0.5))
        tone = np.where(grout, tone * float(rng.uniform(0.55, 0.85)), tone)
    elif kind == "fabric":
        fine = rng.standard_normal((th, tw)).astype(np.float32)
        tone = tone + 0.07 * cv2.GaussianBlur(fine, (0, 0), 0.9)
        xs = np.arange(tw, dtype=np.float32)[None, :]
        ys = np.arange(th, dtype=np.float32)[:, None]
        weave = float(rng.uniform(6, 14)) * res
        tone = tone + 0.05 * np.sin(2 * np.pi * (xs + ys) / weave) \
            * np.sin(2 * np.pi * (xs - ys) / weave)
    else:
        fine = rng.standard_normal((th, tw)).astype(np.float32)
        tone = tone + 0.015 * cv2.GaussianBlur(fine, (0, 0), 0.7)
    texture = np.asarray(tone[:, :, None] * colour[None, None, :], np.float32)
    to_tex = np.array([[res, 0, -lo[0] * res], [0, res, -lo[1] * res], [0, 0, 1.0]])
    warp = canvas.hom @ np.linalg.inv(to_tex)
    canvas.img[:] = cv2.warpPerspective(texture, warp, (canvas.w, canvas.h),
                                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


PAPER_WHITES: tuple[tuple[float, float, float], ...] = (
    (244, 244, 242), (240, 243, 246), (236, 240, 244), (246, 244, 238), (238, 238, 238),
)


def _paper_colour(rng: np.random.Generator) -> npt.NDArray[np.float32]:
    white = np.array(PAPER_WHITES[int(rng.integers(0, len(PAPER_WHITES)))], np.float32)
    return white * float(rng.uniform(0.92, 1.0))


def _sheet_with_lines(rng: np.random.Generator, canvas: _Canvas, rect: F64) -> None:
    """A plain sheet (another document) with lines of 'text' on it."""
    canvas.shadow(canvas.mask_poly(rect), 0.25, 3.0, (2, 3))
    canvas.paint(canvas.mask_poly(rect), _paper_colour(rng))
    u = (rect[1] - rect[0]) / np.linalg.norm(rect[1] - rect[0])
    v = (rect[3] - rect[0]) / np.linalg.norm(rect[3] - rect[0])
    width, height = np.linalg.norm(rect[1] - rect[0]), np.linalg.norm(rect[3] - rect[0])
    for k in range(int(rng.integers(6, 25))):
        y = 25 + k * (height - 50) / 25
        x0 = 20.0
        x1 = x0 + float(rng.uniform(0.3, 0.8)) * (width - 40)
        path = np.array([rect[0] + u * x0 + v * y, rect[0] + u * x1 + v * y])
        canvas.paint(canvas.mask_path(path, 0.6) * 0.7, (70, 70, 75))


def _page_image(rng: np.random.Generator, magazine: bool) -> Image:
    """The top page's content: a sample page, a generated letter, or a magazine page."""
    if magazine:
        return _magazine_page(int(rng.integers(0, 2**31)))
    choice = int(rng.integers(0, 7))
    samples = [s for s in sample_pages() if s.kind == "text"]
    if choice < len(samples):
        return samples[choice].image
    return _letter(int(rng.integers(0, 6)))


@lru_cache(maxsize=8)
def _letter(seed: int) -> Image:
    page = render_text_page(seed, size="A4", dpi=120, lang="fr" if seed % 2 else "en")
    page.flags.writeable = False
    return page


def _magazine_page(seed: int) -> Image:
    """A colourful page: photos, coloured title bands, columns of text; some print to the edge."""
    rng = np.random.default_rng(seed)
    w, h = 827, 1169                                   # A4 at 100 dpi
    bleed = rng.random() < 0.35
    paper = np.array(rng.uniform(200, 250, 3) if rng.random() < 0.3 else [245, 245, 243],
                     np.float32)
    page = np.empty((h, w, 3), np.float32)
    page[:] = paper

    def photo(pw: int, ph: int) -> FloatImage:
        img = np.zeros((ph, pw, 3), np.float32)
        for c in range(3):
            img[:, :, c] = 128 + 90 * _noise_field(rng, pw, ph, int(rng.integers(2, 7)))
        for _ in range(int(rng.integers(2, 8))):
            centre = (int(rng.integers(0, pw)), int(rng.integers(0, ph)))
            axes = (int(rng.integers(10, pw // 2 + 11)), int(rng.integers(10, ph // 2 + 11)))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                        tuple(float(v) for v in rng.uniform(0, 255, 3)), -1, cv2.LINE_AA)
        return np.asarray(cv2.GaussianBlur(img, (0, 0), 2.0), np.float32)

    if bleed:
        ph = int(h * rng.uniform(0.4, 1.0))
        top = 0 if rng.random() < 0.6 else h - ph
        page[top:top + ph] = photo(w, ph)
    for _ in range(int(rng.integers(1, 4))):
        pw, ph = int(rng.integers(150, 600)), int(rng.integers(120, 500))
        x, y = int(rng.integers(40, max(41, w - pw - 40))), int(rng.integers(40, max(41, h - ph)))
        page[y:y + ph, x:x + pw] = photo(pw, ph)[: h - y, : w - x]
    out = np.clip(page, 0, 255).astype(np.uint8)
    band = tuple(int(v) for v in rng.integers(0, 256, 3))
    y0 = int(rng.integers(30, 200))
    cv2.rectangle(out, (40, y0), (w - 40, y0 + int(rng.integers(40, 90))), band, -1)
    cv2.putText(out, "MAGAZINE", (60, y0 + 60), cv2.FONT_HERSHEY_DUPLEX, 2.0,
                (255, 255, 255), 3, cv2.LINE_AA)
    columns = int(rng.integers(2, 4))
    col_w = (w - 80) // columns
    for c in range(columns):
        x0 = 40 + c * col_w + 8
        for y in range(int(rng.integers(300, 700)), h - 60, 16):
            if rng.random() < 0.08:
                continue
            length = int(col_w * rng.uniform(0.6, 0.95))
            cv2.line(out, (x0, y), (x0 + length, y), (60, 60, 60), 3)
    return out


def _warp_page(canvas: _Canvas, page: Image, rect: F64, paper_tint: npt.NDArray[np.float32]
               ) -> FloatImage:
    """Draw ``page`` on the desk rectangle ``rect``; return its coverage (alpha)."""
    ph, pw = page.shape[:2]
    src = np.array([[-0.5, -0.5], [pw - 0.5, -0.5], [pw - 0.5, ph - 0.5], [-0.5, ph - 0.5]],
                   np.float32)
    dst = _project(canvas.hom, rect).astype(np.float32)
    hom = cv2.getPerspectiveTransform(src, dst)
    # downscale first when the page is much larger than its image in the frame
    longest = max(float(np.linalg.norm(dst[i] - dst[(i + 1) % 4])) for i in range(4))
    k = min(1.0, 1.5 * longest / max(pw, ph))
    if k < 0.9:
        small = cv2.resize(page, (max(2, round(pw * k)), max(2, round(ph * k))),
                           interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        src = np.array([[-0.5, -0.5], [sw - 0.5, -0.5], [sw - 0.5, sh - 0.5], [-0.5, sh - 0.5]],
                       np.float32)
        hom = cv2.getPerspectiveTransform(src, dst)
        page = np.asarray(small, np.uint8)
    content = page.astype(np.float32) * (paper_tint / 255.0)[None, None, :]
    fg = cv2.warpPerspective(content, hom, (canvas.w, canvas.h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    alpha = np.asarray(cv2.warpPerspective(np.ones(page.shape[:2], np.float32), hom,
                                           (canvas.w, canvas.h), flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_CONSTANT, borderValue=0),
                       np.float32)
    canvas.img *= (1.0 - alpha)[:, :, None]
    canvas.img += np.asarray(fg, np.float32)
    return alpha


def _bezier(p: F64, n: int = 60) -> F64:
    t = np.linspace(0, 1, n)[:, None]
    return np.asarray((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1]
                      + 3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3], np.float64)


def _cable(rng: np.random.Generator, canvas: _Canvas) -> None:
    """A dark cable crossing the page from one side of the desk to another."""
    a = float(rng.uniform(0, 2 * math.pi))
    start = np.array([math.cos(a), math.sin(a)]) * 450
    end = -start + rng.normal(0, 120, 2)
    ctrl = np.array([start, rng.normal(0, 120, 2), rng.normal(0, 120, 2), end])
    path = _bezier(ctrl)
    width = float(rng.uniform(3.5, 6.0))
    mask = canvas.mask_path(path, width)
    canvas.shadow(mask, 0.35, 6.0, (int(rng.integers(4, 14)), int(rng.integers(4, 14))))
    canvas.paint(mask, tuple(float(v) for v in rng.uniform(10, 45, 3)))
    canvas.paint(canvas.mask_path(path + np.array([0.6, -0.6]), width * 0.25) * 0.4,
                 (120, 120, 120))


def _pen(rng: np.random.Generator, canvas: _Canvas, near: F64) -> None:
    """A pen, marker or highlighter lying on or near the page."""
    centre = near + rng.normal(0, 60, 2)
    a = float(rng.uniform(0, math.pi))
    d = np.array([math.cos(a), math.sin(a)])
    length = float(rng.uniform(110, 150))
    kind = int(rng.integers(0, 3))
    width, body, cap = [(9.0, (40, 40, 40), (20, 20, 150)),
                        (14.0, (235, 235, 235), (30, 30, 30)),
                        (18.0, (70, 230, 220), (30, 30, 30))][kind]
    path = np.array([centre - d * length / 2, centre + d * length * 0.25])
    cap_path = np.array([centre + d * length * 0.25, centre + d * length / 2])
    whole = np.array([path[0], cap_path[1]])
    canvas.shadow(canvas.mask_path(whole, width), 0.4, 5.0, (6, 8))
    canvas.paint(canvas.mask_path(path, width), body)
    canvas.paint(canvas.mask_path(cap_path, width * 1.05), cap)
    canvas.paint(canvas.mask_path(path, width * 0.25) * 0.5, (250, 250, 250))


SKIN: tuple[tuple[float, float, float], ...] = (
    (150, 178, 226), (120, 150, 205), (92, 122, 178), (62, 86, 130), (170, 192, 236),
)


def _fingers(rng: np.random.Generator, canvas: _Canvas, page: F64) -> None:
    """Fingers (and the hand behind them) holding the page down on one of its sides."""
    side = int(rng.integers(0, 4))
    a, b = page[side], page[(side + 1) % 4]
    along = a + (b - a) * float(rng.uniform(0.2, 0.8))
    inward = page.mean(axis=0) - along
    inward = inward / np.linalg.norm(inward)
    turn = math.radians(float(rng.uniform(-30, 30)))
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    direction = rot @ inward
    lateral = np.array([-direction[1], direction[0]])
    skin = SKIN[int(rng.integers(0, len(SKIN)))]
    reach = float(rng.uniform(8, 35))          # how far the fingertips go onto the page
    tip = along + direction * reach
    paths = []
    count = int(rng.integers(1, 5))
    for f in range(count):
        offset = (f - (count - 1) / 2) * 19.0
        ftip = tip + lateral * offset - direction * abs(offset) * 0.3
        paths.append((np.array([ftip - direction * 95, ftip]), 17.0))
    paths.append((np.array([tip - direction * 150, tip - direction * 400]), 90.0))
    mask = canvas.mask_paths(paths)
    canvas.shadow(mask, 0.45, 10.0, (10, 14))
    shade = 0.8 + 0.2 * cv2.GaussianBlur(mask.alpha, (0, 0), 6.0)
    canvas.paint(mask, np.asarray(skin, np.float32)[None, None, :] * shade[:, :, None])


def _objects(rng: np.random.Generator, canvas: _Canvas, page: F64) -> None:
    """A mouse, a mug, a phone around the page (not on it)."""
    centre = page.mean(axis=0)
    for kind in ("mouse", "mug", "phone"):
        if rng.random() < 0.35:
            continue
        a = float(rng.uniform(0, 2 * math.pi))
        where = centre + np.array([math.cos(a), math.sin(a)]) * float(rng.uniform(230, 380))
        if kind == "mouse":
            poly = np.asarray(cv2.ellipse2Poly((0, 0), (30, 50), int(rng.uniform(0, 180)), 0, 360,
                                               10), np.float64) + where
            canvas.shadow(canvas.mask_poly(poly), 0.5, 12.0, (12, 16))
            canvas.paint(canvas.mask_poly(poly), (35, 35, 38))
        elif kind == "mug":
            ell = np.asarray(cv2.ellipse2Poly((0, 0), (45, 45), 0, 0, 360, 10), np.float64) + where
            canvas.shadow(canvas.mask_poly(ell), 0.5, 16.0, (16, 22))
            canvas.paint(canvas.mask_poly(ell), (235, 235, 238))
            inner = np.asarray(cv2.ellipse2Poly((0, 0), (37, 37), 0, 0, 360, 10),
                               np.float64) + where
            canvas.paint(canvas.mask_poly(inner), (60, 90, 120))
        else:
            rect = _rect_mm((72, 150), tuple(where), float(rng.uniform(0, 180)))
            canvas.shadow(canvas.mask_poly(rect), 0.4, 8.0, (8, 10))
            canvas.paint(canvas.mask_poly(rect), (28, 28, 30))


def _other_sheet_rect(rng: np.random.Generator, canvas: _Canvas, page: F64,
                      size: tuple[float, float], distance: tuple[float, float]) -> F64:
    """Where another sheet lies: partly out of the frame or partly under the page.

    A second whole sheet in plain view would make the frame ambiguous (which
    one is the document?), so a placement is redrawn until the sheet runs out
    of the frame or slides under the page.
    """
    centre = page.mean(axis=0)
    rect = page
    for attempt in range(60):
        # farther and farther out: far enough, any sheet runs out of the frame
        grow = 1.0 + attempt / 15
        a = float(rng.uniform(0, 2 * math.pi))
        where = centre + np.array([math.cos(a), math.sin(a)]) \
            * float(rng.uniform(*distance)) * grow
        rect = _rect_mm(size, (float(where[0]), float(where[1])), float(rng.uniform(-40, 40)))
        px = _project(canvas.hom, rect).astype(np.float32)
        frame = np.array([[0, 0], [canvas.w - 1, 0], [canvas.w - 1, canvas.h - 1],
                          [0, canvas.h - 1]], np.float32)
        seen, _ = cv2.intersectConvexConvex(px, frame)
        outside = seen < 0.85 * abs(cv2.contourArea(px))
        overlap, _ = cv2.intersectConvexConvex(rect.astype(np.float32), page.astype(np.float32))
        if outside or overlap > 0.1 * size[0] * size[1]:
            break
    return rect


def _magazine_beside(rng: np.random.Generator, canvas: _Canvas, page: F64) -> None:
    rect = _other_sheet_rect(rng, canvas, page, A4_MM, (240.0, 360.0))
    canvas.shadow(canvas.mask_poly(rect), 0.3, 4.0, (3, 4))
    _warp_page(canvas, _magazine_page(int(rng.integers(0, 2**31))), rect,
               np.array([255, 255, 255], np.float32))


def _cover_beside(rng: np.random.Generator, canvas: _Canvas, page: F64) -> None:
    """A magazine cover (strong edges, dark photo) beside the page, or partly under it."""
    rect = _other_sheet_rect(rng, canvas, page, (210.0, 280.0), (200.0, 300.0))
    canvas.shadow(canvas.mask_poly(rect), 0.3, 4.0, (3, 4))
    cover = magazine_cover(rng, 3.0)
    _warp_page(canvas, cover, rect, np.array([255, 255, 255], np.float32))


def _monitor(rng: np.random.Generator, canvas: _Canvas, page: F64) -> None:
    """A monitor's dark base and foot (as on SmartDoc's desk), mostly out of the frame."""
    rect = _other_sheet_rect(rng, canvas, page, (520.0, 200.0), (380.0, 480.0))
    mask = canvas.mask_poly(rect)
    canvas.shadow(mask, 0.5, 14.0, (14, 18))
    canvas.paint(mask, tuple(float(v) for v in rng.uniform(12, 35, 3)))


def _pile(rng: np.random.Generator, canvas: _Canvas, count: int,
          paper: npt.NDArray[np.float32]) -> tuple[float, float, tuple[int, int]]:
    """Sheets of a pile under the page; returns the page's own shadow (strength, blur, offset).

    As on a real pile: each sheet a few mm off (2-20 mm) and turned by up to a
    few degrees; half of them another paper (a different white, a bluer or
    warmer tint); one light for the whole pile, so every sheet's thin shadow
    falls on the same sides (none on the others), from strong to nothing at all.
    """
    angle = float(rng.uniform(0, 2 * math.pi))
    reach = float(rng.uniform(0.5, 3.0))
    offset_px = (round(reach * math.cos(angle)), round(reach * math.sin(angle)))
    blur = float(rng.uniform(1.0, 2.5))
    for _ in range(count):
        offset = rng.normal(0, 6, 2)
        offset += np.sign(offset) * 2.0
        turn = float(np.clip(rng.normal(0, 2.0), -5.0, 5.0))
        rect = _rect_mm(A4_MM, tuple(offset), turn)
        mask = canvas.mask_poly(rect)
        canvas.shadow(mask, float(rng.uniform(0.05, 0.35)), blur, offset_px)
        own = _paper_colour(rng) if rng.random() < 0.5 else paper
        canvas.paint(mask, own * float(rng.uniform(0.94, 1.02)))
    # the page's own shadow on the pile: from clear to none (a flat sheet on a flat pile)
    strength = float(rng.uniform(0.0, 0.35)) if rng.random() < 0.8 else 0.0
    return strength, blur, offset_px


def _motion_kernel(length: float, angle: float) -> FloatImage:
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), np.float32)
    c = (size - 1) / 2
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    cv2.line(kernel, (round((c - dx) * 16), round((c - dy) * 16)),
             (round((c + dx) * 16), round((c + dy) * 16)), 1.0, 1, cv2.LINE_AA, shift=4)
    return np.asarray(kernel / max(1e-6, float(kernel.sum())), np.float32)


# ---------------------------------------------------------------- one frame

def _render(spec: _Spec, rng: np.random.Generator, frame_size: tuple[int, int]
            ) -> tuple[Image, Corners]:
    hom = _camera(rng, frame_size, spec)
    canvas = _Canvas(hom, frame_size)
    _desk(rng, spec.desk, canvas)
    page_rect = _rect_mm(A4_MM)
    if spec.objects:
        _objects(rng, canvas, page_rect)
        if rng.random() < 0.5:
            _magazine_beside(rng, canvas, page_rect)
    for _ in range(spec.papers_nearby):
        size = A4_MM if rng.random() < 0.7 else (148.0, 210.0)
        _sheet_with_lines(rng, canvas, _other_sheet_rect(rng, canvas, page_rect, size,
                                                         (170.0, 330.0)))
    if spec.monitor:
        _monitor(rng, canvas, page_rect)
    if spec.cover_beside:
        _cover_beside(rng, canvas, page_rect)
    paper = _paper_colour(rng)
    page_shadow = (float(rng.uniform(0.1, 0.35)), 2.0, (1, 2))
    if spec.under_sheets:
        page_shadow = _pile(rng, canvas, spec.under_sheets, paper)
    page_mask = canvas.mask_poly(page_rect)
    canvas.shadow(page_mask, *page_shadow)
    _warp_page(canvas, _page_image(rng, spec.magazine_page), page_rect, paper)
    if spec.cable:
        _cable(rng, canvas)
    for _ in range(spec.pens):
        _pen(rng, canvas, page_rect.mean(axis=0))
    if spec.fingers:
        _fingers(rng, canvas, page_rect)
    frame = _camera_effects(rng, canvas.img, spec)
    corners = _project(hom, page_rect).astype(np.float32)
    return frame, corners


def _camera_effects(rng: np.random.Generator, img: FloatImage, spec: _Spec) -> Image:
    """Light, colour cast, blur, noise and JPEG of a phone's video frame."""
    h, w = img.shape[:2]
    gain = float(rng.uniform(0.75, 1.05))
    cast = np.array([1.0 + float(rng.normal(0, 0.05)) for _ in range(3)], np.float32)
    xs = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
    ys = (np.arange(h, dtype=np.float32) - h / 2) / (w / 2)
    light = np.float32(1.0) - np.float32(rng.uniform(0.0, 0.25)) \
        * (xs[None, :] ** 2 + ys[:, None] ** 2)
    g = float(rng.uniform(0, 0.3))
    a = float(rng.uniform(0, 2 * math.pi))
    slope = xs[None, :] * np.float32(math.cos(a)) + ys[:, None] * np.float32(math.sin(a))
    light = light * (np.float32(1.0) - np.float32(g) * (np.float32(0.5) + np.float32(0.5) * slope))
    if rng.random() < spec.shade_chance:              # the phone's or the arm's soft shadow
        blob = _noise_field(rng, w, h, 3)
        light = light * (np.float32(1.0) - np.float32(0.25) * np.clip(blob, 0, 1))
    out = img * (light[:, :, None] * np.float32(gain) * cast[None, None, :])
    motion = float(rng.uniform(*spec.motion))
    if motion >= 1.5:
        out = cv2.filter2D(out, -1, _motion_kernel(motion, float(rng.uniform(0, math.pi))))
    sigma = float(rng.uniform(0.5, 1.6))
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    # sensor noise: fine grain, and coarser colour blotches from the camera's denoising
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 5.0))
    blotch = rng.standard_normal((h // 4, w // 4, 3), dtype=np.float32)
    out += np.asarray(cv2.resize(blotch, (w, h), interpolation=cv2.INTER_LINEAR), np.float32) \
        * np.float32(rng.uniform(0.5, 2.5))
    frame = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    quality = int(rng.integers(50, 88))
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)


# ---------------------------------------------------------------- kiosk frames (synth)

def _kiosk_frame(name: str, rng: np.random.Generator, frame_size: tuple[int, int]
                 ) -> HardFrame:
    samples = [s for s in sample_pages() if s.kind == "text"]
    k = int(rng.integers(0, len(samples) + 1))
    page = samples[k].image if k < len(samples) else _letter(int(rng.integers(0, 6)))
    defects = Defects(noise_sigma=float(rng.uniform(1, 5)), gradient=float(rng.uniform(0, 0.6)),
                      blur_sigma=float(rng.uniform(0, 1.2)),
                      tilt_deg=float(rng.uniform(0, 15)),
                      scale=float(np.exp(rng.uniform(-0.3, 0.2))),
                      hand=bool(rng.random() < 0.5), clutter=True,
                      motion_px=float(rng.uniform(0, 8)),
                      motion_angle_deg=float(rng.uniform(0, 180)))
    frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                page_size_mm=A4_MM)
    return HardFrame(name, "kiosk", frame, corners, A4_MM)


def _id_card_frame(name: str, rng: np.random.Generator, frame_size: tuple[int, int]
                   ) -> HardFrame:
    card = next(s for s in sample_pages() if s.name == "identity-card")
    # no clutter and no hand: the synthesiser's clutter may hold a whole sheet of paper in
    # plain view (which of the two is "the document" is then a matter of opinion), and its
    # hand, sized for a page, covers half a card (a frame to be retaken, not measured)
    defects = Defects(noise_sigma=float(rng.uniform(1, 4)), gradient=float(rng.uniform(0, 0.4)),
                      blur_sigma=float(rng.uniform(0, 0.8)), tilt_deg=float(rng.uniform(0, 10)),
                      scale=float(np.exp(rng.uniform(-0.3, 0.3))))
    frame, corners = synthesize(card.bgra(), rng, frame_size=frame_size, defects=defects,
                                page_size_mm=card.size_mm)
    return HardFrame(name, "id_card", frame, corners, card.size_mm)


def _distractor_frame(name: str, seed: int, rng: np.random.Generator,
                      frame_size: tuple[int, int], *, draw: bool = True) -> HardFrame:
    """A ``kiosk``-like frame with distractors; ``draw=False``: the same frame without them."""
    main = DISTRACTOR_KINDS[seed % 1000 % len(DISTRACTOR_KINDS)]
    own = np.random.default_rng([seed, 17])        # the distractors' own draws
    others = [k for k in DISTRACTOR_KINDS if k != main]
    extra = own.choice(len(others), size=int(own.integers(0, 3)), replace=False)
    layers = Distractors([main, *(others[int(e)] for e in extra)], own)
    samples = [s for s in sample_pages() if s.kind == "text"]
    k = int(rng.integers(0, len(samples) + 1))
    page = samples[k].image if k < len(samples) else _letter(int(rng.integers(0, 6)))
    defects = Defects(noise_sigma=float(rng.uniform(1, 5)), gradient=float(rng.uniform(0, 0.6)),
                      blur_sigma=float(rng.uniform(0, 1.2)),
                      tilt_deg=float(rng.uniform(0, 12)),
                      # a little smaller than the kiosk frames: room on the tray to lie beside
                      scale=float(np.exp(rng.uniform(-0.6, 0.0))),
                      hand=bool(rng.random() < 0.2), clutter=bool(rng.random() < 0.3))
    frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                page_size_mm=A4_MM, layers=layers if draw else None)
    return HardFrame(name, DISTRACTOR, frame, corners, A4_MM,
                     tuple(layers.placed) if draw else ())
