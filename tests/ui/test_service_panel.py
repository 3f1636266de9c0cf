"""The service panel in the real interface: the out-of-order notice keeps citizens' touches and
keys from the journey and reads itself aloud; a badge at the welcome screen brings the panel up.

Real parts: the Kivy application on the simulated devices (tests/ui_fixtures.py), the switch
saved as the service mode saves it, the speech recorded by espeak-ng into WAV and text files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.journey import Step
from kiosk.service.model import Act, Phase
from kiosk.service.switch import Switch, save
from kiosk.service.texts import OUT_OF_ORDER_REASONS, OutOfOrderReason

pytestmark = pytest.mark.ui

ENTER = 13


def test_out_of_order_the_notice_covers_the_welcome_screen_and_keys_only_read_it(
        make_kiosk, kiosk_data: Path) -> None:
    from kivy.core.window import Window

    save(kiosk_data / "status", Switch(OutOfOrderReason.PRINTER, datetime.now(UTC), "Camille"))
    kiosk = make_kiosk()
    driver = kiosk.driver
    panel = driver.app.service_panel
    assert panel is not None
    driver.idle(4)
    assert panel.shown
    driver.tap(driver.app.root.current_screen.ids.start)     # under the notice: nothing
    for _ in range(3):
        Window.dispatch("on_key_down", ENTER, 0, None, [])
        Window.dispatch("on_key_up", ENTER, 0)
        driver.idle(2)
    assert driver.state.step is Step.WELCOME
    assert kiosk.speaker.wait_idle(60)
    said = [p.read_text(encoding="utf-8") for p in sorted((kiosk_data / "speech").glob("*.txt"))]
    assert any(OUT_OF_ORDER_REASONS[OutOfOrderReason.PRINTER]["fr"].split(":")[0] in text
               for text in said), said


def test_a_badge_shown_at_the_welcome_screen_brings_the_service_panel_up(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    panel = driver.app.service_panel
    assert panel is not None and not panel.shown
    kiosk.runtime.code_reader.reader.simulator.inject_text("KIOSK-BADGE1:xyz.abc")
    service = kiosk.runtime.service
    driver.wait_until(lambda: service.phase is Phase.PIN and panel.shown, 10, "the badge panel")
    assert driver.state.step is Step.WELCOME
    # the test kiosk holds no back office key: the panel says so, and closes
    assert "enrôlé" in service.view().notice
    service.press(Act.CLOSE)
    driver.wait_until(lambda: not panel.shown, 10, "the panel to close")
