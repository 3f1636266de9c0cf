"""Satisfaction: one optional tap on a face; the screen clears by itself."""

from __future__ import annotations

from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext


class SatisfactionScreen(KioskScreen):
    step = Step.SATISFACTION

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        return Primary(_("Finish without answering"), Action.FINISH, kind="secondary")
