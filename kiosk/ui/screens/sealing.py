"""Sealing and queuing: a short wait, or what went wrong and "Try again"."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.texts import SEAL_PROBLEMS


class SealingScreen(KioskScreen):
    step = Step.SEALING
    error = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        self.error = _(SEAL_PROBLEMS[state.seal_error]) if state.seal_error else ""

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary | None:
        if state.seal_error is None:
            return None
        return Primary(_("Try again"), Action.RETRY)
