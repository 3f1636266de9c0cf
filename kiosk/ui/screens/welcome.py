"""Welcome: start a deposit, show a convocation's QR code, or bring missing documents;
refusals said plainly."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.journey import JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, UiContext
from kiosk.ui.texts import REFUSALS, print_problem


class WelcomeScreen(KioskScreen):
    step = Step.WELCOME
    accepting = BooleanProperty(True)
    refusal = StringProperty("")
    printer_note = StringProperty("")
    #: Missing documents can be brought here (the kiosk reads receipts and takes dossiers).
    complements = BooleanProperty(False)

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        self.accepting = state.accepting
        self.refusal = "\n".join(_(REFUSALS[r]) for r in state.refusals)
        self.complements = state.accepting and ctx.journey.receipt_base is not None
        problem = state.devices.printer_problem
        if not state.devices.printer_ok and state.accepting:
            what = _(print_problem(problem))
            self.printer_note = what + " " + _("Your receipt will be shown on the screen.")
        else:
            self.printer_note = ""

    def primary(self, state: JourneyState, ctx: UiContext) -> None:
        return None       # the big Start button is on the screen itself
