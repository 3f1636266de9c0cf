"""``backoffice enroll``: issue the bundle one kiosk needs and record the kiosk."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import fleet


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "enroll", parents=parents, help="enroll a kiosk and write its bundle",
        description="Write everything a kiosk needs (TLS key and certificate, manifest-signing "
                    "key, CA, recipients, acknowledgement key, URLs, fleet code, kiosk.toml "
                    "fragment) into a new folder, and record the kiosk.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("kiosk_id", metavar="KIOSK_ID")
    parser.add_argument("--out", type=Path, required=True, metavar="BUNDLE_DIR",
                        help="folder to write (absent or empty)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for item in fleet.enroll(args.data, args.kiosk_id, args.out, now=datetime.now(UTC)):
        print(f"{item.name}: {item.path}")
    return 0
