"""Contact and consent: an optional e-mail or phone, typed on big keys, and the privacy notice.

On a panel large in millimetres the form and the full keyboard stand side by side (or one
above the other in portrait). On a small one (1280x800 or 1080x1920 at 150 dpi) ten keys
of 15 mm with 2 mm between them do not fit in what the form leaves, nor five rows in what
the bars leave: the screen is then *compact*. It shows the form alone (both fields, the
consent, the notice, paged when they do not fit); tapping a field shows that field alone
above a full-width compact keyboard (:data:`kiosk.ui.keyboard.COMPACT`), which on a
landscape panel takes the top and bottom bars' room too (:attr:`KioskScreen.wants_window`;
the assistance bar stays), and its "✓ OK" key brings the form back.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.journey import Action, Contact, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.keyboard import OnScreenKeyboard, compact_layout, symbols_of
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.style import style
from kiosk.ui.texts import PRIVACY_SHORT

#: Columns of the full keyboard (its widest row of one-key-wide keys) and its rows.
FULL_COLUMNS, FULL_ROWS = 10, 5


class ContactScreen(KioskScreen):
    step = Step.CONTACT
    field = StringProperty("email")
    consent = BooleanProperty(False)
    privacy = StringProperty("")
    keyboard_layout = StringProperty("azerty")
    #: The full keyboard's keys would be under the touch target here (see the docstring).
    compact = BooleanProperty(False)
    #: Compact only: a field is being typed (the field and the keyboard, not the form).
    typing = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        #: A field was tapped and "✓ OK" not yet pressed: typing, where the screen is compact.
        self._wants_typing = False
        super().__init__(**kwargs)

    def on_kv_post(self, base_widget: Any) -> None:
        self.ids.keyboard.bind(on_done=lambda *_: self.done_typing())
        self.bind(size=self._fit, compact=self._fit_view, typing=self._fit_view)
        style.bind(target=self._fit, spacing=self._fit, padding=self._fit,
                   button_height=self._fit, portrait=self._fit)
        style.bind(portrait=self._fit_view)
        self._fit()         # the e-mail is the active field; typing starts with a tap

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        self.consent = state.consent
        procedure = ctx.procedure(state)
        service = procedure.service.name.get(state.language) if procedure else ""
        self.privacy = _(PRIVACY_SHORT).format(service=service)
        self.keyboard_layout = "azerty" if state.language == "fr" else "qwerty"
        self._sync_keyboard()

    def focus_field(self, name: str) -> None:
        """Type into the field ``name`` (a tap on it); on a compact screen, show its keys."""
        self.field = name
        self._wants_typing = True
        self.typing = self.compact
        self._sync_keyboard()

    def done_typing(self) -> None:
        """The "✓ OK" key: back to the form (a compact screen)."""
        self._wants_typing = False
        self.typing = False

    def _fit(self, *_: Any) -> None:
        """Compact when the full keyboard's keys, where the layout puts it, would be under the
        touch target with the keys' spacing between them. Only widths decide: the screen's
        height changes with the bars it hides, and must not undo its own choice."""
        if self.parent is None:
            return          # not on display: no size of its own yet
        inner = self.width - 2 * style.padding
        keyboard = inner if style.portrait else (inner - 2 * style.spacing) / 1.46
        key = (keyboard - (FULL_COLUMNS - 1) * style.spacing) / FULL_COLUMNS
        self.compact = key < style.target
        self.typing = self.compact and self._wants_typing
        self._sync_keyboard()

    def _fit_view(self, *_: Any) -> None:
        # a portrait panel has the height for the keys under its bars: only a landscape
        # one needs theirs
        self.wants_window = self.compact and self.typing and not style.portrait
        self._sync_keyboard()

    def _sync_keyboard(self) -> None:
        email, phone = self.ids.email_field, self.ids.phone_field
        email.active = self.field == "email"
        phone.active = self.field == "phone"
        keyboard: OnScreenKeyboard = self.ids.keyboard
        keyboard.target = email if self.field == "email" else phone
        if self.field == "phone":
            layout = "phone"
        elif self.compact:
            layout = compact_layout(self.keyboard_layout, 4 if style.portrait else 3)
            if keyboard.letters == layout and keyboard.layout == symbols_of(layout):
                layout = keyboard.layout          # the digits stay on while typing
            keyboard.letters = compact_layout(self.keyboard_layout,
                                              4 if style.portrait else 3)
        else:
            layout = self.keyboard_layout
        keyboard.layout = layout

    def arg_for(self, action: Action) -> Any:
        if action is Action.CONTINUE:
            return Contact(email=self.ids.email_field.value, phone=self.ids.phone_field.value)
        return None

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        return Primary(_("Continue"), Action.CONTINUE)

    def clear(self) -> None:
        super().clear()
        self.ids.email_field.value = ""
        self.ids.phone_field.value = ""
        self.ids.keyboard.shift = False
        self.done_typing()
        self._fit()
