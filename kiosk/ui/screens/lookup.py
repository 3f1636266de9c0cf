"""Bringing missing documents: "show your receipt", "checking your dossier", or why nothing can
be added here (nothing asked, deadline passed, no answer), always with an agent to call."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from kivy.properties import BooleanProperty, StringProperty

import assets
from kiosk.complement import LookupPhase
from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.texts import LOOKUP
from printer.i18n import translator

#: The deadline is a day of the service's calendar (backoffice/deadlines.py: Paris days).
_SERVICE_TZ = ZoneInfo("Europe/Paris")


class LookupScreen(KioskScreen):
    step = Step.LOOKUP
    phase = StringProperty(LookupPhase.SHOW_RECEIPT.value)
    title = StringProperty("")
    text = StringProperty("")
    #: Nothing can be added here: the screen says why and points to an agent.
    refused = BooleanProperty(False)
    icon = StringProperty(str(assets.path("icons", "receipt.png")))

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        phase = state.lookup or LookupPhase.SHOW_RECEIPT
        self.phase = phase.value
        title, text = LOOKUP[phase]
        self.title = _(title)
        deadline = state.complement.deadline if state.complement else None
        when = translator(state.language).date(deadline, _SERVICE_TZ) if deadline else ""
        self.text = _(text).format(date=when) if "{date}" in text else _(text)
        self.refused = phase.final

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary | None:
        if state.lookup is LookupPhase.UNAVAILABLE:
            return Primary(_("Try again"), Action.RETRY)
        if state.lookup is not None and state.lookup.final:
            return Primary(_("Finish"), Action.FINISH)
        return None
