"""Synthetic document-camera frames: a page lying on the kiosk tray, seen from above.

Pure numpy/OpenCV, no threads, no global state: everything random is drawn
from the ``rng`` passed in, in a fixed order, so the same generator state gives
the same frame, byte for byte.

The scene model
---------------
The camera hangs above the tray looking straight down (a pinhole camera at
``CAMERA_DISTANCE_MM``). Its scale is fixed by the kiosk, not by the page: the
tray is sized so that an A4 page's long side covers 80-88 % of the frame's
short side, and a smaller document (an identity card, ``page_size_mm=(85.6,
53.98)``) therefore looks small, as it does on a real kiosk. The page lies
roughly in the middle of the tray, turned by a few degrees.

Pixel convention: coordinates are OpenCV's, the centre of pixel ``(0, 0)`` is
``(0.0, 0.0)``. The true corners are where the page's outer edges meet: the
page image's pixel edges ``(-0.5, -0.5)``, ``(w - 0.5, -0.5)``... are mapped
onto them by the homography used to draw it, so the corners are exact, not
estimated from the drawing.

The defects (:class:`Defects`, all off by default)
--------------------------------------------------
``blur_sigma``        out of focus: Gaussian blur of the whole frame, sigma in pixels.
``motion_px``         the page (and the hand) moved during the exposure: a line blur this
                      long, at ``motion_angle_deg`` (0 = along x), on the page and hand only.
``glare``             0..1: a specular reflection of a ceiling light on the page, placed
                      over the text; at 1 its core is saturated white and the text under it lost.
``darkness``          0..1: under-exposure, the frame darkened by up to 85 %.
``overexposure``      0..1: over-exposure, gain up to x2.6 with veiling flare; paper clips
                      to white and faint ink fades.
``noise_sigma``       sensor noise: Gaussian, standard deviation in grey levels.
``gradient``          0..1: uneven light, a linear fall-off across the page in a random
                      direction, from full light on one side to -70 % (at 1) on the other.
``cut``               0..0.95: fraction of the page's area outside the frame; the page is
                      slid towards one side until exactly that much is out.
``tilt_deg``          the page plane is tilted by this angle about an axis through its
                      centre (a page lifted on one side, or a camera mounted askew):
                      a true perspective, one edge nearer the camera than the other.
``scale``             page area relative to the comfortable placement (2 = lifted towards
                      the camera and twice the area; 0.5 = half the area).
``hand``              a hand (and its sleeve) enters from the citizen's side and rests on
                      the page's margin, casting a shadow.
``clutter``           other papers (partly under the page), a pen, a phone, coins, keys and
                      a sticky note lie on the tray around the page.

Even without defects, the tray (plain or textured), the page's position and
its in-plane rotation (a few degrees) vary with the rng.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Protocol

import cv2
import numpy as np
import numpy.typing as npt

import assets
from drivers.camera.pagegen import PAPER_MM, render_text_page

__all__ = [
    "Defects",
    "Layers",
    "Placement",
    "SamplePage",
    "empty_tray",
    "render_text_page",
    "sample_pages",
    "synthesize",
]

Image = npt.NDArray[np.uint8]
FloatImage = npt.NDArray[np.float32]
Corners = npt.NDArray[np.float32]

#: Distance from the camera's centre to the tray, in millimetres (typical of kiosks).
CAMERA_DISTANCE_MM = 450.0
#: The long side of an A4 page covers this fraction of the frame's short side at scale 1.
A4_FILL = (0.80, 0.88)
PAGES_DIR = assets.path("pages")


@dataclass(frozen=True)
class Defects:
    """What goes wrong in a frame; every field off by default (see the module docstring)."""

    blur_sigma: float = 0.0
    motion_px: float = 0.0
    motion_angle_deg: float = 0.0
    glare: float = 0.0
    darkness: float = 0.0
    overexposure: float = 0.0
    noise_sigma: float = 0.0
    gradient: float = 0.0
    cut: float = 0.0
    tilt_deg: float = 0.0
    scale: float = 1.0
    hand: bool = False
    clutter: bool = False

    _RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "blur_sigma": (0.0, 50.0), "motion_px": (0.0, 300.0), "motion_angle_deg": (-360.0, 360.0),
        "glare": (0.0, 1.0), "darkness": (0.0, 1.0), "overexposure": (0.0, 1.0),
        "noise_sigma": (0.0, 100.0), "gradient": (0.0, 1.0), "cut": (0.0, 0.95),
        "tilt_deg": (0.0, 60.0), "scale": (0.05, 4.0),
    }

    def __post_init__(self) -> None:
        for name, (low, high) in self._RANGES.items():
            value = getattr(self, name)
            if not isinstance(value, int | float) or not low <= float(value) <= high:
                raise ValueError(
                    f"defect {name}={value!r} is not a number from {low:g} to {high:g}")

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)

    @property
    def any(self) -> bool:
        """Whether anything differs from a clean frame."""
        return self != Defects()

    @classmethod
    def parse(cls, text: str) -> Defects:
        """Parse ``"blur_sigma:2.5,glare:0.6,hand"`` (``=`` also accepted; a bare name means true).

        Raises ValueError naming the bad field and the valid ones.
        """
        names = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, raw = item.replace("=", ":").partition(":")
            name = name.strip()
            if name not in names:
                raise ValueError(f"unknown defect {name!r} (valid: {', '.join(names)})")
            if names[name].type in ("bool", bool):
                if not sep or raw.strip().lower() in ("1", "true", "yes", "on"):
                    values[name] = True
                elif raw.strip().lower() in ("0", "false", "no", "off"):
                    values[name] = False
                else:
                    raise ValueError(f"defect {name}={raw!r} is not true or false")
            else:
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise ValueError(f"defect {name}={raw!r} is not a number") from None
        return cls(**values)

    @classmethod
    def random(cls, rng: np.random.Generator, severity: float = 0.5) -> Defects:
        """A random mix of defects, each present with a probability growing with ``severity``.

        ``severity`` 0 gives a clean frame; 1 gives frames most of which are unusable.
        """
        s = float(np.clip(severity, 0.0, 1.0))

        def maybe(p: float, low: float, high: float) -> float:
            on = rng.random() < p * s
            value = float(rng.uniform(low, high * s + low * (1 - s)))
            return value if on else 0.0

        blur = maybe(0.5, 0.5, 6.0)
        motion = maybe(0.3, 3.0, 40.0)
        return cls(
            blur_sigma=blur, motion_px=motion, motion_angle_deg=float(rng.uniform(0, 180)),
            glare=maybe(0.4, 0.2, 1.0), darkness=maybe(0.3, 0.2, 0.85),
            overexposure=maybe(0.2, 0.2, 0.9), noise_sigma=maybe(0.6, 1.0, 12.0),
            gradient=maybe(0.5, 0.1, 0.8), cut=maybe(0.25, 0.03, 0.4),
            tilt_deg=maybe(0.4, 2.0, 25.0), scale=float(np.exp(rng.uniform(-0.5, 0.3) * s)),
            hand=bool(rng.random() < 0.3 * s), clutter=bool(rng.random() < 0.5 * s),
        )


@dataclass(frozen=True)
class Placement:
    """Where the page lies, overriding the random placement (used by the simulator to move it).

    ``offset_mm`` is the page centre relative to the point under the camera
    (x right, y towards the bottom of the frame); ``rotation_deg`` turns it
    clockwise in the image.
    """

    offset_mm: tuple[float, float] = (0.0, 0.0)
    rotation_deg: float = 0.0


class Layers(Protocol):
    """What else lies on the tray, drawn under and over the page (``drivers.camera.distractors``).

    Both get the frame before light and noise (float32 BGR, drawn in place),
    the page's corners (px) and the tray's scale (px per mm); they draw from
    their own generator, so a frame's other draws are unchanged.
    """

    def under(self, image: FloatImage, corners: npt.NDArray[np.float64], ppm: float) -> None: ...

    def over(self, image: FloatImage, corners: npt.NDArray[np.float64], ppm: float) -> None: ...


@dataclass(frozen=True, eq=False)
class SamplePage:
    """One of the committed sample pages (``assets/pages``)."""

    name: str
    kind: str                       # "text" or "colour"
    size_mm: tuple[float, float]    # width, height of the paper
    image: Image = field(repr=False)  # BGR, read-only
    #: The document's shape (255 inside) where it is not a plain rectangle: an identity
    #: card's rounded corners. None for paper sheets.
    mask: Image | None = field(default=None, repr=False)
    #: The barcodes printed on the page: ``[{"format": "QRCode", "text": ...}]``.
    codes: tuple[dict[str, str], ...] = ()

    def bgra(self) -> Image:
        """The image with its shape as alpha (what :func:`synthesize` draws best), or BGR."""
        if self.mask is None:
            return self.image
        out = np.dstack([self.image, self.mask])
        out.flags.writeable = False
        return out


@lru_cache(maxsize=1)
def _load_samples(folder: Path) -> tuple[SamplePage, ...]:
    index = folder / "pages.json"
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"sample page index {index} cannot be read: {exc}") from exc
    pages = []
    for entry in entries:
        path = folder / entry["file"]
        read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if read is None:
            raise FileNotFoundError(f"sample page {path} is missing or not an image")
        image = np.asarray(read, dtype=np.uint8)
        mask: Image | None = None
        if image.ndim == 2:
            image = _u8(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
        elif image.shape[2] == 4:
            mask = np.ascontiguousarray(image[:, :, 3])
            image = np.ascontiguousarray(image[:, :, :3])
            mask.flags.writeable = False
        image.flags.writeable = False
        pages.append(SamplePage(name=entry["name"], kind=entry["kind"],
                                size_mm=(float(entry["size_mm"][0]), float(entry["size_mm"][1])),
                                image=image, mask=mask,
                                codes=tuple(dict(c) for c in entry.get("codes", ()))))
    return tuple(pages)


def sample_pages() -> list[SamplePage]:
    """The sample pages of ``assets/pages`` (convocation, tax notice, payslip, ...).

    Images are shared and read-only; copy one before drawing on it. Raises
    FileNotFoundError when the folder or one of its files is missing.
    """
    return list(_load_samples(PAGES_DIR))


# ---------------------------------------------------------------- geometry


def _page_edges(width: int, height: int) -> npt.NDArray[np.float32]:
    """The outer edges of an image's pixels, tl, tr, br, bl (pixel centres at integers)."""
    return np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                     [-0.5, height - 0.5]], dtype=np.float32)


