"""``backoffice import``: ingest dossiers a technician carried on removable media."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from backoffice import importer


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import", parents=parents, help="ingest dossiers carried on removable media",
        description="Ingest the exports written by `kiosk export` (an export folder, or a "
                    "folder such as the medium's mount point holding several), with the "
                    "checks of an upload. Each export is verified whole first: if any file "
                    "fails a check, nothing of that export is stored. A revoked kiosk's "
                    "dossiers are accepted only when created before its revocation. The "
                    "signed acknowledgements are written back into each export (acks/) for "
                    "the kiosk to purge what was delivered. Exit status 1 if anything was "
                    "refused or an acknowledgement could not be written.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("source", type=Path, metavar="MEDIA_DIR",
                        help="an export folder, or a folder holding export folders")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = importer.import_dir(args.data, args.source)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(importer.format_report(report))
    return 0 if report.ok else 1
