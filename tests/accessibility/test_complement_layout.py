"""The complement journey's screens under the layout walk's measure (devtools/layout.py): every
lookup phase, the checklist with the service's note, the confirmation and the receipt, in the
five languages, standard and large text, on a landscape and a portrait panel at 150 dpi: no
clipped label, no crowded or small target, large text large enough.

The journey walk of test_layout_walk.py covers a new deposit; these screens are reached only
with a receipt's QR code and a back office's answer (a simulated one here).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.slow]

NOTE = ("Le justificatif de domicile doit dater de moins de trois mois et porter votre nom "
        "et votre adresse actuelle.")


@pytest.fixture(params=["1280x800", "1080x1920"])
def walk(request: pytest.FixtureRequest, display: str, tmp_path: Path) -> Iterator[Any]:
    import httpx

    from deposit.complements import ComplementClient
    from devtools.citizen import OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk
    from devtools.layout import LANGUAGES, LayoutWalk, Mode
    from devtools.lookupsim import LookupSimulator
    from kiosk.theme import Theme

    panel: str = request.param
    width, height = (int(v) for v in panel.split("x"))
    office = LookupSimulator().start()
    keys, _identity = local_keys()
    keys = replace(keys, complements=ComplementClient(lambda: httpx.Client(timeout=5.0),
                                                      office.base_url))
    config = sim_config(tmp_path / "data", size=(width, height), dpi=150.0, seed=3)
    config = replace(config, kiosk=replace(config.kiosk, languages=list(LANGUAGES)))
    kiosk = start_kiosk(config, keys, clock=OffsetClock(), theme=Theme(dpi=150.0))
    from kivy.core.window import Window

    Window.size = (width, height)
    kiosk.driver.idle(3)
    walker = LayoutWalk(kiosk, panel, dpis=(150.0,), modes=(Mode.STANDARD, Mode.LARGE))
    walker.office = office                       # type: ignore[attr-defined]
    try:
        yield walker
    finally:
        kiosk.close()
        office.close()


def test_every_complement_screen_fits_in_every_language_and_in_large_text(walk: Any) -> None:
    from deposit.ids import DepositId
    from deposit.manifest import new_tracking_token
    from devtools.lookupsim import Fault
    from kiosk.complement import LookupPhase
    from kiosk.journey import Action, CodeRead, PageCaptured, PageRef, Step
    from printer.receipt import status_link, tracking_url

    office, controller, driver = walk.office, walk.controller, walk.driver
    original, token = DepositId("K7QM", 94_608_000), new_tracking_token()
    receipt = status_link(tracking_url(controller.journey.receipt_base, original, token), "fr")

    def look_up(phase: LookupPhase | None = None) -> None:
        walk.settings("fr", walk.modes[0], walk.dpis[0])
        if controller.state.step is not Step.WELCOME:
            walk.tap(Action.CANCEL)
            walk.tap(Action.CANCEL_CONFIRM)
            driver.wait_for_step(Step.WELCOME, 30)
        controller.dispatch(CodeRead(receipt))
        if phase is None:
            driver.wait_for_step(Step.CHECKLIST)
        else:
            driver.wait_until(lambda: controller.state.lookup is phase, 20, f"{phase}")

    walk.tap(Action.COMPLEMENT)
    walk.measure_all("lookup show_receipt")
    office.delay = 30.0
    controller.dispatch(CodeRead(receipt))
    walk.measure_all("lookup checking")
    walk.tap(Action.CANCEL)
    walk.tap(Action.CANCEL_CONFIRM)
    driver.wait_for_step(Step.WELCOME, 30)
    office.delay = 0.0
    for phase, prepare in ((LookupPhase.NONE, lambda: office.answers.clear()),
                           (LookupPhase.EXPIRED,
                            lambda: office.expire(str(original), token, date(2026, 11, 30))),
                           (LookupPhase.UNAVAILABLE, lambda: setattr(office, "fault",
                                                                     Fault.BUSY))):
        prepare()
        look_up(phase)
        walk.measure_all(f"lookup {phase.value}")
    office.fault = None
    office.request_documents(str(original), token, ["address", "identity", "form"],
                             procedure="listes-electorales", deadline=date(2027, 1, 15),
                             note=NOTE)
    look_up()
    walk.measure_all("complement checklist")
    walk.tap(Action.BEGIN)
    for number, _doc in enumerate(controller.state.documents):
        controller.dispatch(PageCaptured(PageRef(f"layout-{number}")))
        walk.tap(Action.NEXT)
    driver.wait_for_step(Step.REVIEW)
    walk.tap(Action.CONTINUE)
    driver.wait_for_step(Step.CONFIRM)
    walk.measure_all("complement confirm")
    findings = [str(f) for report in walk.reports.values() for f in report.findings]
    measured = sum(report.measured for report in walk.reports.values())
    assert measured == 7 * 2 * 5
    assert findings == []
