"""Confirmation: what will be sent, then "Send my dossier"."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _, tr
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext


class ConfirmScreen(KioskScreen):
    step = Step.CONFIRM
    procedure = StringProperty("")
    reference = StringProperty("")
    documents = StringProperty("")
    contact = StringProperty("")
    added_to = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        procedure = ctx.procedure(state)
        if procedure is None:
            return
        lang = state.language
        self.procedure = procedure.name.get(lang)
        self.reference = state.case_reference or ""
        self.added_to = state.complement.of if state.is_complement and state.complement else ""
        lines = []
        for doc in state.documents:
            spec = procedure.document(doc.code)
            name = spec.name.get(lang) if spec else doc.code
            if doc.pages:
                count = tr.ngettext("{n} page", "{n} pages", len(doc.pages)).format(
                    n=len(doc.pages))
                lines.append(f"•  {name} ({count})")
            else:
                lines.append(f"•  {name} ({_('not given')})")
        self.documents = "\n".join(lines)
        given = [v for v in (state.contact.email, state.contact.phone) if v]
        # A complement asks no contact: the original dossier's stands (no line at all).
        self.contact = "" if state.is_complement else ", ".join(given) if given else _("None")

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        if state.is_complement:
            return Primary(_("Send my papers"), Action.SEND)
        return Primary(_("Send my dossier"), Action.SEND)
