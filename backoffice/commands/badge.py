"""``backoffice badge``: issue, list and revoke technicians' badges (run on the back office).

``badge issue NAME --days N --data DIR [--out FILE.png]`` makes a badge for
NAME valid N days (1 to 90), signed with the back office's acknowledgement
key, and records it with the OS user who issued it. Its PIN (6 to 8 digits)
is asked twice on the terminal, or read from the first line of standard input
when that is not a terminal (scripts); never from the command line, where
``ps`` would show it. The QR code is written as a PNG to print on a card
(default ``badge-ID.png`` here) and its text alone goes to standard output,
for a card printer that prints codes itself; the rest goes to standard error.

``badge list`` shows every badge (``--json``: one JSON document);
``badge revoke BADGE_ID`` revokes one: kiosks refuse it from the next fleet
state their uploader fetches (a few minutes).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import badges
from backoffice.badges import BadgeIssueError
from backoffice.store.badgesdb import BadgeRecord


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("badge", parents=parents, help="technicians' badges (server)",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    issue = actions.add_parser("issue", parents=parents, help="issue a badge (PIN asked)")
    issue.add_argument("holder", metavar="NAME", help="the technician's name, as on the card")
    issue.add_argument("--days", type=int, required=True, metavar="N",
                       help=f"valid N days, {badges.MIN_DAYS} to {badges.MAX_DAYS}")
    issue.add_argument("--data", type=Path, required=True, metavar="DIR")
    issue.add_argument("--out", type=Path, default=None, metavar="FILE.png",
                       help="the QR code's PNG (default: badge-ID.png in this folder)")
    issue.set_defaults(func=run_issue)

    listing = actions.add_parser("list", parents=parents, help="list the badges issued")
    listing.add_argument("--data", type=Path, required=True, metavar="DIR")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)

    revoke = actions.add_parser("revoke", parents=parents,
                                help="revoke a badge (kiosks refuse it within minutes)")
    revoke.add_argument("badge_id", metavar="BADGE_ID")
    revoke.add_argument("--data", type=Path, required=True, metavar="DIR")
    revoke.set_defaults(func=run_revoke)


def read_pin() -> str:
    """The new badge's PIN: asked twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("PIN of the badge (6 to 8 digits): ")
        if getpass.getpass("again: ") != first:
            raise BadgeIssueError("the two PINs differ")
        return first
    return sys.stdin.readline().strip()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):   # no login name, no passwd entry (a container)
        return f"uid {os.getuid()}"


def run_issue(args: argparse.Namespace) -> int:
    issued = badges.issue(args.data, args.holder, args.days, read_pin(), issued_by=os_user(),
                          now=datetime.now(UTC))
    record = issued.record
    png = badges.write_png(issued.text, args.out or Path(f"badge-{record.badge_id}.png"))
    print(f"badge: {record.badge_id}", file=sys.stderr)
    print(f"holder: {record.holder}", file=sys.stderr)
    print(f"expires: {record.expires_at:%Y-%m-%dT%H:%M:%SZ}", file=sys.stderr)
    print(f"png: {png}", file=sys.stderr)
    print(issued.text)
    return 0


def _as_dict(r: BadgeRecord, now: datetime) -> dict[str, Any]:
    return {"badge_id": r.badge_id, "holder": r.holder, "issued_at": r.issued_at.isoformat(),
            "expires_at": r.expires_at.isoformat(), "issued_by": r.issued_by,
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            "state": r.state(now).value}


def run_list(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    records = badges.badges(args.data)
    if args.json:
        print(json.dumps([_as_dict(r, now) for r in records], indent=2, ensure_ascii=False))
        return 0
    if not records:
        print("no badge issued yet (backoffice badge issue NAME --days N --data DIR)")
    for r in records:
        print(f"{r.badge_id}  {r.state(now).value:8} until {r.expires_at:%Y-%m-%d %H:%M}Z  "
              f"by {r.issued_by:12} {r.holder}")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    record = badges.revoke(args.data, args.badge_id, now=datetime.now(UTC))
    assert record.revoked_at is not None
    print(f"revoked: {record.badge_id} ({record.holder}) at "
          f"{record.revoked_at:%Y-%m-%dT%H:%M:%SZ}; kiosks refuse it from their next fleet "
          f"state")
    return 0
