"""Hardware abstraction: every device is opened from a URL taken from the configuration.

>>> printer = open_printer("sim://?paper=near-end")      # doctest: +SKIP
>>> camera = open_camera("v4l2:///dev/video0?width=1920&height=1080")  # doctest: +SKIP

The scheme picks the backend, the query string carries its options; an unknown
scheme or option raises :class:`drivers.errors.DeviceURLError` naming the valid
ones. Importing this package probes no hardware.
"""

from __future__ import annotations

from typing import cast

from drivers import camera as _camera
from drivers import codes as _codes
from drivers import printer as _printer
from drivers.camera.base import Camera
from drivers.codes.base import CodeReader
from drivers.printer.base import Printer
from drivers.url import DeviceURL, check_url, open_device

#: Device kinds, as named in configuration files and logs.
KINDS: dict[str, dict[str, str]] = {
    "printer": _printer.BACKENDS,
    "camera": _camera.BACKENDS,
    "code_reader": _codes.BACKENDS,
}


def open_printer(url: str) -> Printer:
    return cast(Printer, open_device("printer", url, _printer.BACKENDS))


def open_camera(url: str) -> Camera:
    return cast(Camera, open_device("camera", url, _camera.BACKENDS))


def open_code_reader(url: str) -> CodeReader:
    return cast(CodeReader, open_device("code_reader", url, _codes.BACKENDS))


def check_device_url(kind: str, url: str) -> DeviceURL:
    """Validate ``url`` for a device kind without opening anything (raises DeviceURLError)."""
    return check_url(kind, url, KINDS[kind])


__all__ = ["KINDS", "check_device_url", "open_camera", "open_code_reader", "open_printer"]
