"""``kiosk uploader``: deliver the outbox to the back office, apart from the citizen's screen.

Runs as its own process (systemd unit kiosk-uploader.service); see
kiosk/uploading.py for the loop. ``--once`` makes one pass and exits: 0 when
nothing is left on the kiosk, 1 when dossiers wait or were refused.
``--retry-refused`` offers the dossiers the back office refused again (once
the cause is fixed) before the first pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.nudge import NudgeListener
from kiosk.systemd import Notifier
from kiosk.uploading import DeliveryReport, UploaderService

log = logging.getLogger("kiosk.uploader")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("uploader", parents=parents,
                            help="deliver queued dossiers to the back office",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true",
                        help="one pass, then exit: 0 if nothing is left on the kiosk, 1 if "
                             "something stays queued or was refused")
    parser.add_argument("--json", action="store_true", help="print each pass's report as JSON")
    parser.add_argument("--bundle", type=Path, default=None, metavar="DIR",
                        help="the enrollment bundle (default: [upload] bundle, else "
                             "{data_dir}/enrollment)")
    parser.add_argument("--retry-refused", action="store_true",
                        help="send again the dossiers the back office refused as such")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = logging.getLogger()
    if root.level > logging.INFO and not args.json:
        root.setLevel(logging.INFO)
    config = load_config(args.config)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after the current block", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def report(r: DeliveryReport) -> None:
        if args.json:
            print(json.dumps(r.as_dict(), ensure_ascii=False), flush=True)
        elif r.deliveries or args.once:
            for line in r.lines():
                log.info("%s", line)

    listener = None if args.once else NudgeListener(config.kiosk.data_dir)
    try:
        with UploaderService(config, bundle=args.bundle, notifier=Notifier.from_environment(),
                             listener=listener, stop=stop) as service:
            if args.retry_refused:
                again = service.outbox.requeue_refused()
                log.info("%d refused dossier(s) offered again", len(again))
            last = service.run(once=args.once, on_report=report)
    finally:
        if listener is not None:
            listener.close()
    return 0 if last.all_delivered or not args.once else 1
