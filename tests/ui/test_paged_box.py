"""PagedBox (kiosk/ui/widgets.py): items inserted where a screen puts them (the review's rows
before its closing spacer), and pages cut between items when they do not fit."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ui


def test_rows_added_before_the_spacer_are_paged_between_rows(display: str) -> None:
    from kivy.uix.widget import Widget

    from kiosk.ui.widgets import PagedBox

    box = PagedBox(size=(400, 300), pos=(0, 0))
    title = Widget(size_hint_y=None, height=50)
    spacer = Widget()
    box.add_widget(title)
    box.add_widget(spacer)
    rows: list[Any] = [Widget(size_hint_y=None, height=100) for _ in range(4)]
    for row in rows:
        box.add_widget(row, index=1)
    assert box.items == [title, *rows, spacer]
    box.nav.height = 60
    box.do_layout()
    assert box.pages > 1
    pages = []
    for page in range(int(box.pages)):
        box.page = page
        box.do_layout()
        pages.append([w for w in box.items if w.parent is box])
    assert [w for page in pages for w in page] == [title, *rows]     # every row, once
    assert all(w.y >= box.nav.top for page in pages for w in page)   # none under the buttons
    box.remove_widget(rows[0])
    assert rows[0] not in box.items
