"""Widgets every screen uses: big buttons, wrapped labels, the camera preview, page pictures.

Sizes and colours come from :data:`kiosk.ui.style.style`; texts from
:data:`kiosk.ui.i18n.tr`. A :class:`KButton` carries the journey
:class:`~kiosk.journey.Action` it asks for; tapping it calls the running
app's ``tap(action, arg)``, the one door from the screen to the journey.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from kivy.app import App
from kivy.core.text import Label as CoreLabel
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
    VariableListProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.layout import Layout
from kivy.uix.widget import Widget

from kiosk.ui import shaping
from kiosk.ui.shaping import needs_shaping

BUTTON_KINDS = ("primary", "secondary", "danger", "agent", "success", "plain")


class ShapedText:
    """Mixin for labels: text holding right-to-left letters is drawn by
    :mod:`kiosk.ui.shaping` (joined, ordered right to left, mixed runs right), any other by
    Kivy. Must come before ``Label`` in the bases."""

    def texture_update(self, *largs: Any) -> None:
        label: Any = self            # a Label: the mixin only reads its properties
        text = label.text
        if not text or not needs_shaping(text):
            label.shaped = False
            super().texture_update(*largs)  # type: ignore[misc]
            return
        label.shaped = True                  # drawn by raqm (tests check every Arabic label)
        colour = label.disabled_color if label.disabled else label.color
        align = label.halign if label.halign in ("left", "center", "right") else "right"
        pixels, w, h = shaping.render(text, size=label.font_size, color=tuple(colour),
                                      bold=label.bold, width=label.text_size[0], align=align,
                                      line_height=label.line_height)
        texture = Texture.create(size=(w, h), colorfmt="rgba", bufferfmt="ubyte")
        texture.blit_buffer(pixels, colorfmt="rgba", bufferfmt="ubyte")
        texture.flip_vertical()
        label.texture = texture
        label.texture_size = [w, h]


def discard_children(container: Widget) -> None:
    """Remove ``container``'s children for good, with the bindings their kv rules made to
    shared objects (``style``): Kivy leaves those bound, and the next restyle would reach
    widgets already collected (ReferenceError) or keep them alive."""
    from kivy.lang import Builder

    for child in list(container.children):
        for widget in child.walk(restrict=True):
            Builder.unbind_widget(widget.uid)
        container.remove_widget(child)


def discard(container: Widget, child: Widget) -> None:
    """Remove one ``child`` of ``container`` for good (see :func:`discard_children`)."""
    from kivy.lang import Builder

    for widget in child.walk(restrict=True):
        Builder.unbind_widget(widget.uid)
    container.remove_widget(child)


def button_rows(buttons: list[Widget], columns: int, spacing: float) -> list[Widget]:
    """``buttons`` in rows of ``columns``: the buttons themselves when one a row, else
    horizontal boxes as tall as their tallest button (a last one alone keeps its column)."""
    if columns == 1:
        return list(buttons)
    rows: list[Widget] = []
    for start in range(0, len(buttons), columns):
        row = BoxLayout(orientation="horizontal", size_hint_y=None, spacing=spacing)
        row.bind(minimum_height=row.setter("height"))
        chunk = buttons[start:start + columns]
        for button in chunk:
            row.add_widget(button)
        if len(chunk) < columns:
            row.add_widget(Widget())
        rows.append(row)
    return rows


class HidingBar(BoxLayout):  # type: ignore[misc]
    """A bar that takes no touch while hidden (opacity 0, height 0): its buttons, disabled,
    keep their height and would still swallow the touches they collide with (Kivy's disabled
    widgets do), over the screen's own controls (the contact screen's keys)."""

    def on_touch_down(self, touch: Any) -> bool:
        return bool(self.opacity >= 0.5 and super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        return bool(self.opacity >= 0.5 and super().on_touch_up(touch))


def mirror(root: Widget, rtl: bool) -> None:
    """Lay every horizontal row under ``root`` out right to left (``rtl``) or left to right.

    Kivy's BoxLayout has no right-to-left order; the children of each horizontal
    row are reversed once, and the row remembers which way it is, so calling this
    after every render is cheap and idempotent (rows built since are turned too).
    """
    for widget in root.walk(restrict=True):
        if isinstance(widget, BoxLayout) and widget.orientation == "horizontal" and \
                not getattr(widget, "keep_order", False) and \
                getattr(widget, "_kiosk_rtl", False) != rtl:
            children = list(widget.children)
            widget.clear_widgets()
            for child in children:
                widget.add_widget(child)          # add_widget puts each first: reversed
            widget._kiosk_rtl = rtl


class ShapedLabel(ShapedText, Label):  # type: ignore[misc]
    """A plain label (no kv rule of its own) that draws right-to-left text right."""


class KLabel(ShapedText, Label):  # type: ignore[misc]  # Kivy ships no types
    """A label that wraps to its width and is as tall as its text."""

    kind = OptionProperty("body", options=("small", "body", "button", "title", "headline"))
    muted = BooleanProperty(False)


class Tappable:
    """Mixin for anything that sends a journey action when tapped."""

    action = StringProperty("")
    arg = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        if self.action:
            app = App.get_running_app()
            if app is not None:
                app.tap(self.action, self.arg)


class KButton(Tappable, ButtonBehavior, ShapedText, Label):  # type: ignore[misc]
    """A big button: at least the touch target in both directions; ``kind`` picks the colours.
    ``checked`` is True or False for a button that toggles a setting (said by the speech),
    None for any other."""

    kind = OptionProperty("secondary", options=BUTTON_KINDS)
    icon = StringProperty("")
    checked = ObjectProperty(None, allownone=True)
    #: The text wraps to the width the button is given (its rule sets the width itself).
    wrap = BooleanProperty(False)

    def natural_width(self, text: str, font_size: float) -> float:
        """The width of ``text`` on one line at ``font_size`` (kv rules size buttons that
        wrap with it: measuring the texture itself would chase its own wrapping)."""
        if not text:
            return 0.0
        if needs_shaping(text):
            return shaping.width(text, size=font_size, bold=self.bold)
        label = CoreLabel(text=text, font_size=font_size, bold=self.bold,
                          font_name=self.font_name)
        extents: tuple[int, int] = label.get_extents(text)
        return float(extents[0])


class IconButton(Tappable, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """A card-like button with a picture and text (procedures, faces)."""

    kind = OptionProperty("secondary", options=BUTTON_KINDS)
    icon = StringProperty("")
    text = StringProperty("")
    detail = StringProperty("")


class Banner(BoxLayout):  # type: ignore[misc]
    """A coloured strip with one message (notices, refusals, problems)."""

    text = StringProperty("")
    kind = OptionProperty("danger", options=BUTTON_KINDS)


class ImageSurface(Widget):  # type: ignore[misc]
    """Shows an RGB numpy image through one reused texture, letterboxed in the widget.

    :meth:`set_image` blits into the texture it already has when the size is
    the same (no new texture per frame: Kivy issue #5171); :meth:`blank`
    overwrites the texture with black, so no page survives in video memory
    after a wipe.
    """

    texture = ObjectProperty(None, allownone=True)
    image_size = ListProperty([0, 0])
    draw_pos = ListProperty([0, 0])
    draw_size = ListProperty([0, 0])
    border = BooleanProperty(True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._layout, size=self._layout, image_size=self._layout)

    def set_image(self, rgb: npt.NDArray[np.uint8]) -> None:
        height, width = rgb.shape[:2]
        if self.texture is None or tuple(self.texture.size) != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="rgb", bufferfmt="ubyte")
            texture.flip_vertical()
            self.texture = texture
        self.texture.blit_buffer(np.ascontiguousarray(rgb).tobytes(), colorfmt="rgb",
                                 bufferfmt="ubyte")
        self.image_size = [width, height]
        self.canvas.ask_update()

    def blank(self) -> None:
        if self.texture is not None:
            width, height = self.texture.size
            self.texture.blit_buffer(bytes(width * height * 3), colorfmt="rgb",
                                     bufferfmt="ubyte")
        self.texture = None
        self.image_size = [0, 0]

    def _layout(self, *_: Any) -> None:
        iw, ih = self.image_size
        if not iw or not ih or not self.width or not self.height:
            self.draw_pos, self.draw_size = list(self.pos), [0, 0]
            return
        scale = min(self.width / iw, self.height / ih)
        w, h = iw * scale, ih * scale
        self.draw_size = [w, h]
        self.draw_pos = [self.x + (self.width - w) / 2, self.y + (self.height - h) / 2]

    def to_widget_points(self, points: npt.NDArray[np.float32]) -> list[float]:
        """Image pixel coordinates (origin top left) to a flat list of widget coordinates."""
        iw, ih = self.image_size
        if not iw or not ih:
            return []
        sx = self.draw_size[0] / iw
        sy = self.draw_size[1] / ih
        flat: list[float] = []
        for x, y in points:
            flat += [self.draw_pos[0] + float(x) * sx, self.draw_pos[1] + (ih - float(y)) * sy]
        return flat


class CameraPreview(ImageSurface):
    """The live camera picture with the outline of the page the scanner found."""

    outline = ListProperty([])
    outline_ok = BooleanProperty(False)
    progress = NumericProperty(0.0)
    _corners: npt.NDArray[np.float32] | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(draw_pos=self._outline, draw_size=self._outline)

    def show(self, rgb: npt.NDArray[np.uint8], corners: npt.NDArray[np.float32] | None,
             ok: bool, progress: float) -> None:
        self.set_image(rgb)
        self._corners = corners
        self.outline_ok = ok
        self.progress = progress
        self._outline()

    def _outline(self, *_: Any) -> None:
        self.outline = [] if self._corners is None else self.to_widget_points(self._corners)

    def blank(self) -> None:
        super().blank()
        self._corners = None
        self.outline = []
        self.progress = 0.0


class TextField(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """A field the on-screen keyboard types into; tapping it makes it the active one."""

    value = StringProperty("")
    label = StringProperty("")
    placeholder = StringProperty("")
    active = BooleanProperty(False)
    name = StringProperty("")
    #: The name above the field; a compact screen leaves it out while typing (the field
    #: alone above the keyboard; the name is still what the focus and speech say).
    caption_shown = BooleanProperty(True)
    #: False: the field is not on display (a compact screen shows the typed one alone).
    shown = BooleanProperty(True)

    def spoken(self) -> str:
        """The field as one item: its name and what was typed (the cursor is not said)."""
        return f"{self.label} : {self.value}" if self.value else self.label

    def on_release(self) -> None:
        app = App.get_running_app()
        if app is not None:
            app.activity()
        screen = self.parent
        while screen is not None and not hasattr(screen, "focus_field"):
            screen = screen.parent
        if screen is not None:
            screen.focus_field(self.name)


class StepDot(BoxLayout):  # type: ignore[misc]
    """One step of the step indicator."""

    number = NumericProperty(1)
    total = NumericProperty(6)
    label = StringProperty("")
    status = OptionProperty("todo", options=("todo", "current", "done"))

    def spoken(self) -> str:
        """Only the current step is read: "Step 2 of 6: Documents"."""
        if self.status != "current":
            return ""
        from kiosk.ui.i18n import _
        return _("Step {n} of {total}: {label}").format(n=self.number, total=self.total,
                                                        label=self.label)


class PagerNav(BoxLayout):  # type: ignore[misc]
    """The "previous / next" row of a :class:`PagedBox` (full-size buttons, no gesture)."""

    pager = ObjectProperty(None, allownone=True)
    page_text = StringProperty("")
    can_previous = BooleanProperty(False)
    can_next = BooleanProperty(False)


class PagedBox(Layout):  # type: ignore[misc]
    """A vertical box that shows as many of its children as fit, and pages through the rest
    with "previous" and "next" buttons of full target size.

    Children with a fixed height (``size_hint_y: None``) are laid out top to bottom like a
    vertical BoxLayout; the others are spacers that share what is left. When the children do
    not fit, they are cut into pages between children (never through a text), spacers are
    dropped, and only the current page's children are in the widget tree, so what is not
    shown is neither drawn, tapped, nor read aloud. No scrolling, no swiping: EN 301 549 5.5
    (the UI tests forbid ScrollView) and a citizen with tremors pages with big buttons.
    """

    padding = VariableListProperty([0, 0, 0, 0])
    spacing = NumericProperty(0)
    page = NumericProperty(0)
    pages = NumericProperty(1)
    #: Height the children need on one page (spacers empty), padding included.
    minimum_height = NumericProperty(0)
    #: The last child (a dialog's buttons) is on every page, under that page's children.
    keep_last = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        self.items: list[Widget] = []
        self._internal = True
        super().__init__(**kwargs)
        self._internal = False
        self.nav = PagerNav(pager=self)
        self.nav.bind(height=self._trigger_layout)
        self.bind(size=self._trigger_layout, pos=self._trigger_layout,
                  padding=self._trigger_layout, spacing=self._trigger_layout,
                  page=self._trigger_layout)

    def add_widget(self, widget: Widget, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_placing", False):
            super().add_widget(widget, *args, **kwargs)
            return
        # Kivy's index counts from the end: 0 adds last, 1 before the last item, ...
        index = int(kwargs.get("index", args[0] if args else 0))
        self.items.insert(len(self.items) - min(index, len(self.items)), widget)
        widget.bind(height=self._trigger_layout, size_hint_y=self._trigger_layout,
                    opacity=self._trigger_layout)
        self._trigger_layout()

    def remove_widget(self, widget: Widget, *args: Any, **kwargs: Any) -> None:
        if widget in self.items and not getattr(self, "_placing", False):
            self.items.remove(widget)
        super().remove_widget(widget, *args, **kwargs)

    def previous(self) -> None:
        self.page = max(0, self.page - 1)

    def next(self) -> None:
        self.page = min(self.pages - 1, self.page + 1)

    def _pages(self, room: float, items: list[Widget]) -> list[list[Widget]]:
        pages: list[list[Widget]] = [[]]
        used = 0.0
        for item in items:
            if item.size_hint_y is not None or item.height < 1:
                continue
            need = item.height + (self.spacing if pages[-1] else 0)
            if pages[-1] and used + need > room:
                pages.append([])
                used, need = 0.0, item.height
            pages[-1].append(item)
            used += need
        return pages

    def do_layout(self, *_: Any) -> None:
        left, top, right, bottom = self.padding
        inner_w = max(1.0, self.width - left - right)
        room = self.height - top - bottom
        for item in self.items:
            if item.size_hint_x is not None:
                item.width = inner_w * item.size_hint_x
        fixed = [i for i in self.items if i.size_hint_y is None and i.height >= 1]
        needed = sum(i.height for i in fixed) + self.spacing * max(0, len(fixed) - 1)
        self.minimum_height = needed + top + bottom
        if needed <= room + 0.5:
            shown = list(self.items)
            self.pages, nav = 1, False
            self.page = 0
        else:
            items, last = list(self.items), []
            if self.keep_last and items:
                last = [items.pop()]
                room -= last[0].height + self.spacing
            pages = self._pages(room - self.nav.height - self.spacing, items)
            self.pages = len(pages)
            if self.page >= self.pages:
                self.page = self.pages - 1
            shown, nav = pages[int(self.page)] + last, True
        self.nav.page_text = f"{int(self.page) + 1} / {int(self.pages)}"
        self.nav.can_previous = nav and self.page > 0
        self.nav.can_next = nav and self.page < self.pages - 1
        wanted = shown + ([self.nav] if nav else [])
        if list(reversed(self.children)) != wanted:
            self._placing = True
            try:
                self.clear_widgets()
                for widget in wanted:
                    super().add_widget(widget)
                    if widget is not self.nav:
                        mirror(widget, _rtl())
            finally:
                self._placing = False
        flexible = [i for i in shown if i.size_hint_y is not None]
        spare = max(0.0, room - needed) if not nav else 0.0
        weights = sum(i.size_hint_y for i in flexible) or 1.0
        y = self.top - top
        first = True
        for item in shown:
            if item.size_hint_y is not None:
                item.height = spare * item.size_hint_y / weights
            elif item.height < 1:
                item.y = y
                item.x = self.x + left
                continue
            if not first:
                y -= self.spacing
            first = False
            y -= item.height
            item.y = y
            item.x = self.x + left if item.size_hint_x is not None else \
                self.x + left + (inner_w - item.width) / 2
        if nav:
            self.nav.width = inner_w
            self.nav.x = self.x + left
            self.nav.y = self.y + bottom


def _rtl() -> bool:
    from kiosk.ui.style import style

    return bool(style.rtl)


class DialogLayer(FloatLayout):  # type: ignore[misc]
    """Holds the open dialog; while one is open it takes every touch (a modal dialog)."""

    def on_touch_down(self, touch: Any) -> bool:
        if self.disabled or self.opacity < 0.5:
            return False
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if self.disabled or self.opacity < 0.5:
            return False
        super().on_touch_up(touch)
        return True
