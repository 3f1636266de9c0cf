"""``backoffice staff``: add, list, disable staff accounts, or give one a new certificate.

Run on the back office's machine (it needs the data folder and the staff CA).
``add`` writes a profile folder for the staff member: their certificate, its
key encrypted with their passphrase, and what to trust. Hand it over as you
would a badge; the passphrase goes separately, or is typed by its owner.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice import staffaccounts
from backoffice.errors import AccountError
from backoffice.roles import PERMISSIONS, Role
from backoffice.staffclient import read_passphrase


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("staff", parents=parents, help="manage staff accounts (server)",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    roles = ", ".join(f"{r.value} ({', '.join(sorted(p.value for p in PERMISSIONS[r]))})"
                      for r in Role)

    add = actions.add_parser("add", parents=parents, help="add an account, write its profile",
                             description=f"Roles: {roles}.")
    add.add_argument("name", metavar="NAME", help="account name: lowercase, e.g. marie.durand")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--full-name", default="", help="as colleagues and the audit read it")
    _common(add, out=True)
    add.set_defaults(func=run_add)

    reissue = actions.add_parser("reissue", parents=parents,
                                 help="a new certificate for an account (the old one stops)")
    reissue.add_argument("name", metavar="NAME")
    _common(reissue, out=True)
    reissue.set_defaults(func=run_reissue)

    listing = actions.add_parser("list", parents=parents, help="list the accounts")
    listing.add_argument("--data", type=Path, required=True, metavar="DIR")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)

    disable = actions.add_parser("disable", parents=parents,
                                 help="disable an account (refused from its next request)")
    disable.add_argument("name", metavar="NAME")
    disable.add_argument("--data", type=Path, required=True, metavar="DIR")
    disable.set_defaults(func=run_disable)


def _common(parser: argparse.ArgumentParser, *, out: bool) -> None:
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    if out:
        parser.add_argument("--out", type=Path, required=True, metavar="PROFILE",
                            help="the profile folder to write (absent or empty)")
        parser.add_argument("--passphrase-file", type=Path, default=None, metavar="FILE",
                            help="the passphrase of the new key (default: "
                                 "$BACKOFFICE_STAFF_PASSPHRASE, else asked twice)")
        parser.add_argument("--server", default=None, metavar="URL",
                            help="the staff API's URL as staff reach it (default: the "
                                 "kiosks' host and the staff listener's port)")


def _new_passphrase(args: argparse.Namespace) -> bytes:
    if args.passphrase_file is None and sys.stdin.isatty():
        first = getpass.getpass("passphrase of the new staff key: ")
        if getpass.getpass("again: ") != first:
            raise AccountError("the two passphrases differ")
        return first.encode()
    return read_passphrase(args.passphrase_file)


def run_add(args: argparse.Namespace) -> int:
    profile = staffaccounts.add(args.data, args.name, Role(args.role), args.full_name, args.out,
                                _new_passphrase(args), now=datetime.now(UTC), server=args.server)
    print(f"account: {args.name} ({args.role})")
    print(f"profile: {profile.folder}")
    print(f"server: {profile.server}")
    return 0


def run_reissue(args: argparse.Namespace) -> int:
    profile = staffaccounts.reissue(args.data, args.name, args.out, _new_passphrase(args),
                                    now=datetime.now(UTC), server=args.server)
    print(f"account: {args.name}")
    print(f"profile: {profile.folder}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    accounts = staffaccounts.accounts(args.data)
    if args.json:
        print(json.dumps([{"name": a.name, "full_name": a.full_name, "role": a.role.value,
                           "active": a.active, "created": a.created_at.isoformat(),
                           "disabled": a.disabled_at.isoformat() if a.disabled_at else None}
                          for a in accounts], indent=2, ensure_ascii=False))
        return 0
    if not accounts:
        print("no staff account yet (backoffice staff add NAME --role ROLE ...)")
    for a in accounts:
        state = "active" if a.active else f"disabled {a.disabled_at:%Y-%m-%d}"
        print(f"{a.name:24} {a.role.value:14} {state:20} {a.full_name}")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    record = staffaccounts.disable(args.data, args.name, now=datetime.now(UTC))
    print(f"{record.name}: disabled")
    return 0
