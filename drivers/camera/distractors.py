"""Distractors on the tray: things with a stronger outline than the page, drawn beside, under
or over its edges.

Why: issue #17. On a desk the detector has never seen (SmartDoc background
05) it outlines a magazine cover with strong edges instead of the white page
lying on white paper. The synthetic frames of ``drivers.camera.synth`` had
mild clutter only; this module adds the objects that steal a detector's
attention, each drawn procedurally (no photographs, nothing copyrighted):

``magazine``      a cover: saturated colour blocks, a masthead in huge letters, a "photo"
                  (gradients and blobs), cover lines, a barcode;
``photo``         a photographic print: a smooth natural-looking scene (sky, ground,
                  blurred shapes), sometimes with a white border;
``phone``         a dark rounded slab with a glossy (reflecting) or lit screen;
``wallet``        a dark brown or black rounded leather shape with stitching and a fold;
``dark_objects``  a bunch of keys on a ring and a dark pen;
``white_sheet``   another white sheet (A4 or A5), blank or with faint lines: the hardest,
                  the same colour as the page.

Each lies on the tray plane, so it gets the page's perspective (the kiosk's
camera looks straight down: the tray plane is a similarity of the frame) and,
being drawn before ``synthesize`` lights the frame, the same light, blur and
noise. A distractor is ``under`` the page (drawn before it, partly hidden by
it), ``beside`` it (not touching it) or ``over`` its edge (drawn after it);
an ``over`` distractor never covers a corner of the page (its footprint keeps
a margin from all four), so the ground truth stays the page's quadrilateral.

Why in ``drivers/camera`` and not ``devtools``: :class:`Distractors` is the
``layers`` argument of :func:`drivers.camera.synth.synthesize`, which the
camera simulator (``sim://``) also calls; a simulator option can put
distractors on the live kiosk's tray without ``drivers`` importing
``devtools`` (DESIGN.md: arrows point one way). It uses only NumPy and OpenCV.

Everything random comes from the generator given to :class:`Distractors`,
never from ``synthesize``'s own: a frame with distractors has exactly the
tray, page, light and noise of the same draws without them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["DistractorKind", "Distractors", "Layer", "Placed", "magazine_cover"]

FloatImage = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class DistractorKind(StrEnum):
    """What a distractor is (recorded per frame by ``devtools.detection_corpus``, reported by
    ``benchmarks/bench_distractor.py``)."""

    MAGAZINE = "magazine"
    PHOTO = "photo"
    PHONE = "phone"
    WALLET = "wallet"
    DARK_OBJECTS = "dark_objects"
    WHITE_SHEET = "white_sheet"


class Layer(StrEnum):
    """Where a distractor lies relative to the page."""

    UNDER = "under"      # drawn before the page, partly hidden by it
    BESIDE = "beside"    # not touching the page
    OVER = "over"        # across one of the page's edges, never over a corner


#: The layers each kind may take (a magazine is not laid on the page: it would hide it).
LAYERS: dict[DistractorKind, tuple[Layer, ...]] = {
    DistractorKind.MAGAZINE: (Layer.UNDER, Layer.BESIDE),
    DistractorKind.PHOTO: (Layer.UNDER, Layer.BESIDE, Layer.OVER),
    DistractorKind.PHONE: (Layer.BESIDE, Layer.OVER),
    DistractorKind.WALLET: (Layer.BESIDE, Layer.OVER),
    DistractorKind.DARK_OBJECTS: (Layer.BESIDE, Layer.OVER),
    DistractorKind.WHITE_SHEET: (Layer.UNDER, Layer.BESIDE),
}

#: How far (fraction of the page's shorter side) an ``over`` footprint keeps from every corner.
CORNER_MARGIN = 0.06


@dataclass(frozen=True, eq=False)
class Placed:
    """One distractor as drawn: its kind, layer and footprint (convex hull, frame pixels)."""

    kind: DistractorKind
    layer: Layer
    footprint: npt.NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class _Sprite:
    colour: FloatImage       # BGR, 0..255, premultiplied by nothing
    alpha: FloatImage        # 0..1

    @cached_property
    def hull(self) -> F64:
        """Convex hull of the visible pixels, in the sprite's own pixels (placement tries it
        many times)."""
        ys, xs = np.nonzero(self.alpha > 0.05)
        pts = np.stack([xs, ys], axis=1).astype(np.float32).reshape(-1, 1, 2)
        return np.asarray(cv2.convexHull(pts).reshape(-1, 2), np.float64)


class Distractors:
    """The distractors of one frame: ``kinds`` drawn from ``rng`` on both sides of the page.

    Pass it as ``layers=`` to :func:`drivers.camera.synth.synthesize`, which
    calls :meth:`under` on the tray before drawing the page and :meth:`over`
    after it. After the call, :attr:`placed` holds what was drawn, in order.
    """

    def __init__(self, kinds: Sequence[DistractorKind], rng: np.random.Generator) -> None:
        if not kinds:
            raise ValueError("Distractors needs at least one kind")
        self.kinds = tuple(DistractorKind(k) for k in kinds)
        self.rng = rng
        self._placed: dict[int, Placed] = {}
        # layers drawn up front, so under() and over() see the same plan whatever happens
        self._plan = [(k, LAYERS[k][int(rng.integers(0, len(LAYERS[k])))]) for k in self.kinds]

    @property
    def placed(self) -> list[Placed]:
        """What was drawn, in the order of ``kinds`` (one that found no room is left out)."""
        return [self._placed[i] for i in sorted(self._placed)]

    def under(self, image: FloatImage, corners: F64, ppm: float) -> None:
        """Draw the ``under`` and ``beside`` distractors on the tray (before the page)."""
        for i, (kind, layer) in enumerate(self._plan):
            if layer is not Layer.OVER:
                self._draw(i, image, kind, layer, corners, ppm)

    def over(self, image: FloatImage, corners: F64, ppm: float) -> None:
        """Draw the ``over`` distractors across the page's edges (after the page)."""
        for i, (kind, layer) in enumerate(self._plan):
            if layer is Layer.OVER:
                self._draw(i, image, kind, layer, corners, ppm)

    # ------------------------------------------------------------ placement

    def _draw(self, index: int, image: FloatImage, kind: DistractorKind, layer: Layer,
              corners: F64, ppm: float) -> None:
        rng = self.rng
        if kind is DistractorKind.WHITE_SHEET and layer is Layer.UNDER and rng.random() < 0.5:
            # the page lying wholly on a bigger white sheet (SmartDoc's background 05)
            sheet = _white_sheet(rng, ppm, (float(rng.uniform(300, 340)),
                                            float(rng.uniform(420, 460))))
            beneath = _place_beneath(sheet, corners, rng)
            if beneath is not None:
                _stamp(image, sheet, beneath[0], beneath[1], ppm, rng)
                self._placed[index] = Placed(kind, layer, beneath[2].astype(np.float32))
                return
        sprite = _SPRITES[kind](rng, ppm)
        # no room in its layer (a big sheet beside a big page runs out of the frame): another
        # layer drawn at the same time (under <-> beside; an ``over`` one stays over)
        tries = [layer] if layer is Layer.OVER else \
            [layer, *(x for x in LAYERS[kind] if x not in (layer, Layer.OVER))]
        placement = None
        for layer in tries:
            placement = self._place(sprite, layer, corners, image.shape[1], image.shape[0])
            if placement is not None:
                break
        if placement is None:
            return                     # nowhere it fits (a page filling the frame)
        centre, angle, foot = placement
        _stamp(image, sprite, centre, angle, ppm, rng)
        self._placed[index] = Placed(kind, layer, foot.astype(np.float32))

    def _place(self, sprite: _Sprite, layer: Layer, corners: F64, w: int, h: int
               ) -> tuple[F64, float, F64] | None:
        """Centre, angle and footprint for ``sprite`` in ``layer``, or None after 40 tries."""
        rng = self.rng
        sh, sw = sprite.alpha.shape
        half_diag = 0.5 * math.hypot(sw, sh)
        centre_page = corners.mean(axis=0)
        short = min(float(np.linalg.norm(corners[1] - corners[0])),
                    float(np.linalg.norm(corners[3] - corners[0])))
        for attempt in range(40):
            edge = int(rng.integers(0, 4))
            a, b = corners[edge], corners[(edge + 1) % 4]
            t = float(rng.uniform(0.3, 0.7))
            p = a + (b - a) * t
            normal = p - centre_page
            normal /= max(1e-6, float(np.linalg.norm(normal)))
            edge_angle = math.degrees(math.atan2(float(b[1] - a[1]), float(b[0] - a[0])))
            angle = edge_angle + float(rng.uniform(-25, 25)) + (90.0 if rng.random() < 0.5 else 0)
            depth = min(sw, sh) / 2          # half the sprite's thickness across the edge
            if layer is Layer.BESIDE:
                d = half_diag + float(rng.uniform(0.02, 0.25)) * short + 0.03 * short * attempt
            elif layer is Layer.UNDER:
                d = depth * float(rng.uniform(0.2, 1.0))      # partly under, partly out
            else:
                d = depth * float(rng.uniform(0.0, 0.7))      # across the edge
            centre = p + normal * d
            foot = _footprint(sprite, centre, angle)
            if layer is Layer.BESIDE and _overlaps(foot, corners):
                continue
            if layer is Layer.OVER and not _clear_of_corners(foot, corners, CORNER_MARGIN * short):
                continue
            inside = _inside_fraction(foot, w, h)
            if inside < 0.25:
                continue
            return centre, angle, foot
        return None


