"""``kiosk export --to DIR``: the dossiers waiting on this kiosk, written to removable media.

For a kiosk the back office refuses (revoked, certificate expired) or one in an
area without network: a technician plugs in a USB stick and runs

    kiosk export --to /media/usb

which first reads the acknowledgements ``backoffice import`` wrote back into
earlier exports on that medium, verifies each against the back office's key
and this kiosk's outbox, and purges the dossiers they acknowledge; then writes
every dossier still held (waiting, being sent, or refused by the back office)
as a new export folder: the age envelopes byte for byte and their signed
manifests, ciphertext only (format: deposit/export.py, docs/contracts.md). The
dossiers stay queued on the kiosk until an acknowledgement (brought back on
the medium, or from an upload once the network is back) settles them, so an
export lost on the way loses nothing. Exit status: 0, or 1 when a dossier
could not be exported (its line says why).
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deposit.delivery import Settled, settle_acknowledgements
from deposit.errors import DepositError
from deposit.export import (
    ExportItem,
    ExportProgress,
    ItemOutcome,
    find_exports,
    read_acks,
    read_export,
    write_export,
)
from deposit.outbox import Outbox
from kiosk.config import Config, load_config
from kiosk.enrollment import load_bundle
from kiosk.errors import KioskError

log = logging.getLogger("kiosk.export")


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("export", parents=parents,
                            help="write the dossiers waiting on this kiosk to removable media",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", type=Path, required=True, metavar="DIR",
                        help="the medium's folder (it must exist: a stick that is not mounted "
                             "is not silently replaced by a folder on the kiosk's disk)")
    parser.add_argument("--bundle", type=Path, default=None, metavar="DIR",
                        help="the enrollment bundle, for the back office's acknowledgement key "
                             "(default: [upload] bundle, else {data_dir}/enrollment)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    dest: Path = args.to
    if not dest.is_dir():
        raise KioskError(f"{dest}: no such folder (is the medium mounted?)")
    try:
        outbox = Outbox(config.kiosk.data_dir / "outbox",
                        busy_timeout_ms=config.outbox.busy_timeout_ms)
    except DepositError as exc:
        raise KioskError(f"outbox {config.kiosk.data_dir / 'outbox'}: {exc}") from None
    try:
        settled = settle(config, outbox, dest, args.bundle)
        lines: list[dict[str, Any]] = []
        items = [ExportItem.of(entry) for entry in outbox.held()]
        folder = None
        if items:
            def progress(step: ExportProgress) -> None:
                lines.append({"deposit_id": step.deposit_id, "outcome": step.outcome.value,
                              "reason": step.reason})
                if not args.json:
                    print(f"[{step.done}/{step.total}] {step.deposit_id}: {step.outcome.value}"
                          + (f" ({step.reason})" if step.reason else ""), flush=True)

            try:
                folder = write_export(dest, config.kiosk.id, items, now=datetime.now(UTC),
                                      progress=progress)
            except DepositError as exc:
                raise KioskError(f"export to {dest} failed: {exc}") from None
        skipped = sum(1 for line in lines if line["outcome"] == ItemOutcome.SKIPPED)
        report = {"export": str(folder) if folder else None,
                  "exported": len(lines) - skipped, "skipped": skipped, "deposits": lines,
                  "acknowledged": sum(1 for s in settled if s.purged),
                  "acknowledgements": [{"deposit_id": s.deposit_id, "purged": s.purged,
                                        "reason": s.reason} for s in settled],
                  "still_held": len(outbox.held())}
    finally:
        outbox.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        if report["acknowledged"]:
            print(f"{report['acknowledged']} dossier(s) acknowledged by the back office: "
                  "deleted from the kiosk")
        print(f"{report['exported']} dossier(s) written to {folder}" if folder else
              "nothing to export: no dossier is waiting on this kiosk")
        if skipped:
            print(f"{skipped} dossier(s) could not be exported (see above): call support")
        print(f"{report['still_held']} dossier(s) stay on the kiosk until acknowledged")
    return 1 if skipped else 0


def settle(config: Config, outbox: Outbox, dest: Path, bundle: Path | None) -> list[Settled]:
    """Apply the acknowledgements found in this kiosk's earlier exports on the medium."""
    exports = []
    for folder in find_exports(dest):
        try:
            if read_export(folder).kiosk_id == config.kiosk.id:
                exports.append(folder)
        except DepositError as exc:
            log.warning("%s is not an export this kiosk can read (%s): left alone", folder, exc)
    acks: dict[str, bytes] = {}
    for folder in exports:
        try:
            acks.update(read_acks(folder))
        except DepositError as exc:
            log.warning("acknowledgements in %s cannot be read (%s): left alone", folder, exc)
    if not acks:
        return []
    try:
        enrollment = load_bundle(config, bundle)
        key = enrollment.ack_key()
    except (KioskError, DepositError) as exc:
        log.warning("acknowledgements found but not applied: the back office's key is "
                    "needed to verify them (%s)", exc)
        return []
    return settle_acknowledgements(outbox, acks, ack_key=key, kiosk_id=config.kiosk.id)
