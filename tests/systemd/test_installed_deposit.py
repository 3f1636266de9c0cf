"""A deposit through the installed kiosk reaches a local back office.

Everything that runs is the installed product: the venv ``install.sh --root`` built (no
test, benchmark or demo package in it), the configuration it wrote from the bundle, the
state under /var/lib/kiosk, at their real paths (``run_in_root``, /etc/kiosk and
/opt/deposit-kiosk read-only as on a read-only root). A citizen is played headless by
the development kit (devtools, given to that one process only, from the checkout): it
drives the installed runtime built from the installed configuration. Then the installed
``kiosk uploader --once`` delivers the dossier to the back office that enrolled the kiosk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.backoffice.harness import RunningServer
from tests.systemd.conftest import REAL_CONFIG, REAL_PYTHON, REAL_VENV, InstalledKiosk, run_in_root

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

#: Run by the installed Python: a citizen's deposit on the installed runtime.
CITIZEN = """
import json, sys
import kiosk
from devtools.headless import deposit, start_headless
from kiosk.config import load_config
from kiosk.runtime import sealing_keys

config = load_config()
kiosk_ = start_headless(config, sealing_keys(config), code_reader=False)
try:
    procedure = kiosk_.runtime.catalog.get("impots-justificatifs")
    documents = {d.code: ["tax-notice"] for d in procedure.documents}
    made = deposit(kiosk_, "impots-justificatifs", documents)
finally:
    kiosk_.close()
print(json.dumps({"deposit_id": made.deposit_id, "kiosk_module": kiosk.__file__,
                  "data_dir": str(config.kiosk.data_dir), "config": str(config.path)}))
"""


def test_a_deposit_through_the_installed_configuration_reaches_the_back_office(
        installed_kiosk: InstalledKiosk, tmp_path: Path) -> None:
    kiosk = installed_kiosk
    # Only devtools from the checkout: the product packages must come from the installed venv.
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "devtools").symlink_to(REPO / "devtools")
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "KIOSK_CONFIG": str(REAL_CONFIG),
           "PYTHONPATH": str(kit), "PYTHONDONTWRITEBYTECODE": "1",
           "KIVY_NO_ARGS": "1", "HOME": "/var/lib/kiosk"}
    server = RunningServer(kiosk.office, kiosk.office_port).start()
    try:
        made = run_in_root(kiosk.root, [REAL_PYTHON, "-c", CITIZEN], read_only=True, env=env,
                           cwd=kit, timeout=600)
        assert made.returncode == 0, made.stdout + made.stderr[-4000:]
        said = json.loads(made.stdout.splitlines()[-1])
        assert said["kiosk_module"].startswith(str(REAL_VENV) + "/lib/"), said
        assert said["config"] == str(REAL_CONFIG) and said["data_dir"] == "/var/lib/kiosk"
        deposit_id = said["deposit_id"]
        outbox = kiosk.root / "var/lib/kiosk/outbox/envelopes"
        assert [p.name for p in outbox.glob("*.age")] == [f"{deposit_id}.age"]

        sent = run_in_root(kiosk.root, [REAL_VENV / "bin/kiosk", "uploader", "--once", "--json"],
                           read_only=True, env=env, cwd=kit, timeout=300)
        assert sent.returncode == 0, sent.stdout + sent.stderr[-4000:]
        report = json.loads(sent.stdout.splitlines()[-1])
        assert report["delivered"] == 1 and report["pending"] == 0, report
        [stored] = server.bo.metadata.deposits()
        assert stored.deposit_id == deposit_id and stored.kiosk_id == kiosk.kiosk_id
        assert list(outbox.glob("*.age")) == []        # acknowledged, then deleted
    finally:
        server.stop()
