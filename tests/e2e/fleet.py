"""A kiosk enrolled at a real back office, as a technician would set it up, for end-to-end tests.

:func:`enrolled` makes a back office and a kiosk's bundle; :func:`kiosk_config`
writes the kiosk's TOML configuration for a bundle (data folder, simulated
devices, the bundle, delivery settings); :func:`point_bundle_at` sends the
kiosk elsewhere (a proxy, a silent server); :func:`queue` seals genuine
deposits into the kiosk's own outbox, as the kiosk does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from deposit import manifest as mf
from deposit.bundle import Enrollment
from deposit.ids import DepositId
from deposit.outbox import Outbox, Sealer
from tests.backoffice.harness import enroll, free_port, init_backoffice


@dataclass(frozen=True)
class Enrolled:
    """A back office (its data folder and port, not yet serving) and one kiosk's bundle."""

    data: Path
    port: int
    bundle: Path
    kiosk_id: str
    fleet_code: str


def enrolled(root: Path, kiosk_id: str) -> Enrolled:
    """``backoffice init`` in ``root`` on a free port, and ``backoffice enroll`` of one kiosk."""
    port = free_port()
    data = init_backoffice(root, port)
    bundle = enroll(data, kiosk_id, root / "bundle")
    facts = json.loads((bundle / "bundle.json").read_text())
    return Enrolled(data, port, bundle, kiosk_id, facts["fleet_code"])


def point_bundle_at(bundle: Path, port: int) -> None:
    """The kiosk of ``bundle`` uploads to 127.0.0.1:``port`` (a proxy, a silent server...)."""
    facts = json.loads((bundle / "bundle.json").read_text())
    facts["upload_url"] = f"https://127.0.0.1:{port}/files/"
    (bundle / "bundle.json").write_text(json.dumps(facts))


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
