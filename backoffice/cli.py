"""``backoffice``: init, serve, enroll, revoke, fleet, keygen, inbox, fetch, decrypt, status,
request, import, agents, badge.

Each subcommand lives in its own module of :mod:`backoffice.commands` and
provides ``register(subparsers, parents)``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

import backoffice.commands
from backoffice import __version__, logs
from backoffice.errors import BackofficeError


def common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="more log output (repeat for debug)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="backoffice", parents=[common],
        description="Back office of the deposit kiosks: receive, store, decrypt and answer "
                    "dossiers.")
    parser.add_argument("--version", action="version", version=f"backoffice {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(backoffice.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"backoffice.commands.{info.name}")
        module.register(sub, [common])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbosity = getattr(args, "verbose", 0)
    logs.configure(max(logging.WARNING - 10 * verbosity, logging.DEBUG))
    try:
        status: int = args.func(args)
    except BackofficeError as exc:
        print(f"backoffice: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
