"""``backoffice fetch``: copy one dossier's envelope and manifest out, verified."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from backoffice import staff


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "fetch", parents=parents, help="copy a dossier (ciphertext) for decryption",
        description="Write DEPOSIT.age, DEPOSIT.manifest.json and the kiosk's public key "
                    "into DIR2, after checking the envelope against its signed manifest.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("deposit_id", metavar="DEPOSIT_ID")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="DIR2")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    envelope, manifest = staff.fetch(args.data, args.deposit_id, args.out)
    print(f"envelope: {envelope}")
    print(f"manifest: {manifest}")
    return 0
