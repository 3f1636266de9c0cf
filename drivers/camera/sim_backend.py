"""The camera simulator: synthesised frames of pages on the tray, or image files played back.

URLs::

    sim://?seed=3&page=convocation&defects=glare:0.6,hand      a page on the tray (synthesised)
    sim://?seed=3&page=text&placed=false                       an empty tray; place a page later
    sim://?seed=3&defects=random                               random defects for every placement
    sim:///srv/frames?fps=5&loop=false                         the images of a folder, in name order
    sim:///srv/frames/page.jpg                                 one image, again and again

Synthesised frames are deterministic: the same URL (seed and options) and the
same sequence of simulator actions give byte-identical frames, frame index by
frame index; each frame carries ``meta = {"corners": [[x, y]] * 4 (tl, tr, br,
bl) or None, "defects": {...}, "page": name or None, "moving": bool}``. The
tray and the light stay the same for a whole session (one seed); each placement
puts the page somewhere else on it. A little sensor noise (``noise``, grey
levels) makes successive frames differ as a real camera's do.

Tests and the demo drive it through ``camera.simulator`` (:class:`CameraSimulator`):
``place(page)``, ``remove()``, ``switch(page)``, ``move()``, ``set_defects(...)``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.synth import (
    PAGES_DIR,
    Defects,
    Placement,
    SamplePage,
    empty_tray,
    render_text_page,
    sample_pages,
    synthesize,
)
from drivers.camera.worker import EndOfStream, Read, ThreadedCamera
from drivers.errors import CameraError, DeviceUnavailableError, DeviceURLError
from drivers.url import DeviceURL, Option

Image = npt.NDArray[np.uint8]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
DEFAULT_FRAME = (1920, 1080)
#: Extra rows and columns of the noise field; each frame reads it at another offset.
_NOISE_MARGIN = 61


def _page_names() -> tuple[str, ...]:
    try:
        entries = json.loads((PAGES_DIR / "pages.json").read_text(encoding="utf-8"))
        return (*(str(e["name"]) for e in entries), "text")
    except (OSError, ValueError, KeyError, TypeError):
        return ("text",)


PAGE_NAMES = _page_names()
DEFECT_NAMES = ", ".join(Defects.__dataclass_fields__)


def _defects(text: str) -> Defects | str:
    if text.strip() == "random":
        return "random"
    return Defects.parse(text)


OPTIONS: tuple[Option[Any], ...] = (
    Option.integer("seed", 0, minimum=0, help="everything random derives from it"),
    Option.choice("page", PAGE_NAMES[0], PAGE_NAMES,
                  help="the page placed first: a sample page, or text (a letter drawn from seed)"),
    Option("defects", _defects, Defects(),
           f"name:value pairs separated by commas ({DEFECT_NAMES}), or random",
           "defects of every placement; random draws new ones for each placement"),
    Option.number("fps", 10.0, minimum=0.5, maximum=60.0, help="frames per second"),
    Option.integer("width", 0, minimum=0, maximum=8192,
                   help="frame width (0: 1920 when synthesising, the files' own otherwise)"),
    Option.integer("height", 0, minimum=0, maximum=8192, help="frame height (0: see width)"),
    Option.boolean("placed", True, help="start with the page on the tray (false: empty tray)"),
    Option.number("noise", 1.0, minimum=0.0, maximum=50.0,
                  help="sensor noise of every frame, in grey levels"),
    Option.boolean("loop", True, help="files: start again after the last one"),
)


def check(url: DeviceURL) -> None:
    opts = url.options
    if bool(opts["width"]) != bool(opts["height"]):
        raise DeviceURLError(f"camera URL {url.raw!r}: give both width and height, or neither")


@dataclass(frozen=True)
class _Scene:
    """What lies on the tray: a page (or nothing), where, with which defects."""

    number: int
    name: str | None
    image: Image | None
    size_mm: tuple[float, float]
    placement: Placement
    defects: Defects


class CameraSimulator:
    """The state of the simulated tray, changed by tests and the demo (thread-safe).

    Frames are rendered by :meth:`next_frame`, which the camera's worker calls;
    a static scene is rendered once and then only noise is added, so the
    simulator keeps up with its frame rate.
    """

    def __init__(self, *, seed: int, page: str, defects: Defects | str, frame_size:
                 tuple[int, int] | None, placed: bool, noise: float, files: list[Path] | None,
                 loop: bool) -> None:
        self.seed = seed
        self.noise = noise
        self.loop = loop
        self.files = files
        self._lock = threading.Lock()
        self._frame_size = frame_size or DEFAULT_FRAME
        self._random_defects = defects == "random"
        self._defects = defects if isinstance(defects, Defects) else Defects()
        self._scene_count = 0
        self._scene: _Scene | None = None
        self._motion: list[tuple[Placement, Defects]] = []
        self._cache: tuple[_Scene, Image, list[list[float]] | None] | None = None
        self._noise_field: npt.NDArray[np.int8] | None = None
        self._k = 0
        self._file_cache: tuple[int, Image] | None = None
        self.frames = 0
        if files is None:
            if placed:
                self.place(page)
            else:
                self._scene = self._new_scene(None)
        else:
            self._frame_size = frame_size or (0, 0)

    # ------------------------------------------------------------------ controls

    def place(self, page: str | SamplePage | Image | None = None, *,
              size_mm: tuple[float, float] | None = None, defects: Defects | None = None,
              placement: Placement | None = None) -> None:
        """Put a page on the tray (replacing any): a sample page name, ``"text"``, a SamplePage,
        or a BGR image (then give ``size_mm``). None places the current page again, elsewhere.

        Raises CameraError for an unknown page name or when the simulator plays files.
        """
        self._need_synthesis("place a page")
        with self._lock:
            current = self._scene
            if page is None and current is not None and current.name is not None \
                    and current.image is not None:
                name, image, paper = current.name, current.image, current.size_mm
            else:
                name, image, paper = self._resolve(page if page is not None else PAGE_NAMES[0],
                                                   size_mm)
            if defects is not None:
                self._defects = defects
                self._random_defects = False
            self._scene = self._new_scene((name, image, paper), placement)
            self._motion = []

    def switch(self, page: str | SamplePage | Image, *,
               size_mm: tuple[float, float] | None = None) -> None:
        """Take the page away and put another one (what a citizen does between documents)."""
        self.place(page, size_mm=size_mm)

    def remove(self) -> None:
        """Take the page off the tray: frames show the empty tray."""
        self._need_synthesis("remove a page")
        with self._lock:
            self._scene = self._new_scene(None)
            self._motion = []

    def move(self, frames: int = 6, *, to: Placement | None = None) -> None:
        """Slide the page to another place over the next ``frames`` frames, with motion blur.

        Frames during the move carry ``meta["moving"] = True``; afterwards the page rests at
        ``to`` (default: a new random place). Raises CameraError when no page is on the tray.
        """
        self._need_synthesis("move a page")
        with self._lock:
            scene = self._scene
            if scene is None or scene.image is None:
                raise CameraError("there is no page on the simulated tray to move")
            rng = np.random.default_rng([self.seed, scene.number, 77])
            end = to or self._random_placement(rng)
            start = scene.placement
            w, h = self._frame_size
            px_per_mm = 0.84 * min(w, h) / 297.0
            steps = max(1, frames)
            dx = (end.offset_mm[0] - start.offset_mm[0]) / steps
            dy = (end.offset_mm[1] - start.offset_mm[1]) / steps
            blur = float(np.hypot(dx, dy)) * px_per_mm * 0.8      # exposure: 80 % of a frame
            angle = float(np.degrees(np.arctan2(dy, dx)))
            plan = []
            for i in range(1, steps + 1):
                t = i / steps
                p = Placement((start.offset_mm[0] + (end.offset_mm[0] - start.offset_mm[0]) * t,
                               start.offset_mm[1] + (end.offset_mm[1] - start.offset_mm[1]) * t),
                              start.rotation_deg + (end.rotation_deg - start.rotation_deg) * t)
                moving = replace(scene.defects, motion_px=min(300.0, max(blur, 1.0)),
                                 motion_angle_deg=angle)
                plan.append((p, moving))
            self._motion = plan
            self._scene = _Scene(scene.number, scene.name, scene.image, scene.size_mm, end,
                                 scene.defects)

    def set_defects(self, defects: Defects | str) -> None:
        """Defects for the page on the tray and the next placements (``"random"`` allowed)."""
        self._need_synthesis("set defects")
        parsed = _defects(defects) if isinstance(defects, str) else defects
        with self._lock:
            self._random_defects = parsed == "random"
            self._defects = parsed if isinstance(parsed, Defects) else Defects()
            scene = self._scene
            if scene is not None:
                new = self._scene_defects(scene.number)
                self._scene = _Scene(scene.number, scene.name, scene.image, scene.size_mm,
                                     scene.placement, new)

    @property
    def page(self) -> str | None:
        """The name of the page on the tray, or None."""
        with self._lock:
            return self._scene.name if self._scene is not None else None

    # ------------------------------------------------------------------ internals

    def _need_synthesis(self, what: str) -> None:
        if self.files is not None:
            raise CameraError(f"cannot {what}: this simulator plays image files; "
                              f"use sim://?seed=N to synthesise frames")

    def _resolve(self, page: str | SamplePage | Image,
                 size_mm: tuple[float, float] | None) -> tuple[str, Image, tuple[float, float]]:
        if isinstance(page, SamplePage):
            return page.name, page.bgra(), page.size_mm
        if isinstance(page, np.ndarray):
            if size_mm is None:
                raise CameraError("placing an image needs its paper size: size_mm=(w, h)")
            return "image", page, size_mm
        if page == "text":
            return "text", render_text_page(self.seed, dpi=150), (210.0, 297.0)
        for sample in sample_pages():
            if sample.name == page:
                return sample.name, sample.bgra(), sample.size_mm
        raise CameraError(f"unknown sample page {page!r} (valid: {', '.join(PAGE_NAMES)})")

    def _random_placement(self, rng: np.random.Generator) -> Placement:
        return Placement((float(rng.uniform(-40, 40)), float(rng.uniform(-25, 25))),
                         float(np.clip(rng.normal(0, 2.5), -7, 7)))

    def _scene_defects(self, number: int) -> Defects:
        if self._random_defects:
            return Defects.random(np.random.default_rng([self.seed, number, 5]), severity=0.5)
        return self._defects

    def _new_scene(self, page: tuple[str, Image, tuple[float, float]] | None,
                   placement: Placement | None = None) -> _Scene:
        self._scene_count += 1
        number = self._scene_count
        rng = np.random.default_rng([self.seed, number])
        where = placement or self._random_placement(rng)
        if page is None:
            return _Scene(number, None, None, (210.0, 297.0), where, self._scene_defects(number))
        name, image, paper = page
        return _Scene(number, name, image, paper, where, self._scene_defects(number))

    def _render(self, scene: _Scene, placement: Placement,
                defects: Defects) -> tuple[Image, list[list[float]] | None]:
        rng = np.random.default_rng(self.seed)          # the same tray and light all session
        if scene.image is None:
            return empty_tray(rng, frame_size=self._frame_size, defects=defects), None
        frame, corners = synthesize(scene.image, rng, frame_size=self._frame_size,
                                    defects=defects, page_size_mm=scene.size_mm,
                                    placement=placement)
        return frame, corners.tolist()

    def _add_noise(self, frame: Image, k: int) -> Image:
        if self.noise <= 0:
            return frame.copy()
        h, w = frame.shape[:2]
        field = self._noise_field
        if field is None or field.shape[:2] != (h + _NOISE_MARGIN, w + _NOISE_MARGIN):
            rng = np.random.default_rng([self.seed, 99])
            noise = rng.standard_normal((h + _NOISE_MARGIN, w + _NOISE_MARGIN, 3),
                                        dtype=np.float32) * np.float32(self.noise)
            field = np.clip(np.round(noise), -127, 127).astype(np.int8)
            self._noise_field = field
        dy, dx = (k * 17) % _NOISE_MARGIN, (k * 29) % _NOISE_MARGIN
        window = field[dy:dy + h, dx:dx + w]
        out = np.empty_like(frame)
        cv2.add(frame, window, dst=out, dtype=cv2.CV_8U)
        return out

    def next_frame(self) -> Read:
        """Render the next frame (the camera's worker calls this; tests may too)."""
        with self._lock:
            k = self._k
            self._k += 1
            self.frames += 1
            if self.files is not None:
                return self._next_file(k)
            scene = self._scene
            assert scene is not None
            motion = self._motion.pop(0) if self._motion else None
            cache = self._cache
        if motion is not None:
            frame, corners = self._render(scene, motion[0], motion[1])
            defects = motion[1]
        else:
            if cache is None or cache[0] is not scene:
                image, corners = self._render(scene, scene.placement, scene.defects)
                cache = (scene, image, corners)
                with self._lock:
                    self._cache = cache
            frame, corners = cache[1], cache[2]
            defects = scene.defects
        meta = {"corners": corners, "defects": defects.as_dict(), "page": scene.name,
                "moving": motion is not None, "scene": scene.number, "sim_frame": k}
        return self._add_noise(frame, k), meta

    def _next_file(self, k: int) -> Read:
        files = self.files
        assert files is not None
        if k >= len(files) and not self.loop:
            raise EndOfStream
        i = k % len(files)
        cached = self._file_cache
        if cached is not None and cached[0] == i:
            image = cached[1]
        else:
            read = cv2.imread(str(files[i]), cv2.IMREAD_COLOR)
            if read is None:
                raise DeviceUnavailableError(f"camera simulator: {files[i]} cannot be read")
            image = np.asarray(read, dtype=np.uint8)
            w, h = self._frame_size
            if w and h and (image.shape[1], image.shape[0]) != (w, h):
                image = np.asarray(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA),
                                   dtype=np.uint8)
            self._file_cache = (i, image)
        return self._add_noise(image, k), {"file": str(files[i]), "corners": None}


