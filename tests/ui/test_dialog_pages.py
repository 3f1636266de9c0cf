"""The settings dialog in large text on a short panel (1280x800 at 150 dpi: 135 mm, less the
assistance bar): its seven settings do not fit at once. Each row of buttons is an item of the
dialog's page box, so the dialog pages between rows and stays inside the window, and every
setting is on one of its pages."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

pytestmark = pytest.mark.ui


def test_the_settings_dialog_pages_its_settings_in_large_text_on_a_short_panel(
        make_kiosk: Any) -> None:
    from devtools.layout import Box, window_box
    from kiosk.access import SETTING_LABELS, Setting
    from kiosk.ui.widgets import KButton

    kiosk = make_kiosk()
    driver = kiosk.driver
    app = driver.app
    root = app.root
    app.theme = replace(app.theme, dpi=150.0)
    root.on_settings(driver.state)
    driver.tap_action("accessibility")
    driver.tap_action("toggle", Setting.LARGE_TEXT)
    driver.idle(3)
    dialog = root.ids.dialog
    assert dialog.pages > 1
    window = Box(0, 0, *root.size)
    seen = set()
    for page in range(int(dialog.pages)):
        dialog.page = page
        driver.idle(2)
        shown = [w for w in dialog.walk(restrict=True) if isinstance(w, KButton)
                 and w.opacity > 0 and w.height > 1]
        assert all(window_box(w).inside(window) for w in shown), page
        seen |= {w.arg for w in shown if w.action == "toggle"}
    assert seen == set(SETTING_LABELS)
