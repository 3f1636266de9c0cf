"""``kiosk devices``: each configured device, its backend, and its status right now.

One line per device for a technician (or one JSON object with ``--json``). A
device that cannot be opened or does not answer is reported on its line, and
the command goes on with the others; the exit status is 0 only when every
device is ready.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from drivers import KINDS, open_camera, open_code_reader, open_printer
from drivers.errors import DeviceError
from drivers.url import split_url
from kiosk.config import Config, load_config


@dataclass
class DeviceReport:
    kind: str
    url: str
    backend: str
    ready: bool = False
    status: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("devices", parents=parents,
                            help="show each configured device, its backend and its status")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    parser.add_argument("--camera-timeout", type=float, default=5.0, metavar="S",
                        help="how long to wait for a first camera frame (default 5 s)")
    parser.set_defaults(func=run)


def _backend(kind: str, url: str) -> str:
    scheme, _location, _pairs = split_url(kind, url, list(KINDS[kind]))
    return KINDS[kind][scheme]


def check_printer(url: str) -> DeviceReport:
    report = DeviceReport("printer", url, _backend("printer", url))
    printer = open_printer(url)
    try:
        status = printer.status()
        problems = status.problems()
        report.ready = status.can_print
        report.status = ", ".join(problems) if problems else "ready"
        report.details = {"profile": printer.profile.name,
                          "paper_width_mm": printer.profile.paper_width_mm,
                          "native_qr": printer.profile.native_qr, **asdict(status)}
    finally:
        printer.close()
    return report


def check_camera(url: str, timeout: float) -> DeviceReport:
    report = DeviceReport("camera", url, _backend("camera", url))
    camera = open_camera(url)
    try:
        camera.start()
        deadline = time.monotonic() + timeout
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = camera.latest(timeout=0.2)
        status = camera.status()
        report.details = {"state": str(status.state), "message": status.message,
                          "frames": status.frames, "fps": round(status.fps, 1),
                          "resolution": status.resolution}
        if frame is None:
            report.status = f"no frame within {timeout:g} s"
        else:
            height, width = frame.image.shape[:2]
            report.ready = True
            report.status = f"ready, {width}x{height}"
    finally:
        camera.close()
    return report


def check_code_reader(url: str) -> DeviceReport:
    report = DeviceReport("code_reader", url, _backend("code_reader", url))
    reader = open_code_reader(url)
    try:
        report.ready = True
        report.status = "ready (opened)"
    finally:
        reader.close()
    return report


def collect(config: Config, camera_timeout: float = 5.0) -> list[DeviceReport]:
    """Open each configured device in turn; a failure is reported, never raised."""
    checks: list[tuple[str, str, Callable[[str], DeviceReport]]] = [
        ("printer", config.devices.printer, check_printer),
        ("camera", config.devices.camera, partial(check_camera, timeout=camera_timeout)),
        ("code_reader", config.devices.code_reader, check_code_reader),
    ]
    reports = []
    for kind, url, check in checks:
        try:
            reports.append(check(url))
        except DeviceError as exc:
            reports.append(DeviceReport(kind, url, _backend(kind, url), False,
                                        f"{type(exc).__name__}: {exc}"))
    return reports


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    reports = collect(config, args.camera_timeout)
    if args.json:
        print(json.dumps({"config": str(config.path or "<defaults>"),
                          "devices": [asdict(r) for r in reports]},
                         ensure_ascii=False, default=str))
    else:
        for r in reports:
            mark = "ok " if r.ready else "ERR"
            print(f"{mark} {r.kind:<12} {r.url:<40} {r.backend:<34} {r.status}")
    return 0 if all(r.ready for r in reports) else 1
