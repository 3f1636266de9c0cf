"""Receipt: the deposit number and "take your receipt", or the receipt shown on screen."""

from __future__ import annotations

import io

import numpy as np
from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from PIL import Image

from kiosk.journey import Action, JourneyState, ReceiptPhase, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.texts import print_problem


class ReceiptScreen(KioskScreen):
    step = Step.RECEIPT
    phase = OptionProperty("printing", options=[p.value for p in ReceiptPhase])
    deposit_id = StringProperty("")
    message = StringProperty("")
    problem = StringProperty("")
    transmission = StringProperty("")
    processing = StringProperty("")
    paper_shown = BooleanProperty(False)
    shown_receipt = StringProperty("")
    #: A complement: the dossier its documents were added to.
    added_to = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        if state.deposit is None or state.receipt is None:
            return
        self.phase = state.receipt.value
        self.deposit_id = state.deposit.deposit_id
        self.added_to = _("These documents are added to dossier {number}.").format(
            number=state.deposit.complement_of) if state.deposit.complement_of else ""
        procedure = ctx.procedure(state)
        if state.deposit.complement_of:
            # The answer's date is the dossier's, recomputed once the papers arrive.
            self.processing = ""
        elif procedure is not None:
            self.processing = _("The service commits to answer within {days} days.").format(
                days=procedure.processing_days)
        self.transmission = (
            _("No network for now: your dossier is kept, encrypted, on this kiosk and will "
              "be sent as soon as possible.") if state.deposit.queued_offline else
            _("Your dossier is saved, encrypted, and is on its way to the service."))
        if state.receipt is ReceiptPhase.PRINTING:
            self.message = _("Printing your receipt…")
        elif state.receipt is ReceiptPhase.PRINTED:
            self.message = _("Take your receipt under the screen. Keep it: it lets you "
                             "follow your dossier.")
        else:
            self.message = _("Photograph this receipt with your phone, or ask an agent.")
        self.problem = _(print_problem(state.print_problem)) \
            if state.receipt is ReceiptPhase.ON_SCREEN else ""
        self.paper_shown = state.receipt is ReceiptPhase.ON_SCREEN
        if self.paper_shown and self.shown_receipt != state.deposit.deposit_id:
            png = ctx.receipt_png()
            if png:
                with Image.open(io.BytesIO(png)) as picture:
                    self.ids.paper.set_image(np.asarray(picture.convert("RGB")))
                self.shown_receipt = state.deposit.deposit_id

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        return Primary(_("Finish"), Action.FINISH,
                       enabled=state.receipt is not ReceiptPhase.PRINTING)
