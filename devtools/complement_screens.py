"""Screenshots of the complement journey (bringing missing documents): ``python -m
devtools.complement_screens docs/journey/``.

The real interface on the simulated camera, printer and code reader, with a
simulated back office answering the lookup (devtools.lookupsim): a citizen
shows their receipt, brings the two papers asked for, and then the ways
nothing can be added (nothing asked, deadline passed, no answer, papers this
kiosk does not take). Each screen is saved as ``<size>/<lang>/<nn>-<name>.png``;
the whole deposit journey is devtools.screenshots' (docs/screens/).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from devtools import screenshots

#: 1280x800 in every language, portrait 1080x1920 in French (the layouts docs/journey.md shows).
#: Arabic last of all: after a right-to-left session, labels centred by their screen's rule
#: come back left-aligned in the next left-to-right one (the KLabel rule's halign follows
#: style.rtl and overrides theirs), which would show in every walk after it in this process.
DEFAULT = (("1080x1920", 102.0, ("fr",)),
           ("1280x800", 98.0, ("fr", "en", "es", "fr-falc", "ar")))
ORIGINAL_SEQUENCE = 94_608_000          # a deposit number of 2026-12 (seconds since 2024)
NOTE = "Le justificatif de domicile doit dater de moins de trois mois."

log = logging.getLogger("kiosk.complement_screens")


def shoot(out: Path, size: str, dpi: float, language: str, work: Path) -> list[Path]:
    """One walk through the complement screens at ``size`` in ``language``."""
    import httpx

    from deposit.complements import ComplementClient
    from deposit.ids import DepositId
    from deposit.manifest import new_tracking_token
    from devtools.citizen import Citizen, OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk
    from devtools.lookupsim import Fault, LookupSimulator
    from devtools.screenshots import shrink
    from kiosk.complement import LookupPhase
    from kiosk.journey import ReceiptPhase, Step
    from kiosk.theme import Theme
    from printer.receipt import status_link, tracking_url

    width, height = (int(v) for v in size.split("x"))
    data = work / f"{size}-{language}"
    data.mkdir(parents=True)
    office = LookupSimulator().start()
    keys, _identity = local_keys()
    keys = replace(keys, complements=ComplementClient(lambda: httpx.Client(timeout=5.0),
                                                      office.base_url))
    config = sim_config(data, size=(width, height), dpi=dpi, seed=3)
    kiosk = start_kiosk(config, keys, clock=OffsetClock(), theme=Theme(dpi=dpi))
    from kivy.core.window import Window

    Window.size = (width, height)
    driver = kiosk.driver
    person = Citizen(kiosk)
    folder = out / size / language
    if folder.exists():
        shutil.rmtree(folder)
    written: list[Path] = []
    original = DepositId("K7QM", ORIGINAL_SEQUENCE)
    token = new_tracking_token()
    receipt = status_link(tracking_url(keys.public_url, original, token), language)

    def snap(name: str) -> None:
        driver.idle(4)
        path = driver.screenshot(folder / f"{len(written) + 1:02d}-{name}.png")
        shrink(path)
        written.append(path)
        log.info("%s", path)

    def answered(phase: LookupPhase) -> None:
        driver.wait_until(lambda: driver.state.lookup is phase, 20, f"the lookup {phase}")

    def start_again() -> None:
        # "Try again" is the main button when there was no answer; "Back" leaves then.
        person.tap("back" if driver.state.lookup is LookupPhase.UNAVAILABLE else "finish")
        driver.wait_for_step(Step.WELCOME, 30)
        if language != "fr":
            person.tap("language", language)

    try:
        driver.idle(5)
        if language != "fr":
            person.tap("language", language)
        snap("welcome")
        person.tap("complement")
        driver.wait_for_step(Step.LOOKUP)
        snap("show-receipt")
        person.show_code(receipt.replace(keys.public_url, "https://suivi.autre.example"))
        driver.wait_until(lambda: driver.state.notice is not None, 10, "the notice")
        snap("not-a-receipt")
        office.request_documents(str(original), token, ["address", "identity"],
                                 procedure="listes-electorales", deadline=date(2027, 1, 15),
                                 note=NOTE)
        office.delay = 2.5       # under the client timeout (5 s)
        person.show_code(receipt)
        answered(LookupPhase.CHECKING)
        snap("checking")
        driver.wait_for_step(Step.CHECKLIST, 30)
        office.delay = 0.0
        snap("checklist")
        person.tap("begin")
        driver.wait_for_step(Step.CAPTURE)
        person.lay_page("proof-of-address")
        snap("capture-taken")
        person.tap("next")
        person.clear_tray()
        person.lay_page("text")
        person.tap("next")
        driver.wait_for_step(Step.REVIEW)
        snap("review")
        person.tap("continue")
        driver.wait_for_step(Step.CONFIRM)
        snap("confirm")
        person.tap("send")
        driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                          "the receipt")
        snap("receipt")
        person.tap("finish")
        driver.wait_for_step(Step.SATISFACTION)
        start_again()

        office.answers.clear()
        person.show_code(receipt)
        answered(LookupPhase.NONE)
        snap("nothing-asked")
        start_again()
        office.expire(str(original), token, date(2026, 11, 30))
        person.show_code(receipt)
        answered(LookupPhase.EXPIRED)
        snap("deadline-passed")
        start_again()
        office.fault = Fault.BUSY
        person.show_code(receipt)
        answered(LookupPhase.UNAVAILABLE)
        snap("unavailable")
        start_again()
        office.fault = None
        office.request_documents(str(original), token, ["pilot-licence"],
                                 procedure="listes-electorales", deadline=date(2027, 1, 15))
        person.show_code(receipt)
        answered(LookupPhase.UNSUPPORTED)
        snap("unsupported")
        # End on the welcome screen in French, as a wipe leaves it: the next walk's kiosk
        # shares the window and its style (left right to left by an Arabic walk otherwise).
        start_again()
    finally:
        kiosk.close()
        office.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.complement_screens",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/journey)")
    args = parser.parse_args(argv)
    plan = [(size, dpi, language) for size, dpi, languages in DEFAULT
            for language in languages]
    return screenshots.run(args.out, plan, shoot, "kiosk-complement-screens-")

if __name__ == "__main__":
    sys.exit(main())
