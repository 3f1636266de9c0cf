"""Checklist: the papers to have ready, each with its picture and what counts; for missing
documents, only those the service asked for, its deadline and its note."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

import assets
from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.widgets import discard_children
from printer.i18n import Direction, language_direction, translator

#: A request's deadline is a day of the service's calendar (Paris days).
_SERVICE_TZ = ZoneInfo("Europe/Paris")


class ChecklistScreen(KioskScreen):
    step = Step.CHECKLIST
    procedure = StringProperty("")
    reference = StringProperty("")
    built_for = StringProperty("")
    #: Bringing missing documents: the dossier and deadline, and the service's note.
    complement = StringProperty("")
    note = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        procedure = ctx.procedure(state)
        if procedure is None:
            return
        lang = state.language
        self.procedure = procedure.name.get(lang)
        self.reference = _("Your reference: {reference}").format(
            reference=state.case_reference) if state.case_reference else ""
        complement = state.complement if state.is_complement else None
        if complement is not None:
            deadline = translator(lang).date(complement.deadline, _SERVICE_TZ) \
                if complement.deadline else ""
            self.complement = _("For dossier {number}, before {date}").format(
                number=complement.of, date=deadline)
            note = complement.note
            if language_direction(lang) is Direction.RTL:
                # The staff write in French: their note is its own left-to-right run (a Unicode
                # isolate), so that its full stop stays at its end inside an Arabic sentence.
                note = f"\u2066{note}\u2069"
            self.note = _("Message from the service: {note}").format(note=note) \
                if complement.note else ""
        else:
            self.complement = self.note = ""
        key = f"{lang}|{procedure.code}|{','.join(d.code for d in state.documents)}"
        if key == self.built_for:
            return
        rows = self.ids.rows
        discard_children(rows)
        for doc in state.documents:
            spec = procedure.document(doc.code)
            if spec is None:
                continue
            row = DocumentRow(icon=_icon(spec.icon), title=spec.name.get(lang),
                              hint=spec.hint.get(lang),
                              badge=_("Required") if doc.required else _("Optional"),
                              required=doc.required)
            rows.add_widget(row)
        self.built_for = key

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        return Primary(_("Start the photos"), Action.BEGIN, enabled=bool(state.documents))

    def clear(self) -> None:
        super().clear()
        discard_children(self.ids.rows)


def _icon(name: str) -> str:
    return str(assets.path("icons", f"{name}.png"))


class DocumentRow(BoxLayout):  # type: ignore[misc]
    icon = StringProperty("")
    title = StringProperty("")
    hint = StringProperty("")
    badge = StringProperty("")
    required = BooleanProperty(True)
