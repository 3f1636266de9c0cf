"""Screenshots of every screen, in every language and screen size: ``python -m devtools.screenshots
docs/screens/``.

The real interface runs on the simulated camera and printer (under Xvfb when
there is no display) and a scripted citizen walks through a whole deposit,
with the dialogs, the device troubles and the wipe on the way; each screen is
saved as ``<size>/<lang>/<nn>-<name>.png``. ``--sizes`` and ``--languages``
narrow the set; ``--dpi`` overrides the panel density of each size.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: Sizes shown in docs/journey.md, with the density of a typical kiosk panel of that size:
#: a 15.4-inch 1280x800, and 21.5-inch 1920x1080 panels in landscape and portrait.
SIZES = {"1280x800": 98.0, "1920x1080": 102.0, "1080x1920": 102.0}

log = logging.getLogger("kiosk.screenshots")


def shoot(out: Path, size: str, dpi: float, language: str, work: Path) -> list[Path]:
    """One walk through the journey at ``size`` in ``language``; returns the files written."""
    from deposit.status import Standing
    from devtools.citizen import Citizen, OffsetClock, local_keys, printer_simulator, sim_config
    from devtools.kit import start_kiosk
    from kiosk.access import Setting
    from kiosk.catalog import convocation_url
    from kiosk.journey import Overlay, ReceiptPhase, Refusal, Step
    from kiosk.theme import Theme

    width, height = (int(v) for v in size.split("x"))
    data = work / f"{size}-{language}"
    data.mkdir(parents=True)
    clock = OffsetClock()
    keys, _identity = local_keys()
    config = sim_config(data, size=(width, height), dpi=dpi, seed=3)
    kiosk = start_kiosk(config, keys, clock=clock, theme=Theme(dpi=dpi))
    outbox = kiosk.runtime.outbox
    assert outbox is not None
    from kivy.core.window import Window

    Window.size = (width, height)
    driver = kiosk.driver
    person = Citizen(kiosk)
    folder = out / size / language
    if folder.exists():
        shutil.rmtree(folder)
    written: list[Path] = []

    def snap(name: str) -> None:
        driver.idle(4)
        path = driver.screenshot(folder / f"{len(written) + 1:02d}-{name}.png")
        shrink(path)
        written.append(path)
        log.info("%s", path)

    try:
        driver.idle(5)
        if language != "fr":
            person.tap("language", language)
        snap("welcome")
        person.tap("help")
        snap("help")
        person.tap("close")
        person.tap("accessibility")
        snap("accessibility")
        person.tap("close")
        person.tap("languages")
        snap("languages")
        person.tap("close")
        person.tap("start")
        snap("procedure")

        def settings(*toggles: Setting) -> None:
            person.tap("accessibility")
            for setting in toggles:
                person.tap("toggle", setting)
            person.tap("close")

        settings(Setting.LARGE_TEXT)
        snap("procedure-large-text")
        settings(Setting.HIGH_CONTRAST)
        snap("procedure-large-contrast")
        settings(Setting.LARGE_TEXT, Setting.LOWERED)
        snap("procedure-contrast-lowered")
        settings(Setting.HIGH_CONTRAST, Setting.LOWERED)
        person.tap("back")
        person.show_code("https://www.example.com/not-a-letter")
        driver.wait_until(lambda: driver.state.notice is not None, 10, "the notice")
        snap("not-a-convocation")
        person.show_code(convocation_url("rdv.mairie.example.fr", "listes-electorales",
                                         "EL-2025-0042"))
        driver.wait_for_step(Step.CHECKLIST)
        snap("checklist")
        person.tap("begin")
        driver.wait_for_step(Step.CAPTURE)
        tray = person.tray
        tray.set_defects("glare:1")
        tray.place("text")
        driver.wait_until(lambda: _guidance(kiosk), 30, "guidance on the preview")
        snap("capture-guidance")
        tray.set_defects("")
        person.lay_page("text")
        snap("capture-taken")
        person.tap("cancel")
        snap("cancel")
        person.tap("cancel_abort")
        person.tap("add_page")
        person.clear_tray()
        kiosk.camera.unplug()
        driver.wait_until(lambda: driver.state.out_of_order, 20, "out of order")
        snap("capture-out-of-order")
        kiosk.camera.plug()
        driver.wait_until(lambda: not driver.state.out_of_order, 30, "the camera back")
        person.lay_page("tax-notice")
        person.tap("next")
        person.clear_tray()
        person.lay_page("proof-of-address")
        person.tap("next")
        person.clear_tray()
        person.lay_page("payslip")
        person.tap("next")
        driver.wait_for_step(Step.REVIEW)
        snap("review")
        person.tap("continue")
        driver.wait_for_step(Step.CONTACT)
        person.type_contact(email="jeanne.martin@example.fr")
        person.tap("consent")
        snap("contact")
        clock.advance(config.session.inactivity - config.session.warning + 1)
        driver.wait_until(lambda: driver.state.overlay is Overlay.TIMEOUT, 10, "the warning")
        snap("still-there")
        person.tap("more_time")
        person.tap("continue")
        driver.wait_for_step(Step.CONFIRM)
        snap("confirm")
        hold = threading.Event()
        kiosk.runtime.controller._jobs.submit(hold.wait, 30)   # sealing waits its turn
        person.tap("send")
        snap("sealing")
        printer_simulator(kiosk.runtime).set(paper="out")
        hold.set()
        driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.ON_SCREEN, 60,
                          "the receipt on screen")
        snap("receipt-on-screen")
        printer_simulator(kiosk.runtime).set(paper="ok")
        person.tap("print_again")
        driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                          "the receipt")
        snap("receipt")
        person.tap("finish")
        snap("satisfaction")
        person.tap("rate", 3)
        driver.wait_for_step(Step.WIPE, timeout=5)
        snap("wipe")
        driver.wait_for_step(Step.WELCOME)
        # The back office refuses the kiosk (revoked): the uploader records it, the welcome
        # screen refuses new deposits.
        outbox.set_standing(Standing.REFUSED, "403 kiosk revoked")
        kiosk.runtime.check_devices()
        driver.wait_until(lambda: not driver.state.accepting, 10, "the refusal")
        snap("welcome-kiosk-refused")
        outbox.set_standing(Standing.ONLINE)
        outbox.reserve_bytes = 1 << 60
        kiosk.runtime.check_devices()
        driver.wait_until(lambda: driver.state.refusals == (Refusal.DISK_FULL,), 10,
                          "the refusal")
        snap("welcome-refusing")
    finally:
        kiosk.close()
    return written


def shrink(path: Path) -> None:
    """Re-save a screenshot as an optimised RGB PNG when that is smaller (lossless)."""
    from PIL import Image

    with Image.open(path) as picture:
        rgb = picture.convert("RGB")
    candidate = path.with_suffix(".tmp.png")
    rgb.save(candidate, optimize=True)
    if candidate.stat().st_size < path.stat().st_size:
        candidate.replace(path)
    else:
        candidate.unlink()


def _guidance(kiosk: object) -> bool:
    capture = kiosk.runtime.controller.capture  # type: ignore[attr-defined]
    frame = capture.latest_preview() if capture is not None else None
    return frame is not None and frame.corners is not None and bool(frame.reasons)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/screens)")
    parser.add_argument("--sizes", default=",".join(SIZES),
                        help=f"comma-separated WIDTHxHEIGHT (default {','.join(SIZES)})")
    parser.add_argument("--languages", default="fr,en,es,ar,fr-falc",
                        help="comma-separated (default fr,en,es,ar,fr-falc)")
    parser.add_argument("--dpi", type=float, default=0.0,
                        help="panel density for every size (default: typical of each size)")
    args = parser.parse_args(argv)
    plan = [(size, args.dpi or SIZES.get(size, 96.0), language)
            for size in args.sizes.split(",") for language in args.languages.split(",")]
    return run(args.out, plan, shoot, "kiosk-screens-")


Shooter = Callable[[Path, str, float, str, Path], list[Path]]


def run(out: Path, plan: Sequence[tuple[str, float, str]], shooter: Shooter,
        prefix: str) -> int:
    """Take ``shooter``'s screenshots for each (size, dpi, language) of ``plan`` into ``out``,
    under a virtual display when there is none, the Kivy home in a temporary folder."""
    logging.basicConfig(level=logging.INFO, format="screenshots: %(message)s")
    from devtools.xvfb import Xvfb, need_virtual_display

    xvfb = Xvfb(1920, 1920) if need_virtual_display() else None
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if xvfb is not None:
            xvfb.start()
        from kiosk.ui import boot

        boot.prepare(width=1280, height=800, fullscreen=False, kivy_home=work / "kivy")
        count = 0
        started = time.monotonic()
        for size, dpi, language in plan:
            count += len(shooter(out, size, dpi, language, work))
        log.info("%d screenshots in %s (%.0f s)", count, out, time.monotonic() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if xvfb is not None:
            xvfb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