def _place_beneath(sprite: _Sprite, corners: F64, rng: np.random.Generator
                   ) -> tuple[F64, float, F64] | None:
    """Centre, angle and footprint of a sheet the whole page lies on, or None after 20 tries."""
    top = corners[1] - corners[0]
    page_angle = math.degrees(math.atan2(float(top[1]), float(top[0])))
    short = float(np.linalg.norm(top))
    for _ in range(20):
        centre = corners.mean(axis=0) + rng.normal(0.0, 0.12 * short, 2)
        angle = page_angle + float(rng.uniform(-10, 10))
        foot = _footprint(sprite, centre, angle)
        poly = foot.astype(np.float32).reshape(-1, 1, 2)
        if all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) > 0.02 * short
               for x, y in corners):
            return centre, angle, foot
    return None


def _affine(sprite: _Sprite, centre: F64, angle_deg: float) -> F64:
    sh, sw = sprite.alpha.shape
    m = cv2.getRotationMatrix2D(((sw - 1) / 2, (sh - 1) / 2), -angle_deg, 1.0)
    m[:, 2] += np.asarray(centre, np.float64) - np.array([(sw - 1) / 2, (sh - 1) / 2])
    return np.asarray(m, np.float64)


def _footprint(sprite: _Sprite, centre: F64, angle_deg: float) -> F64:
    """Convex hull (frame px) of the sprite's visible pixels once placed."""
    m = _affine(sprite, centre, angle_deg)
    return np.asarray(sprite.hull @ m[:, :2].T + m[:, 2], np.float64)


