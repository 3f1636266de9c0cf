"""Colour pairs as the Kivy rules actually draw them, for the contrast checks (WCAG 1.4.3, 1.4.11).

A palette list says which colours exist; it does not say which colour a rule
puts behind which text (the on-screen keyboard once drew white keys with white
glyphs in high contrast, while every palette pair was fine). This module
replays what the window draws, in drawing order, and yields every
(widget, kind, foreground, background) pair a person sees.

How it decides:

* **The canvas walk.** :func:`paint_list` visits the root's canvas tree as the
  GPU does: a widget's ``canvas.before``, ``canvas``, its children's canvases
  (in the order they were added), ``canvas.after``. It keeps the current
  ``Color`` (Kivy does not reset it between canvases), multiplies every alpha by
  the opacity of the enclosing canvases (a widget's ``opacity``), and follows
  ``PushMatrix``/``Translate``/``PopMatrix`` (screens are RelativeLayouts), so
  every shape is in window coordinates. Shapes: ``Rectangle``,
  ``RoundedRectangle`` (corners included), ``Ellipse`` (fills, plain or
  textured), ``Line`` (outlines), and the rectangle that draws a Label's
  texture (text).
* **The colour behind a point** is the window's clear colour, then every fill
  drawn *before* the item that covers the point, composited with its alpha
  (``src·a + below·(1-a)``: a scrim darkens what is under it). Lines and text
  never count as a background. A textured fill (the camera preview, a page
  picture) gives the texture's own pixel at that point: the outline over the
  preview is measured against the real camera frame.
* **Text**: the Label's ``color`` (``disabled_color`` when disabled; the text
  provider bakes it into the texture) times the ``Color`` before the texture
  and the opacity, composited over the background at five points of the text
  box (centre and the four quarter points); the worst point is kept.
* **Lines**: the line's colour against what lies beside it, sampled at the
  middle of its longest segments, one line width plus 2 px away. A closed line
  (a rectangle, a polygon with ``close``) is measured against its *outside*:
  it marks an edge against its surroundings; when the same widget fills the
  inside with a plain colour, the edge is also visible through that fill, and
  the better of the two counts (WCAG 1.4.11 asks that the edge be seen, not
  that both do). Inside an image nothing is a "fill": the page outline over the
  camera picture must stand out from the picture itself. An open line (a bar's
  separator) is measured against both sides; the worse counts.
* **Two-tone lines**: a line drawn right over another of the same widget along
  the same points (a dark casing under a bright stroke) is one outline; it
  stands out where either colour contrasts with what is beside it (WCAG
  technique C40, two-colour indicators), which one colour cannot do on every
  tray, light or dark.
* **Edges of controls** without an outline of their own (a filled button):
  the control's fill against what is outside it.
* **Icons** (``Image`` widgets): the icon's own pixels composited over what is
  behind them; the foreground is the pixel reached by the 10 % most contrasted
  opaque pixels (a face's features, not one stray anti-aliased pixel).

What it skips, and says so in :attr:`Walk.skipped`: disabled widgets (WCAG
1.4.3 and 1.4.11 exempt inactive components), what is invisible (opacity or
alpha near 0, empty text, zero size, outside the window) and what is covered
by a later fill at least half opaque (the screen behind a modal dialog's
scrim: not operable while the dialog is open).

Limits: no rotation or scaling (a ScreenManager transition in progress,
a Scatter: :class:`UnsupportedDrawing` is raised); stencils and scissors are
not applied (the kiosk clips nothing that shows); ``BorderImage``, ``Mesh``,
``Quad``, ``Triangle`` and ``Bezier`` are not drawn by the kiosk and are not
understood; text is taken as one colour (markup colours are not read); the
background is sampled at a few points, not under every glyph. The pixel
cross-check (:func:`pixel_text_pairs`) reads the rendered window to catch what
the walk misses.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kivy.graphics import (
    Canvas,
    Color,
    Ellipse,
    Line,
    PopMatrix,
    PushMatrix,
    Rectangle,
    RoundedRectangle,
    StencilPop,
    StencilPush,
    StencilUnUse,
    StencilUse,
    Translate,
)
from kivy.graphics.context_instructions import Rotate, Scale
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.theme import RGBA, contrast_ratio

Point = tuple[float, float]


class Kind(enum.Enum):
    """What a pair carries; the WCAG minimum depends on it."""

    TEXT = "text"              # 1.4.3: 4.5:1
    NON_TEXT = "non-text"      # 1.4.11: 3:1 (outlines, edges of controls, icons)

    @property
    def minimum(self) -> float:
        return 4.5 if self is Kind.TEXT else 3.0


class Skip(enum.Enum):
    """Why something drawn was not measured."""

    DISABLED = "disabled (WCAG 1.4.3/1.4.11 exempt inactive components)"
    OBSCURED = "covered by a later fill at least half opaque (behind a modal scrim)"


class UnsupportedDrawing(RuntimeError):
    """The canvas holds a transformation the walk does not model (rotation, scaling)."""


@dataclass(frozen=True)
class Pair:
    """One foreground drawn on one background, both as the eye gets them (opaque)."""

    widget: Widget
    kind: Kind
    what: str
    foreground: RGBA
    background: RGBA

    @property
    def ratio(self) -> float:
        return contrast_ratio(self.foreground, self.background)

    @property
    def ok(self) -> bool:
        # Rounded to two decimals as WCAG tools report it: 4.496 is not 4.5.
        return self.ratio >= self.kind.minimum

    def describe(self) -> str:
        return (f"{widget_name(self.widget)} {self.what}: {hex_colour(self.foreground)} on "
                f"{hex_colour(self.background)} = {self.ratio:.2f}:1 "
                f"(needs {self.kind.minimum:g}:1) at {widget_path(self.widget)}")


@dataclass(frozen=True)
class Skipped:
    widget: Widget
    what: str
    reason: Skip


@dataclass
class Walk:
    """Everything measured on one frame, and what was left out and why."""

    pairs: list[Pair] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def failures(self) -> list[Pair]:
        return [p for p in self.pairs if not p.ok]


# ---------------------------------------------------------------- colours

def over(top: Sequence[float], below: Sequence[float]) -> RGBA:
    """``top`` (with its alpha) composited over the opaque ``below``."""
    a = float(top[3])
    r, g, b = (float(top[i]) * a + float(below[i]) * (1 - a) for i in range(3))
    return (r, g, b, 1.0)


def hex_colour(colour: Sequence[float]) -> str:
    return "#" + "".join(f"{round(float(c) * 255):02X}" for c in colour[:3])


def widget_name(widget: Widget) -> str:
    name = type(widget).__name__
    text = getattr(widget, "text", "")
    if isinstance(text, str) and text.strip():
        short = " ".join(text.split())
        name += f" {short[:40]!r}" if len(short) <= 40 else f" {short[:37]!r}…"
    return name


def widget_path(widget: Widget) -> str:
    parts: list[str] = []
    node: Any = widget
    while isinstance(node, Widget):
        parts.append(type(node).__name__)
        node = node.parent
    return ">".join(reversed(parts))


# ---------------------------------------------------------------- shapes in window coordinates

@dataclass
class _Paint:
    """One shape as drawn: where (window coordinates), in which colour, by which widget."""

    index: int
    owner: Widget
    rgba: RGBA                 # Color × opacities
    shape: str                 # "rect", "rounded", "ellipse", "line", "text"
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    radius: float = 0.0
    points: list[Point] = field(default_factory=list)
    closed: bool = False
    width: float = 1.0
    texture: Any = None
    tex_coords: tuple[float, ...] = ()

    @property
    def is_fill(self) -> bool:
        return self.shape in ("rect", "rounded", "ellipse")

    def contains(self, p: Point) -> bool:
        px, py = p
        if not (self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h):
            return False
        if self.shape == "ellipse":
            rx, ry = self.w / 2, self.h / 2
            if rx <= 0 or ry <= 0:
                return False
            dx, dy = (px - self.x - rx) / rx, (py - self.y - ry) / ry
            return dx * dx + dy * dy <= 1.0
        if self.shape == "rounded" and self.radius > 0:
            r = min(self.radius, self.w / 2, self.h / 2)
            cx = min(max(px, self.x + r), self.x + self.w - r)
            cy = min(max(py, self.y + r), self.y + self.h - r)
            return (px - cx) ** 2 + (py - cy) ** 2 <= r * r
        return True

    def colour_at(self, p: Point, pixels: _Pixels) -> RGBA:
        """The colour this fill puts at ``p`` (before compositing): its Color, times the
        texture's pixel there when it has a texture."""
        if self.texture is None:
            return self.rgba
        u, v = (p[0] - self.x) / self.w, (p[1] - self.y) / self.h
        t = self.tex_coords or (0, 0, 1, 0, 1, 1, 0, 1)
        # tex_coords: (u,v) of the corners bottom-left, bottom-right, top-right, top-left.
        tu = t[0] + (t[2] - t[0]) * u + (t[6] - t[0]) * v
        tv = t[1] + (t[3] - t[1]) * u + (t[7] - t[1]) * v
        texel = pixels.texel(self.texture, tu, tv)
        return (self.rgba[0] * texel[0], self.rgba[1] * texel[1], self.rgba[2] * texel[2],
                self.rgba[3] * texel[3])


