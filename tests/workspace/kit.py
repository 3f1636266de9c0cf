"""What the workspace tests need: real dossiers with a sentinel in their pages, the workspace
as its own process, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw

from deposit import payload
from printer.dossier import DossierDocument, DossierInfo, dossier_pdf
from tests.backoffice.harness import FakeKiosk, MadeDeposit, deposit_number
from tests.conftest import REPO


@dataclass(frozen=True)
class ScannedPage:
    """A page as ``scanner.compress`` hands it to the dossier (printer.dossier.EncodedPageLike)."""

    data: bytes
    width: int
    height: int
    codec: str = "jpeg"
    dpi: float = 100.0
    colour: str = "gray"

    @property
    def size_mm(self) -> tuple[float, float]:
        return self.width / self.dpi * 25.4, self.height / self.dpi * 25.4


def page_with(text: str, number: int) -> ScannedPage:
    """A grey A4-ish page at 100 dpi showing ``text``, which its JPEG comment holds too."""
    image = Image.new("L", (827, 1169), 250)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, 767, 1109), outline=40, width=4)
    draw.text((100, 120), f"Page {number}", fill=20)
    draw.text((100, 180), text, fill=20)
    for y in range(260, 1000, 40):
        draw.line((100, y, 700, y), fill=150, width=2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, comment=text.encode())
    return ScannedPage(out.getvalue(), image.width, image.height)


def real_dossier(kiosk: FakeKiosk, procedure: str, sentinel: str, pages: int = 2, *,
                 complement_of: str | None = None, request_id: str | None = None,
                 token: str | None = None) -> MadeDeposit:
    """A deposit as a kiosk seals it: deposit.json and a dossier PDF with ``pages`` pages, the
    sentinel written on each page, in each JPEG's comment and in deposit.json; with
    ``complement_of``, ``request_id`` and the original's ``token``, a complement."""
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence + 1)
    scanned = [page_with(f"{sentinel} page {n}", n) for n in range(1, pages + 1)]
    info = DossierInfo(deposit_id=deposit_id, procedure_code=procedure,
                       procedure_title=procedure, created=datetime.now(UTC),
                       kiosk_id=kiosk.enrollment.kiosk_id, kiosk_place="Mairie")
    pdf = dossier_pdf(info, [DossierDocument("Justificatif de domicile", scanned, "address")])
    deposit_json = {"version": 1, "deposit_id": deposit_id,
                    "kiosk_id": kiosk.enrollment.kiosk_id,
                    "procedure": {"code": procedure, "title": procedure},
                    "contact": {"note": sentinel},
                    "documents": [{"code": "address", "pages": pages}]}
    archive = b"".join(bytes(c) for c in payload.pack(deposit_json, pdf))
    return kiosk.make(payload=archive, deposit_id=deposit_id, procedure=procedure,
                      complement_of=complement_of, request_id=request_id, token=token)


class WorkspaceProcess:
    """``backoffice workspace`` in its own process, from a folder of its own."""

    def __init__(self, cwd: Path, profile: Path, identity: Path, runtime: Path,
                 *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        env["XDG_RUNTIME_DIR"] = str(runtime)
        env["PYTHONPATH"] = str(REPO)
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backoffice", "workspace", "--profile", str(profile),
             "-i", str(identity), *extra], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first.startswith("workspace: http://127.0.0.1:"):
            try:
                rest, _ = self.process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                rest, _ = self.process.communicate()
            raise RuntimeError(f"the workspace did not start: {first}{rest}")
        self.url = first.split(" ", 1)[1].strip()
        self.base = self.url.split("/open", 1)[0]
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode
