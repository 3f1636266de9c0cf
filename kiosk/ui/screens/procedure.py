"""Procedure: the catalog as big buttons (pictogram, name, what it is for, processing time)."""

from __future__ import annotations

from kivy.properties import StringProperty

import assets
from kiosk.journey import JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, UiContext
from kiosk.ui.widgets import IconButton, discard_children


class ProcedureScreen(KioskScreen):
    step = Step.PROCEDURE
    built_for = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        if self.built_for == state.language:
            return
        grid = self.ids.grid
        discard_children(grid)
        lang = state.language
        for procedure in ctx.catalog:
            days = procedure.processing_days
            time = _("Answer within {days} days").format(days=days) if days > 1 else \
                _("Answer within a day")
            grid.add_widget(IconButton(
                action="choose", arg=procedure.code, text=procedure.name.get(lang),
                icon=str(assets.path("icons", f"{procedure.icon}.png")),
                detail=f"{procedure.summary.get(lang)}\n{time}"))
        self.built_for = lang

    def clear(self) -> None:
        super().clear()
        discard_children(self.ids.grid)