def _overlaps(foot: F64, corners: F64) -> bool:
    area, _ = cv2.intersectConvexConvex(foot.astype(np.float32), corners.astype(np.float32))
    return bool(area > 0.0)


def _clear_of_corners(foot: F64, corners: F64, margin: float) -> bool:
    poly = foot.astype(np.float32).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(poly, (float(x), float(y)), True) < -margin
               for x, y in corners)


def _inside_fraction(foot: F64, w: int, h: int) -> float:
    area = abs(cv2.contourArea(foot.astype(np.float32)))
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    seen, _ = cv2.intersectConvexConvex(foot.astype(np.float32), frame)
    return float(seen) / max(1.0, area)


def _stamp(image: FloatImage, sprite: _Sprite, centre: F64, angle_deg: float, ppm: float,
           rng: np.random.Generator) -> None:
    """Warp the sprite into ``image`` with a soft contact shadow, in a window around it."""
    h, w = image.shape[:2]
    m = _affine(sprite, centre, angle_deg)
    foot = _footprint(sprite, centre, angle_deg)
    pad = int(8 * ppm)
    x0, y0 = max(0, int(foot[:, 0].min()) - pad), max(0, int(foot[:, 1].min()) - pad)
    x1, y1 = min(w, int(foot[:, 0].max()) + pad + 1), min(h, int(foot[:, 1].max()) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return
    local = m.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    colour = np.asarray(cv2.warpAffine(sprite.colour, local, size, flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)),
                        np.float32)
    alpha = np.asarray(cv2.warpAffine(sprite.alpha, local, size, flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=0), np.float32)
    reach = float(rng.uniform(1.0, 3.0)) * ppm
    shadow = np.asarray(cv2.GaussianBlur(alpha, (0, 0), max(1.0, reach)), np.float32)
    shift = np.array([[1, 0, reach * 0.6], [0, 1, reach]], np.float32)
    shadow = np.asarray(cv2.warpAffine(shadow, shift, size), np.float32)
    region = image[y0:y1, x0:x1]
    region *= (1.0 - float(rng.uniform(0.2, 0.45)) * shadow)[:, :, None]
    region *= (1.0 - alpha)[:, :, None]
    region += colour * alpha[:, :, None]


