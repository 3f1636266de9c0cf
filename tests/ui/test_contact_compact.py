"""The contact screen on a small panel (1280x800 at 150 dpi, 217 x 135 mm): the form alone,
then the typed field alone over a full-width keyboard whose keys are 15 mm with 2 mm between
them, the digits behind "123", and "✓ OK" back to the form with the journey's buttons.
On a panel large in millimetres (the same window at 96 dpi) nothing of this changes the
screen: the form and the full keyboard side by side."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from kiosk.journey import Step

pytestmark = pytest.mark.ui


def at_contact(kiosk: Any, dpi: float) -> Any:
    """The kiosk on the contact screen, its panel at ``dpi``."""
    from devtools.citizen import Citizen

    driver = kiosk.driver
    app = driver.app
    person = Citizen(kiosk)
    person.tap("start")
    person.tap("choose", "listes-electorales")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    for number, page in enumerate(("tax-notice", "proof-of-address", "payslip")):
        person.lay_page(page)
        person.tap("next")
        if number < 2:
            person.clear_tray()
    driver.wait_for_step(Step.REVIEW)
    person.tap("continue")
    driver.wait_for_step(Step.CONTACT)
    app.theme = replace(app.theme, dpi=dpi)            # the panel's density, as the walk does
    app.root.on_settings(driver.state)
    driver.idle(3)
    return app.root.current_screen


def keys(screen: Any) -> list[Any]:
    return [key for line in screen.ids.keyboard.children for key in line.children]


def key(screen: Any, text: str) -> Any:
    return next(k for k in keys(screen) if k.key == text)


def test_a_small_panel_types_one_field_over_keys_of_15_mm_and_ok_brings_the_form_back(
        make_kiosk: Any) -> None:
    from devtools.layout import MIN_GAP_MM, Box, window_box
    from kiosk.ui.keyboard import DIGITS, DONE, LETTERS

    kiosk = make_kiosk()
    driver = kiosk.driver
    root = driver.app.root
    screen = at_contact(kiosk, 150.0)
    assert screen.compact and not screen.typing
    assert screen.ids.keyboard.opacity == 0 and root.ids.bottombar.opacity == 1

    driver.tap(screen.ids.email_field)
    driver.idle(2)
    assert screen.typing and root.bars_hidden
    assert root.ids.bottombar.height == 0 and root.ids.topbar.height == 0
    assert screen.ids.phone_field.height == 0           # the typed field alone
    mm = 150.0 / 25.4
    boxes: list[Box] = [window_box(k) for k in keys(screen)]
    assert len(screen.ids.keyboard.children) == 3 and len(boxes) == 34   # 12 + 12 + 10
    assert min(min(b.width, b.height) for b in boxes) >= 15 * mm - 1
    assert min(a.gap(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]) >= MIN_GAP_MM * mm
    screen_box = window_box(screen)
    assert all(b.inside(screen_box) for b in boxes)

    for text in ("a", DIGITS, "7", "@gmail.com", LETTERS, "b"):
        driver.tap(key(screen, text), settle=1)
    assert screen.ids.email_field.value == "a7@gmail.comb"

    driver.tap(key(screen, DONE))
    driver.idle(2)
    assert not screen.typing and not root.bars_hidden
    assert screen.ids.keyboard.opacity == 0 and screen.ids.phone_field.height > 0
    assert root.ids.bottombar.height > 0 and not root.ids.primary_button.disabled
    assert screen.ids.email_field.value == "a7@gmail.comb"


def test_a_large_panel_keeps_the_full_keyboard_beside_the_form(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    screen = at_contact(kiosk, 96.0)
    driver.tap(screen.ids.phone_field)
    driver.tap(screen.ids.email_field)
    driver.idle(2)
    assert not screen.compact and not screen.typing and not driver.app.root.bars_hidden
    assert screen.ids.keyboard.layout == "azerty" and screen.ids.keyboard.rows == 5
    assert screen.ids.phone_field.height > 0 and screen.ids.keyboard.opacity == 1
