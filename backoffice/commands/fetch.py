"""``backoffice fetch``: copy dossiers' envelopes and manifests out, verified, through the API.

For each deposit number, writes DEPOSIT.age, DEPOSIT.manifest.json and the
kiosk's public key into DIR, once the envelope matched its kiosk-signed
manifest (size and SHA-256), then the same for each of its complements
(documents the citizen brought later at a kiosk, COMPLEMENT.age...: ``backoffice
decrypt`` opens them alike). Several numbers fetch a batch; one that fails is
reported and the others still come.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from backoffice import staffclient
from backoffice.errors import StaffToolError


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "fetch", parents=parents, help="copy dossiers (ciphertext) for decryption",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    staffclient.add_arguments(parser)
    parser.add_argument("deposit_ids", nargs="+", metavar="DEPOSIT_ID")
    parser.add_argument("-o", "--out", type=Path, required=True, metavar="DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    with staffclient.open_client(args) as client:
        for n, deposit_id in enumerate(args.deposit_ids, 1):
            try:
                fetched = client.fetch_to(deposit_id, args.out)
            except StaffToolError as exc:
                failed += 1
                print(f"backoffice: {deposit_id}: {exc}", file=sys.stderr)
                continue
            if len(args.deposit_ids) > 1:
                print(f"[{n}/{len(args.deposit_ids)}] {fetched[0].deposit_id}", file=sys.stderr)
            for number, one in enumerate(fetched):
                if number:              # documents brought later, decrypted the same way
                    print(f"complement: {one.deposit_id}")
                print(f"envelope: {one.envelope_path}")
                print(f"manifest: {args.out / (one.deposit_id + '.manifest.json')}")
    return 2 if failed else 0
