"""``backoffice decrypt``: open a dossier on the staff workstation.

Prints one ``verified:`` line, then one ``file:`` line per unpacked file. Paths
are printed with their control characters escaped
(:func:`deposit.payload.printable`): a folder named with an ANSI escape must not
drive the staff member's terminal.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backoffice import staff
from deposit.payload import printable


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "decrypt", parents=parents, help="decrypt and unpack a dossier (staff workstation)",
        description="Verify the envelope against the manifest beside it (if any), decrypt it "
                    "with the staff identity (nothing is released before the whole file "
                    "authenticated) and unpack deposit.json and dossier.pdf safely into DIR2.")
    parser.add_argument("-i", "--identity", type=Path, required=True, metavar="IDENTITY")
    parser.add_argument("envelope", type=Path, metavar="ENVELOPE")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="DIR2")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = staff.decrypt(args.identity, args.envelope, args.out)
    print(f"verified: {printable(result.verified)}")
    for path in result.files:
        print(f"file: {printable(str(path))}")
    return 0
