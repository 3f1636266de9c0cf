"""The keypad: the kiosk operated without sight (EN 301 549 5.1.6.1), as at a cash machine.

A keypad (or any keyboard) sends key events; each key is one :class:`Key`
command. The layout is the phone/ATM one, with the raised dot on the 5::

    1 help          2 previous      3 louder
    4 previous      5 CHOOSE        6 next
    7 slower        8 next          9 faster
    * back          0 repeat        # pause / resume speech
    Enter: choose    Esc / Cancel: cancel    F12 (the headset key): voice guidance

The arrow keys, Tab and Shift+Tab move too, and the numeric pad's keys are
the same as the number row's. The first key pressed turns the audio-tactile
mode on (speech and spoken focus) and is not otherwise acted on, so a blind
citizen never chooses something they have not heard; F12 toggles it.

:class:`FocusRing` keeps the focused control: the tappable widgets a person can
see now, in reading order (the dialog and the assistance bar when a dialog is
open), a thick outline drawn around the focused one. Nothing here knows the
journey: :meth:`FocusRing.activate` presses the widget as a finger would.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kivy.graphics import Color, InstructionGroup, Line
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.widget import Widget

from kiosk.ui.screens.base import reading_order
from kiosk.ui.style import style
from kiosk.ui.widgets import Tappable, TextField


class Key(StrEnum):
    NEXT = "next"
    PREVIOUS = "previous"
    ACTIVATE = "activate"
    BACK = "back"
    CANCEL = "cancel"
    REPEAT = "repeat"
    HELP = "help"
    LOUDER = "louder"
    SOFTER = "softer"
    FASTER = "faster"
    SLOWER = "slower"
    PAUSE = "pause"
    AUDIO = "audio"


# Kivy key codes: the number row is the character's code; the numeric pad 256-265.
_KP = {str(n): 256 + n for n in range(10)}
_DIGITS: dict[str, Key] = {
    "1": Key.HELP, "2": Key.PREVIOUS, "3": Key.LOUDER, "4": Key.PREVIOUS, "5": Key.ACTIVATE,
    "6": Key.NEXT, "7": Key.SLOWER, "8": Key.NEXT, "9": Key.FASTER, "0": Key.REPEAT,
}
KEYMAP: dict[int, Key] = {
    **{ord(d): k for d, k in _DIGITS.items()},
    **{_KP[d]: k for d, k in _DIGITS.items()},
    13: Key.ACTIVATE, 271: Key.ACTIVATE,            # Enter, keypad Enter
    27: Key.CANCEL,                                  # Escape
    8: Key.BACK, ord("*"): Key.BACK, 268: Key.BACK,  # Backspace, *, keypad *
    ord("#"): Key.PAUSE, 267: Key.PAUSE,             # #, keypad / (no # on a numeric pad)
    273: Key.PREVIOUS, 276: Key.PREVIOUS,            # up, left
    274: Key.NEXT, 275: Key.NEXT, 9: Key.NEXT,       # down, right, Tab
    ord("+"): Key.LOUDER, 270: Key.LOUDER, ord("-"): Key.SOFTER, 269: Key.SOFTER,
    293: Key.AUDIO,                                  # F12: the keypad's headset key
}


def key_for(code: int, modifiers: list[str] | tuple[str, ...] = ()) -> Key | None:
    """The command of a key code (Shift+Tab moves back)."""
    if code == 9 and "shift" in modifiers:
        return Key.PREVIOUS
    return KEYMAP.get(code)


def focusable(widget: Widget) -> bool:
    return isinstance(widget, Tappable | TextField) or (
        isinstance(widget, ButtonBehavior) and hasattr(widget, "key"))


def shown(widget: Widget) -> bool:
    """Whether a person can see ``widget``: it and every parent are opaque and not empty."""
    node: Any = widget
    while isinstance(node, Widget):
        if node.opacity < 0.05 or node.width < 1 or node.height < 1:
            return False
        node = node.parent
    return True


def controls(scopes: list[Widget]) -> list[Widget]:
    """The controls a person can use now under ``scopes``, in reading order."""
    found: list[Widget] = []

    def walk(widget: Widget) -> None:
        if not shown(widget):
            return
        if focusable(widget):
            if not getattr(widget, "disabled", False):
                found.append(widget)
            return
        for child in reading_order(list(widget.children)):
            walk(child)

    for scope in scopes:
        walk(scope)
    return found


class FocusRing:
    """The focused control among ``scopes()`` and its outline on ``canvas``."""

    def __init__(self, canvas: Any) -> None:
        self._canvas = canvas
        self._group = InstructionGroup()
        canvas.add(self._group)
        self.widget: Widget | None = None
        self._items: list[Widget] = []

    def refresh(self, scopes: list[Widget], keep: bool = True) -> None:
        """Take the controls shown now; keep the focus when its control is still there, else
        start at the first (a new screen starts at its top)."""
        self._items = controls(scopes)
        if not keep or self.widget not in self._items:
            self.widget = None
        self.draw()

    def move(self, step: int) -> Widget | None:
        if not self._items:
            self.widget = None
        elif self.widget is None:
            self.widget = self._items[0 if step > 0 else -1]
        else:
            index = (self._items.index(self.widget) + step) % len(self._items)
            self.widget = self._items[index]
        self.draw()
        return self.widget

    def activate(self) -> bool:
        """Press the focused control as a finger would; False when nothing is focused."""
        widget = self.widget
        if widget is None or getattr(widget, "disabled", False):
            return False
        widget.dispatch("on_press")
        widget.dispatch("on_release")
        return True

    def clear(self) -> None:
        self.widget = None
        self._items = []
        self.draw()

    def draw(self) -> None:
        self._group.clear()
        widget = self.widget
        if widget is None:
            return
        x, y = widget.to_window(widget.x, widget.y)
        pad = style.mm(1)
        rect = (x - pad, y - pad, widget.width + 2 * pad, widget.height + 2 * pad)
        # Two rings, dark under light, so the focus shows on any colour (3:1 either way).
        self._group.add(Color(0, 0, 0, 1))
        self._group.add(Line(rectangle=rect, width=style.mm(1.2)))
        self._group.add(Color(1, 0.84, 0, 1))
        self._group.add(Line(rectangle=rect, width=style.mm(0.6)))


def label_of(widget: Widget) -> str:
    """What a focused control is called (its text, its detail), without markup."""
    parts = [str(getattr(widget, name, "") or "") for name in ("text", "detail")]
    if isinstance(widget, TextField):
        parts = [widget.label]
    return " ".join(" ".join(parts).split())
