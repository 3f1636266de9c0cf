"""Review: every document with its pages, and "take again" next to each.

A document one of whose pages carries a 2D-Doc that verified says "Authenticated
document" under its name (kiosk/twoddocs.py); what the code holds is never shown
nor spoken here.
"""

from __future__ import annotations

from typing import Any

from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.journey import Action, JourneyState, Step
from kiosk.ui.i18n import _, tr
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.widgets import ImageSurface

#: Thumbnails shown per document; more pages are counted, not shown.
MAX_THUMBNAILS = 5


class ReviewRow(BoxLayout):  # type: ignore[misc]
    title = StringProperty("")
    pages = StringProperty("")
    index = NumericProperty(0)
    given = BooleanProperty(True)
    #: A page of it carries a 2D-Doc that verified (kiosk/twoddocs.py): said, never what it holds.
    authenticated = StringProperty("")


class ReviewScreen(KioskScreen):
    step = Step.REVIEW
    built_for = StringProperty("")
    missing = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        self._rows: list[ReviewRow] = []
        super().__init__(**kwargs)

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        procedure = ctx.procedure(state)
        if procedure is None:
            return
        lang = state.language
        key = lang + "|" + ";".join(
            f"{d.code}:{','.join(p.id + ('+' if p.authenticated else '') for p in d.pages)}"
            for d in state.documents)
        missing = [d for d in state.documents if d.required and not d.pages]
        self.missing = _("A required paper is missing: take it again.") if missing else ""
        if key == self.built_for:
            return
        self._blank_rows()
        self._discard_rows()
        for index, doc in enumerate(state.documents):
            spec = procedure.document(doc.code)
            count = len(doc.pages)
            row = ReviewRow(title=spec.name.get(lang) if spec else doc.code, index=index,
                            given=bool(doc.pages),
                            pages=tr.ngettext("{n} page", "{n} pages", count).format(n=count)
                            if count else _("Not given"),
                            authenticated=_("Authenticated document")
                            if any(p.authenticated for p in doc.pages) else "")
            for ref in doc.pages[:MAX_THUMBNAILS]:
                page = ctx.session.get(ref.id)
                if page is not None:
                    thumb = ImageSurface(size_hint_x=None)
                    thumb.set_image(page.thumbnail)
                    row.ids.thumbs.add_widget(thumb)
            self.ids.form.add_widget(row, index=1)        # before the closing spacer
            self._rows.append(row)
        self.built_for = key

    def _blank_rows(self) -> None:
        for row in self._rows:
            for widget in row.walk(restrict=True):
                if isinstance(widget, ImageSurface):
                    widget.blank()

    def _discard_rows(self) -> None:
        form = self.ids.form
        for row in self._rows:
            for widget in row.walk(restrict=True):
                Builder.unbind_widget(widget.uid)
            form.remove_widget(row)
        self._rows = []

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        ready = not any(d.required and not d.pages for d in state.documents)
        return Primary(_("Continue"), Action.CONTINUE, enabled=ready)

    def clear(self) -> None:
        self._blank_rows()
        super().clear()
        self._discard_rows()
