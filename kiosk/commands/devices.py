"""``kiosk devices``: each configured device, its backend, and its status right now.

One line per device for a technician (or one JSON object with ``--json``). A
device that cannot be opened or does not answer is reported on its line, and
the command goes on with the others; the exit status is 0 only when every
device is ready (a printer whose paper is near its end is ready). The checks
themselves are kiosk/service/checks.py, shared with ``kiosk diag`` and the
service screens.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.config import Config, load_config
from kiosk.service.checks import check_camera, check_code_reader, check_printer, device_backend
from kiosk.service.results import CheckResult, Outcome


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


def _report(kind: str, url: str, result: CheckResult) -> DeviceReport:
    """The check's answer in this command's shape (kept for scripts that read it)."""
    data = dict(result.data)
    backend = str(data.pop("backend", "")) or device_backend(kind, url)
    data.pop("url", None)
    return DeviceReport(kind, url, backend, ready=result.result is not Outcome.FAIL,
                        status=result.detail, details=data)


def collect(config: Config, camera_timeout: float = 5.0) -> list[DeviceReport]:
    """Open each configured device in turn (kiosk/service/checks.py); a failure is reported,
    never raised."""
    devices = config.devices
    return [_report("printer", devices.printer, check_printer(devices.printer)),
            _report("camera", devices.camera, check_camera(devices.camera, camera_timeout)),
            _report("code_reader", devices.code_reader, check_code_reader(devices.code_reader))]


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
