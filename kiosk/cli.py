"""``kiosk``: the command line of the kiosk (run, devices, diag, codes, scan, uploader, ...).

Each subcommand lives in its own module of :mod:`kiosk.commands` and provides
``register(subparsers, parents)``; the module sets ``func`` on its parser, a
function taking the parsed arguments and returning an exit status. Every
subcommand takes ``--config FILE``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

import kiosk.commands
from drivers.errors import DeviceError
from kiosk import __version__
from kiosk.errors import KioskError

log = logging.getLogger("kiosk")


def common_parser() -> argparse.ArgumentParser:
    """Options every subcommand accepts."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="configuration file (default: $KIOSK_CONFIG, else "
                             "/etc/kiosk/kiosk.toml if present, else built-in simulator defaults)")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="more log output (repeat for debug)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="kiosk", parents=[common],
        description="Deposit kiosk: the citizen application, its devices and its tools.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(kiosk.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"kiosk.commands.{info.name}")
        module.register(sub, [common])
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(level=max(level, logging.DEBUG),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    args.verbose = getattr(args, "verbose", 0)
    setup_logging(args.verbose)
    try:
        status: int = args.func(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    except DeviceError as exc:
        print(f"kiosk: device error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
