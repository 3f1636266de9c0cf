"""``backoffice status``: set the status (and message) the citizen sees."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import staff
from backoffice.status import DossierStatus

#: What staff type on the command line -> the stored status.
CHOICES: dict[str, DossierStatus] = {s.words: s for s in DossierStatus} | \
    {s.value: s for s in DossierStatus} | {"in-review": DossierStatus.IN_REVIEW}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "status", parents=parents, help="set a dossier's status",
        description="Set the status shown on the citizen's status page: "
                    + ", ".join(s.words for s in DossierStatus) + ".")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("deposit_id", metavar="DEPOSIT_ID")
    parser.add_argument("state", metavar="STATE", choices=sorted(CHOICES),
                        help="one of: " + ", ".join(s.words for s in DossierStatus))
    parser.add_argument("--message", default="",
                        help="a message to the citizen, shown on the status page (no personal "
                             "data: the page is reachable by whoever holds the receipt)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = CHOICES[args.state]
    staff.set_status(args.data, args.deposit_id, state, args.message, now=datetime.now(UTC))
    print(f"{args.deposit_id}: {state.words}")
    return 0
