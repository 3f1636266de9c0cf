"""``backoffice request``: ask a citizen for missing documents, list or withdraw the requests.

CRPA L114-5: the service lists the missing documents and sets a deadline; meanwhile the
delay after which its silence is a decision is suspended (or starts again when they
arrive). ``backoffice request ask DEPOSIT_ID identity lease --deadline 2027-01-15
[--note TEXT]`` names documents of the dossier's procedure by code (``backoffice request
list DEPOSIT_ID`` shows the codes); the dossier becomes incomplete, and the status page
lists them with the deadline and how to bring them (at any kiosk, with the receipt's QR
code). ``backoffice request withdraw DEPOSIT_ID REQUEST_ID`` withdraws an open request
(its requester or a supervisor); the dossier goes back in review. Rules:
backoffice/docrequests.py. Through the staff API, with your profile (``--profile``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from backoffice import staffclient


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("request", parents=parents, help="ask for missing documents",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ask = actions.add_parser("ask", parents=parents, help="ask for missing documents")
    staffclient.add_arguments(ask)
    ask.add_argument("deposit_id", metavar="DEPOSIT_ID")
    ask.add_argument("documents", metavar="DOCUMENT", nargs="+",
                     help="document codes of the dossier's procedure")
    ask.add_argument("--deadline", required=True, metavar="YYYY-MM-DD",
                     help="the last day to bring them (after today, at most three months)")
    ask.add_argument("--note", default="", help="a note for the citizen (status page)")
    ask.set_defaults(func=run_ask)
    listing = actions.add_parser("list", parents=parents,
                                 help="the procedure's documents and the dossier's requests")
    staffclient.add_arguments(listing)
    listing.add_argument("deposit_id", metavar="DEPOSIT_ID")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)
    withdraw = actions.add_parser("withdraw", parents=parents, help="withdraw an open request")
    staffclient.add_arguments(withdraw)
    withdraw.add_argument("deposit_id", metavar="DEPOSIT_ID")
    withdraw.add_argument("request_id", metavar="REQUEST_ID")
    withdraw.set_defaults(func=run_withdraw)


def run_ask(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        made = client.request_documents(args.deposit_id, list(args.documents), args.deadline,
                                        args.note)
    names = ", ".join(d["name"] for d in made["documents"])
    print(f"{made['deposit_id']}: {made['request_id']} asks for {names} by {made['deadline']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        facts = client.dossier(args.deposit_id)
    if args.json:
        print(json.dumps({k: facts.get(k) for k in ("documents", "requests", "deemed")},
                         indent=2, ensure_ascii=False))
        return 0
    print("documents of the procedure:")
    for d in facts.get("documents", []):
        print(f"  {d['code']:<20} {d['name']}")
    deemed = facts.get("deemed")
    if deemed:
        print(f"deemed decision ({deemed['silence']}): {deemed['deemed_on'] or deemed['state']}")
    for r in facts.get("requests", []):
        codes = ", ".join(d["code"] for d in r["documents"])
        print(f"{r['request_id']}  {r['state']:<9} by {r['deadline']}  {codes}  "
              f"({r['requested_by']})")
    return 0


def run_withdraw(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        done = client.withdraw_request(args.deposit_id, args.request_id)
    print(f"{done['deposit_id']}: {done['request_id']} {done['state']}")
    return 0
