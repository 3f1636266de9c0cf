"""Wipe: a moment of "thank you" while the session is erased."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.journey import JourneyState, Step, WipeReason
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, UiContext


class WipeScreen(KioskScreen):
    step = Step.WIPE
    message = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        if state.wipe_reason is WipeReason.COMPLETED:
            self.message = _("Thank you. Goodbye!")
        elif state.wipe_reason is WipeReason.TIMEOUT:
            self.message = _("The session has ended.")
        else:
            self.message = _("Cancelled.")
