"""A kiosk enrolled at a real back office, as a technician would set it up, for end-to-end tests.

:func:`kiosk_config` writes the kiosk's TOML configuration for a bundle (data
folder, simulated devices, the bundle, delivery settings); :func:`queue` seals
genuine deposits into the kiosk's own outbox, as the kiosk does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from deposit import manifest as mf
from deposit.bundle import Enrollment
from deposit.ids import DepositId
from deposit.outbox import Outbox, Sealer


def kiosk_config(folder: Path, bundle: Path, *, upload: str = "", extra: str = "") -> Path:
    """``folder/kiosk.toml`` for the kiosk of ``bundle``, its data in ``folder/data``."""
    facts = json.loads((bundle / "bundle.json").read_text())
    data = folder / "data"
    path = folder / "kiosk.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[kiosk]\nid = "{facts["kiosk_id"]}"\ncode = "{facts["fleet_code"]}"\n'
        f"data_dir = {json.dumps(str(data))}\n"
        f'[devices]\ncamera = "sim://?seed=3&placed=false"\n'
        f"printer = {json.dumps('sim://?out=' + str(data / 'receipts'))}\n"
        f'code_reader = "sim://"\n'
        f"[upload]\nbundle = {json.dumps(str(bundle))}\n{upload}\n{extra}\n")
    return path


def kiosk_outbox(config_path: Path, bundle: Path) -> Outbox:
    """The kiosk's outbox, opened to seal as the kiosk does (with the bundle's keys)."""
    enrollment = Enrollment.load(bundle)
    data = config_path.parent / "data"
    return Outbox(data / "outbox", sealer=Sealer(tuple(enrollment.recipients()),
                                                 enrollment.kiosk_id,
                                                 enrollment.signing_key()),
                  reserve_bytes=0, dossier_estimate_bytes=1024 * 1024)


def queue(box: Outbox, fleet_code: str, sizes: list[int], *, first: int = 1) -> list[str]:
    """Seal one deposit per size (bytes of its PDF) into ``box``; their ids, in order."""
    ids = []
    for n, size in enumerate(sizes, start=first):
        deposit_id = str(DepositId(fleet_code, n))
        box.seal_and_queue(deposit_id=deposit_id, procedure="caf-apl",
                           deposit_json={"version": 1, "deposit_id": deposit_id},
                           pdf=b"%PDF-1.7\n" + os.urandom(size),
                           tracking_token=mf.new_tracking_token())
        ids.append(deposit_id)
    return ids
