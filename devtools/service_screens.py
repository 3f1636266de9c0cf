"""Screenshots of the technician's service mode: ``python -m devtools.service_screens
docs/screens/service/``.

The real interface on the simulated camera, printer and code reader: a badge
signed by a back office key the kiosk trusts is shown to the code reader, its
PIN typed on the panel, then every page is opened and its test run (a test
receipt, the camera's gauges on a page, a code read, the queue with deposits
sealed in it, the journal), a wrong PIN and a refused badge, the out-of-order
switch and what the citizens see then, and the camera fallback for a broken
code reader. Each screen is saved as ``<nn>-<name>.png`` (1280x800, French: the
technicians' language).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devtools import screenshots

log = logging.getLogger("kiosk.service_screens")
PIN = "482913"
SIZE = (1280, 800)
DPI = 98.0


def shoot(out: Path, size: str, dpi: float, language: str, work: Path) -> list[Path]:
    import json
    import subprocess

    from deposit import badge as badgemod
    from deposit.manifest import SigningKey, generate_signing_key
    from devtools.backoffice import BackOffice
    from devtools.citizen import Citizen
    from devtools.demo import Result, play_deposit, write_config
    from devtools.kit import start_kiosk
    from devtools.screenshots import shrink
    from kiosk.config import load_config
    from kiosk.runtime import sealing_keys
    from kiosk.service.model import Act, Page, Phase
    from kiosk.service.texts import OutOfOrderReason
    from kiosk.theme import Theme

    width, height = (int(v) for v in size.split("x"))
    office = BackOffice.create(work, "x25519")
    office.serve()
    facts = json.loads((office.bundle / "bundle.json").read_text(encoding="utf-8"))
    config = load_config(write_config(work, facts["kiosk_id"], facts["fleet_code"],
                                      office.bundle, 3))
    keys = sealing_keys(config)
    issued = subprocess.run(
        [sys.executable, "-m", "backoffice", "badge", "issue", "Camille Martin", "--days", "7",
         "--data", str(office.data), "--out", str(work / "badge.png")],
        input=f"{PIN}\n", capture_output=True, text=True, check=True)
    text = issued.stdout.strip()
    kiosk = start_kiosk(config, keys, theme=Theme(dpi=dpi))
    from kivy.core.window import Window

    Window.size = (width, height)
    driver = kiosk.driver
    person = Citizen(kiosk)
    service = kiosk.runtime.service
    assert service is not None
    folder = out
    if folder.exists():
        shutil.rmtree(folder)
    written: list[Path] = []
    now = datetime.now(UTC).replace(microsecond=0)

    def badge(holder: str, key: SigningKey) -> str:
        card = badgemod.Badge(badgemod.new_badge_id(), holder, now, now + timedelta(days=7),
                              badgemod.PinVerifier.make(PIN), "https://bo.example.fr")
        return badgemod.encode(card, key)

    def snap(name: str, settle: float = 0.6) -> None:
        end = time.monotonic() + 20
        driver.idle(3)
        while service.view().busy and time.monotonic() < end:
            driver.idle(2)
        time.sleep(settle)
        driver.idle(4)
        path = driver.screenshot(folder / f"{len(written) + 1:02d}-{name}.png")
        shrink(path)
        written.append(path)
        log.info("%s", path)

    def wait(condition: object, what: str) -> None:
        driver.wait_until(condition, 20, what)  # type: ignore[arg-type]

    def validate() -> None:
        service.press(Act.VALIDATE)
        wait(lambda: service.view().notice != "Vérification…", "the PIN check")

    def page(which: Page) -> None:
        service.press(Act.PAGE, which.value)

    def run(name: str) -> None:
        service.press(Act.RUN, name)
        driver.idle(2)
        wait(lambda: not service.view().busy, f"the test {name}")

    try:
        driver.idle(5)
        result = Result()
        play_deposit(kiosk, result)     # a deposit waits in the queue (no uploader runs)
        person.show_code(badge("Camille Martin", generate_signing_key()))
        wait(lambda: service.phase is Phase.PIN, "the refused badge")
        snap("badge-refused")
        service.press(Act.CLOSE)
        person.show_code(text)
        wait(lambda: bool(service.view().holder), "the PIN panel")
        for digit in PIN[:4]:
            service.press(Act.DIGIT, digit)
        snap("pin")
        service.press(Act.ERASE)
        for digit in "99":
            service.press(Act.DIGIT, digit)
        validate()
        snap("pin-wrong")
        for digit in PIN:
            service.press(Act.DIGIT, digit)
        validate()
        wait(lambda: service.phase is Phase.OPEN, "the service mode")
        snap("home")
        page(Page.DEVICES)
        snap("devices")
        page(Page.PRINTER)
        for action in service.view().buttons:
            if action.act is Act.RUN:
                run(action.arg)
                break
        snap("printer")
        page(Page.CAMERA)
        time.sleep(1.0)
        camera = kiosk.runtime.service_camera
        assert camera is not None
        wait(lambda: camera.preview() is not None, "the preview")
        tray = getattr(camera.camera, "simulator")  # noqa: B009 - the simulator's own
        tray.remove()
        run("tray")                          # the empty tray, recorded
        tray.place("proof-of-address")
        time.sleep(2.0)
        snap("camera", settle=1.5)
        page(Page.CODES)
        person.show_code("KIOSK-TEST 1234 é")
        wait(lambda: any("KIOSK-TEST" in r.value for r in service.view().rows), "the code")
        snap("codes")
        for which, name in ((Page.OUTBOX, "outbox"), (Page.NETWORK, "network"),
                            (Page.STORAGE, "storage"), (Page.LOGS, "logs"),
                            (Page.VERSION, "version")):
            page(which)
            snap(name, settle=1.0)
        page(Page.OUT_OF_ORDER)
        service.press(Act.OUT_OF_ORDER, OutOfOrderReason.PRINTER.value)
        snap("out-of-order")
        service.press(Act.LEAVE)
        snap("citizens-out-of-order")
        person.show_code(text)
        wait(lambda: bool(service.view().holder), "the PIN panel")
        for digit in PIN:
            service.press(Act.DIGIT, digit)
        validate()
        wait(lambda: service.phase is Phase.OPEN, "the service mode")
        page(Page.OUT_OF_ORDER)
        service.press(Act.OUT_OF_ORDER, "")
        service.press(Act.LEAVE)
        service.camera_entry()
        wait(lambda: service.phase is Phase.PIN, "the camera fallback")
        snap("camera-fallback")
        service.press(Act.CLOSE)
    finally:
        kiosk.close()
        office.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.service_screens",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (docs/screens/service)")
    args = parser.parse_args(argv)
    return screenshots.run(args.out, [(f"{SIZE[0]}x{SIZE[1]}", DPI, "fr")], shoot,
                           "kiosk-service-screens-")


if __name__ == "__main__":
    sys.exit(main())
