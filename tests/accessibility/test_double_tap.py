"""Double taps (EN 301 549 5.8): a second tap 100 ms after the first, at the same place, never
acts on the screen the first one opened, and "Send" is never where "Continue" was."""

# mypy keeps what an assert narrowed driver.state's step to across key presses and taps.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

from typing import Any

from kivy.tests.common import UnitTestTouch

from devtools.citizen import Citizen
from kiosk.journey import CapturePhase, ReceiptPhase, Step


def double_tap(kiosk: Any, action: str) -> tuple[float, float]:
    """Tap ``action``'s button, then tap the same spot again 100 ms later; returns the spot."""
    driver = kiosk.driver
    widget = driver.find(action)
    driver.wait_for_input()
    x, y = widget.to_window(*widget.center)
    with kiosk.offset_clock.held():
        for second in (False, True):
            if second:
                kiosk.offset_clock.advance(0.1)
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            driver.idle()
            touch.touch_up()
            driver.idle(3)
    return x, y


def test_two_taps_100_ms_apart_never_skip_a_screen(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    person = Citizen(kiosk)
    person.tap("start")
    person.tap("choose", "listes-electorales")
    double_tap(kiosk, "begin")
    assert driver.state.step is Step.CAPTURE and driver.state.current == 0
    pages = ("tax-notice", "proof-of-address", "payslip")
    for index, page in enumerate(pages):
        person.lay_page(page)
        double_tap(kiosk, "next")
        expected = (Step.CAPTURE, index + 1) if index < 2 else (Step.REVIEW, index)
        assert (driver.state.step, driver.state.current) == expected
        assert driver.state.capture is CapturePhase.AIMING or index == 2
        if index < 2:
            person.clear_tray()
    continue_at = double_tap(kiosk, "continue")
    assert driver.state.step is Step.CONTACT
    double_tap(kiosk, "continue")
    assert driver.state.step is Step.CONFIRM
    send = driver.find("send")
    send_at = send.to_window(*send.center)
    assert abs(send_at[0] - continue_at[0]) > send.width / 2, "Send sits where Continue was"
    double_tap(kiosk, "send")
    driver.wait_until(lambda: driver.state.step is Step.RECEIPT and
                      driver.state.receipt is not ReceiptPhase.PRINTING, 30, "the receipt")
    double_tap(kiosk, "finish")
    assert driver.state.step is Step.SATISFACTION