class SimSource:
    """The simulator as a :class:`drivers.camera.worker.FrameSource`."""

    def __init__(self, simulator: CameraSimulator, fps: float, description: str) -> None:
        self.simulator = simulator
        self.description = description
        self.pace: float | None = 1.0 / fps

    def open(self) -> tuple[int, int] | None:
        return None

    def read(self) -> Read | None:
        return self.simulator.next_frame()

    def read_still(self) -> Read | None:
        return self.simulator.next_frame()

    def present(self) -> bool:
        return True

    def close(self) -> None:
        pass


class SimCamera(ThreadedCamera):
    """A simulated camera; ``simulator`` changes what lies on the tray."""

    def __init__(self, simulator: CameraSimulator, fps: float, description: str) -> None:
        super().__init__(SimSource(simulator, fps, description), lost_after=5.0, retry=0.5,
                         clock=time.monotonic)
        self.simulator = simulator


def _files(location: str) -> list[Path]:
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DeviceUnavailableError(f"camera simulator: no image in {path} "
                                         f"(looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        return files
    if path.is_file():
        return [path]
    raise DeviceUnavailableError(f"camera simulator: {path} is neither an image nor a folder")


def open(url: DeviceURL) -> SimCamera:
    """Open the simulator. Raises DeviceUnavailableError when the files named do not exist."""
    check(url)
    opts = url.options
    size = (opts["width"], opts["height"]) if opts["width"] else None
    files = _files(url.location) if url.location else None
    simulator = CameraSimulator(seed=opts["seed"], page=opts["page"], defects=opts["defects"],
                                frame_size=size, placed=opts["placed"], noise=opts["noise"],
                                files=files, loop=opts["loop"])
    description = f"sim {url.location}" if files else f"sim seed={opts['seed']}"
    return SimCamera(simulator, opts["fps"], description)
