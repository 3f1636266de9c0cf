"""``backoffice inbox``: the dossiers, filtered and sorted, through the staff API.

Runs on the staff workstation with the staff member's profile: nothing of the
server's files is needed. ``--csv FILE`` writes every row the filters match
(all pages); otherwise one page is printed, a line per dossier (a message's
line breaks shown as ``⏎``: one dossier, one line).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

from backoffice import staffclient
from backoffice.status import DossierStatus
from backoffice.store.staffdb import UNASSIGNED, SortKey
from deposit.payload import printable


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("inbox", parents=parents, help="list the dossiers received",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    staffclient.add_arguments(parser)
    parser.add_argument("--procedure", metavar="CODE")
    parser.add_argument("--status", choices=[s.value for s in DossierStatus])
    parser.add_argument("--kiosk", metavar="KIOSK_ID")
    parser.add_argument("--assignee", metavar="NAME",
                        help=f"an account name, @me, or {UNASSIGNED} (nobody)")
    parser.add_argument("--due-before", metavar="YYYY-MM-DD")
    parser.add_argument("--due-after", metavar="YYYY-MM-DD")
    parser.add_argument("--sort", choices=[k.value for k in SortKey], default="received")
    parser.add_argument("--desc", action="store_true", help="newest / latest first")
    parser.add_argument("--page", type=int, default=1)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="the page as one JSON document")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="every matching row as CSV")
    parser.set_defaults(func=run)


def filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"procedure": args.procedure, "status": args.status, "kiosk": args.kiosk,
            "assignee": args.assignee, "due_before": args.due_before,
            "due_after": args.due_after, "sort": args.sort,
            "order": "desc" if args.desc else "asc"}


def one_line(text: str | None) -> str:
    return printable((text or "").replace("\r\n", "\n").replace("\n", " ⏎ "))


def format_page(data: dict[str, Any], conflicts: list[dict[str, Any]]) -> str:
    rows = data["rows"]
    lines: list[str] = []
    if not rows:
        lines.append("no dossier matches" if data["total"] else "no dossier received yet")
    else:
        header = ("DEPOSIT", "PROCEDURE", "KIOSK", "RECEIVED", "DUE", "ASSIGNEE", "STATUS")
        table = [(r["deposit_id"], r["procedure"], r["kiosk_id"], (r["received"] or "")[:16],
                  (r["due"] or "-")[:10], r["assignee"] or "-",
                  r["status"] + (f" ({one_line(r['message'])})" if r["message"] else ""))
                 for r in rows]
        widths = [max(len(printable(str(row[i]))) for row in [header, *table])
                  for i in range(6)]
        for row in [header, *table]:
            lines.append("  ".join(printable(str(v)).ljust(w)
                                   for v, w in zip(row[:6], widths, strict=True))
                         + "  " + str(row[6]))
        lines.append(f"page {data['page']} of {data['pages']}, {data['total']} dossiers")
    if conflicts:
        lines.append("")
        lines.append(f"CONFLICTS ({len(conflicts)}): a kiosk sent a different envelope under a "
                     f"deposit id already stored; both are kept")
        for c in conflicts:
            lines.append(f"  {c['deposit_id']}  kiosk {c['kiosk_id']}  received {c['received']}"
                         f"  sha256 {c['envelope_sha256'][:16]}…")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    with staffclient.open_client(args) as client:
        if args.csv is not None:
            data = client.export_csv(**filters(args))
            args.csv.write_bytes(data)
            # Rows, not lines: a message's line breaks stay inside its quoted cell.
            rows = sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1
            print(f"csv: {args.csv} ({rows} dossiers)")
            return 0
        page = client.inbox(**filters(args), page=args.page, per_page=args.per_page)
        conflicts = client.conflicts()
    if args.json:
        print(json.dumps({**page, "conflicts": conflicts}, indent=2, ensure_ascii=False))
    else:
        print(format_page(page, conflicts))
    return 0
