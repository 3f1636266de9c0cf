"""``bin/kiosk demo`` from the outside, as the acceptance check does it: a deposit made on the real
interface (Xvfb) reaches a real back office, and the staff's tools and plain ``age`` open it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("age") is None, reason="the age tool is not installed")
def test_the_demo_deposits_end_to_end_and_age_opens_the_envelope(tmp_path: Path) -> None:
    # No display at all: the demo must start its own virtual one.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "demo"
    # The README's own command (bin/kiosk checks the set-up, then runs devtools.demo).
    result = subprocess.run([str(REPO / "bin" / "kiosk"), "demo", "--json", "--key-type",
                             "x25519", "--out", str(out)], capture_output=True, text=True,
                            timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert "demo: starting the back office" in result.stderr
    assert report["delivered"] is True and report["pages"] == 4
    assert [d["pages"] for d in report["documents"]] == [1, 2, 1]
    # The envelope opens with the staff identity and plain age (X25519).
    plain = tmp_path / "payload.tar"
    with plain.open("wb") as sink:
        subprocess.run(["age", "-d", "-i", report["identity"], report["envelope"]],
                       stdout=sink, check=True, timeout=60)
    with tarfile.open(plain) as archive:
        names = archive.getnames()
        archive.extractall(tmp_path / "opened", filter="data")
    assert sorted(names) == ["deposit.json", "dossier.pdf"]
    info = subprocess.run(["pdfinfo", str(tmp_path / "opened" / "dossier.pdf")],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+5$", info, re.M), info     # the cover and the four pages
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "opened" / "dossier.pdf")],
                            capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) - 2 == 4       # one scanned image per page
    body = json.loads((tmp_path / "opened" / "deposit.json").read_text())
    assert body["deposit_id"] == report["deposit_id"]
    assert body["contact"] == {"phone": "+33612345678"}
    # The staff tool decrypted the same dossier.
    assert sorted(p.name for p in Path(report["dossier_dir"]).iterdir()) == \
        ["deposit.json", "dossier.pdf"]
    # The receipt's QR code is the status page, which said where the dossier stands.
    if shutil.which("zbarimg"):
        decoded = subprocess.run(["zbarimg", "-q", "--raw", report["receipt_png"]],
                                 capture_output=True, text=True).stdout.strip()
        assert decoded == report["status_url"]
    assert report["receipt_qr_is_status_url"] is True
    assert report["status"] == "Reçu"
