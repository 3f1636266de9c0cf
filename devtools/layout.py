"""The layout walk: every screen of the real interface, in every language and accessibility
mode, measured for clipped text, crowded or small touch targets and small large-mode text.

Why: a screen that fits in French at 96 dpi can clip its Spanish label, push a button under
the bottom bar, or set two buttons 1 mm apart once the text is large or the panel is dense
(1280x800 at 150 dpi is 217 x 135 mm). Screenshots show it only to someone who looks at
each of them; this module measures what the widgets say of themselves after layout.

What is measured (:func:`measure`), on what a person can see now (the dialog and the
assistance bar when a dialog is open, else the bars, the agent banner and the screen):

- a *clipped* label: its texture is larger than its box (the text is cut), or its box lies
  outside the window, outside its region (the top bar, the screen, the bottom bar...: text
  pushed out of its region is drawn over another one), or outside a parent that clips
  (a :class:`~kivy.uix.stencilview.StencilView`);
- a touch target (any visible, enabled button: journey buttons, keys, fields) under
  :data:`kiosk.theme.MIN_TARGET_MM` on a side, or outside its region;
- two touch targets that overlap or are closer than :data:`MIN_GAP_MM`;
- in large text, any visible label whose capital height (font size x
  :data:`kiosk.theme.DEJAVU_CAP_HEIGHT`) subtends less than 0.7 degree at the viewing
  distance (EN 301 549 5.1.4).

:class:`LayoutWalk` drives one running kiosk through the journey (each screen reached once)
and, at each stop, through every language x mode x density by dispatching the same taps a
person would (language, accessibility toggles) to the controller. ``python -m
devtools.layout OUT`` walks every panel and prints the findings, with screenshots of the
worst cases in ``OUT``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from kiosk.access import Setting
from kiosk.theme import (
    DEJAVU_CAP_HEIGHT,
    LARGE_TEXT_DEGREES,
    MIN_TARGET_MM,
    MM_PER_INCH,
    angle_of_cap,
)

log = logging.getLogger("kiosk.layout")

#: Least distance between two touch targets (EN 301 549 gives none; 2 mm keeps a finger
#: aimed at one off the other, and is what the acceptance line of the layout asks).
MIN_GAP_MM = 2.0
#: Pixels of slack for sizes rounded by the layout (Kivy positions are floats; textures
#: are whole pixels).
SLACK_PX = 1.0

#: The panels of devtools/screenshots.py, and the densities every panel is walked at.
PANELS = ("1280x800", "1920x1080", "1080x1920")
DPIS = (96.0, 150.0)
LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")


class Mode(StrEnum):
    """The accessibility modes the walk covers, each alone (their settings below)."""

    STANDARD = "standard"
    LARGE = "large"
    CONTRAST = "contrast"
    LOWERED = "lowered"


MODE_SETTINGS: dict[Mode, frozenset[Setting]] = {
    Mode.STANDARD: frozenset(),
    Mode.LARGE: frozenset({Setting.LARGE_TEXT}),
    Mode.CONTRAST: frozenset({Setting.HIGH_CONTRAST}),
    Mode.LOWERED: frozenset({Setting.LOWERED}),
}
#: The settings the walk turns on and off (the others stay as they are).
WALKED_SETTINGS = (Setting.LARGE_TEXT, Setting.HIGH_CONTRAST, Setting.LOWERED)


class Problem(StrEnum):
    CLIPPED = "clipped"              # text larger than its box
    OUTSIDE = "outside"              # a label or target outside the window, region or clip
    SMALL_TARGET = "small target"    # a side under 15 mm
    OVERLAP = "overlap"              # two targets intersect
    TOO_CLOSE = "too close"          # two targets under 2 mm apart
    SMALL_TEXT = "small text"        # large mode: a capital under 0.7 degree


@dataclass(frozen=True)
class Finding:
    problem: Problem
    widget: str          # what it is: class, id or action
    text: str            # its text (shortened)
    numbers: str         # the measurements that fail
    where: str = ""      # panel, dpi, screen, language, mode (filled in by the walk)

    def __str__(self) -> str:
        return f"{self.where}: {self.problem.value}: {self.widget} {self.text!r}: {self.numbers}"


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    right: float
    top: float

    @property
    def width(self) -> float:
        return self.right - self.x

    @property
    def height(self) -> float:
        return self.top - self.y

    def inside(self, other: Box, slack: float = SLACK_PX) -> bool:
        return self.x >= other.x - slack and self.y >= other.y - slack and \
            self.right <= other.right + slack and self.top <= other.top + slack

    def gap(self, other: Box) -> float:
        """Distance between two boxes in pixels (negative: they overlap by that much)."""
        dx = max(other.x - self.right, self.x - other.right)
        dy = max(other.y - self.top, self.y - other.top)
        if dx < 0 and dy < 0:
            return max(dx, dy)
        return math.hypot(max(dx, 0.0), max(dy, 0.0))

    def __str__(self) -> str:
        return f"[{self.x:.0f},{self.y:.0f} {self.width:.0f}x{self.height:.0f}]"


def window_box(widget: Any) -> Box:
    x, y = widget.to_window(widget.x, widget.y)
    return Box(x, y, x + widget.width, y + widget.height)


def regions(root: Any) -> list[tuple[str, Any]]:
    """The parts of the window a person sees now, each a region its widgets must stay in."""
    ids = root.ids
    if root.overlay:
        return [("dialog", ids.dialog), ("assistance bar", ids.assistbar)]
    banner = [w for w in ids.main.children if type(w).__name__ == "Banner"]
    found = [("top bar", ids.topbar)]
    found += [("agent banner", b) for b in banner if b.text]
    found += [("screen", root.current_screen), ("bottom bar", ids.bottombar),
              ("assistance bar", ids.assistbar)]
    return [(name, w) for name, w in found if _visible(w)]


def _visible(widget: Any) -> bool:
    return bool(widget.opacity > 0.05 and widget.width >= 1 and widget.height >= 1)


def _ancestors(widget: Any) -> Iterator[Any]:
    """The parents of ``widget`` up to the window (whose parent is itself)."""
    node = widget.parent
    while node is not None:
        yield node
        if node.parent is node:
            return
        node = node.parent


def _walk(region: Any) -> Iterator[Any]:
    """Visible widgets under ``region`` (hidden branches are not entered)."""
    def walk(widget: Any) -> Iterator[Any]:
        if not _visible(widget):
            return
        yield widget
        for child in widget.children:
            yield from walk(child)
    yield from walk(region)


def _name(widget: Any) -> str:
    action = getattr(widget, "action", "")
    key = getattr(widget, "key", "")
    wid = ""
    parent = widget.parent
    if parent is not None:
        for name, child in getattr(parent, "ids", {}).items():
            if child is widget:
                wid = name
    label = type(widget).__name__
    if wid:
        label += f"#{wid}"
    if action:
        label += f"({action})"
    elif key:
        label += f"[{key}]"
    return label


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def _is_target(widget: Any) -> bool:
    from kivy.uix.behaviors import ButtonBehavior

    return isinstance(widget, ButtonBehavior) and not widget.disabled


def _clips(widget: Any) -> bool:
    from kivy.uix.stencilview import StencilView

    return isinstance(widget, StencilView)


def measure(root: Any, *, dpi: float, large_text: bool, viewing_distance_mm: float = 500.0,
            window: tuple[float, float] | None = None) -> list[Finding]:
    """Everything wrong with the kiosk's layout on display now (see the module's docstring)."""
    return measure_regions(regions(root), dpi=dpi, large_text=large_text,
                           viewing_distance_mm=viewing_distance_mm, window=window)


def measure_regions(parts: list[tuple[str, Any]], *, dpi: float, large_text: bool,
                    viewing_distance_mm: float = 500.0,
                    window: tuple[float, float] | None = None) -> list[Finding]:
    """Everything wrong with the layout of ``parts`` (name, widget): each widget is measured
    against the window and against the part it belongs to."""
    from kivy.core.window import Window
    from kivy.uix.label import Label

    px_per_mm = dpi / MM_PER_INCH
    width, height = window or (Window.width, Window.height)
    screen = Box(0, 0, width, height)
    findings: list[Finding] = []
    targets: list[tuple[Any, Box]] = []
    min_target = MIN_TARGET_MM * px_per_mm - SLACK_PX
    for region_name, region in parts:
        region_box = window_box(region)
        for widget in _walk(region):
            if widget is region:
                continue
            box = window_box(widget)
            is_label = isinstance(widget, Label) and str(widget.text).strip()
            is_target = _is_target(widget)
            if not (is_label or is_target):
                continue
            text = _short(widget.text) if isinstance(widget, Label) else \
                _short(getattr(widget, "text", "") or getattr(widget, "label", ""))
            name = _name(widget)
            # outside the window, its region or a clipping parent
            outside = ""
            if not box.inside(screen):
                outside = f"box {box} outside the window {width:.0f}x{height:.0f}"
            elif not box.inside(region_box):
                outside = f"box {box} outside the {region_name} {region_box}"
            else:
                for node in _ancestors(widget):
                    if node is region:
                        break
                    if _clips(node) and not box.inside(window_box(node)):
                        outside = f"box {box} outside its clipping {type(node).__name__} " \
                                  f"{window_box(node)}"
                        break
            if outside:
                findings.append(Finding(Problem.OUTSIDE, name, text, outside))
            if is_label and not getattr(widget, "shorten", False):
                tw, th = widget.texture_size
                if tw > widget.width + SLACK_PX or th > widget.height + SLACK_PX:
                    findings.append(Finding(
                        Problem.CLIPPED, name, text,
                        f"text {tw:.0f}x{th:.0f} px in a box {widget.width:.0f}x"
                        f"{widget.height:.0f} px"))
                if large_text:
                    cap = widget.font_size * DEJAVU_CAP_HEIGHT / px_per_mm
                    angle = angle_of_cap(cap, viewing_distance_mm)
                    if angle < LARGE_TEXT_DEGREES - 1e-9:
                        findings.append(Finding(
                            Problem.SMALL_TEXT, name, text,
                            f"font {widget.font_size:.0f} px = cap {cap:.2f} mm = "
                            f"{angle:.3f}° at {viewing_distance_mm:.0f} mm"))
            if is_target:
                if box.width < min_target or box.height < min_target:
                    findings.append(Finding(
                        Problem.SMALL_TARGET, name, text,
                        f"{box.width / px_per_mm:.1f} x {box.height / px_per_mm:.1f} mm "
                        f"(least {MIN_TARGET_MM:g} mm)"))
                targets.append((widget, box))
    min_gap = MIN_GAP_MM * px_per_mm - SLACK_PX
    for i, (a, box_a) in enumerate(targets):
        for b, box_b in targets[i + 1:]:
            if _contains(a, b) or _contains(b, a):
                continue
            gap = box_a.gap(box_b)
            if gap < min_gap:
                problem = Problem.OVERLAP if gap < -SLACK_PX else Problem.TOO_CLOSE
                findings.append(Finding(
                    problem, f"{_name(a)} / {_name(b)}",
                    f"{_short(getattr(a, 'text', ''), 20)} / {_short(getattr(b, 'text', ''), 20)}",
                    f"{gap / px_per_mm:.1f} mm apart (least {MIN_GAP_MM:g} mm) {box_a} {box_b}"))
    return findings


def _contains(outer: Any, inner: Any) -> bool:
    return any(node is outer for node in _ancestors(inner))


# ----------------------------------------------------------------------------- the walk


@dataclass
class Report:
    """Findings of a walk, and what was measured."""

    findings: list[Finding] = field(default_factory=list)
    measured: int = 0
    seconds: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(f.problem.value for f in self.findings)

    def summary(self, limit: int = 200) -> str:
        lines = [f"{len(self.findings)} finding(s) in {self.measured} layouts "
                 f"({dict(self.counts())}):"]
        lines += [str(f) for f in self.findings[:limit]]
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more")
        return "\n".join(lines)


Shot = Callable[[str, Any], None]


class LayoutWalk:
    """Walks one running kiosk (devtools.kit.Kiosk) through every screen and dialog; at each
    stop, measures every ``dpis`` x ``modes`` x ``languages``."""

    def __init__(self, kiosk: Any, panel: str, *, dpis: tuple[float, ...] = DPIS,
                 modes: tuple[Mode, ...] = tuple(Mode),
                 languages: tuple[str, ...] = LANGUAGES,
                 screenshot: Callable[[str, list[Finding]], None] | None = None) -> None:
        from devtools.citizen import Citizen

        self.kiosk = kiosk
        self.panel = panel
        self.dpis = dpis
        self.modes = modes
        self.languages = languages
        self.screenshot = screenshot
        self.driver = kiosk.driver
        self.app = kiosk.app
        self.controller = kiosk.app.controller
        self.person = Citizen(kiosk)
        self.base_theme = self.app.theme
        self.reports: dict[float, Report] = {dpi: Report() for dpi in dpis}

    # ------------------------------------------------------------- taps

    @property
    def state(self) -> Any:
        return self.controller.state

    def tap(self, action: Any, arg: Any = None) -> None:
        """One tap, as the button would send it, once the input guard has passed."""
        from kiosk.journey import Tap

        self.driver.wait_for_input()
        self.controller.dispatch(Tap(action, arg))
        settle(1)

    def settings(self, language: str, mode: Mode, dpi: float) -> None:
        """Turn the kiosk to ``language``, ``mode`` and ``dpi`` (the panel's density)."""
        from kiosk.journey import Action

        if self.app.theme.dpi != dpi:
            self.app.theme = replace(self.base_theme, dpi=dpi)
            hook = self.app.root.on_settings
            if hook is not None:
                hook(self.state)
        wanted = MODE_SETTINGS[mode]
        for setting in WALKED_SETTINGS:
            if self.state.access.get(setting) != (setting in wanted):
                self.tap(Action.TOGGLE, setting)
        if self.state.language != language:
            self.tap(Action.LANGUAGE, language)

    # ------------------------------------------------------------- measuring

    def measure_all(self, stop: str, keep: Callable[[], None] | None = None) -> None:
        """Measure the screen on display in every density, mode and language; ``keep`` puts
        back what a settings tap undoes (a dialog the language tap closes, the warning)."""
        from kivy.core.window import Window

        for dpi in self.dpis:
            report = self.reports[dpi]
            for mode in self.modes:
                for language in self.languages:
                    started = time.perf_counter()
                    self.settings(language, mode, dpi)
                    if keep is not None:
                        keep()
                    settle(2)
                    where = f"{self.panel}@{dpi:g}dpi {stop} {language} {mode.value}"
                    found = [replace(f, where=where) for f in
                             measure(self.app.root, dpi=dpi, large_text=mode is Mode.LARGE,
                                     viewing_distance_mm=self.base_theme.viewing_distance_mm,
                                     window=(Window.width, Window.height))]
                    report.findings += found
                    report.measured += 1
                    report.seconds += time.perf_counter() - started
                    if self.screenshot is not None:
                        self.screenshot(where, found)

    def overlay(self, opener: Any) -> Callable[[], None]:
        """A ``keep`` that opens a dialog again when a settings tap closed it."""
        from kiosk.journey import Action, Overlay

        wanted = {Action.HELP: Overlay.HELP, Action.CANCEL: Overlay.CANCEL,
                  Action.ACCESSIBILITY: Overlay.ACCESS, Action.LANGUAGES: Overlay.LANGUAGE}

        def keep() -> None:
            if self.state.overlay is not wanted[opener]:
                self.tap(opener)
        return keep

    def warning(self) -> None:
        """Bring up "are you still there?" by letting the inactivity timer run to it."""
        from kiosk.journey import Overlay, Tick

        if self.state.overlay is Overlay.TIMEOUT:
            return
        journey = self.controller.journey
        timeout = journey.timeout_for(self.state)
        assert timeout is not None, f"no inactivity timer on {self.state.step.value}"
        warn_at = self.state.last_activity + timeout - journey.warning_for(timeout) + 0.5
        advance = getattr(self.controller.clock, "advance", None)
        assert advance is not None, "the walk needs an OffsetClock to bring the warning up"
        left = warn_at - self.controller.clock()
        if left > 0:
            advance(left)
        self.controller.dispatch(Tick())
        settle(1)
        assert self.state.overlay is Overlay.TIMEOUT, "the inactivity warning did not open"

    # ------------------------------------------------------------- the journey

    def run(self) -> dict[float, Report]:
        from devtools.citizen import printer_simulator
        from kiosk.journey import Action, Overlay, ReceiptPhase, Step, WipeDone

        driver, person = self.driver, self.person
        first = (self.languages[0], self.modes[0], self.dpis[0])
        driver.wait_for_step(Step.WELCOME)
        self.measure_all("welcome")
        self.tap(Action.ACCESSIBILITY)
        self.measure_all("accessibility dialog", self.overlay(Action.ACCESSIBILITY))
        self.tap(Action.CLOSE)
        self.tap(Action.LANGUAGES)
        self.measure_all("language dialog", self.overlay(Action.LANGUAGES))
        if self.state.overlay is Overlay.LANGUAGE:
            self.tap(Action.CLOSE)
        self.tap(Action.START)
        driver.wait_for_step(Step.PROCEDURE)
        self.measure_all("procedure")
        # the procedure with the most papers: the longest checklist
        codes = sorted(self.app.ctx.catalog, key=lambda p: -len(p.documents))
        self.tap(Action.CHOOSE, codes[0].code)
        driver.wait_for_step(Step.CHECKLIST)
        self.measure_all("checklist")
        self.tap(Action.BEGIN)
        driver.wait_for_step(Step.CAPTURE)
        self.settings(*first[:2], first[2])
        person.tray  # noqa: B018 - waits for the camera to open
        driver.idle(5)
        self.measure_all("capture aiming")
        self.tap(Action.CANCEL)
        self.measure_all("cancel dialog", self.overlay(Action.CANCEL))
        self.tap(Action.CANCEL_ABORT)
        self.settings(*first[:2], first[2])
        person.lay_page("tax-notice")
        self.measure_all("capture taken")
        # every paper, the optional ones too: the review's longest list
        while self.state.step is Step.CAPTURE:
            self.settings(*first[:2], first[2])
            self.tap(Action.NEXT)
            if self.state.step is Step.CAPTURE:
                person.clear_tray()
                person.lay_page("payslip")
        driver.wait_for_step(Step.REVIEW)
        self.measure_all("review")
        self.tap(Action.CONTINUE)
        driver.wait_for_step(Step.CONTACT)
        self.settings(*first[:2], first[2])
        person.type_contact(email="jeanne.martin-dupont@example.fr")
        self.tap(Action.CONSENT, True)
        self.measure_all("contact")
        screen = self.app.root.current_screen
        if screen.typing:
            # a compact contact screen (a small panel) shows the typed field over the
            # keyboard, and the form once "✓ OK" is pressed: both are measured
            from kiosk.ui.keyboard import DONE

            keyboard = screen.ids.keyboard
            driver.tap(next(key for line in keyboard.children for key in line.children
                            if key.key == DONE))
            self.measure_all("contact form")
        self.tap(Action.HELP)
        self.measure_all("help dialog (contact)", self.overlay(Action.HELP))
        self.tap(Action.CLOSE)
        self.measure_all("inactivity warning", self.warning)
        self.tap(Action.MORE_TIME)
        self.tap(Action.CONTINUE, self.app.root.current_screen.arg_for(Action.CONTINUE))
        driver.wait_for_step(Step.CONFIRM)
        self.measure_all("confirm")
        hold = threading.Event()
        self.controller._jobs.submit(hold.wait, 60)       # sealing waits its turn
        printer_simulator(self.kiosk.runtime).set(paper="out")
        self.tap(Action.SEND)
        driver.wait_for_step(Step.SEALING)
        self.measure_all("sealing")
        hold.set()
        driver.wait_until(lambda: self.state.receipt is ReceiptPhase.ON_SCREEN, 60,
                          "the receipt on screen")
        self.measure_all("receipt on screen")
        printer_simulator(self.kiosk.runtime).set(paper="ok")
        self.tap(Action.PRINT_AGAIN)
        driver.wait_until(lambda: self.state.receipt is ReceiptPhase.PRINTED, 60, "the receipt")
        self.measure_all("receipt printed")
        self.tap(Action.FINISH)
        driver.wait_for_step(Step.SATISFACTION)
        self.measure_all("satisfaction")
        self.tap(Action.RATE, 3)
        driver.wait_for_step(Step.WIPE)
        self.controller.dispatch(WipeDone())
        driver.wait_for_step(Step.WELCOME)
        # The goodbye keeps the citizen's language and settings, which cannot change on it:
        # each combination is a new (cancelled) session.
        for dpi in self.dpis:
            for mode in self.modes:
                for language in self.languages:
                    self.settings(language, mode, dpi)
                    self.tap(Action.START)
                    self.tap(Action.CANCEL)
                    self.tap(Action.CANCEL_CONFIRM)
                    driver.wait_for_step(Step.WIPE)
                    saved = (self.dpis, self.modes, self.languages)
                    self.dpis, self.modes, self.languages = (dpi,), (mode,), (language,)
                    try:
                        self.measure_all("wipe")
                    finally:
                        self.dpis, self.modes, self.languages = saved
                    self.controller.dispatch(WipeDone())
                    driver.wait_for_step(Step.WELCOME)
        return self.reports


def settle(frames: int = 2) -> None:
    """Turn Kivy's clock as a frame does (layouts, textures) without drawing: the widgets'
    sizes are what a frame would show, at a fraction of the cost of software rendering."""
    from kivy.clock import Clock
    from kivy.lang import Builder

    for _ in range(frames):
        Clock.tick()
        Builder.sync()
        Clock.tick_draw()
        Builder.sync()


def open_kiosk(panel: str, data: Path, *, wipe_pause: float = 3600.0) -> Any:
    """A kiosk on simulators in every language, its window at ``panel`` (WIDTHxHEIGHT); the
    Kivy environment must be prepared (kiosk.ui.boot) and a display running."""
    from devtools.citizen import OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk
    from kiosk.theme import Theme

    width, height = (int(v) for v in panel.split("x"))
    config = sim_config(data, size=(width, height), dpi=DPIS[0], seed=3)
    config = replace(config, kiosk=replace(config.kiosk, languages=list(LANGUAGES)))
    keys, _identity = local_keys()
    kiosk = start_kiosk(config, keys, clock=OffsetClock(), theme=Theme(dpi=DPIS[0]),
                        wipe_pause=wipe_pause)
    from kivy.core.window import Window

    Window.size = (width, height)
    kiosk.driver.idle(3)
    return kiosk


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.layout",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path,
                        help="folder for the findings (findings-<panel>.txt) and screenshots")
    parser.add_argument("--panels", default=",".join(PANELS))
    parser.add_argument("--dpis", default=",".join(f"{d:g}" for d in DPIS))
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--modes", default=",".join(m.value for m in Mode))
    parser.add_argument("--shoot", default="", metavar="REGEX",
                        help="screenshot each layout whose place matches, e.g. "
                             "'150dpi (welcome|contact) ar large'")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="layout: %(message)s")
    from devtools.xvfb import Xvfb, need_virtual_display

    xvfb = Xvfb(1920, 1920) if need_virtual_display() else None
    work = Path(tempfile.mkdtemp(prefix="kiosk-layout-"))
    args.out.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(args.shoot) if args.shoot else None
    total = 0
    try:
        if xvfb is not None:
            xvfb.start()
        from kiosk.ui import boot

        boot.prepare(width=1280, height=800, fullscreen=False, kivy_home=work / "kivy")
        for panel in args.panels.split(","):
            kiosk = open_kiosk(panel, work / panel)
            driver = kiosk.driver

            def shoot(where: str, found: list[Finding], driver: Any = driver) -> None:
                if pattern is not None and pattern.search(where):
                    name = re.sub(r"[^A-Za-z0-9@.-]+", "_", where)
                    driver.screenshot(args.out / f"{name}.png")

            started = time.monotonic()
            try:
                walk = LayoutWalk(kiosk, panel,
                                  dpis=tuple(float(d) for d in args.dpis.split(",")),
                                  modes=tuple(Mode(m) for m in args.modes.split(",")),
                                  languages=tuple(args.languages.split(",")),
                                  screenshot=shoot)
                reports = walk.run()
            finally:
                kiosk.close()
            lines = []
            for dpi, report in reports.items():
                total += len(report.findings)
                print(f"{panel} @ {dpi:g} dpi: {len(report.findings)} finding(s) in "
                      f"{report.measured} layouts {dict(report.counts())}")
                lines += [str(f) for f in report.findings]
            (args.out / f"findings-{panel}.txt").write_text("".join(f"{line}\n" for line in lines))
            (args.out / f"measured-{panel}.json").write_text(json.dumps(
                {f"{dpi:g}": report.measured for dpi, report in reports.items()}))
            log.info("%s walked in %.0f s", panel, time.monotonic() - started)
    finally:
        if xvfb is not None:
            xvfb.stop()
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
