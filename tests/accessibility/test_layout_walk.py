"""The layout walk (devtools/layout.py) over every screen and dialog x {fr, en, es, ar,
fr-falc} x {standard, large, high contrast, lowered} x the three panels at 96 and 150 dpi:
no clipped label, no overlapping or crowded touch targets, every target at least 15 mm with
2 mm between targets, and in large text every label at 0.7 degree or more at 500 mm.

One kiosk per panel walks the journey once; at each stop the languages, modes and densities
are switched by taps to the controller, so the whole matrix runs in minutes. The measuring
code is pinned on hand-made layouts first, so that a walk with no findings means something.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.slow]


# ----------------------------------------------------------------------------- the measure


@pytest.fixture
def window(display: str) -> Iterator[Any]:
    """A bare window with a layout built by the test (no kiosk)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.uix.floatlayout import FloatLayout

    from kiosk.theme import Theme
    from kiosk.ui.resources import use_dejavu
    from kiosk.ui.style import style

    use_dejavu()
    style.apply(Theme())               # 96 dpi, standard: the sizes the tests below assume
    size = Window.size
    Window.size = (800, 600)
    root = FloatLayout()
    Window.add_widget(root)
    try:
        yield root
    finally:
        Window.remove_widget(root)
        Window.size = size
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
    # (wrap: the button keeps the width it is given; its rule would make it one target wide)
    for x in (10, 27, 60):
        window.add_widget(KButton(text="", action="help", size_hint=(None, None), wrap=True,
                                  size=(16 * mm, 16 * mm), pos=(x * mm, 10 * mm)))
    window.add_widget(KButton(text="", action="help", size_hint=(None, None), wrap=True,
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

#: The quick walk of the default run: every screen and dialog, every language, the two modes
#: that change the layout most (standard and large text), at the denser 150 dpi where a panel
#: is smallest in millimetres. The full matrix (``-m soak``) adds 96 dpi, high contrast and
#: the lowered layout.
QUICK_DPIS = (150.0,)
QUICK_MODES = ("standard", "large")


PANELS = ("1280x800", "1920x1080", "1080x1920")
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Walked:
    """What one panel's walk measured, per density: layouts measured, findings (as lines)."""

    measured: dict[float, int]
    findings: dict[float, list[str]]
    seconds: float


def walk_panels(out: Path, *, quick: bool) -> dict[str, Walked]:
    """Walk every panel, each in a process of its own (one Kivy window each, and the two
    cores used), with ``python -m devtools.layout``."""
    options = ["--dpis", ",".join(f"{d:g}" for d in QUICK_DPIS),
               "--modes", ",".join(QUICK_MODES)] if quick else []
    started = time.monotonic()
    runs = {panel: subprocess.Popen(
        [sys.executable, "-m", "devtools.layout", str(out / panel), "--panels", panel,
         *options], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for panel in PANELS}
    walked = {}
    for panel, run in runs.items():
        stdout, stderr = run.communicate(timeout=900)
        measured_file = out / panel / f"measured-{panel}.json"
        assert measured_file.exists(), f"the walk of {panel} failed:\n{stdout}\n{stderr[-3000:]}"
        measured = {float(d): n for d, n in json.loads(measured_file.read_text()).items()}
        lines = (out / panel / f"findings-{panel}.txt").read_text().splitlines()
        walked[panel] = Walked(measured, {dpi: [line for line in lines
                                                if f"{panel}@{dpi:g}dpi " in line]
                                          for dpi in measured},
                               time.monotonic() - started)
    return walked


@pytest.fixture(scope="module")
def quick_walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Walked]:
    return walk_panels(tmp_path_factory.mktemp("layout-quick"), quick=True)


@pytest.fixture(scope="module")
def full_walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Walked]:
    return walk_panels(tmp_path_factory.mktemp("layout-full"), quick=False)


def unexpected(findings: list[str]) -> list[str]:
    """Findings that are not among the known leftovers (KNOWN)."""
    return [f for f in findings if not any(re.search(pattern, f) for pattern in KNOWN)]


#: Defects the walk finds that are not fixed yet, each a regular expression on a finding's
#: line. This list only shrinks: the quick walk fails on anything else.
KNOWN: tuple[str, ...] = (
    # "Out of order" over the camera's picture, in large text on 1280x800: taller than the
    # window (seen when the simulated camera is slow to open under load).
    r"1280x800@150dpi capture aiming \S+ large: outside: KLabel .*outside the window",
)


# The quick walk runs in the first test's set-up: about 100 s alone, up to 250 s measured
# beside another busy pytest worker, close to the default 300 s.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("dpi", QUICK_DPIS, ids=lambda d: f"{d:g}dpi")
def test_every_screen_fits_in_every_language_in_standard_and_large_text(
        quick_walk: dict[str, Walked], panel: str, dpi: float) -> None:
    walked = quick_walk[panel]
    assert walked.measured[dpi] > 0
    new = unexpected(walked.findings[dpi])
    assert not new, f"{len(new)} finding(s):\n" + "\n".join(new)


@pytest.mark.soak
@pytest.mark.timeout(2400)       # the whole matrix is walked in the first test's set-up
@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("dpi", [96.0, 150.0], ids=["96dpi", "150dpi"])
def test_every_screen_fits_in_every_language_mode_panel_and_density(
        full_walk: dict[str, Walked], panel: str, dpi: float) -> None:
    """The acceptance line in full: no finding at all, known leftovers included."""
    walked = full_walk[panel]
    assert walked.measured[dpi] > 0
    found = walked.findings[dpi]
    assert not found, f"{len(found)} finding(s):\n" + "\n".join(found[:300])
