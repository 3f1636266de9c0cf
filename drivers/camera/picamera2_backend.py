"""Raspberry Pi cameras through Picamera2 (libcamera); optional.

URL: ``picamera2://?width=2028&height=1520&still_width=4056&still_height=3040`` (``picamera2://1``
for the second camera). The ``picamera2`` module comes from Raspberry Pi OS
(``apt install python3-picamera2``); it is imported only when such a URL is
opened, and its absence gives a clear DeviceUnavailableError. Frames are asked
in the ``RGB888`` format, which libcamera lays out in memory as B, G, R: what
OpenCV expects, without a conversion.
"""

from __future__ import annotations

import importlib
import logging
import time
from typing import Any

import numpy as np

from drivers.camera.worker import Read, ThreadedCamera
from drivers.errors import DeviceUnavailableError, DeviceURLError
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

OPTIONS: tuple[Option[Any], ...] = (
    Option.integer("width", 2028, minimum=64, maximum=16384, help="preview frame width"),
    Option.integer("height", 1520, minimum=64, maximum=16384, help="preview frame height"),
    Option.integer("still_width", 0, minimum=0, maximum=16384,
                   help="width for capture_still (0: same as preview)"),
    Option.integer("still_height", 0, minimum=0, maximum=16384, help="height for capture_still"),
    Option.number("lens_position", -1.0, minimum=-1.0, maximum=32.0,
                  help="-1: continuous autofocus where the module has it; else dioptres, fixed"),
    Option.number("lost_after", 2.0, minimum=0.1, maximum=60.0,
                  help="seconds without a frame before the camera is reported lost"),
    Option.number("retry", 1.0, minimum=0.05, maximum=60.0,
                  help="seconds between attempts to reopen a lost camera"),
)


def check(url: DeviceURL) -> None:
    if url.location and not url.location.isdigit():
        raise DeviceURLError(f"camera URL {url.raw!r}: picamera2 takes a camera number "
                             f"(picamera2://0), not {url.location!r}")
    if bool(url.options["still_width"]) != bool(url.options["still_height"]):
        raise DeviceURLError(
            f"camera URL {url.raw!r}: give both still_width and still_height, or neither")


def _module() -> Any:
    try:
        return importlib.import_module("picamera2")
    except ImportError as exc:
        raise DeviceUnavailableError(
            "the picamera2 backend needs the picamera2 module (Raspberry Pi OS: apt install "
            f"python3-picamera2); it cannot be imported: {exc}") from exc


class Picamera2Source:
    def __init__(self, url: DeviceURL) -> None:
        self.number = int(url.location or 0)
        self.options = url.options
        self.description = f"picamera2 {self.number}"
        self.pace: float | None = None
        self._cam: Any = None
        self._still_config: Any = None

    def open(self) -> tuple[int, int] | None:
        module = _module()
        opts = self.options
        try:
            cam = module.Picamera2(self.number)
            size = (opts["width"], opts["height"])
            cam.configure(cam.create_video_configuration(main={"size": size, "format": "RGB888"}))
            if opts["still_width"]:
                self._still_config = cam.create_still_configuration(
                    main={"size": (opts["still_width"], opts["still_height"]),
                          "format": "RGB888"})
            if opts["lens_position"] >= 0:
                cam.set_controls({"AfMode": 0, "LensPosition": opts["lens_position"]})
            cam.start()
        except (RuntimeError, OSError, IndexError, ValueError) as exc:
            raise DeviceUnavailableError(f"camera {self.description}: {exc}") from exc
        self._cam = cam
        log.info("camera %s opened with Picamera2 at %dx%d", self.description, *size)
        return size

    def read(self) -> Read | None:
        if self._cam is None:
            return None
        try:
            image = self._cam.capture_array("main")
        except (RuntimeError, OSError) as exc:
            log.debug("camera %s: read failed: %s", self.description, exc)
            return None
        if image is None or image.size == 0:
            return None
        return np.ascontiguousarray(image[:, :, :3], dtype=np.uint8), {}

    def read_still(self) -> Read | None:
        if self._cam is None or self._still_config is None:
            return self.read()
        try:
            image = self._cam.switch_mode_and_capture_array(self._still_config, "main")
        except (RuntimeError, OSError) as exc:
            log.warning("camera %s: still capture failed: %s", self.description, exc)
            return None
        return np.ascontiguousarray(image[:, :, :3], dtype=np.uint8), {}

    def present(self) -> bool:
        return True

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
                cam.close()
            except (RuntimeError, OSError) as exc:
                log.debug("camera %s: close failed: %s", self.description, exc)


class Picamera2Camera(ThreadedCamera):
    """A Raspberry Pi camera read through Picamera2."""


def open(url: DeviceURL) -> Picamera2Camera:
    """Raises DeviceUnavailableError at once when the picamera2 module is missing."""
    check(url)
    _module()
    opts = url.options
    return Picamera2Camera(Picamera2Source(url), lost_after=opts["lost_after"],
                           retry=opts["retry"], clock=time.monotonic)
