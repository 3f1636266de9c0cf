"""``backoffice inbox``: the dossiers received, their status, and any conflicts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from backoffice import staff


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("inbox", parents=parents, help="list the dossiers received",
                            description="List dossiers (kiosk, procedure, time, status) and "
                                        "conflicts (a different envelope under a known id).")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    data = staff.inbox(args.data)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(staff.format_inbox(data))
    return 0
