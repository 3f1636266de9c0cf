"""The layout walk (devtools/layout.py) over every screen and dialog x {fr, en, es, ar,
fr-falc} x {standard, large, high contrast, lowered} x the three panels at 96 and 150 dpi:
no clipped label, no overlapping or crowded touch targets, every target at least 15 mm with
2 mm between targets, and in large text every label at 0.7 degree or more at 500 mm.

One kiosk per panel walks the journey once; at each stop the languages, modes and densities
are switched by taps to the controller, so the whole matrix runs in minutes. The measuring
code is pinned on hand-made layouts first, so that a walk with no findings means something.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.xvfb import Xvfb, need_virtual_display
from kiosk.ui import boot

if "KIVY_HOME" not in os.environ:   # the UI tests' conftest may have prepared Kivy already
    boot.prepare(width=1280, height=800, fullscreen=False,
                 kivy_home=Path(tempfile.mkdtemp(prefix="kiosk-layout-kivy-")))

pytestmark = [pytest.mark.ui, pytest.mark.slow]


@pytest.fixture(scope="session")
def layout_display() -> Iterator[str]:
    """A display for the whole session (the one Kivy window lives on it: the UI tests find
    it in $DISPLAY and use it too)."""
    if not need_virtual_display():
        yield os.environ.get("DISPLAY", "")
        return
    xvfb = Xvfb(1920, 1920)
    try:
        yield xvfb.start()
    finally:
        xvfb.stop()


# ----------------------------------------------------------------------------- the measure


@pytest.fixture
def window(layout_display: str) -> Iterator[Any]:
    """A bare window with a layout built by the test (no kiosk)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.floatlayout import FloatLayout

    from kiosk.ui.app import use_dejavu

    use_dejavu()
    Window.size = (800, 600)
    root = FloatLayout()
    Window.add_widget(root)
    try:
        yield root
    finally:
        Window.remove_widget(root)
        EventLoop.idle()


def settle(frames: int = 3) -> None:
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def findings_of(root: Any, *, dpi: float = 96.0, large_text: bool = False) -> list[Any]:
    from devtools.layout import measure_regions

    settle()
    return measure_regions([("window", root)], dpi=dpi, large_text=large_text)


def test_a_label_whose_text_is_wider_than_its_box_is_clipped(window: Any) -> None:
    from kivy.uix.label import Label

    from devtools.layout import Problem

    window.add_widget(Label(text="A long sentence that cannot fit", size_hint=(None, None),
                            size=(60, 40), pos=(100, 100)))
    window.add_widget(Label(text="Fits", size_hint=(None, None), size=(200, 60),
                            pos=(100, 300)))
    found = findings_of(window)
    assert [(f.problem, f.text) for f in found] == \
        [(Problem.CLIPPED, "A long sentence that cannot fit")]


def test_a_label_outside_the_window_is_reported(window: Any) -> None:
    from kivy.uix.label import Label

    from devtools.layout import Problem

    window.add_widget(Label(text="Below", size_hint=(None, None), size=(200, 60),
                            pos=(100, -50)))
    assert [f.problem for f in findings_of(window)] == [Problem.OUTSIDE]


def test_targets_under_15_mm_or_closer_than_2_mm_are_reported(window: Any) -> None:
    from devtools.layout import Problem
    from kiosk.ui.widgets import KButton

    mm = 96 / 25.4
    # 16 mm squares: two 1 mm apart, one alone; and a 12 mm one far away
    for x in (10, 27, 60):
        window.add_widget(KButton(text="", action="help", size_hint=(None, None),
                                  size=(16 * mm, 16 * mm), pos=(x * mm, 10 * mm)))
    window.add_widget(KButton(text="", action="help", size_hint=(None, None),
                              size=(12 * mm, 16 * mm), pos=(100 * mm, 10 * mm)))
    found = findings_of(window)
    assert sorted(f.problem for f in found) == [Problem.SMALL_TARGET, Problem.TOO_CLOSE]
    close = next(f for f in found if f.problem is Problem.TOO_CLOSE)
    assert "1.0 mm apart" in close.numbers


def test_large_mode_text_under_07_degree_at_500_mm_is_reported(window: Any) -> None:
    from kivy.uix.label import Label

    from devtools.layout import Problem

    # at 96 dpi 0.7 degree at 500 mm is a 6.11 mm capital: font 6.11 / 0.729 mm = 32.2 px
    window.add_widget(Label(text="Big", font_size=33, size_hint=(None, None), size=(300, 80),
                            pos=(10, 10)))
    window.add_widget(Label(text="Small", font_size=31, size_hint=(None, None),
                            size=(300, 80), pos=(10, 200)))
    found = findings_of(window, large_text=True)
    assert [(f.problem, f.text) for f in found] == [(Problem.SMALL_TEXT, "Small")]
    assert findings_of(window, large_text=False) == []


# ----------------------------------------------------------------------------- the walk


@pytest.fixture(scope="module", params=["1280x800", "1920x1080", "1080x1920"])
def walked(request: pytest.FixtureRequest, layout_display: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[float, Any]]:
    """One kiosk per panel, walked once through every screen at every density."""
    from devtools.layout import LayoutWalk, open_kiosk

    panel = request.param
    kiosk = open_kiosk(panel, tmp_path_factory.mktemp(f"layout-{panel}"))
    try:
        yield LayoutWalk(kiosk, panel).run()
    finally:
        kiosk.close()


@pytest.mark.parametrize("dpi", [96.0, 150.0], ids=["96dpi", "150dpi"])
def test_every_screen_fits_in_every_language_and_mode(walked: dict[float, Any],
                                                      dpi: float) -> None:
    report = walked[dpi]
    assert report.measured > 0
    assert not report.findings, report.summary()
