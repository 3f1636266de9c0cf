"""``kiosk diag``: every health check of the kiosk, for a technician or a monitoring script.

The same checks as the service screens (kiosk/service/checks.py), one line each::

    ok   printer       ready
    fail network       not enrolled: enrollment bundle ...: no enrollment bundle ...

or, with ``--json``, one JSON array with an object per check (``{"check",
"result": "ok|warn|fail", "detail", "data"}``). The exit status is 1 when any
check FAILs, 0 otherwise (a WARN is worth reading, not worth failing a script
on), so ``kiosk diag --only printer`` answers "can this kiosk print?".
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from kiosk.config import load_config
from kiosk.service.checks import QUEUE_WARN_AFTER_S, failed, run_checks
from kiosk.service.results import CheckName


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    names = [n.value for n in CheckName]
    parser = sub.add_parser("diag", parents=parents,
                            help="check the devices, queue, back office, certificate, clock, "
                                 "disk and services; exit 1 on any failure")
    parser.add_argument("--json", action="store_true",
                        help="a JSON array, one object per check, instead of lines")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME",
                        help=f"run only these checks ({', '.join(names)})")
    parser.add_argument("--camera-timeout", type=float, default=5.0, metavar="S",
                        help="how long to wait for a first camera frame (default 5 s)")
    parser.add_argument("--network-timeout", type=float, default=5.0, metavar="S",
                        help="how long to wait for the back office (default 5 s)")
    parser.add_argument("--queue-warn-after", type=float, default=QUEUE_WARN_AFTER_S,
                        metavar="S", help="warn when a deposit has waited longer than this "
                                          f"(default {QUEUE_WARN_AFTER_S:g} s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    only = [CheckName(n) for n in args.only] if args.only else None
    results = run_checks(config, only=only, camera_timeout=args.camera_timeout,
                         network_timeout=args.network_timeout,
                         queue_warn_after=args.queue_warn_after)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], ensure_ascii=False, default=str))
    else:
        for r in results:
            print(f"{r.result.value:<4} {r.check.value:<12} {r.detail}")
    return 1 if failed(results) else 0