@dataclass(frozen=True)
class _Camera:
    width: int
    height: int
    ppm: float          # pixels per millimetre on the tray plane

    def project(self, points_mm: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Project (N, 3) tray points (mm, z towards the camera) to pixels."""
        f = self.ppm * CAMERA_DISTANCE_MM
        depth = CAMERA_DISTANCE_MM - points_mm[:, 2]
        x = f * points_mm[:, 0] / depth + (self.width - 1) / 2
        y = f * points_mm[:, 1] / depth + (self.height - 1) / 2
        return np.stack([x, y], axis=1)


def _page_corners_mm(size_mm: tuple[float, float], centre: tuple[float, float],
                     rotation_deg: float, tilt_deg: float,
                     tilt_axis_deg: float) -> npt.NDArray[np.float64]:
    w, h = size_mm
    local = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0],
                      [-w / 2, h / 2, 0]], dtype=np.float64)
    a = math.radians(rotation_deg)
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    pts = local @ rot.T
    if tilt_deg:
        axis = np.array([math.cos(math.radians(tilt_axis_deg)),
                         math.sin(math.radians(tilt_axis_deg)), 0.0])
        rvec = (axis * math.radians(tilt_deg)).reshape(3, 1)
        tilt, _ = cv2.Rodrigues(rvec)
        pts = pts @ np.asarray(tilt).T
    pts[:, 0] += centre[0]
    pts[:, 1] += centre[1]
    return np.asarray(pts, dtype=np.float64)


def _outside_fraction(quad: npt.NDArray[np.float64], width: int, height: int) -> float:
    poly = quad.astype(np.float32).reshape(-1, 1, 2)
    area = abs(cv2.contourArea(poly))
    if area <= 0:
        return 1.0
    frame = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5],
                      [-0.5, height - 0.5]], dtype=np.float32).reshape(-1, 1, 2)
    inter, _ = cv2.intersectConvexConvex(poly, frame)
    return float(1.0 - max(0.0, inter) / area)


# ---------------------------------------------------------------- the tray

TRAY_COLOURS: tuple[tuple[int, int, int], ...] = (   # BGR
    (58, 58, 60), (44, 46, 50), (118, 119, 116), (150, 172, 188), (32, 32, 34),
    (64, 92, 58), (112, 76, 46), (176, 178, 174), (92, 98, 108),
)


def _low_freq(rng: np.random.Generator, width: int, height: int, cells: int) -> FloatImage:
    """Smooth noise in about -1..1, varying over ``cells`` cells across the frame."""
    small_w = max(2, cells)
    small_h = max(2, round(cells * height / width))
    small = rng.standard_normal((small_h, small_w)).astype(np.float32)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC),
                      dtype=np.float32)


def _tray(rng: np.random.Generator, width: int, height: int) -> FloatImage:
    kind = int(rng.integers(0, 3))            # 0 plain, 1 grained (wood), 2 speckled laminate
    colour = np.array(TRAY_COLOURS[int(rng.integers(0, len(TRAY_COLOURS)))], dtype=np.float32)
    colour = colour * float(rng.uniform(0.9, 1.1))
    tone = 1.0 + 0.04 * _low_freq(rng, width, height, 4)
    if kind == 1:
        streaks = rng.standard_normal((height, max(2, width // 48))).astype(np.float32)
        grain = cv2.resize(streaks, (width, height), interpolation=cv2.INTER_LINEAR)
        warp = _low_freq(rng, width, height, 6)
        ys = np.arange(height, dtype=np.float32)[:, None] + 25.0 * warp
        rings = np.sin(ys / float(rng.uniform(9, 20))).astype(np.float32)
        tone = tone + 0.05 * grain + 0.05 * rings
    elif kind == 2:
        fine = rng.standard_normal((height, width)).astype(np.float32)
        tone = tone + 0.035 * cv2.GaussianBlur(fine, (0, 0), 0.8)
    else:
        fine = rng.standard_normal((height // 2, width // 2)).astype(np.float32)
        tone = tone + 0.012 * cv2.resize(fine, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(tone[:, :, None] * colour[None, None, :], dtype=np.float32)


def _draw_clutter(rng: np.random.Generator, canvas: Image, cam: _Camera) -> None:
    """Papers, a pen, a phone, coins, keys and a sticky note, outside the page's usual place."""
    h, w = canvas.shape[:2]
    ppm = cam.ppm
    # The comfortable zone (where pages go) is left free of objects; papers may slide under it.
    zone_w, zone_h = 240 * ppm, 310 * ppm
    zone = (w / 2 - zone_w / 2, h / 2 - zone_h / 2, w / 2 + zone_w / 2, h / 2 + zone_h / 2)

    def outside_zone(x: float, y: float, r: float) -> bool:
        return bool(x + r < zone[0] or x - r > zone[2] or y + r < zone[1] or y - r > zone[3])

    def spot(radius_px: float) -> tuple[float, float] | None:
        for _ in range(40):
            x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            if outside_zone(x, y, radius_px * 0.6):
                return x, y
        return None

    aa = cv2.LINE_AA
    # Other papers: white or tinted sheets, partly outside the frame, with lines of "text".
    for _ in range(int(rng.integers(1, 4))):
        sw, sh = (210 * ppm, 297 * ppm) if rng.random() < 0.6 else (148 * ppm, 210 * ppm)
        side = int(rng.integers(0, 2))
        cx = float(rng.uniform(-0.05, 0.22) if side == 0 else rng.uniform(0.78, 1.05)) * w
        cy = float(rng.uniform(0.1, 0.9) * h)
        angle = float(rng.uniform(-35, 35))
        box = cv2.boxPoints(((cx, cy), (sw, sh), angle))
        tint = rng.choice([0, 1, 2], p=[0.7, 0.2, 0.1])
        paper = ((236, 238, 240), (200, 236, 246), (238, 222, 210))[int(tint)]
        lum = float(rng.uniform(0.82, 0.97))
        cv2.fillConvexPoly(canvas, np.round(box * 16).astype(np.int32),
                           tuple(int(c * lum) for c in paper), aa, shift=4)
        a = math.radians(angle)
        ux, uy = math.cos(a), math.sin(a)
        vx, vy = -math.sin(a), math.cos(a)
        for k in range(int(rng.integers(8, 22))):
            t = -0.4 + k * 0.8 / 22
            length = float(rng.uniform(0.35, 0.8))
            y0 = t * sh
            x0 = -0.4 * sw
            x1 = x0 + length * sw
            p0 = (cx + x0 * ux + y0 * vx, cy + x0 * uy + y0 * vy)
            p1 = (cx + x1 * ux + y0 * vx, cy + x1 * uy + y0 * vy)
            cv2.line(canvas, (round(p0[0] * 16), round(p0[1] * 16)),
                     (round(p1[0] * 16), round(p1[1] * 16)), (90, 90, 95),
                     max(1, round(ppm * 0.8)), aa, shift=4)
    # A pen.
    where = spot(140 * ppm)
    if where is not None:
        a = float(rng.uniform(0, math.pi))
        half = 70 * ppm
        p0 = (where[0] - half * math.cos(a), where[1] - half * math.sin(a))
        p1 = (where[0] + half * math.cos(a), where[1] + half * math.sin(a))
        ink = [(140, 60, 20), (30, 30, 30), (40, 40, 170)][int(rng.integers(0, 3))]
        cv2.line(canvas, (round(p0[0]), round(p0[1])), (round(p1[0]), round(p1[1])), ink,
                 max(2, round(9 * ppm)), aa)
        cv2.line(canvas, (round(p0[0]), round(p0[1])), (round(p1[0]), round(p1[1])),
                 tuple(min(255, c + 70) for c in ink), max(1, round(2 * ppm)), aa)
    # A phone: a dark rounded rectangle with a glassy screen.
    where = spot(120 * ppm)
    if where is not None:
        angle = float(rng.uniform(0, 180))
        body = cv2.boxPoints((where, (72 * ppm, 150 * ppm), angle))
        screen = cv2.boxPoints((where, (64 * ppm, 136 * ppm), angle))
        cv2.fillConvexPoly(canvas, np.round(body * 16).astype(np.int32), (28, 28, 30), aa, shift=4)
        cv2.fillConvexPoly(canvas, np.round(screen * 16).astype(np.int32), (52, 46, 40), aa,
                           shift=4)
    # Coins and keys.
    for _ in range(int(rng.integers(1, 4))):
        where = spot(20 * ppm)
        if where is None:
            continue
        radius = round(float(rng.uniform(9, 13)) * ppm)
        metal = (60, 150, 190) if rng.random() < 0.5 else (170, 170, 165)
        centre = (round(where[0]), round(where[1]))
        cv2.circle(canvas, centre, radius, metal, -1, aa)
        cv2.circle(canvas, centre, max(1, radius - round(2 * ppm)),
                   tuple(int(c * 0.8) for c in metal), max(1, round(ppm)), aa)
    where = spot(60 * ppm)
    if where is not None:
        centre = (round(where[0]), round(where[1]))
        cv2.circle(canvas, centre, round(14 * ppm), (150, 150, 150), max(2, round(2.5 * ppm)), aa)
        a = float(rng.uniform(0, 2 * math.pi))
        tip = (round(centre[0] + 55 * ppm * math.cos(a)), round(centre[1] + 55 * ppm * math.sin(a)))
        cv2.line(canvas, centre, tip, (140, 140, 135), max(2, round(7 * ppm)), aa)
    # A sticky note.
    where = spot(50 * ppm)
    if where is not None:
        note = cv2.boxPoints((where, (76 * ppm, 76 * ppm), float(rng.uniform(0, 90))))
        cv2.fillConvexPoly(canvas, np.round(note * 16).astype(np.int32), (110, 230, 250), aa,
                           shift=4)


# ---------------------------------------------------------------- the hand

SKIN_TONES: tuple[tuple[int, int, int], ...] = (   # BGR
    (150, 178, 226), (120, 150, 205), (92, 122, 178), (62, 86, 130), (44, 60, 92),
    (170, 192, 236),
)
SLEEVE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (120, 60, 30), (40, 40, 40), (160, 160, 160), (60, 60, 140), (50, 100, 60), (200, 200, 205),
)


