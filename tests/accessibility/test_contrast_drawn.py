"""Contrast of what the `.kv` rules draw, on every screen, dialog and palette (WCAG 1.4.3, 1.4.11).

A palette list (``Palette.pairs()``) can be all green while a rule paints
white glyphs on white keys: this test walks the real interface instead. A
scripted citizen goes through a whole deposit on the simulated camera; at each
stop (every screen, the cancel, help and timeout dialogs, the contact screen's
keyboard, the capture screen with the page outline over the live preview) the
theme is switched to each palette and :func:`devtools.drawn.walk` measures
every text, outline, control edge and icon as drawn. Text must reach 4.5:1,
everything else 3:1. Disabled controls are left out (WCAG exempts inactive
components); :mod:`devtools.drawn` says how it decides and where it stops.

The Kivy environment is prepared here exactly as tests/ui/conftest.py does
(whichever runs first prepares it), so this file runs alone or in the suite.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kiosk.theme import Theme, contrast_ratio, rgb

pytestmark = pytest.mark.ui

#: The themes every stop is measured in (large text changes no colour: measured once).
THEMES = {
    "standard": Theme(dpi=96.0),
    "high-contrast": Theme(dpi=96.0, high_contrast=True),
}
LARGE = Theme(dpi=96.0, large_text=True, high_contrast=True)
#: Seeds of the camera simulator whose trays span its range: 3 (the screenshots' mid grey,
#: #6A6D6C), 6 (the lightest, #AC9D89), 11 (the darkest, #1F1E1E).
TRAY_SEEDS = (3, 6, 11)


@pytest.fixture(scope="module")
def kiosk(display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from devtools.citizen import OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk

    clock = OffsetClock()
    keys, _identity = local_keys()
    config = sim_config(tmp_path_factory.mktemp("contrast"), seed=1)
    started = start_kiosk(config, keys, clock=clock)
    started.offset_clock = clock            # type: ignore[attr-defined]
    try:
        yield started
    finally:
        started.close()


class Survey:
    """Measures the screen as it is now in each theme and keeps every pair and failure."""

    def __init__(self, kiosk) -> None:
        self.kiosk = kiosk
        self.driver = kiosk.driver
        self.failures: list[str] = []
        self.pixel_failures: list[str] = []
        self.pairs = 0
        self.skipped: list[str] = []
        self.stops: list[str] = []

    def measure(self, stop: str, themes: dict[str, Theme] = THEMES) -> None:
        from devtools import drawn
        from kiosk.ui.style import style

        original = style.theme
        self.stops.append(stop)
        try:
            for name, theme in themes.items():
                style.apply(theme)
                self.driver.idle(3)
                result = drawn.walk(self.driver.app.root)
                self.pairs += len(result.pairs)
                self.failures += [f"[{stop} / {name}] {p.describe()}"
                                  for p in result.failures()]
                self.skipped += [f"{drawn.widget_name(s.widget)} {s.what}: {s.reason.value}"
                                 for s in result.skipped]
                for walked, seen in drawn.pixel_text_pairs(self.driver.app.root,
                                                           result.pairs):
                    if walked.ok and not seen.ok:
                        self.pixel_failures.append(f"[{stop} / {name}] {seen.describe()} "
                                                   f"(the walk said {walked.ratio:.2f}:1)")
        finally:
            style.apply(original)
            self.driver.idle(2)


def test_the_walk_measures_text_on_the_fill_behind_it_through_a_scrim(kiosk) -> None:
    """The tool itself: white text on a white fill is 1:1; a half-opaque black scrim drawn
    between them is composited (not ignored), and text behind an opaque fill is skipped."""
    from kivy.graphics import Color, Rectangle
    from kivy.uix.label import Label
    from kivy.uix.widget import Widget

    from devtools import drawn

    root = Widget(size=(400, 200))
    with root.canvas.before:
        Color(1, 1, 1, 1)
        Rectangle(pos=(0, 0), size=(400, 200))
        Color(0, 0, 0, 0.5)
        Rectangle(pos=(200, 0), size=(200, 200))
    root.add_widget(Label(text="one", color=(1, 1, 1, 1), pos=(0, 0), size=(200, 200)))
    root.add_widget(Label(text="two", color=(1, 1, 1, 1), pos=(200, 0), size=(200, 200)))
    root.add_widget(Label(text="three", color=(0, 0, 0, 1), pos=(0, 0), size=(100, 100)))
    with root.canvas.after:
        Color(0, 0, 0, 1)
        Rectangle(pos=(0, 0), size=(100, 100))
    kiosk.driver.idle(2)
    for label in root.children:
        label.texture_update()
    result = drawn.walk(root)
    ratios = {p.widget.text: round(p.ratio, 2) for p in result.pairs}
    grey = contrast_ratio(rgb("#FFFFFF"), (0.5, 0.5, 0.5, 1.0))
    assert ratios == {"one": 1.0, "two": round(grey, 2)}
    assert [(s.widget.text, s.reason) for s in result.skipped] == [("three", drawn.Skip.OBSCURED)]


def test_every_colour_pair_drawn_on_every_screen_meets_wcag_in_both_palettes(kiosk) -> None:
    from devtools.citizen import Citizen
    from kiosk.catalog import convocation_url
    from kiosk.journey import Overlay, Step

    started = time.monotonic()
    driver = kiosk.driver
    person = Citizen(kiosk)
    survey = Survey(kiosk)
    driver.idle(3)
    survey.measure("welcome")
    survey.measure("welcome, large text", {"large-contrast": LARGE})
    person.tap("help")
    survey.measure("help dialog")
    person.tap("close")
    person.tap("start")
    survey.measure("procedure")
    person.tap("cancel")
    survey.measure("cancel dialog")
    person.tap("cancel_abort")
    person.tap("back")
    # A convocation asking for one paper: the shortest way through every other screen.
    person.show_code(convocation_url("rdv.example.fr", "listes-electorales", "EL-1",
                                     ["address"]))
    driver.wait_for_step(Step.CHECKLIST)
    survey.measure("checklist")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    tray = person.tray
    tray.set_defects("glare:1")           # the page is found but not taken: the outline stays
    tray.place("text")
    preview = driver.app.root.current_screen.ids.preview
    capture = kiosk.runtime.controller.capture

    def frame_seq() -> int:
        frame = capture.latest_preview()
        return -1 if frame is None else int(frame.seq)

    for seed in TRAY_SEEDS:
        tray.seed = seed                  # another tray under the camera, the same page on it
        seen = frame_seq()
        tray.place("text")
        driver.wait_until(lambda: frame_seq() > seen + 2 and  # noqa: B023 - waited on here
                          capture.latest_preview().corners is not None and
                          len(preview.outline) >= 8, 30, "the page outline on the preview")
        survey.measure(f"capture, outline over tray {seed}")
    tray.set_defects("")
    person.lay_page("proof-of-address")
    survey.measure("capture, page taken")
    person.tap("next")
    driver.wait_for_step(Step.REVIEW)
    survey.measure("review")
    person.tap("continue")
    driver.wait_for_step(Step.CONTACT)
    driver.tap(driver.app.root.current_screen.ids.email_field)
    survey.measure("contact, keyboard")
    session = kiosk.runtime.config.session
    kiosk.offset_clock.advance(session.inactivity - session.warning + 1)
    driver.wait_until(lambda: driver.state.overlay is Overlay.TIMEOUT, 10, "the warning")
    survey.measure("timeout dialog")
    person.tap("more_time")
    person.tap("continue")
    driver.wait_for_step(Step.CONFIRM)
    survey.measure("confirm")
    person.tap("send")
    driver.wait_until(lambda: driver.state.step is Step.RECEIPT, 60, "the receipt")
    driver.idle(5)
    survey.measure("receipt")
    person.tap("finish")
    driver.wait_for_step(Step.SATISFACTION)
    survey.measure("satisfaction")
    took = time.monotonic() - started
    print(f"\n{len(survey.stops)} stops, {survey.pairs} pairs measured in {took:.1f} s; "
          f"{len(survey.skipped)} skipped")
    print("\n".join(sorted(set(survey.skipped))))
    problems = survey.failures + survey.pixel_failures
    assert not problems, "colour pairs below the WCAG minimum:\n" + "\n".join(problems)
