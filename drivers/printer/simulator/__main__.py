"""Run the printer simulator on a pseudo-terminal until stopped.

    python -m drivers.printer.simulator --out /tmp/receipts [--link /tmp/kiosk-printer]
        [--paper ok|near-end|out] [--cover open] [--cutter error] [--offline]
        [--profile TM-T88V] [--width 58|80] [--paper-out-after LINES]

It prints the pseudo-terminal's path; point the kiosk at it
(``[devices] printer = "serial:///dev/pts/N"``, or the ``--link`` path) and
each receipt appears in the output folder as a PNG. Ctrl-C (or SIGTERM) stops it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from drivers.errors import DeviceURLError
from drivers.printer.profiles import DEFAULT_PROFILE, load_profile
from drivers.printer.simulator.device import PrinterSimulator, SimState


def say(line: str, *, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drivers.printer.simulator",
                                     description="Simulated ESC/POS receipt printer on a "
                                                 "pseudo-terminal; receipts rendered as PNGs.")
    parser.add_argument("--out", type=Path, required=True, help="folder for receipt PNGs")
    parser.add_argument("--link", type=Path, help="also make this symbolic link to the port")
    parser.add_argument("--paper", choices=["ok", "near-end", "out"], default="ok")
    parser.add_argument("--cover", choices=["closed", "open"], default="closed")
    parser.add_argument("--cutter", choices=["ok", "error"], default="ok")
    parser.add_argument("--offline", action="store_true", help="report the printer offline")
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="python-escpos profile name")
    parser.add_argument("--width", type=int, choices=[58, 80], help="paper width in mm")
    parser.add_argument("--paper-out-after", type=int, metavar="LINES",
                        help="run out of paper after this many printed lines")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every job in detail")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        profile = load_profile(args.profile, width=args.width)
    except DeviceURLError as exc:
        say(f"error: {exc}", error=True)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    state = SimState(paper=args.paper, cover_open=args.cover == "open",
                     cutter_error=args.cutter == "error", online=not args.offline,
                     paper_out_after_lines=args.paper_out_after)
    simulator = PrinterSimulator(profile, state, out_dir=args.out)
    path = simulator.start_pty(link=args.link)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    where = args.link or path
    say(f"printer simulator ({profile.name}, {profile.paper_width_mm} mm) on {path}")
    say(f'kiosk.toml: [devices] printer = "serial://{where}"')
    say(f"receipts: {args.out.resolve()}")
    while not stop.wait(0.2):
        pass
    simulator.close()
    if args.link is not None and args.link.is_symlink():
        args.link.unlink()
    say(f"stopped after {len(simulator.jobs)} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
