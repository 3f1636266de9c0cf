"""The on-screen keyboard: big keys for an e-mail address or a phone number.

No system keyboard and no gesture: each key is a button of at least the touch
target. Kivy registers these classes when this module is imported;
:mod:`kiosk.ui.screens.contact` does.

Two families of layouts. The full ones (five rows, digits on top) fit a panel that is
large in millimetres. A small panel (1280x800 or 1080x1920 at 150 dpi: 217 or 183 mm
wide) cannot hold ten 15 mm keys 2 mm apart in half its width, nor five rows beside the
bars: there the keyboard takes the whole width in its *compact* layouts, three rows of
twelve keys on a landscape panel or four rows of ten on a portrait one, the digits and
the long endings (".com", "@gmail.com", two or four keys wide) on a second layer behind
"123", and a "✓ OK" key that ends the typing (:attr:`OnScreenKeyboard.on_done`).
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import (
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui.widgets import BUTTON_KINDS, discard_children


class KeyButton(ButtonBehavior, Label):  # type: ignore[misc]
    """One key of the on-screen keyboard."""

    key = StringProperty("")
    wide = NumericProperty(1.0)
    kind = OptionProperty("secondary", options=BUTTON_KINDS)

    def on_release(self) -> None:
        keyboard = self.parent
        while keyboard is not None and not isinstance(keyboard, OnScreenKeyboard):
            keyboard = keyboard.parent
        if keyboard is not None:
            keyboard.press(self.key)


#: Key rows by layout. Special keys: ⌫ erase, ⇧ shift, 123 / ABC switch.
LAYOUTS: dict[str, list[list[str]]] = {
    "azerty": [list("1234567890"), list("azertyuiop"), list("qsdfghjklm"),
               ["⇧", *"wxcvbn", "@", ".", "⌫"], ["-", "_", "+", "@gmail.com", ".fr", ".com"]],
    "qwerty": [list("1234567890"), list("qwertyuiop"), list("asdfghjkl'"),
               ["⇧", *"zxcvbnm", "@", ".", "⌫"], ["-", "_", "+", "@gmail.com", ".fr", ".com"]],
    "phone": [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["+", "0", "⌫"]],
}

#: The key that switches to the digits and symbols of a compact layout, the one that
#: switches back, and the one that ends the typing.
DIGITS, LETTERS, DONE = "123", "ABC", "✓ OK"

#: Compact layouts: ``<letters>-<rows>`` (rows 3: twelve columns, for a landscape panel;
#: rows 4: ten columns, for a portrait one) and ``symbols-<rows>``. A key is its text, or
#: (text, width in keys) for a wider one; the widths of a row add up to at most its
#: columns, so no key is narrower than a column.
Key = str | tuple[str, float]
COMPACT: dict[str, list[list[Key]]] = {
    "azerty-3": [list("azertyuiop-_"), list("qsdfghjklm@."),
                 ["⇧", *"wxcvbn", (DIGITS, 1.5), ("⌫", 1.5), (DONE, 2.0)]],
    "qwerty-3": [list("qwertyuiop-_"), [*"asdfghjkl@.", "⌫"],
                 ["⇧", *"zxcvbnm", (DIGITS, 1.5), (DONE, 2.5)]],
    "symbols-3": [list("1234567890+'"),
                  [(".fr", 2.0), (".com", 2.0), ("@gmail.com", 4.0), "@", ".", "-", "_"],
                  [(LETTERS, 2.0), ("⌫", 2.0), (DONE, 2.0)]],
    "azerty-4": [list("azertyuiop"), list("qsdfghjklm"), ["⇧", *"wxcvbn", "@", ".", "⌫"],
                 [(DIGITS, 2.0), "-", "_", "'", (DONE, 5.0)]],
    "qwerty-4": [list("qwertyuiop"), list("asdfghjkl'"), ["⇧", *"zxcvbnm", "@", "."],
                 [(DIGITS, 2.0), "-", "_", "⌫", (DONE, 5.0)]],
    "symbols-4": [list("1234567890"),
                  [(".fr", 2.0), (".com", 2.0), ("@gmail.com", 4.0), "+", "'"],
                  ["@", ".", "-", "_", ("⌫", 2.0)], [(LETTERS, 2.0), (DONE, 3.0)]],
}


def compact_layout(letters: str, rows: int) -> str:
    """The compact layout of ``rows`` rows for the letters ``azerty`` or ``qwerty``."""
    return f"{letters}-{rows}"


def symbols_of(layout: str) -> str:
    """The digits and symbols layer of the compact layout ``layout``."""
    return "symbols-" + layout.rsplit("-", 1)[1]


def _width(row: list[Key]) -> float:
    return sum(1.0 if isinstance(key, str) else key[1] for key in row)


def _rows(layout: str) -> list[list[Key]]:
    if layout in COMPACT:
        return COMPACT[layout]
    return [list(row) for row in LAYOUTS[layout]]


class OnScreenKeyboard(BoxLayout):  # type: ignore[misc]
    """Big keys for an e-mail address or a phone number; no gesture, no system keyboard.

    Typed text goes to ``target`` (a :class:`TextField`) through :meth:`press`;
    the keyboard keeps no copy of it.
    """

    layout = StringProperty("azerty")
    shift = BooleanProperty(False)
    target = ObjectProperty(None, allownone=True)
    max_length = NumericProperty(80)
    #: The letters layout to come back to from the digits ("ABC"), in a compact layout.
    letters = StringProperty("")

    __events__ = ("on_done",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(layout=self._build)
        self._build()

    @property
    def rows(self) -> int:
        """How many rows of keys the layout on display has."""
        return len(_rows(self.layout))

    def on_done(self) -> None:
        """The "✓ OK" key was pressed: the typing is over (the screen listens)."""

    def spoken(self) -> str:
        """The keyboard as one item: its keys are read one by one by the keypad's focus."""
        from kiosk.ui.i18n import _
        return _("On-screen keyboard")

    def _build(self, *_: Any) -> None:
        discard_children(self)
        compact = self.layout in COMPACT
        for row in _rows(self.layout):
            line = BoxLayout(orientation="horizontal", spacing=self.spacing)
            self.bind(spacing=line.setter("spacing"))     # the theme's, as it changes
            line.keep_order = True        # a Latin keyboard stays in its order in Arabic
            for item in row:
                key, wide = (item, 1.0) if isinstance(item, str) else item
                if not compact:
                    # a long ending as wide as its text in large text ("@gmail.com": three)
                    wide = max(1.0, 0.3 * len(key)) if len(key) > 2 else \
                        (1.3 if key in ("⌫", "⇧") else 1.0)
                kind = "plain" if key in ("⌫", "⇧", DIGITS, LETTERS, DONE) else "secondary"
                line.add_widget(KeyButton(key=key, text=key, wide=wide, kind=kind))
            if compact:
                # a short row keeps the columns' width: it is narrower, its keys are not
                # stretched past it
                line.size_hint_x = _width(row) / max(_width(r) for r in _rows(self.layout))
            self.add_widget(line)

    def press(self, key: str) -> None:
        app = App.get_running_app()
        if app is not None:
            app.activity()        # typing is activity: the inactivity timer starts again
        if self.target is None:
            return
        text: str = self.target.value
        if key == DONE:
            self.dispatch("on_done")
        elif key == DIGITS:
            self.letters = self.layout
            self.layout = symbols_of(self.layout)
        elif key == LETTERS:
            self.layout = self.letters or self.layout
        elif key == "⌫":
            self.target.value = text[:-1]
        elif key == "⇧":
            self.shift = not self.shift
            for line in self.children:
                for button in line.children:
                    if len(button.key) == 1 and button.key.isalpha():
                        button.text = button.key.upper() if self.shift else button.key
        elif len(text) + len(key) <= self.max_length:
            typed = key.upper() if self.shift and len(key) == 1 else key
            self.target.value = text + typed
            if self.shift:
                self.press("⇧")
