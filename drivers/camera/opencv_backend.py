"""OpenCV capture: UVC document cameras through V4L2, and anything else OpenCV opens.

URLs::

    v4l2:///dev/video0?width=1920&height=1080&fourcc=MJPG     a device node (V4L2 backend)
    v4l2://0                                                  a device index
    opencv:///srv/clips/tray.avi?fps=10                       a video file, played at its rate
    opencv:///srv/frames/img_%03d.png                         an image sequence (printf pattern)

Files are played at their own frame rate (or ``fps``), again from the start
when they end (``loop=false``: the camera stops at the end). A file that
disappears is reported LOST exactly as an unplugged camera, and picked up
again when it is back. ``cv2.error`` and ``OSError`` never leave this module:
they become :class:`drivers.errors.DeviceUnavailableError` (opening) or a
failed read (which the worker counts towards LOST).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from drivers.camera.worker import EndOfStream, Read, ThreadedCamera
from drivers.errors import DeviceUnavailableError, DeviceURLError
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)


def _fourcc(text: str) -> str:
    if text != "any" and (len(text) != 4 or not text.isascii() or not text.isprintable()):
        raise ValueError(text)
    return text


OPTIONS: tuple[Option[Any], ...] = (
    Option.integer("width", 0, minimum=0, maximum=16384,
                   help="preview frame width to ask for (0: the camera's default)"),
    Option.integer("height", 0, minimum=0, maximum=16384, help="preview frame height (0: default)"),
    Option.number("fps", 0.0, minimum=0.0, maximum=240.0,
                  help="frame rate to ask for; for a file, the rate it is played at (0: its own)"),
    Option("fourcc", _fourcc, "MJPG", "four characters (MJPG, YUYV...) or any",
           "pixel format; MJPG gives full resolution at full rate on USB 2 cameras"),
    Option.integer("still_width", 0, minimum=0, maximum=16384,
                   help="width for capture_still (0: same as preview, no mode switch)"),
    Option.integer("still_height", 0, minimum=0, maximum=16384, help="height for capture_still"),
    Option.integer("buffersize", 1, minimum=0, maximum=32,
                   help="driver buffers (1: lowest latency; 0: leave the driver's)"),
    Option.integer("focus", -1, minimum=-1, maximum=10000,
                   help="-1: autofocus as the camera has it; N: autofocus off, focus fixed at N"),
    Option.number("exposure", -1.0, minimum=-1.0, maximum=100000.0,
                  help="-1: automatic exposure; otherwise manual, in the driver's units"),
    Option.number("lost_after", 2.0, minimum=0.1, maximum=60.0,
                  help="seconds without a frame before the camera is reported lost"),
    Option.number("retry", 1.0, minimum=0.05, maximum=60.0,
                  help="seconds between attempts to reopen a lost camera"),
    Option.boolean("loop", True, help="files: play again from the start when they end"),
)


def _target(url: DeviceURL) -> tuple[int | str, int, bool]:
    """(what VideoCapture opens, the API preference, whether it is a file)."""
    location = url.location
    if url.scheme == "v4l2":
        if location.isdigit():
            return int(location), cv2.CAP_V4L2, False
        if location.startswith("/dev/"):
            return location, cv2.CAP_V4L2, False
        raise DeviceURLError(f"camera URL {url.raw!r}: v4l2 needs a device node "
                             f"(v4l2:///dev/video0) or an index (v4l2://0), not {location!r}")
    if not location:
        raise DeviceURLError(f"camera URL {url.raw!r}: opencv needs a device index, a device "
                             f"node, a video file or an image pattern (opencv:///path/clip.avi)")
    if location.isdigit():
        return int(location), cv2.CAP_ANY, False
    if location.startswith("/dev/"):
        return location, cv2.CAP_ANY, False
    return location, cv2.CAP_ANY, "://" not in location


def check(url: DeviceURL) -> None:
    _target(url)
    opts = url.options
    if bool(opts["width"]) != bool(opts["height"]):
        raise DeviceURLError(f"camera URL {url.raw!r}: give both width and height, or neither")
    if bool(opts["still_width"]) != bool(opts["still_height"]):
        raise DeviceURLError(
            f"camera URL {url.raw!r}: give both still_width and still_height, or neither")


class OpenCVSource:
    """A ``cv2.VideoCapture`` as a :class:`drivers.camera.worker.FrameSource`."""

    def __init__(self, url: DeviceURL) -> None:
        self.target, self.api, self.is_file = _target(url)
        self.options: Mapping[str, Any] = url.options
        self.description = f"{url.scheme} {self.target}"
        self.pace: float | None = None
        self._cap: cv2.VideoCapture | None = None
        self._preview_size: tuple[int, int] | None = None

    # -- helpers
    def _node(self) -> Path | None:
        if isinstance(self.target, int):
            return Path(f"/dev/video{self.target}")
        if self.is_file:
            return None if "%" in self.target else Path(self.target)
        return Path(self.target) if self.target.startswith("/dev/") else None

    def _set(self, prop: int, value: float, what: str) -> None:
        assert self._cap is not None
        if not self._cap.set(prop, value):
            log.info("camera %s: the driver refused %s=%g", self.description, what, value)

    def _size(self) -> tuple[int, int]:
        assert self._cap is not None
        return (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    # -- FrameSource
    def open(self) -> tuple[int, int] | None:
        node = self._node()
        if node is not None and not node.exists():
            raise DeviceUnavailableError(f"camera {self.description}: {node} does not exist")
        try:
            cap = cv2.VideoCapture(self.target, self.api)
            if not cap.isOpened():
                cap.release()
                raise DeviceUnavailableError(
                    f"camera {self.description}: OpenCV cannot open it (busy, not a camera, "
                    f"or an unreadable file)")
            self._cap = cap
            opts = self.options
            if not self.is_file:
                if opts["fourcc"] != "any":
                    self._set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*opts["fourcc"]),
                              "fourcc")
                if opts["width"]:
                    self._set(cv2.CAP_PROP_FRAME_WIDTH, opts["width"], "width")
                    self._set(cv2.CAP_PROP_FRAME_HEIGHT, opts["height"], "height")
                if opts["fps"]:
                    self._set(cv2.CAP_PROP_FPS, opts["fps"], "fps")
                if opts["buffersize"]:
                    self._set(cv2.CAP_PROP_BUFFERSIZE, opts["buffersize"], "buffersize")
                if opts["focus"] >= 0:
                    self._set(cv2.CAP_PROP_AUTOFOCUS, 0, "autofocus")
                    self._set(cv2.CAP_PROP_FOCUS, opts["focus"], "focus")
                if opts["exposure"] >= 0:
                    self._set(cv2.CAP_PROP_AUTO_EXPOSURE, 1, "auto_exposure (1: manual)")
                    self._set(cv2.CAP_PROP_EXPOSURE, opts["exposure"], "exposure")
                # A read that waits longer than this has lost the camera.
                cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, opts["lost_after"] * 1000)
            else:
                rate = opts["fps"] or cap.get(cv2.CAP_PROP_FPS) or 25.0
                self.pace = 1.0 / rate
            self._preview_size = self._size()
            log.info("camera %s opened with OpenCV %s at %dx%d", self.description,
                     cap.getBackendName(), *self._preview_size)
            return self._preview_size
        except cv2.error as exc:
            self.close()
            raise DeviceUnavailableError(f"camera {self.description}: {exc}") from exc

    def _grab(self) -> np.ndarray | None:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            return None
        return image

    def read(self) -> Read | None:
        if self._cap is None:
            return None
        try:
            image = self._grab()
            if image is None and self.is_file:
                if not self.options["loop"]:
                    raise EndOfStream
                # The file ended: open it again, which fails if it is gone.
                self.close()
                self.open()
                image = self._grab()
        except cv2.error as exc:
            log.debug("camera %s: read failed: %s", self.description, exc)
            return None
        except DeviceUnavailableError as exc:
            log.debug("camera %s: %s", self.description, exc)
            return None
        if image is None:
            return None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return np.asarray(image, dtype=np.uint8), {}

    def read_still(self) -> Read | None:
        opts = self.options
        if self._cap is None or self.is_file or not opts["still_width"]:
            return self.read()
        preview = self._preview_size
        try:
            self._set(cv2.CAP_PROP_FRAME_WIDTH, opts["still_width"], "still_width")
            self._set(cv2.CAP_PROP_FRAME_HEIGHT, opts["still_height"], "still_height")
            for _ in range(2):          # let exposure settle after the mode switch
                self._grab()
            got = self.read()
            if preview is not None:
                self._set(cv2.CAP_PROP_FRAME_WIDTH, preview[0], "width")
                self._set(cv2.CAP_PROP_FRAME_HEIGHT, preview[1], "height")
            return got
        except cv2.error as exc:
            log.warning("camera %s: still capture failed: %s", self.description, exc)
            return None

    def present(self) -> bool:
        node = self._node()
        return node is None or self.is_file or node.exists()

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            try:
                cap.release()
            except cv2.error as exc:  # pragma: no cover - release of a vanished device
                log.debug("camera %s: release failed: %s", self.description, exc)


class OpenCVCamera(ThreadedCamera):
    """A camera read through OpenCV (see the module docstring)."""


def open(url: DeviceURL) -> OpenCVCamera:
    check(url)
    opts = url.options
    return OpenCVCamera(OpenCVSource(url), lost_after=opts["lost_after"], retry=opts["retry"],
                        clock=time.monotonic)
