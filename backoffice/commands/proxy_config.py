"""``backoffice proxy-config``: print nginx's configuration for ``serve --workers N``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backoffice.proxyconf import render
from backoffice.settings import load_settings
from backoffice.workers import default_socket_dir


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "proxy-config", parents=parents,
        help="print nginx's configuration for serve --workers",
        description="Print the nginx upstream and server blocks that put the kiosks' listener "
                    "(the settings' listen address, mutual TLS) in front of N ingest "
                    "processes (backoffice serve --workers N).")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("--workers", type=int, required=True, metavar="N")
    parser.add_argument("--socket-dir", type=Path, default=None, metavar="DIR",
                        help="as given to serve (default: $RUNTIME_DIRECTORY, else DATA/run)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.data)
    print(render(settings, args.workers, args.socket_dir or default_socket_dir(settings)),
          end="")
    return 0