class _Pixels:
    """Texture pixels read back once per texture per walk (RGBA, origin bottom left)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[int, int, bytes]] = {}

    def texel(self, texture: Any, u: float, v: float) -> RGBA:
        key = id(texture)
        if key not in self._cache:
            w, h = texture.size
            self._cache[key] = (int(w), int(h), bytes(texture.pixels))
        w, h, data = self._cache[key]
        x = min(max(int(u * w), 0), w - 1)
        y = min(max(int(v * h), 0), h - 1)
        i = (y * w + x) * 4
        return (data[i] / 255, data[i + 1] / 255, data[i + 2] / 255, data[i + 3] / 255)

    def plain(self, texture: Any) -> bool:
        """Whether ``texture`` is all opaque white (Kivy gives shapes a white 64x64 one)."""
        w, h = texture.size
        if w * h > 64 * 64:
            return False
        _, _, data = self.image(texture)
        return data == b"\xff" * len(data)

    def image(self, texture: Any) -> tuple[int, int, bytes]:
        self.texel(texture, 0, 0)
        return self._cache[id(texture)]


def paint_list(root: Widget) -> list[_Paint]:
    """Every shape ``root``'s canvas draws, in drawing order, in window coordinates."""
    owners: dict[int, Widget] = {}
    for widget in root.walk(restrict=True):
        owners[id(widget.canvas)] = widget
    paints: list[_Paint] = []
    # "mask": between StencilPush and StencilUse (or StencilUnUse and StencilPop) shapes
    # draw into the stencil buffer only, not on the screen.
    state: dict[str, Any] = {"rgba": (1.0, 1.0, 1.0, 1.0), "t": (0.0, 0.0), "stack": [],
                             "mask": False}

    def add(owner: Widget, opacity: float, shape: str, **kw: Any) -> None:
        r, g, b, a = state["rgba"]
        tx, ty = state["t"]
        if "points" in kw:
            kw["points"] = [(x + tx, y + ty) for x, y in kw["points"]]
            xs = [x for x, _ in kw["points"]] or [0.0]
            ys = [y for _, y in kw["points"]] or [0.0]
            kw.setdefault("x", min(xs))
            kw.setdefault("y", min(ys))
            kw.setdefault("w", max(xs) - min(xs))
            kw.setdefault("h", max(ys) - min(ys))
        else:
            kw["x"] += tx
            kw["y"] += ty
        paints.append(_Paint(len(paints), owner, (r, g, b, a * opacity), shape, **kw))

    def instruction(instr: Any, owner: Widget, opacity: float) -> None:
        if isinstance(instr, Canvas):
            canvas(instr, owners.get(id(instr), owner), opacity)
        elif isinstance(instr, Color):
            state["rgba"] = tuple(float(c) for c in instr.rgba)
        elif isinstance(instr, StencilPush | StencilUnUse):
            state["mask"] = True
        elif isinstance(instr, StencilUse | StencilPop):
            state["mask"] = False
        elif state["mask"]:
            return
        elif isinstance(instr, PushMatrix):
            state["stack"].append(state["t"])
        elif isinstance(instr, PopMatrix):
            state["t"] = state["stack"].pop() if state["stack"] else (0.0, 0.0)
        elif isinstance(instr, Translate):
            state["t"] = (state["t"][0] + float(instr.x), state["t"][1] + float(instr.y))
        elif isinstance(instr, Rotate | Scale):
            if isinstance(instr, Rotate) and float(instr.angle) % 360 == 0:
                return
            if isinstance(instr, Scale) and tuple(instr.xyz) == (1.0, 1.0, 1.0):
                return
            raise UnsupportedDrawing(f"{type(instr).__name__} in the canvas of "
                                     f"{widget_path(owner)}: the walk models translations only")
        elif isinstance(instr, Line):
            line(instr, owner, opacity)
        elif isinstance(instr, RoundedRectangle):
            (x, y), (w, h) = instr.pos, instr.size
            radius = instr.radius[0][0] if instr.radius else 0.0
            add(owner, opacity, "rounded", x=x, y=y, w=w, h=h, radius=float(radius),
                texture=instr.texture, tex_coords=tuple(instr.tex_coords))
        elif isinstance(instr, Ellipse):
            (x, y), (w, h) = instr.pos, instr.size
            add(owner, opacity, "ellipse", x=x, y=y, w=w, h=h)
        elif isinstance(instr, Rectangle):
            (x, y), (w, h) = instr.pos, instr.size
            is_text = isinstance(owner, Label) and instr.texture is not None and \
                instr.texture is owner.texture
            add(owner, opacity, "text" if is_text else "rect", x=x, y=y, w=w, h=h,
                texture=instr.texture, tex_coords=tuple(instr.tex_coords))

    def line(instr: Line, owner: Widget, opacity: float) -> None:
        flat = list(instr.points)
        pts = [(float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]
        closed = bool(instr.close) or instr.rectangle is not None or \
            instr.rounded_rectangle is not None or instr.ellipse is not None or \
            instr.circle is not None
        if len(pts) >= 2:
            add(owner, opacity, "line", points=pts, closed=closed, width=float(instr.width))

    def canvas(c: Any, owner: Widget, opacity: float) -> None:
        opacity *= float(getattr(c, "opacity", 1.0))
        if getattr(c, "has_before", False):
            for instr in c.before.children:
                instruction(instr, owner, opacity)
        for instr in c.children:
            instruction(instr, owner, opacity)
        if getattr(c, "has_after", False):
            for instr in c.after.children:
                instruction(instr, owner, opacity)

    canvas(root.canvas, root, 1.0)
    return paints


# ---------------------------------------------------------------- the walk

class _Scene:
    def __init__(self, root: Widget) -> None:
        from kivy.core.window import Window  # importing it opens the window: not at import

        self.root = root
        self.paints = paint_list(root)
        self.fills = [p for p in self.paints if p.is_fill]
        self.pixels = _Pixels()
        for fill in self.fills:
            if fill.texture is not None and self.pixels.plain(fill.texture):
                fill.texture = None          # Kivy's default white texture: a plain fill
        clear = tuple(float(c) for c in Window.clearcolor)
        self.base: RGBA = over(clear, (0.0, 0.0, 0.0, 1.0))
        self.size: tuple[float, float] = (float(Window.width), float(Window.height))

    def on_screen(self, p: Point) -> bool:
        return bool(0 <= p[0] < self.size[0] and 0 <= p[1] < self.size[1])

    def below(self, index: int, p: Point, exclude: Widget | None = None) -> RGBA:
        """The colour at ``p`` once everything drawn before paint ``index`` is drawn."""
        colour = self.base
        for fill in self.fills:
            if fill.index >= index:
                break
            if fill.owner is exclude or fill.rgba[3] <= 0.0 or not fill.contains(p):
                continue
            colour = over(fill.colour_at(p, self.pixels), colour)
        return colour

    def covered(self, index: int, p: Point) -> bool:
        """Whether a fill drawn after ``index`` hides ``p`` at least half."""
        return any(f.index > index and f.rgba[3] >= 0.5 and f.contains(p) for f in self.fills)


def _disabled(widget: Widget) -> bool:
    return bool(getattr(widget, "disabled", False))


def _interactive(widget: Widget) -> bool:
    return isinstance(widget, ButtonBehavior)


def walk(root: Widget) -> Walk:
    """Measure every colour pair ``root`` draws now (call after the frame settled)."""
    scene = _Scene(root)
    result = Walk()
    lined: set[int] = set()
    visible = [p for p in scene.paints if p.rgba[3] >= 0.01]
    for i, paint in enumerate(visible):
        if paint.shape == "text":
            _text(scene, paint, result)
        elif paint.shape == "line":
            after = visible[i + 1] if i + 1 < len(visible) else None
            if after is not None and _same_path(paint, after):
                continue                  # a casing: measured with the line drawn over it
            before = visible[i - 1] if i else None
            casing = before if before is not None and _same_path(before, paint) else None
            if _line(scene, paint, result, casing):
                lined.add(id(paint.owner))
    for paint in scene.fills:
        owner = paint.owner
        if isinstance(owner, Image) and paint.texture is not None and \
                paint.texture is owner.texture:
            _icon(scene, paint, result)
    seen: set[int] = set()
    for paint in scene.fills:
        owner = paint.owner
        if not _interactive(owner) or id(owner) in lined or id(owner) in seen or \
                paint.rgba[3] < 0.99 or paint.texture is not None:
            continue
        seen.add(id(owner))
        _edge(scene, paint, result)
    return result


def _text(scene: _Scene, paint: _Paint, result: Walk) -> None:
    label = paint.owner
    if not str(getattr(label, "text", "")).strip() or paint.w < 1 or paint.h < 1:
        return
    if _disabled(label):
        result.skipped.append(Skipped(label, "text", Skip.DISABLED))
        return
    ink = label.disabled_color if label.disabled else label.color
    fg = (float(ink[0]) * paint.rgba[0], float(ink[1]) * paint.rgba[1],
          float(ink[2]) * paint.rgba[2], float(ink[3]) * paint.rgba[3])
    if fg[3] < 0.01:
        return
    # The text box, clipped to the label's own box (a wrapped label's texture may be wider).
    (wx, wy) = label.to_window(label.x, label.y)
    x0, y0 = max(paint.x, wx), max(paint.y, wy)
    x1, y1 = min(paint.x + paint.w, wx + label.width), min(paint.y + paint.h, wy + label.height)
    if x1 <= x0 or y1 <= y0:
        x0, y0, x1, y1 = paint.x, paint.y, paint.x + paint.w, paint.y + paint.h
    cx, cy, qx, qy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 4, (y1 - y0) / 4
    points = [(cx, cy), (cx - qx, cy - qy), (cx + qx, cy - qy), (cx - qx, cy + qy),
              (cx + qx, cy + qy)]
    points = [p for p in points if scene.on_screen(p)]
    if not points:
        return
    if all(scene.covered(paint.index, p) for p in points):
        result.skipped.append(Skipped(label, "text", Skip.OBSCURED))
        return
    worst: Pair | None = None
    for p in points:
        if scene.covered(paint.index, p):
            continue
        bg = scene.below(paint.index, p)
        pair = Pair(label, Kind.TEXT, "text", over(fg, bg), bg)
        if worst is None or pair.ratio < worst.ratio:
            worst = pair
    if worst is not None:
        result.pairs.append(worst)


def _segments(points: list[Point], closed: bool, count: int = 8) -> list[tuple[Point, Point]]:
    segs = list(itertools.pairwise(points))
    if closed and len(points) > 2:
        segs.append((points[-1], points[0]))
    segs = [s for s in segs if math.dist(*s) >= 1.0]
    segs.sort(key=lambda s: math.dist(*s), reverse=True)
    return segs[:count]


def _same_path(a: _Paint, b: _Paint) -> bool:
    """Two lines of one widget along the same points: a casing and the line over it."""
    return a.shape == b.shape == "line" and a.owner is b.owner and a.points == b.points


def _line(scene: _Scene, paint: _Paint, result: Walk, casing: _Paint | None = None) -> bool:
    """Measure one visible line (with the casing drawn under it, if any); True when it counts
    as its owner's outline."""
    owner = paint.owner
    if _disabled(owner):
        result.skipped.append(Skipped(owner, "outline", Skip.DISABLED))
        return True
    offset = max(paint.width, casing.width if casing is not None else 0.0) + 2.0
    cx = sum(x for x, _ in paint.points) / len(paint.points)
    cy = sum(y for _, y in paint.points) / len(paint.points)
    worst: Pair | None = None
    for a, b in _segments(paint.points, paint.closed):
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        length = math.dist(a, b)
        nx, ny = -(b[1] - a[1]) / length, (b[0] - a[0]) / length
        if paint.closed and (mx - cx) * nx + (my - cy) * ny < 0:
            nx, ny = -nx, -ny                     # outward: away from the shape's middle
        sides = [(mx + nx * offset, my + ny * offset)]
        if not paint.closed:
            sides.append((mx - nx * offset, my - ny * offset))
        for p in sides:
            if not scene.on_screen(p) or scene.covered(paint.index, (mx, my)):
                continue
            start = casing.index if casing is not None else paint.index
            outside = scene.below(start, p)
            fg = over(paint.rgba, scene.below(start, (mx, my)))
            pair = Pair(owner, Kind.NON_TEXT, "outline", fg, outside)
            if casing is not None:
                rim = Pair(owner, Kind.NON_TEXT, "outline (its casing)",
                           over(casing.rgba, scene.below(start, (mx, my))), outside)
                if rim.ratio > pair.ratio:
                    pair = rim
            if paint.closed:
                inner = (mx - nx * offset, my - ny * offset)
                own = [f for f in scene.fills if f.index < paint.index and f.owner is owner
                       and f.texture is None and f.rgba[3] >= 0.99 and f.contains(inner)]
                if own:
                    edge = Pair(owner, Kind.NON_TEXT, "edge (fill)",
                                scene.below(paint.index, inner), outside)
                    if edge.ratio > pair.ratio:
                        pair = edge
            if worst is None or pair.ratio < worst.ratio:
                worst = pair
    if worst is not None:
        result.pairs.append(worst)
    return paint.closed


def _edge(scene: _Scene, paint: _Paint, result: Walk) -> None:
    owner = paint.owner
    if _disabled(owner):
        result.skipped.append(Skipped(owner, "edge", Skip.DISABLED))
        return
    inside = (paint.x + paint.w / 2, paint.y + paint.h / 2)
    if paint.w < 1 or paint.h < 1 or not scene.on_screen(inside) or \
            scene.covered(paint.index, inside):
        return
    fg = scene.below(paint.index + 1, inside)
    worst: Pair | None = None
    for p in ((paint.x - 3, inside[1]), (paint.x + paint.w + 3, inside[1]),
              (inside[0], paint.y - 3), (inside[0], paint.y + paint.h + 3)):
        if not scene.on_screen(p):
            continue
        pair = Pair(owner, Kind.NON_TEXT, "edge (fill)", fg, scene.below(paint.index, p))
        if worst is None or pair.ratio < worst.ratio:
            worst = pair
    if worst is not None:
        result.pairs.append(worst)


def _icon(scene: _Scene, paint: _Paint, result: Walk) -> None:
    owner = paint.owner
    if paint.w < 1 or paint.h < 1:
        return
    centre = (paint.x + paint.w / 2, paint.y + paint.h / 2)
    if not scene.on_screen(centre) or scene.covered(paint.index, centre):
        return
    if _disabled(owner):
        result.skipped.append(Skipped(owner, "icon", Skip.DISABLED))
        return
    bg = scene.below(paint.index, centre)
    w, h, data = scene.pixels.image(paint.texture)
    best: list[tuple[float, RGBA]] = []
    for i in range(0, w * h * 4, 4 * max(1, (w * h) // 4096)):
        a = data[i + 3] / 255 * paint.rgba[3]
        if a < 0.5:
            continue
        px = (data[i] / 255 * paint.rgba[0], data[i + 1] / 255 * paint.rgba[1],
              data[i + 2] / 255 * paint.rgba[2], a)
        fg = over(px, bg)
        best.append((contrast_ratio(fg, bg), fg))
    if not best:
        return
    best.sort(key=lambda t: t[0])
    fg = best[int(len(best) * 0.9)][1]
    result.pairs.append(Pair(owner, Kind.NON_TEXT, f"icon {owner.source.rsplit('/', 1)[-1]}",
                             fg, bg))


# ---------------------------------------------------------------- the pixel cross-check

def window_pixels(root: Widget) -> tuple[int, int, bytes]:
    """The rendered root as RGBA bytes, top row first (what the screen shows)."""
    texture = root.export_as_image().texture
    w, h = texture.size
    return int(w), int(h), bytes(texture.pixels)


def pixel_text_pairs(root: Widget, pairs: Sequence[Pair]) -> Iterator[tuple[Pair, Pair]]:
    """For each text pair of the walk, the same pair measured on the rendered pixels.

    In the label's box the background is the most frequent colour, the text the
    pixel that contrasts most with it (the core of a glyph stroke, where
    anti-aliasing does not blend). Yields (walk pair, pixel pair). A pixel
    ratio far below the walk's means the walk missed something drawn (a
    picture, a shape it does not understand).
    """
    w, h, data = window_pixels(root)
    for pair in pairs:
        if pair.kind is not Kind.TEXT:
            continue
        label = pair.widget
        x0, y0 = label.to_window(label.x, label.y)
        xs = range(max(int(x0), 0), min(int(x0 + label.width), w))
        ys = range(max(int(y0), 0), min(int(y0 + label.height), h))
        counts: Counter[tuple[int, int, int]] = Counter()
        for y in ys:
            row = (h - 1 - y) * w * 4           # window y grows upwards, rows downwards
            for x in xs:
                i = row + x * 4
                counts[(data[i], data[i + 1], data[i + 2])] += 1
        if not counts:
            continue
        (mode, _), = counts.most_common(1)
        bg = (mode[0] / 255, mode[1] / 255, mode[2] / 255, 1.0)
        fg = max(((c[0] / 255, c[1] / 255, c[2] / 255, 1.0) for c in counts),
                 key=lambda c: contrast_ratio(c, bg))
        yield pair, Pair(label, Kind.TEXT, "text (pixels)", fg, bg)
