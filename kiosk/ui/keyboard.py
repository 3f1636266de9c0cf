"""The on-screen keyboard: big keys for an e-mail address or a phone number.

No system keyboard and no gesture: each key is a button of at least the touch
target. Kivy registers these classes when this module is imported;
:mod:`kiosk.ui.screens.contact` does.
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


class OnScreenKeyboard(BoxLayout):  # type: ignore[misc]
    """Big keys for an e-mail address or a phone number; no gesture, no system keyboard.

    Typed text goes to ``target`` (a :class:`TextField`) through :meth:`press`;
    the keyboard keeps no copy of it.
    """

    layout = StringProperty("azerty")
    shift = BooleanProperty(False)
    target = ObjectProperty(None, allownone=True)
    max_length = NumericProperty(80)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(layout=self._build)
        self._build()

    def spoken(self) -> str:
        """The keyboard as one item: its keys are read one by one by the keypad's focus."""
        from kiosk.ui.i18n import _
        return _("On-screen keyboard")

    def _build(self, *_: Any) -> None:
        discard_children(self)
        for row in LAYOUTS[self.layout]:
            line = BoxLayout(orientation="horizontal", spacing=self.spacing)
            self.bind(spacing=line.setter("spacing"))     # the theme's, as it changes
            line.keep_order = True        # a Latin keyboard stays in its order in Arabic
            for key in row:
                wide = 1.0 + 0.12 * len(key) if len(key) > 2 else \
                    (1.3 if key in ("⌫", "⇧") else 1.0)
                kind = "plain" if key in ("⌫", "⇧") else "secondary"
                line.add_widget(KeyButton(key=key, text=key, size_hint_x=wide, kind=kind))
            self.add_widget(line)

    def press(self, key: str) -> None:
        app = App.get_running_app()
        if app is not None:
            app.activity()        # typing is activity: the inactivity timer starts again
        if self.target is None:
            return
        text: str = self.target.value
        if key == "⌫":
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
