"""Contact and consent: an optional e-mail or phone, typed on big keys, and the privacy notice."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.journey import Action, Contact, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.keyboard import OnScreenKeyboard  # noqa: F401 - registers the keyboard for contact.kv
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.texts import PRIVACY_SHORT


class ContactScreen(KioskScreen):
    step = Step.CONTACT
    field = StringProperty("email")
    consent = BooleanProperty(False)
    privacy = StringProperty("")
    keyboard_layout = StringProperty("azerty")

    def on_kv_post(self, base_widget: Any) -> None:
        self.focus_field("email")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        self.consent = state.consent
        procedure = ctx.procedure(state)
        service = procedure.service.name.get(state.language) if procedure else ""
        self.privacy = _(PRIVACY_SHORT).format(service=service)
        self.keyboard_layout = "azerty" if state.language == "fr" else "qwerty"
        self._sync_keyboard()

    def focus_field(self, name: str) -> None:
        self.field = name
        self._sync_keyboard()

    def _sync_keyboard(self) -> None:
        email, phone = self.ids.email_field, self.ids.phone_field
        email.active = self.field == "email"
        phone.active = self.field == "phone"
        keyboard = self.ids.keyboard
        keyboard.target = email if self.field == "email" else phone
        keyboard.layout = "phone" if self.field == "phone" else self.keyboard_layout

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
        self.focus_field("email")
