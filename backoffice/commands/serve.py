"""``backoffice serve``: run the HTTPS service (tus ingest, status page, health, metrics)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

from backoffice.server import serve
from backoffice.settings import load_settings, parse_listen


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve", parents=parents, help="run the back-office service",
        description="Serve kiosks' uploads (tus 1.0, mutual TLS), the status page (its own "
                    "listener) and /metrics with the detailed /health (the administration "
                    "listener, loopback). Logs where each listens; stops cleanly on SIGTERM.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="the kiosks' listener (default: the settings' listen)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    settings = load_settings(args.data)
    if args.listen:
        parse_listen(args.listen)
        settings = dataclasses.replace(settings, listen=args.listen)
    return serve(settings)
