"""``backoffice revoke``: refuse a kiosk from its next request on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import fleet


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "revoke", parents=parents, help="revoke a kiosk",
        description="Mark a kiosk revoked. Its certificate is checked against the store on "
                    "every request, so its next request is refused; what it still holds "
                    "stays queued on the kiosk.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("kiosk_id", metavar="KIOSK_ID")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    record = fleet.revoke(args.data, args.kiosk_id, now=datetime.now(UTC))
    assert record.revoked_at is not None
    print(f"revoked: {record.kiosk_id} (fleet code {record.fleet_code}) at "
          f"{record.revoked_at:%Y-%m-%dT%H:%M:%SZ}")
    return 0
