"""Drive the real interface from code: the UI tests, the scripted demo, the screenshots.

:class:`UiDriver` starts :class:`~kiosk.ui.app.KioskApp` without ``App.run()``
and turns Kivy's event loop itself, so the caller decides when frames are
drawn. :meth:`UiDriver.tap` presses a real widget with a touch event posted to
the window (the same path as a finger: the window dispatches it down the
widget tree), and counts the taps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop, stopTouchApp
from kivy.tests.common import UnitTestTouch
from kivy.uix.widget import Widget

from devtools.citizen import UiError
from kiosk.journey import Overlay, Step
from kiosk.ui.app import KioskApp
from kiosk.ui.keypad import shown
from kiosk.ui.widgets import Tappable


class UiDriver:
    def __init__(self, app: KioskApp) -> None:
        self.app = app
        self.taps = 0
        self.frame_times: list[float] = []
        self.slow_frames: list[tuple[float, str]] = []    # (seconds, where) of frames > 50 ms

    # ------------------------------------------------------------- life cycle

    def start(self) -> UiDriver:
        if EventLoop.status != "started":
            # A real App.run() earlier in this process (``kiosk run``'s tests) ended with the
            # event loop closed: ``quit`` set, the clock stopped. Its ``idle`` then dispatches
            # no input, and every tap of the next kiosk was silently lost.
            EventLoop.start()
        self.app._run_prepare()
        self.idle(3)
        return self

    def stop(self) -> None:
        try:
            self.app.stop()
        finally:
            stopTouchApp()
            EventLoop.idle()

    def __enter__(self) -> UiDriver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- the loop

    def idle(self, frames: int = 1) -> None:
        """Turn the event loop: clock, input, drawing."""
        for _ in range(frames):
            start = time.perf_counter()
            EventLoop.idle()
            took = time.perf_counter() - start
            self.frame_times.append(took)
            if took > 0.05:
                state = self.app.controller.state
                self.slow_frames.append((took, f"{state.step.value}/{state.capture.value}"))

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.idle()

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20.0,
                   what: str = "the condition") -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise UiError(f"timed out after {timeout:g} s waiting for {what}; the screen "
                              f"shows:\n{self.describe()}")
            self.idle()

    def wait_for_step(self, step: Step, timeout: float = 20.0) -> None:
        self.wait_until(lambda: self.state.step is step and
                        self.app.root.ids.sm.current == step.value,
                        timeout, f"the {step.value} screen")
        self.idle(2)

    @property
    def state(self) -> Any:
        return self.app.controller.state

    def describe(self) -> str:
        """What the screen says, once the layout has settled (labels size themselves over a
        frame or two after a change)."""
        self.idle(2)
        return str(self.app.root.describe())

    # ------------------------------------------------------------- touches

    def tappables(self) -> Iterator[Widget]:
        """Every tappable widget a person can see and use now (the dialog first, if open)."""
        root = self.app.root
        if root.overlay:
            scopes = [root.ids.dialog, root.ids.assistbar]
        else:
            scopes = [root.ids.topbar, root.current_screen, root.ids.bottombar,
                      root.ids.assistbar]
        for scope in scopes:
            for widget in scope.walk(restrict=True):
                if isinstance(widget, Tappable) and not getattr(widget, "disabled", True) and \
                        shown(widget):
                    yield widget

    def find(self, action: str, arg: Any = None) -> Widget:
        self.idle(1)            # where a button is depends on the layout of the last change
        for widget in self.tappables():
            if widget.action == action and (arg is None or widget.arg == arg):
                return widget
        raise UiError(f"no usable button for {action!r}"
                      f"{'' if arg is None else f' ({arg!r})'} on the screen:\n{self.describe()}")

    def wait_for_input(self) -> None:
        """Let the input guard after the last screen change pass, as a person would (a test's
        :class:`~devtools.citizen.OffsetClock` is moved forward instead of waiting)."""
        controller = self.app.controller
        left = controller.journey.guard_left(controller.state, controller.clock())
        if left <= 0:
            return
        advance = getattr(controller.clock, "advance", None)
        if advance is not None:
            advance(left + 0.001)
        else:
            self.run_for(left + 0.001)

    def tap(self, widget: Widget, settle: int = 2, *, patient: bool = True) -> None:
        """Touch the middle of ``widget`` and lift the finger, through the window; ``patient``
        waits out the input guard first (False: a hasty second tap, for the double-tap tests)."""
        if patient:
            self.wait_for_input()
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.idle()
        touch.touch_up()
        self.taps += 1
        self.idle(settle)

    def tap_action(self, action: str, arg: Any = None) -> None:
        """Tap the button of ``action``; a language is chosen through the language list, as a
        person does."""
        if action == "language" and self.state.overlay is not Overlay.LANGUAGE:
            self.tap(self.find("languages"))
        self.tap(self.find(action, arg))

    def type_text(self, text: str) -> None:
        """Type on the on-screen keyboard, key by key (each key is a tap)."""
        keyboard = self.app.root.current_screen.ids.keyboard
        for char in text:
            key = _key_for(keyboard, char)
            if key is None:
                raise UiError(f"no key for {char!r} on the {keyboard.layout} keyboard")
            if char.isupper() and not keyboard.shift:
                self.tap(_key_for(keyboard, "⇧"))
                key = _key_for(keyboard, char)
            self.tap(key, settle=1)

    def screenshot(self, path: Path) -> Path:
        """Save what the window shows now as a PNG."""
        self.idle(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.app.root.export_to_png(str(path))
        return path


def _key_for(keyboard: Widget, char: str) -> Widget | None:
    for line in keyboard.children:
        for key in line.children:
            if key.key == char or (len(key.key) == 1 and key.key == char.lower()):
                return key
    return None