def _draw_hand(rng: np.random.Generator, cam: _Camera, corners: npt.NDArray[np.float64],
               colour: Image, mask: Image) -> None:
    """Draw a hand whose fingers rest on the page margin nearest the citizen's side."""
    ppm = cam.ppm
    side = int(rng.choice([0, 1, 2], p=[0.4, 0.3, 0.3]))    # bottom, left, right
    centre = corners.mean(axis=0)
    if side == 0:
        direction = np.array([0.0, -1.0])
        edge_mid = (corners[2] + corners[3]) / 2
    elif side == 1:
        direction = np.array([1.0, 0.0])
        edge_mid = (corners[0] + corners[3]) / 2
    else:
        direction = np.array([-1.0, 0.0])
        edge_mid = (corners[1] + corners[2]) / 2
    turn = math.radians(float(rng.uniform(-25, 25)))
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    direction = rot @ direction
    along = edge_mid + (centre - edge_mid) * float(rng.uniform(-0.15, 0.15))
    lateral = np.array([-direction[1], direction[0]])
    tip = along + direction * float(rng.uniform(20, 70)) * ppm \
        + lateral * float(rng.uniform(-60, 60)) * ppm
    size = float(rng.uniform(0.9, 1.1)) * ppm
    skin = SKIN_TONES[int(rng.integers(0, len(SKIN_TONES)))]
    sleeve = SLEEVE_COLOURS[int(rng.integers(0, len(SLEEVE_COLOURS)))]

    def at(u: float, v: float) -> tuple[int, int]:
        p = tip + direction * (u * size) + lateral * (v * size)
        return round(float(p[0]) * 16), round(float(p[1]) * 16)

    aa = cv2.LINE_AA
    layers: list[tuple[Image, int]] = [(colour, -1), (mask, 255)]
    for target, value in layers:
        fill_skin: Any = skin if value < 0 else value
        fill_sleeve: Any = sleeve if value < 0 else value
        # Sleeve: from the wrist far beyond the frame edge.
        sleeve_poly = np.array([at(-175, -42), at(-175, 42), at(-900, 60), at(-900, -60)],
                               dtype=np.int32)
        cv2.fillConvexPoly(target, sleeve_poly, fill_sleeve, aa, shift=4)
        # Palm and wrist.
        palm_c = at(-118, 0)
        cv2.ellipse(target, palm_c, (round(58 * size * 16), round(44 * size * 16)),
                    math.degrees(math.atan2(direction[1], direction[0])), 0, 360, fill_skin, -1,
                    aa, shift=4)
        wrist = np.array([at(-150, -34), at(-150, 34), at(-185, 36), at(-185, -36)], dtype=np.int32)
        cv2.fillConvexPoly(target, wrist, fill_skin, aa, shift=4)
        # Four fingers (the middle ones longest) and a thumb.
        for offset, reach, spread in ((-27, 14, -4), (-9, 0, -1), (9, 4, 1), (26, 20, 5)):
            base = at(-80, offset * 0.9)
            end = at(-reach, offset + spread)
            cv2.line(target, base, end, fill_skin, max(2, round(17 * size)), aa, shift=4)
        cv2.line(target, at(-140, 40), at(-92, 62), fill_skin, max(2, round(21 * size)), aa,
                 shift=4)


