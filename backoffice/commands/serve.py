"""``backoffice serve``: run the HTTPS service (tus ingest, status page, health, metrics)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

from backoffice.server import serve
from backoffice.settings import load_settings, parse_listen
from backoffice.workers import default_socket_dir, serve_ingest, serve_workers


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve", parents=parents, help="run the back-office service",
        description="Serve kiosks' uploads (tus 1.0, mutual TLS), the status page (its own "
                    "listener) and /metrics with the detailed /health (the administration "
                    "listener, loopback). Logs where each listens; stops cleanly on SIGTERM.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="the kiosks' listener (default: the settings' listen)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="N ingest processes behind nginx, which then terminates the "
                             "kiosks' TLS on the settings' listen address (configuration: "
                             "backoffice proxy-config); this process serves the other "
                             "listeners and restarts an ingest process that ends")
    parser.add_argument("--socket-dir", type=Path, default=None, metavar="DIR",
                        help="with --workers: where the ingest processes' Unix sockets go "
                             "(default: $RUNTIME_DIRECTORY, else DATA/run)")
    # One ingest process of --workers, started by the supervisor (not for people).
    parser.add_argument("--ingest-socket", type=Path, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    settings = load_settings(args.data)
    if args.listen:
        parse_listen(args.listen)
        settings = dataclasses.replace(settings, listen=args.listen)
    if args.ingest_socket is not None:
        return serve_ingest(settings, args.ingest_socket)
    if args.workers is not None:
        return serve_workers(settings, args.workers,
                             args.socket_dir or default_socket_dir(settings))
    return serve(settings)
