"""Capture: the live camera picture with the page outline and what to fix, then the page taken.

The preview comes from the capture worker through :meth:`CaptureScreen.show_preview`,
called by the app's clock at most 30 times a second with the newest frame; the
picture goes into one texture, reused for every frame.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, OptionProperty, StringProperty

from kiosk.capture import PreviewFrame
from kiosk.journey import Action, CapturePhase, JourneyState, Step
from kiosk.ui.i18n import _
from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.texts import REASONS


class CaptureScreen(KioskScreen):
    step = Step.CAPTURE
    phase = OptionProperty("aiming", options=[p.value for p in CapturePhase])
    counter = StringProperty("")
    title = StringProperty("")
    hint = StringProperty("")
    page_label = StringProperty("")
    guidance = StringProperty("")
    guidance_ok = BooleanProperty(False)
    problem = StringProperty("")
    can_skip = BooleanProperty(False)
    can_add = BooleanProperty(True)
    out_of_order = BooleanProperty(False)
    progress = NumericProperty(0.0)
    shown_page = StringProperty("")

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        super().render(state, ctx)
        doc = state.document
        procedure = ctx.procedure(state)
        if doc is None or procedure is None:
            return
        spec = procedure.document(doc.code)
        lang = state.language
        self.phase = state.capture.value
        self.counter = _("Document {n} of {total}").format(n=state.current + 1,
                                                            total=len(state.documents))
        self.title = spec.name.get(lang) if spec else doc.code
        self.hint = spec.hint.get(lang) if spec else ""
        pages = len(doc.pages)
        number = pages if state.capture is CapturePhase.TAKEN else pages + 1
        self.page_label = _("Page {n}").format(n=number)
        self.problem = _(REASONS.get(state.capture_problem, REASONS["camera"])) \
            if state.capture_problem else ""
        self.can_skip = not doc.required and not doc.pages
        self.can_add = pages < doc.max_pages
        self.out_of_order = state.out_of_order
        if state.capture is CapturePhase.TAKEN and doc.pages:
            last = doc.pages[-1].id
            if last != self.shown_page:
                page = ctx.session.get(last)
                if page is not None:
                    self.ids.taken.set_image(page.preview)
                    self.shown_page = last
        if state.capture is CapturePhase.AIMING and self.shown_page:
            self.shown_page = ""
        if state.capture is not CapturePhase.AIMING:
            self.guidance = ""

    def show_preview(self, frame: PreviewFrame) -> None:
        self.ids.preview.show(frame.image, frame.corners, frame.steady, frame.progress)
        self.progress = frame.progress
        if frame.waiting_for_new_page:
            self.guidance = _("This page is already taken. Take it away and place the next "
                              "one.")
            self.guidance_ok = False
        elif frame.reasons:
            self.guidance = _(REASONS.get(frame.reasons[0], REASONS["no_page"]))
            self.guidance_ok = False
        elif frame.steady:
            self.guidance = _("Hold still… the photo is being taken.")
            self.guidance_ok = True
        else:
            self.guidance = ""

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary:
        last = not state.return_to_review and all(
            d.done for i, d in enumerate(state.documents) if i > state.current)
        text = _("Check my dossier") if last or state.return_to_review else \
            _("Next document")
        doc = state.document
        enabled = doc is not None and bool(doc.pages) and not state.out_of_order and \
            state.capture is not CapturePhase.PROCESSING
        return Primary(text, Action.NEXT, enabled=enabled)