# ---------------------------------------------------------------- rendering


def _motion_kernel(length: float, angle_deg: float) -> FloatImage:
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), dtype=np.float32)
    c = (size - 1) / 2
    a = math.radians(angle_deg)
    dx, dy = math.cos(a) * length / 2, math.sin(a) * length / 2
    cv2.line(kernel, (round((c - dx) * 16), round((c - dy) * 16)),
             (round((c + dx) * 16), round((c + dy) * 16)), 1.0, 1, cv2.LINE_AA, shift=4)
    total = float(kernel.sum())
    if total <= 0:
        kernel[int(c), int(c)] = 1.0
        total = 1.0
    return np.asarray(kernel / total, dtype=np.float32)


def _f32(array: Any) -> FloatImage:
    """An OpenCV result as a typed float32 image (no copy when it already is one)."""
    return np.asarray(array, dtype=np.float32)


def _u8(array: Any) -> Image:
    return np.asarray(array, dtype=np.uint8)


def _shifted(image: FloatImage, dy: int, dx: int) -> FloatImage:
    """``image`` moved down by ``dy`` and right by ``dx`` pixels (>= 0), zeros coming in."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[dy:, dx:] = image[: h - dy, : w - dx]
    return out


def _bounding_rect(points: npt.NDArray[np.float64], margin: int, width: int,
                   height: int) -> tuple[int, int, int, int]:
    x0 = max(0, math.floor(points[:, 0].min()) - margin)
    y0 = max(0, math.floor(points[:, 1].min()) - margin)
    x1 = min(width, math.ceil(points[:, 0].max()) + margin + 1)
    y1 = min(height, math.ceil(points[:, 1].max()) + margin + 1)
    return x0, y0, x1, y1


def synthesize(page: npt.NDArray[np.uint8], rng: np.random.Generator, *,
               frame_size: tuple[int, int] = (1920, 1080), defects: Defects | None = None,
               page_size_mm: tuple[float, float] = (210.0, 297.0),
               placement: Placement | None = None,
               layers: Layers | None = None) -> tuple[Image, Corners]:
    """A BGR frame of ``page`` on the tray, and its true corners (float32 (4, 2): tl, tr, br, bl).

    ``page`` is a BGR (or grey) image of the whole sheet, or BGRA where the
    alpha is the document's shape (rounded corners); ``page_size_mm`` is its
    paper size (swapped if its orientation disagrees with the image's).
    ``frame_size`` is (width, height). ``placement`` overrides where the page
    lies (the random draws are made anyway, so the rest of the frame is
    unchanged). ``layers`` draws more objects under and over the page
    (distractors). Corners may lie outside the frame when the page is cut.
    Raises ValueError on an empty page or a frame size below 64 pixels.
    """
    frame, corners = _compose(page, rng, frame_size=frame_size,
                              defects=defects if defects is not None else Defects(),
                              page_size_mm=page_size_mm, placement=placement, layers=layers)
    assert corners is not None
    return frame, corners


def empty_tray(rng: np.random.Generator, *, frame_size: tuple[int, int] = (1920, 1080),
               defects: Defects | None = None,
               page_size_mm: tuple[float, float] = PAPER_MM["A4"]) -> Image:
    """The frame :func:`synthesize` would give for the same ``rng`` state, without the page.

    Same tray, clutter and light; no page, hand or glare (they need a page).
    ``page_size_mm``: the size of the page left out, which places the light's
    gradient (it spans the page): the one given to :func:`synthesize`, for the
    same light.
    """
    frame, _ = _compose(None, rng, frame_size=frame_size,
                        defects=defects if defects is not None else Defects(),
                        page_size_mm=page_size_mm, placement=None)
    return frame


def _compose(page: npt.NDArray[np.uint8] | None, rng: np.random.Generator, *,
             frame_size: tuple[int, int], defects: Defects, page_size_mm: tuple[float, float],
             placement: Placement | None, layers: Layers | None = None
             ) -> tuple[Image, Corners | None]:
    width, height = int(frame_size[0]), int(frame_size[1])
    if width < 64 or height < 64:
        raise ValueError(f"frame size {frame_size} is too small")
    shape_alpha: FloatImage | None = None
    if page is not None:
        if page.ndim == 2:
            page = _u8(cv2.cvtColor(page, cv2.COLOR_GRAY2BGR))
        if page.ndim != 3 or page.shape[2] not in (3, 4) or page.shape[0] < 2 \
                or page.shape[1] < 2:
            raise ValueError(f"page must be a BGR image, got shape {page.shape}")
        if page.shape[2] == 4:
            shape_alpha = page[:, :, 3].astype(np.float32) / 255.0
            page = page[:, :, :3]
        ph, pw = page.shape[:2]
    else:
        ph, pw = max(2, round(page_size_mm[1])), max(2, round(page_size_mm[0]))
    size_mm = (float(page_size_mm[0]), float(page_size_mm[1]))
    if (pw > ph) != (size_mm[0] > size_mm[1]):
        size_mm = (size_mm[1], size_mm[0])

    # 1. The camera and the tray (drawn first, so a placement override leaves them unchanged).
    fill = float(rng.uniform(*A4_FILL))
    cam = _Camera(width, height, fill * min(width, height) / PAPER_MM["A4"][1])
    tray = _tray(rng, width, height)
    clutter_rng = np.random.default_rng(int(rng.integers(0, 2**62)))
    if defects.clutter:
        canvas = np.clip(tray, 0, 255).astype(np.uint8)
        _draw_clutter(clutter_rng, canvas, cam)
        tray = canvas.astype(np.float32)

    # Every other random draw, in a fixed order whatever the defects and the page.
    rotation = float(np.clip(rng.normal(0.0, 2.5), -7.0, 7.0))
    tilt_axis = float(rng.uniform(0, 180))
    offset_u = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
    cut_side = int(rng.integers(0, 4))
    hand_rng = np.random.default_rng(int(rng.integers(0, 2**62)))
    exposure = float(rng.uniform(0.86, 0.94))   # white paper at 220-240: no clipping
    g_angle = float(rng.uniform(0, 2 * math.pi))
    glare_u = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.3, 0.7)))
    glare_shape = (float(rng.uniform(0.08, 0.16)), float(rng.uniform(0.4, 0.8)),
                   float(rng.uniform(0, 180)))

    # 2. Where the page lies.
    ppm_page = cam.ppm * math.sqrt(defects.scale)
    page_cam = _Camera(width, height, ppm_page)
    if placement is not None:
        rotation = placement.rotation_deg
    flat = _page_corners_mm(size_mm, (0.0, 0.0), rotation, defects.tilt_deg, tilt_axis)
    corners = page_cam.project(flat)
    half_w = (corners[:, 0].max() - corners[:, 0].min()) / 2
    half_h = (corners[:, 1].max() - corners[:, 1].min()) / 2
    margin = 0.04 * min(width, height)
    # The page lies near the middle of the tray: at most 60 mm (x) or 40 mm (y) off it.
    room_x = min(60.0, max(0.0, (width / 2 - margin - half_w) * 0.7) / ppm_page)
    room_y = min(40.0, max(0.0, (height / 2 - margin - half_h) * 0.7) / ppm_page)
    centre = (offset_u[0] * room_x, offset_u[1] * room_y)
    if placement is not None:
        centre = (placement.offset_mm[0] * math.sqrt(defects.scale),
                  placement.offset_mm[1] * math.sqrt(defects.scale))

    def place(c: tuple[float, float]) -> npt.NDArray[np.float64]:
        return page_cam.project(_page_corners_mm(size_mm, c, rotation, defects.tilt_deg,
                                                 tilt_axis))

    corners = place(centre)
    if defects.cut > 0:
        direction = [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)][cut_side]
        reach = (width + height) / ppm_page + max(size_mm)
        lo, hi = 0.0, reach
        for _ in range(50):
            mid = (lo + hi) / 2
            shifted = place((centre[0] + direction[0] * mid, centre[1] + direction[1] * mid))
            if _outside_fraction(shifted, width, height) < defects.cut:
                lo = mid
            else:
                hi = mid
        centre = (centre[0] + direction[0] * hi, centre[1] + direction[1] * hi)
        corners = place(centre)
    corners32 = corners.astype(np.float32)

    if layers is not None:
        layers.under(tray, corners, cam.ppm)
    out = tray
    page_alpha = np.zeros((height, width), dtype=np.float32)
    hand_alpha: FloatImage | None = None
    kernel = _motion_kernel(defects.motion_px, defects.motion_angle_deg) \
        if defects.motion_px >= 1 else None
    if page is not None:
        # 3. The page, warped with the homography that puts its pixel edges on the corners.
        longest = max(float(np.linalg.norm(corners[i] - corners[(i + 1) % 4])) for i in range(4))
        k = min(1.0, 1.3 * longest / max(pw, ph))
        small_size = (max(2, round(pw * k)), max(2, round(ph * k)))
        small = page if k > 0.95 else cv2.resize(page, small_size, interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        if shape_alpha is None:
            src_alpha = np.ones((sh, sw), dtype=np.float32)
            src = small.astype(np.float32)
        else:
            src_alpha = shape_alpha if k > 0.95 else _f32(
                cv2.resize(shape_alpha, small_size, interpolation=cv2.INTER_AREA))
            src = small.astype(np.float32) * src_alpha[:, :, None]
        homography = np.asarray(cv2.getPerspectiveTransform(_page_edges(sw, sh), corners32),
                                dtype=np.float64)
        pad = 8 + (kernel.shape[0] if kernel is not None else 0)
        x0, y0, x1, y1 = _bounding_rect(corners, pad, width, height)
        if x1 > x0 and y1 > y0:
            shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
            local_h = shift @ homography
            size = (x1 - x0, y1 - y0)
            fg = _f32(cv2.warpPerspective(src, local_h, size, flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)))
            alpha = _f32(cv2.warpPerspective(src_alpha, local_h, size, flags=cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_CONSTANT, borderValue=0))
            if kernel is not None:
                fg = _f32(cv2.filter2D(fg, -1, kernel, borderType=cv2.BORDER_CONSTANT))
                alpha = _f32(cv2.filter2D(alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT))
            # A thin soft shadow along the page edge (paper is never perfectly flat).
            shadow = _f32(cv2.GaussianBlur(alpha, (0, 0), 2.5 + 0.002 * width))
            shadow = _shifted(shadow, 2, 2)
            region = out[y0:y1, x0:x1]
            region *= (1.0 - 0.3 * shadow)[:, :, None]
            region *= (1.0 - alpha)[:, :, None]
            region += fg
            page_alpha[y0:y1, x0:x1] = alpha

        # 4. A hand on the page.
        if defects.hand:
            colour = np.zeros((height, width, 3), dtype=np.uint8)
            mask = np.zeros((height, width), dtype=np.uint8)
            _draw_hand(hand_rng, page_cam, corners, colour, mask)
            hand_alpha = mask.astype(np.float32) / 255.0
            depth = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 5)
            roundness = np.clip(depth / (12.0 * page_cam.ppm), 0.0, 1.0)
            shade = 0.72 + 0.28 * np.sqrt(roundness)
            hand_fg = colour.astype(np.float32) * shade[:, :, None]
            if kernel is not None:
                hand_fg = _f32(cv2.filter2D(hand_fg, -1, kernel))
                hand_alpha = _f32(cv2.filter2D(hand_alpha, -1, kernel))
            offset = max(2, round(6 * page_cam.ppm))
            cast = cv2.GaussianBlur(_shifted(hand_alpha, offset, offset // 2),
                                    (0, 0), 4 * page_cam.ppm)
            out *= (1.0 - 0.45 * cast)[:, :, None]
            out *= (1.0 - hand_alpha)[:, :, None]
            out += hand_fg
        if layers is not None:
            layers.over(out, corners, cam.ppm)

    # 5. Light: exposure, vignetting, gradient, darkness, over-exposure.
    xs = (np.arange(width, dtype=np.float32) - width / 2) / (width / 2)
    ys = (np.arange(height, dtype=np.float32) - height / 2) / (width / 2)
    light = (1.0 - 0.05 * (xs[None, :] ** 2 + ys[:, None] ** 2)).astype(np.float32)
    if defects.gradient > 0:
        # A linear fall-off across the page (clamped beyond): 1 on one side, 1 - 0.7 g opposite.
        gx, gy = math.cos(g_angle), math.sin(g_angle)
        along = corners[:, 0] * gx + corners[:, 1] * gy
        lo, span = float(along.min()), max(1.0, float(along.max() - along.min()))
        px = np.arange(width, dtype=np.float32)[None, :] * gx
        py = np.arange(height, dtype=np.float32)[:, None] * gy
        t = np.clip((px + py - lo) / span, 0.0, 1.0)
        light = light * (1.0 - 0.7 * defects.gradient * t).astype(np.float32)
    gain = exposure * (1.0 - 0.85 * defects.darkness) * (1.0 + 1.6 * defects.overexposure)
    out *= (light * gain)[:, :, None]
    if defects.overexposure > 0:
        out += 40.0 * defects.overexposure

    # 6. Glare over the text of the page.
    if defects.glare > 0 and page is not None:
        k_w = float(np.linalg.norm(corners[1] - corners[0]))
        spot = _project_point(glare_u, corners)
        a = max(4.0, glare_shape[0] * k_w)
        b = a * glare_shape[1]
        theta = math.radians(glare_shape[2])
        reach = int(3 * a)
        gx0, gy0 = max(0, int(spot[0]) - reach), max(0, int(spot[1]) - reach)
        gx1, gy1 = min(width, int(spot[0]) + reach + 1), min(height, int(spot[1]) + reach + 1)
        if gx1 > gx0 and gy1 > gy0:
            dx = np.arange(gx0, gx1, dtype=np.float32)[None, :] - spot[0]
            dy = np.arange(gy0, gy1, dtype=np.float32)[:, None] - spot[1]
            ru = (dx * math.cos(theta) + dy * math.sin(theta)) / a
            rv = (-dx * math.sin(theta) + dy * math.cos(theta)) / b
            blob = np.clip(1.6 * np.exp(-(ru * ru + rv * rv) / 2.0), 0.0, 1.0) * defects.glare
            blob *= page_alpha[gy0:gy1, gx0:gx1]
            if hand_alpha is not None:
                blob *= 1.0 - hand_alpha[gy0:gy1, gx0:gx1]
            region = out[gy0:gy1, gx0:gx1]
            region += (255.0 - np.minimum(region, 255.0)) * blob[:, :, None]

    # 7. Focus, sensor noise, quantisation.
    if defects.blur_sigma > 0:
        out = _f32(cv2.GaussianBlur(out, (0, 0), defects.blur_sigma))
    if defects.noise_sigma > 0:
        noise = rng.standard_normal((height, width, 3), dtype=np.float32)
        out += noise * np.float32(defects.noise_sigma)
    np.clip(out, 0.0, 255.0, out=out)
    out += 0.5
    frame = out.astype(np.uint8)
    return frame, (corners32 if page is not None else None)


def _project_point(unit: tuple[float, float],
                   corners: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Where the point at ``unit`` (fractions of the page's width and height) lands in the frame."""
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    mapping = cv2.getPerspectiveTransform(square, corners.astype(np.float32))
    point = cv2.perspectiveTransform(np.array([[unit]], dtype=np.float32), mapping)
    return float(point[0, 0, 0]), float(point[0, 0, 1])