# ---------------------------------------------------------------- the sprites


def _rounded_mask(w: int, h: int, r: int) -> FloatImage:
    mask = np.zeros((h, w), np.uint8)
    r = max(1, min(r, w // 2 - 1, h // 2 - 1))
    cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return np.asarray(cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0.7), np.float32)


def _smooth_noise(rng: np.random.Generator, w: int, h: int, cells: int, ch: int = 1) -> FloatImage:
    small = rng.standard_normal((max(2, cells * h // max(1, w)), max(2, cells), ch))
    return np.asarray(cv2.resize(small.astype(np.float32), (w, h),
                                 interpolation=cv2.INTER_CUBIC), np.float32).reshape(h, w, ch)


def _scene(rng: np.random.Generator, w: int, h: int) -> FloatImage:
    """A smooth natural-looking picture: sky over ground, blurred shapes, soft noise."""
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    horizon = float(rng.uniform(0.35, 0.65))
    sky_top = rng.uniform([150, 90, 40], [250, 200, 140]).astype(np.float32)
    sky_low = rng.uniform([200, 180, 150], [255, 240, 230]).astype(np.float32)
    ground = rng.uniform([20, 40, 30], [120, 160, 150]).astype(np.float32)
    t = np.clip(ys / horizon, 0, 1)
    img = sky_top * (1 - t) + sky_low * t
    below = (ys > horizon).astype(np.float32)
    img = img * (1 - below) + ground * (0.7 + 0.5 * (ys - horizon)) * below
    img = np.broadcast_to(img, (h, w, 3)).copy()
    img += 25.0 * _smooth_noise(rng, w, h, 6, 3)
    for _ in range(int(rng.integers(2, 6))):
        centre = (int(rng.uniform(0, w)), int(rng.uniform(0.3 * h, h)))
        axes = (int(rng.uniform(0.05, 0.25) * w), int(rng.uniform(0.05, 0.3) * h))
        cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), 0, 360,
                    [float(v) for v in rng.uniform(10, 200, 3)], -1, cv2.LINE_AA)
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), max(1.0, 0.01 * w)), np.float32)
    return np.asarray(np.clip(img, 0, 255), np.float32)


