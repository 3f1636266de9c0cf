"""``backoffice init``: create a back office (CA, server certificate, keys, settings, stores)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import fleet


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "init", parents=parents, help="create a back office in a new data folder",
        description="Create the fleet CA, the server certificate, the acknowledgement key, a "
                    "staff identity and the settings. Prints what it wrote as 'name: path' "
                    "lines. The staff identity opens every dossier: it belongs on the staff "
                    "workstation, not on the server.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="the data folder to create (absent or empty)")
    parser.add_argument("--url", default="https://localhost:8443",
                        help="the URL kiosks upload to (default: %(default)s); its host is "
                             "named in the server certificate, with localhost and 127.0.0.1")
    parser.add_argument("--public-url", default=None,
                        help="base URL of the citizens' status page (default: the URL's host "
                             "and the status page's port)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="the kiosks' listener (default: the URL's host and port)")
    parser.add_argument("--public-listen", default=None, metavar="HOST:PORT",
                        help="the status page's listener (default: the URL's host, next port)")
    parser.add_argument("--admin-listen", default=None, metavar="HOST:PORT",
                        help="the administration listener, loopback only (default: "
                             "127.0.0.1, the port after the status page's)")
    parser.add_argument("--staff-listen", default=None, metavar="HOST:PORT",
                        help="the staff API's listener, mutual TLS (default: the URL's host, "
                             "the port after the administration's)")
    parser.add_argument("--metadata", default=None, metavar="URL",
                        help="metadata store: sqlite:///PATH (default DIR/backoffice.sqlite3) "
                             "or postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--objects", default=None, metavar="URL",
                        help="envelope store: file:///DIR (default DIR/objects), or "
                             "s3://BUCKET/PREFIX?endpoint=URL&spool=DIR (docs/backoffice.md, "
                             "\"Envelopes in S3\")")
    parser.add_argument("--key-type", choices=fleet.KEY_TYPES, default="mlkem768x25519",
                        help="staff key: post-quantum hybrid (default) or classical x25519")
    parser.add_argument("--staff-identity", type=Path, default=None, metavar="PATH",
                        help="where to write the staff identity (default "
                             "DIR/staff/staff-identity.txt)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    written = fleet.init(args.data, url=args.url, public_url=args.public_url,
                         listen=args.listen, public_listen=args.public_listen,
                         admin_listen=args.admin_listen, staff_listen=args.staff_listen,
                         metadata=args.metadata,
                         objects=args.objects,
                         key_type=args.key_type, staff_identity=args.staff_identity,
                         now=datetime.now(UTC))
    for item in written:
        print(f"{item.name}: {item.path}")
    identity = next(w.path for w in written if w.name == "staff identity")
    print(f"note: the staff identity {identity} decrypts every dossier. Move it to the staff "
          f"workstation (backoffice decrypt -i FILE) and delete it from this server; the "
          f"server keeps only the recipient.", file=sys.stderr)
    print("note: keep the fleet CA key offline once the fleet is enrolled.", file=sys.stderr)
    print("note: the status page's certificate is a placeholder that phones do not trust: "
          "install a publicly trusted chain or a reverse proxy (docs/backoffice.md, "
          "\"Listeners\").", file=sys.stderr)
    return 0
