"""Reading codes with a camera: frames decoded with zxing-cpp (or zbar).

URLs::

    camera://?camera=v4l2%3A%2F%2F%2Fdev%2Fvideo2        its own camera (a URL, percent-encoded)
    camera://                                             the document camera, attached by the app
    camera://?backend=zbar&formats=QRCode&interval=0.3

With ``camera=URL`` the reader opens that camera (any camera URL, the
simulator included) and closes it with itself. Without it, the reader shares
the document camera, which only one object may open: the application opens
the camera and hands it over::

    camera = drivers.open_camera(config.devices.camera)
    reader = drivers.open_code_reader("camera://")
    reader.attach(camera)          # the reader never starts, stops or closes it

Either way it follows the frames with its own cursor (``frame_after``), so the
page preview and the reader do not steal frames from each other. Each frame
gets one decoding try, the next frame the next variant (plain, another
binarizer, smoothed, upscaled: see :mod:`drivers.codes.decode`), so the
retries cost no more than one try per frame. A code held
under the camera is reported once, then again only after ``repeat_after``
seconds without seeing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

from drivers.camera import BACKENDS as CAMERA_BACKENDS
from drivers.camera.base import Camera
from drivers.codes.base import Code
from drivers.codes.decode import BACKENDS, LIVE_VARIANTS, decode_variant
from drivers.errors import CodeReaderError, DeviceURLError
from drivers.url import DeviceURL, Option, check_url, open_device

log = logging.getLogger(__name__)


def _formats(text: str) -> tuple[str, ...]:
    import zxingcpp

    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        try:
            zxingcpp.barcode_format_from_str(name)
        except (ValueError, RuntimeError):
            raise ValueError(name) from None
    return names


OPTIONS: tuple[Option[Any], ...] = (
    Option.text("camera", "", help="the camera URL (percent-encoded); empty: attach() one"),
    Option.choice("backend", "zxing", list(BACKENDS), help="decoder: zxing-cpp, or zbar"),
    Option("formats", _formats, (), "zxing-cpp format names separated by commas "
           "(QRCode, DataMatrix, EAN13...)", "formats to look for (empty: all)"),
    Option.number("interval", 0.15, minimum=0.0, maximum=10.0,
                  help="at least this many seconds between two decoded frames"),
    Option.number("repeat_after", 2.0, minimum=0.0, maximum=600.0,
                  help="a code still in view is reported again after this many seconds unseen"),
)


def check(url: DeviceURL) -> None:
    if url.location:
        raise DeviceURLError(f"code reader URL {url.raw!r}: camera:// takes no location; "
                             f"name the camera with ?camera=<percent-encoded URL>")
    inner = url.options["camera"]
    if inner:
        check_url("camera", inner, CAMERA_BACKENDS)


class CameraCodeReader:
    """Decodes the frames of a camera (see the module docstring)."""

    def __init__(self, url: DeviceURL, camera: Camera | None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        opts = url.options
        self.backend: str = opts["backend"]
        self.formats: tuple[str, ...] = opts["formats"]
        self.interval: float = opts["interval"]
        self.repeat_after: float = opts["repeat_after"]
        self._camera = camera
        self._owns_camera = camera is not None
        self._clock = clock
        self._cursor = -1
        self._tries = 0
        self._last_decode = float("-inf")
        self._seen: dict[tuple[str, str], float] = {}
        self._closed = False

    def attach(self, camera: Camera) -> None:
        """Read from ``camera`` (started and owned by the caller)."""
        if self._owns_camera and self._camera is not None:
            raise CodeReaderError("this code reader has its own camera (camera= in its URL)")
        self._camera = camera
        self._cursor = -1

    @property
    def camera(self) -> Camera | None:
        return self._camera

    def read(self, timeout: float) -> Code | None:
        """The next code seen, waiting up to ``timeout`` s.

        Raises CodeReaderError when no camera is attached or named.
        """
        if self._closed:
            raise CodeReaderError("the camera code reader is closed")
        camera = self._camera
        if camera is None:
            raise CodeReaderError("camera:// has no camera: attach() the document camera or "
                                  "name one with ?camera=<URL>")
        deadline = self._clock() + max(0.0, timeout)
        while True:
            now = self._clock()
            wait = self._last_decode + self.interval - now
            if wait > 0:
                if now + wait > deadline:
                    return None
                time.sleep(wait)
            frame = camera.frame_after(self._cursor, timeout=max(0.0, deadline - self._clock()))
            if frame is None:
                return None
            self._cursor = frame.index
            self._last_decode = self._clock()
            variant = LIVE_VARIANTS[self._tries % len(LIVE_VARIANTS)]
            self._tries += 1
            codes = decode_variant(frame.image, variant, self.backend,
                                   formats=self.formats or None)
            now = self._clock()
            fresh = None
            for code in codes:
                key = (code.format, code.text)
                last = self._seen.get(key)
                if fresh is None and (last is None or now - last > self.repeat_after):
                    fresh = code
                self._seen[key] = now
            if fresh is not None:
                return fresh
            if self._clock() >= deadline:
                return None

    def close(self) -> None:
        self._closed = True
        if self._owns_camera and self._camera is not None:
            self._camera.close()


def open(url: DeviceURL) -> CameraCodeReader:
    """Open (and start) the camera named by ``camera=``, or wait for attach()."""
    check(url)
    inner = url.options["camera"]
    camera: Camera | None = None
    if inner:
        camera = cast(Camera, open_device("camera", inner, CAMERA_BACKENDS))
        camera.start()
    return CameraCodeReader(url, camera)
