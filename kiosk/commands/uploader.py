"""``kiosk uploader``: deliver the outbox to the back office, apart from the citizen's screen.

Runs as its own process (systemd unit), so a slow network never freezes the
touchscreen, and a crash of one never stops the other. Without ``--once`` it
loops: a pass over the outbox, then a pause (``[upload] poll_s`` when all went
well; after failures a random wait that doubles up to ``max_backoff_s``).
SIGTERM stops it between two chunks; SIGKILL at any instant loses nothing
(the upload resumes from the back office's durable offset).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from deposit.upload import Backoff
from kiosk.config import load_config
from kiosk.delivery import deliver_now
from kiosk.systemd import Notifier

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
        log.info("signal %d: stopping after the current chunk", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    backoff = Backoff(base=max(1.0, config.upload.poll_s / 2), cap=config.upload.max_backoff_s,
                      rng=random.Random())  # noqa: S311 - jitter, not a secret
    failures = 0

    # Under systemd (Type=notify, WatchdogSec=): ready once configured, alive while
    # chunks go out and while waiting; a hung upload loop stops pinging and is restarted.
    notifier = Notifier.from_environment()

    def should_stop() -> bool:
        notifier.watchdog()
        return stop.is_set()

    def pause(seconds: float) -> None:
        """Wait up to ``seconds`` (less if told to stop), feeding the watchdog."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not should_stop():
            stop.wait(min(left, notifier.ping_interval or left))

    notifier.ready("uploader started")
    while True:
        report = deliver_now(config, bundle=args.bundle, retry_refused=args.retry_refused,
                             should_stop=should_stop, sleep=pause)
        notifier.status(f"{report.pending} dossier(s) waiting")
        if args.json:
            print(json.dumps(report.as_dict(), ensure_ascii=False), flush=True)
        else:
            for line in report.lines() if report.deposits else []:
                log.info("%s", line)
        if args.once or stop.is_set():
            notifier.stopping()
            return 0 if report.all_delivered else 1
        if report.count("queued"):
            failures += 1
            wait = backoff.delay(failures)
            log.info("%d dossier(s) wait; next pass in %.0f s", report.pending, wait)
        else:
            failures = 0
            wait = config.upload.poll_s
        pause(wait)
        if stop.is_set():
            notifier.stopping()
            return 0
