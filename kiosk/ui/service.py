"""The service panel: the technician's screens, and the citizens' out-of-order notice.

A layer over the citizens' screens (kiosk/ui/app.py adds it last, so it is on
top): invisible and letting touches through while the service mode is closed
and the kiosk in service; covering everything, touches included, while a badge
is checked, the service mode is open, or the kiosk is out of order. It draws
:meth:`kiosk.service.mode.ServiceMode.view` and sends the buttons back with
:meth:`~kiosk.service.mode.ServiceMode.press`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from kiosk.service.mode import ServiceMode
from kiosk.service.model import Act, Button, Level, Page, Phase, Row, View
from kiosk.service.texts import OUT_OF_ORDER_REASONS, OUT_OF_ORDER_TITLE
from kiosk.ui.style import style
from kiosk.ui.widgets import ImageSurface, KButton, KLabel

#: How a row's level reads on the panel (beside its colour: never colour alone).
LEVEL_WORDS = {Level.OK: "OK", Level.WARN: "ATTENTION", Level.FAIL: "PANNE", Level.INFO: ""}
#: Seconds between two looks at the view (and at the camera's preview on its page).
POLL_S = 0.1
#: The code reader's fallback: a press this long (seconds) in the top left corner of the
#: welcome screen (a square of this side, millimetres) reads the badge with the camera. Long
#: enough that no citizen does it by chance, short enough to find once documented.
LONG_PRESS_S = 5.0
CORNER_MM = 15.0


#: Amber with black text for "needs attention" (the theme has no warning colour: the
#: citizens' screens never warn, they say what to do).
AMBER = (0.95, 0.72, 0.05, 1.0)


def _level_colour(level: Level) -> Any:
    return {Level.OK: style.success, Level.WARN: AMBER, Level.FAIL: style.danger,
            Level.INFO: style.surface}[level]


def style_font() -> str:
    """The panel's font: the one the citizens' labels use (DejaVu, for French letters)."""
    name: str = KLabel().font_name
    return name


def _level_ink(level: Level) -> Any:
    return {Level.OK: style.success_ink, Level.WARN: (0, 0, 0, 1), Level.FAIL: style.danger_ink,
            Level.INFO: style.text}[level]


class _Filled(BoxLayout):  # type: ignore[misc]  # Kivy ships no types
    """A box with a background colour."""

    def __init__(self, colour: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            self._colour = Color(rgba=colour)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_: Any) -> None:
        self._rect.pos = self.pos
        self._rect.size = self.size


class _Gauge(Widget):  # type: ignore[misc]
    """A bar filled to ``value`` (0..1)."""

    def __init__(self, value: float, level: Level, **kwargs: Any) -> None:
        super().__init__(size_hint_y=None, height=style.font_body * 1.4, **kwargs)
        self.value = max(0.0, min(1.0, value))
        with self.canvas:
            Color(rgba=style.outline)
            self._back = Rectangle()
            Color(rgba=_level_colour(level) if level is not Level.INFO else style.primary)
            self._bar = Rectangle()
        self.bind(pos=self._place, size=self._place)

    def _place(self, *_: Any) -> None:
        self._back.pos, self._back.size = self.pos, self.size
        self._bar.pos = self.pos
        self._bar.size = (self.width * self.value, self.height)


class ServicePanel(FloatLayout):  # type: ignore[misc]
    """See the module docstring. ``preview`` gives the camera page's newest frame (RGB)."""

    shown = BooleanProperty(False)

    def __init__(self, service: ServiceMode, *, languages: tuple[str, ...] = ("fr",),
                 preview: Callable[[], npt.NDArray[np.uint8] | None] | None = None,
                 speak: Callable[[str, str, bool], object] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.speak = speak
        self._press: Any = None
        self._grid: GridLayout | None = None
        self.languages = languages
        self.preview = preview
        self._view: View | None = None
        self._surface: ImageSurface | None = None
        with self.canvas.before:
            self._paint = Color(rgba=(0, 0, 0, 0))
            self._back = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._place, size=self._place)
        self._poll = Clock.schedule_interval(lambda dt: self.refresh(), POLL_S)
        self.refresh()

    def _place(self, *_: Any) -> None:
        self._back.pos, self._back.size = self.pos, self.size

    def stop(self) -> None:
        self._poll.cancel()

    # ------------------------------------------------------------------ touches

    def on_touch_down(self, touch: Any) -> bool:
        if not self.shown:
            corner = style.mm(CORNER_MM)
            if touch.x < self.x + corner and touch.y > self.top - corner:
                self._press = Clock.schedule_once(lambda dt: self.service.camera_entry(),
                                                  LONG_PRESS_S)
            return False
        self.key()
        super().on_touch_down(touch)
        return True                    # nothing under the panel is touched

    def key(self) -> None:
        """A touch or a key while the panel is up: on the out-of-order notice, read it aloud
        (a citizen who cannot read it hears it), from the first language again."""
        view = self._view
        if view is None or view.phase is not Phase.CLOSED or view.out_of_order is None or \
                self.speak is None:
            return
        reason = view.out_of_order
        for n, language in enumerate(self.languages):
            text = OUT_OF_ORDER_REASONS[reason].get(language)
            if text:
                self.speak(f"{OUT_OF_ORDER_TITLE[language]}. {text}", language, n == 0)

    def on_touch_up(self, touch: Any) -> bool:
        if self._press is not None:
            self._press.cancel()
            self._press = None
        if not self.shown:
            return False
        super().on_touch_up(touch)
        return True

    # ------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        view = self.service.view()
        if view != self._view:
            before, self._view = self._view, view
            if before is not None and self._grid is not None and \
                    replace(before, rows=view.rows) == view:
                self._fill(self._grid, view)   # only the rows moved: the buttons stay put
            else:
                self._draw(view)
        if self._surface is not None and self.preview is not None:
            frame = self.preview()
            if frame is not None:
                self._surface.set_image(frame)

    def _draw(self, view: View) -> None:
        self.clear_widgets()
        self._surface = None
        self._grid = None
        self.shown = view.phase is not Phase.CLOSED or view.out_of_order is not None
        self._paint.rgba = style.background if self.shown else (0, 0, 0, 0)
        if not self.shown:
            return
        if view.phase is Phase.CLOSED:
            self.add_widget(self._out_of_order(view))
        elif view.phase is Phase.PIN:
            self.add_widget(self._pin(view))
        else:
            self.add_widget(self._open(view))

    def _button(self, button: Button, **kwargs: Any) -> KButton:
        widget = KButton(text=button.label, kind="primary" if button.primary else "secondary",
                         **kwargs)
        act, arg = button.act, button.arg
        widget.bind(on_release=lambda *_: self.service.press(act, arg))
        return widget

    def _out_of_order(self, view: View) -> Widget:
        box = BoxLayout(orientation="vertical", padding=style.padding * 2,
                        spacing=style.spacing * 2)
        reason = view.out_of_order
        assert reason is not None
        for language in self.languages:
            title = OUT_OF_ORDER_TITLE.get(language)
            text = OUT_OF_ORDER_REASONS[reason].get(language)
            if title and text:
                first = language == self.languages[0]
                align = "right" if language == "ar" else "left"
                box.add_widget(KLabel(text=title, kind="headline" if first else "title",
                                      halign=align, size_hint_y=None))
                box.add_widget(KLabel(text=text, kind="title" if first else "body",
                                      halign=align, size_hint_y=None))
        box.add_widget(Widget())
        return box

    def _pin(self, view: View) -> Widget:
        box = BoxLayout(orientation="vertical", padding=style.padding * 2,
                        spacing=style.spacing, size_hint=(None, None),
                        width=max(style.target * 3 + style.spacing * 4, 420),
                        pos_hint={"center_x": 0.5, "center_y": 0.5})
        box.add_widget(KLabel(text="Mode maintenance", kind="headline", size_hint_y=None))
        if view.holder:
            box.add_widget(KLabel(text=f"Badge de {view.holder}", size_hint_y=None))
        if view.notice:
            notice = _Filled(_level_colour(view.notice_level), size_hint_y=None,
                             padding=style.spacing)
            label = KLabel(text=view.notice, size_hint_y=None)
            notice.add_widget(label)
            label.bind(height=lambda w, h: setattr(notice, "height", h + 2 * style.spacing))
            box.add_widget(notice)
        if view.scanning:
            self._surface = ImageSurface(size_hint_y=None, height=style.mm(45))
            box.add_widget(self._surface)
        can_type = bool(view.holder)
        if can_type:
            dots = "●" * view.pin_length + "○" * max(0, 6 - view.pin_length)
            box.add_widget(KLabel(text=dots, kind="headline", size_hint_y=None,
                                  halign="center"))
            grid = GridLayout(cols=3, spacing=style.spacing, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for digit in "123456789":
                grid.add_widget(self._button(Button(Act.DIGIT, digit, digit)))
            grid.add_widget(self._button(Button(Act.ERASE, "Effacer")))
            grid.add_widget(self._button(Button(Act.DIGIT, "0", "0")))
            grid.add_widget(self._button(Button(Act.VALIDATE, "Valider", primary=True)))
            box.add_widget(grid)
        box.add_widget(self._button(Button(Act.CLOSE, "Fermer")))
        box.bind(minimum_height=box.setter("height"))
        return box

    def _open(self, view: View) -> Widget:
        outer = BoxLayout(orientation="vertical", padding=style.padding, spacing=style.spacing)
        head = BoxLayout(size_hint_y=None, height=style.button_height, spacing=style.spacing)
        if view.page is not Page.HOME:
            head.add_widget(self._button(Button(Act.PAGE, "← Menu", Page.HOME.value),
                                         size_hint_x=None))
        head.add_widget(KLabel(text=view.title, kind="title"))
        head.add_widget(KLabel(text=f"Technicien : {view.holder}", kind="small", muted=True))
        head.add_widget(self._button(Button(Act.LEAVE, "Quitter"), size_hint_x=None))
        outer.add_widget(head)
        if view.out_of_order is not None:
            outer.add_widget(self._strip("Borne HORS SERVICE pour les usagers", Level.WARN))
        if view.notice:
            outer.add_widget(self._strip(view.notice, view.notice_level))
        if view.page is Page.HOME:
            grid = GridLayout(cols=3, spacing=style.spacing, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for button in view.buttons:
                grid.add_widget(self._button(button, size_hint_y=None,
                                             height=style.button_height * 1.6))
            outer.add_widget(grid)
            outer.add_widget(Widget())
            return outer
        body = BoxLayout(spacing=style.spacing)
        body.add_widget(self._rows(view))
        if view.page is Page.CAMERA:
            self._surface = ImageSurface(size_hint_x=0.55)
            body.add_widget(self._surface)
        outer.add_widget(body)
        if view.busy:
            outer.add_widget(KLabel(text="Test en cours…", kind="small", muted=True,
                                    size_hint_y=None))
        actions = GridLayout(cols=max(1, min(4, len(view.buttons))), spacing=style.spacing,
                             size_hint_y=None)
        actions.bind(minimum_height=actions.setter("height"))
        for button in view.buttons:
            actions.add_widget(self._button(button))
        outer.add_widget(actions)
        return outer

    def _strip(self, text: str, level: Level) -> Widget:
        strip = _Filled(_level_colour(level), size_hint_y=None, padding=style.spacing)
        label = KLabel(text=text, size_hint_y=None)
        strip.add_widget(label)
        label.bind(height=lambda w, h: setattr(strip, "height", h + 2 * style.spacing))
        return strip

    def _rows(self, view: View) -> Widget:
        scroll = ScrollView(do_scroll_x=False)
        grid = self._grid = GridLayout(cols=1, spacing=style.spacing / 2, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        self._fill(grid, view)
        scroll.add_widget(grid)
        return scroll

    def _fill(self, grid: GridLayout, view: View) -> None:
        grid.clear_widgets()
        if not view.rows:
            grid.add_widget(KLabel(text="Mesure en cours…" if view.busy else "Rien à montrer.",
                                   size_hint_y=None))
        for row in view.rows:
            grid.add_widget(self._row(row))

    def _row(self, row: Row) -> Widget:
        line = _Filled(style.surface, orientation="vertical", size_hint_y=None,
                       padding=(style.spacing, style.spacing / 2), spacing=2)
        top = BoxLayout(size_hint_y=None, spacing=style.spacing)
        mark = _Filled(_level_colour(row.level), size_hint=(None, None),
                       width=style.font_body * 7, height=style.font_body * 1.6, padding=2,
                       pos_hint={"top": 1})
        word = Label(text=LEVEL_WORDS[row.level], bold=True, font_size=style.font_small,
                     font_name=style_font(), color=_level_ink(row.level), halign="center",
                     valign="middle")
        word.bind(size=lambda w, size: setattr(w, "text_size", size))
        mark.add_widget(word)
        top.add_widget(mark)
        label = KLabel(text=row.label, bold=True, size_hint_x=0.4, pos_hint={"top": 1})
        value = KLabel(text=row.value, pos_hint={"top": 1})
        top.add_widget(label)
        top.add_widget(value)

        def fit(*_: Any) -> None:
            top.height = max(label.height, value.height, style.font_body * 1.6)
            line.height = top.height + (style.font_body * 1.6 if row.gauge is not None else 0) \
                + style.spacing
        label.bind(height=fit)
        value.bind(height=fit)
        line.add_widget(top)
        if row.gauge is not None:
            line.add_widget(_Gauge(row.gauge, row.level))
        fit()
        return line