def _magazine(rng: np.random.Generator, ppm: float) -> _Sprite:
    w, h = round(float(rng.uniform(200, 230)) * ppm), round(float(rng.uniform(265, 300)) * ppm)
    # the cover photo, full bleed (uint8: OpenCV draws text on 8-bit images only)
    img = np.asarray(np.clip(_scene(rng, w, h) + 0.5, 0, 255), np.uint8)
    band = rng.uniform(0, 255, 3)
    band[int(rng.integers(0, 3))] = 20.0                     # saturated
    top = int(0.2 * h)
    img[:top] = band.astype(np.uint8)
    letters = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(4, 7))))
    scale = 0.9 * w / (len(letters) * 22.0)
    ink = (255.0, 255.0, 255.0) if band.mean() < 140 else (15.0, 15.0, 15.0)
    cv2.putText(img, letters, (int(0.04 * w), int(0.17 * h)), cv2.FONT_HERSHEY_DUPLEX, scale,
                ink, max(2, round(scale * 2.5)), cv2.LINE_AA)
    for k in range(int(rng.integers(3, 6))):           # cover lines in coloured boxes
        y = int((0.3 + 0.12 * k) * h)
        if y > 0.9 * h:
            break
        box = rng.uniform(0, 255, 3)
        x_end = int(float(rng.uniform(0.35, 0.7)) * w)
        cv2.rectangle(img, (int(0.04 * w), y), (x_end, y + int(0.07 * h)),
                      [float(v) for v in box], -1)
        cv2.putText(img, "".join(chr(int(c)) for c in rng.integers(65, 91, 8)),
                    (int(0.05 * w), y + int(0.055 * h)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.0016 * w, (255, 255, 255) if box.mean() < 128 else (0, 0, 0),
                    max(1, round(0.004 * w)), cv2.LINE_AA)
    bx, by = int(0.75 * w), int(0.88 * h)                   # barcode
    cv2.rectangle(img, (bx, by), (int(0.95 * w), int(0.97 * h)), (255, 255, 255), -1)
    for x in range(bx + 3, int(0.95 * w) - 3, 3):
        if rng.random() < 0.5:
            cv2.line(img, (x, by + 3), (x, int(0.97 * h) - 3), (0, 0, 0), 1)
    return _Sprite(img.astype(np.float32), _rounded_mask(w, h, 1))


def magazine_cover(rng: np.random.Generator, px_per_mm: float) -> npt.NDArray[np.uint8]:
    """The ``magazine`` distractor's cover alone (BGR, about 210 x 280 mm at ``px_per_mm``).

    For renderers that place it themselves: ``devtools.detection_corpus``'s hand-held
    desk frames (``white_on_white_clutter``) lie it on the desk beside the page.
    """
    sprite = _magazine(rng, px_per_mm)
    return np.asarray(np.clip(sprite.colour + 0.5, 0, 255), np.uint8)


def _photo(rng: np.random.Generator, ppm: float) -> _Sprite:
    long_, short = (float(rng.uniform(130, 180)), float(rng.uniform(90, 125)))
    w, h = (round(long_ * ppm), round(short * ppm)) if rng.random() < 0.5 \
        else (round(short * ppm), round(long_ * ppm))
    img = np.full((h, w, 3), 245.0, np.float32)
    border = round(float(rng.uniform(3, 6)) * ppm) if rng.random() < 0.4 else 0
    img[border:h - border, border:w - border] = _scene(rng, w - 2 * border, h - 2 * border)
    return _Sprite(img, _rounded_mask(w, h, 1))


def _phone(rng: np.random.Generator, ppm: float) -> _Sprite:
    w, h = round(float(rng.uniform(68, 78)) * ppm), round(float(rng.uniform(140, 162)) * ppm)
    body = float(rng.uniform(12, 45))
    img = np.full((h, w, 3), body, np.float32)
    inset = round(float(rng.uniform(2, 4)) * ppm)
    sw, sh = w - 2 * inset, h - 2 * inset
    if rng.random() < 0.5:                                     # lit screen: an app grid
        screen = np.zeros((sh, sw, 3), np.float32) + rng.uniform(20, 120, 3).astype(np.float32)
        screen += 40.0 * _smooth_noise(rng, sw, sh, 3, 3)
        step = sw // 4
        for gy in range(sh // 8, sh - step, step):
            for gx in range(step // 4, sw - step // 2, step):
                cv2.rectangle(screen, (gx, gy), (gx + step // 2, gy + step // 2),
                              [float(v) for v in rng.uniform(60, 255, 3)], -1, cv2.LINE_AA)
    else:                                                      # dark glass
        screen = np.full((sh, sw, 3), 8.0, np.float32)
    xs = np.linspace(0, 1, sw, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, sh, dtype=np.float32)[:, None]
    shine = np.clip(1.0 - np.abs(xs + 0.6 * ys - float(rng.uniform(0.3, 1.2))) / 0.15, 0, 1)
    screen += float(rng.uniform(60, 160)) * shine[:, :, None]  # the glossy glass reflects
    img[inset:inset + sh, inset:inset + sw] = screen
    return _Sprite(np.asarray(np.clip(img, 0, 255), np.float32),
                   _rounded_mask(w, h, round(9 * ppm)))


def _wallet(rng: np.random.Generator, ppm: float) -> _Sprite:
    w, h = round(float(rng.uniform(95, 120)) * ppm), round(float(rng.uniform(80, 100)) * ppm)
    leather = np.array([25, 45, 75], np.float32) if rng.random() < 0.6 \
        else np.array([22, 22, 24], np.float32)
    leather = leather * float(rng.uniform(0.7, 1.3))
    img = np.broadcast_to(leather, (h, w, 3)).copy()
    img += 8.0 * rng.standard_normal((h, w, 1)).astype(np.float32)
    img += 10.0 * _smooth_noise(rng, w, h, 5)
    fold = int(float(rng.uniform(0.45, 0.55)) * w)
    cv2.line(img, (fold, 0), (fold, h - 1), [float(v) * 0.6 for v in leather], max(1, round(ppm)))
    thread = (150.0, 170.0, 185.0) if rng.random() < 0.5 else (60.0, 80.0, 110.0)
    inset = round(4 * ppm)
    step = max(3, round(3 * ppm))
    for x in range(inset, w - inset, step):
        for y in (inset, h - 1 - inset):
            cv2.line(img, (x, y), (min(w - inset, x + step // 2), y), thread, 1, cv2.LINE_AA)
    for y in range(inset, h - inset, step):
        for x in (inset, w - 1 - inset):
            cv2.line(img, (x, y), (x, min(h - inset, y + step // 2)), thread, 1, cv2.LINE_AA)
    return _Sprite(np.asarray(np.clip(img, 0, 255), np.float32),
                   _rounded_mask(w, h, round(8 * ppm)))


def _dark_objects(rng: np.random.Generator, ppm: float) -> _Sprite:
    """A bunch of keys on a ring and a dark pen beside them."""
    w, h = round(150 * ppm), round(110 * ppm)
    img = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), np.float32)
    ring = (round(35 * ppm), round(40 * ppm))
    r = round(12 * ppm)
    metal = (float(rng.uniform(50, 110)),) * 3
    cv2.circle(img, ring, r, metal, max(2, round(1.5 * ppm)), cv2.LINE_AA)
    cv2.circle(mask, ring, r, 1.0, max(2, round(1.5 * ppm)), cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 4))):
        a = float(rng.uniform(-0.6, 1.4))
        d = np.array([math.cos(a), math.sin(a)])
        head = np.array(ring, np.float64) + d * (r + 8 * ppm)
        tip = head + d * float(rng.uniform(35, 50)) * ppm
        col = [float(v) for v in rng.uniform(30, 90, 3)]
        cv2.circle(img, tuple(int(v) for v in head), round(9 * ppm), col, -1, cv2.LINE_AA)
        cv2.circle(mask, tuple(int(v) for v in head), round(9 * ppm), 1.0, -1, cv2.LINE_AA)
        thick = max(2, round(5 * ppm))
        cv2.line(img, tuple(int(v) for v in head), tuple(int(v) for v in tip), col, thick,
                 cv2.LINE_AA)
        cv2.line(mask, tuple(int(v) for v in head), tuple(int(v) for v in tip), 1.0, thick,
                 cv2.LINE_AA)
    y = round(float(rng.uniform(85, 100)) * ppm)                   # the pen, along the bottom
    pen = [float(v) for v in rng.uniform(10, 40, 3)]
    cv2.line(img, (round(5 * ppm), y), (w - round(5 * ppm), y), pen, round(9 * ppm), cv2.LINE_AA)
    cv2.line(mask, (round(5 * ppm), y), (w - round(5 * ppm), y), 1.0, round(9 * ppm), cv2.LINE_AA)
    cv2.line(img, (round(20 * ppm), y - round(2 * ppm)), (w - round(30 * ppm), y - round(2 * ppm)),
             (120.0, 120.0, 120.0), max(1, round(ppm)), cv2.LINE_AA)   # a highlight
    return _Sprite(img, np.asarray(np.clip(mask, 0, 1), np.float32))


def _white_sheet(rng: np.random.Generator, ppm: float,
                 size_mm: tuple[float, float] | None = None) -> _Sprite:
    # A4, A5, or A3 (a flattened sheet under much of the page)
    w, h = size_mm if size_mm is not None else \
        [(210.0, 297.0), (148.0, 210.0), (297.0, 420.0)][int(rng.choice(3, p=[0.5, 0.25, 0.25]))]
    w_px, h_px = round(w * ppm), round(h * ppm)
    base = float(rng.uniform(230, 252))                  # near-neutral paper, a slight tint
    tint = np.clip(base + rng.uniform(-4, 4, 3), 0, 255).astype(np.float32)
    img = np.broadcast_to(tint, (h_px, w_px, 3)).copy()
    img += 2.0 * _smooth_noise(rng, w_px, h_px, 4)
    if rng.random() < 0.6:                                         # faint typed lines
        for k in range(int(rng.integers(6, 20))):
            y = round((25 + 9 * k) * ppm)
            if y > h_px - 20 * ppm:
                break
            x1 = round(float(rng.uniform(0.4, 0.85)) * w_px)
            cv2.line(img, (round(20 * ppm), y), (x1, y), (150.0, 150.0, 150.0),
                     max(1, round(1.2 * ppm)), cv2.LINE_AA)
    return _Sprite(np.asarray(np.clip(img, 0, 255), np.float32), _rounded_mask(w_px, h_px, 1))


_SPRITES = {
    DistractorKind.MAGAZINE: _magazine,
    DistractorKind.PHOTO: _photo,
    DistractorKind.PHONE: _phone,
    DistractorKind.WALLET: _wallet,
    DistractorKind.DARK_OBJECTS: _dark_objects,
    DistractorKind.WHITE_SHEET: _white_sheet,
}
