"""``backoffice status``: decide on a dossier (its status and the message the citizen reads).

Through the staff API, with the staff member's profile. The decisions follow a
state machine (backoffice/decisions.py): received → in review → incomplete,
accepted, rejected or closed; a rejection and an incomplete dossier need a
message saying why; a message carrying personal data (an e-mail address, a
phone number, an IBAN, a date of birth, a national number) is refused, since
the status page is reachable by whoever holds the receipt.
"""

from __future__ import annotations

import argparse
from typing import Any

from backoffice import staffclient
from backoffice.status import DossierStatus

#: What staff type on the command line -> the stored status.
CHOICES: dict[str, DossierStatus] = {s.words: s for s in DossierStatus} | \
    {s.value: s for s in DossierStatus} | {"in-review": DossierStatus.IN_REVIEW}


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", parents=parents, help="set a dossier's status",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    staffclient.add_arguments(parser)
    parser.add_argument("deposit_id", metavar="DEPOSIT_ID")
    parser.add_argument("state", metavar="STATE", choices=sorted(CHOICES),
                        help="one of: " + ", ".join(s.words for s in DossierStatus))
    parser.add_argument("--message", default="",
                        help="the message to the citizen, shown on the status page; line "
                             "breaks are kept")
    parser.add_argument("--expected", choices=sorted(CHOICES), default=None,
                        help="refuse if the dossier is no longer in this state")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state = CHOICES[args.state]
    expected = CHOICES[args.expected].value if args.expected else None
    with staffclient.open_client(args) as client:
        result = client.set_status(args.deposit_id, state.value, args.message, expected)
    print(f"{result['deposit_id']}: {DossierStatus(result['status']).words}")
    return 0
