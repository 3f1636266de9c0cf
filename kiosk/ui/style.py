"""The theme as Kivy properties, so kv rules bind to it: ``font_size: style.font_body``.

:class:`kiosk.theme.Theme` computes everything (pixels from millimetres,
colours of the current mode); this proxy only mirrors it into properties.
Switching to large text or high contrast calls :meth:`StyleProxy.apply`, and
every rule that reads ``style.…`` redraws.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

from kiosk.theme import Palette, Theme


class StyleProxy(EventDispatcher):  # type: ignore[misc]  # Kivy ships no types
    dpi = NumericProperty(96.0)
    portrait = BooleanProperty(False)     # the window is taller than wide (set by the app)
    large_text = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    rtl = BooleanProperty(False)          # the language is written right to left (Arabic)
    #: Pixels left empty at the top of the window in the lowered layout, so that every
    #: control is within reach from a wheelchair (0 when not lowered or not needed).
    lowered_offset = NumericProperty(0)

    target = NumericProperty(58)
    button_height = NumericProperty(58)
    spacing = NumericProperty(11)
    padding = NumericProperty(19)
    radius = NumericProperty(8)
    font_small = NumericProperty(14)
    font_body = NumericProperty(17)
    font_button = NumericProperty(19)
    font_title = NumericProperty(24)
    font_headline = NumericProperty(32)

    background = ColorProperty()
    surface = ColorProperty()
    text = ColorProperty()
    text_muted = ColorProperty()
    primary = ColorProperty()
    primary_ink = ColorProperty()
    secondary = ColorProperty()
    secondary_ink = ColorProperty()
    danger = ColorProperty()
    danger_ink = ColorProperty()
    agent = ColorProperty()
    agent_ink = ColorProperty()
    success = ColorProperty()
    success_ink = ColorProperty()
    outline = ColorProperty()
    scrim = ColorProperty()
    focus = ColorProperty()
    focus_pending = ColorProperty()
    focus_casing = ColorProperty()
    disabled = ColorProperty()
    disabled_ink = ColorProperty()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.theme = Theme()
        self.apply(self.theme)

    def apply(self, theme: Theme) -> None:
        self.theme = theme
        self.dpi = theme.dpi
        self.large_text = theme.large_text
        self.high_contrast = theme.high_contrast
        self.target = theme.target
        self.button_height = theme.button_height
        self.spacing = theme.spacing
        self.padding = theme.padding
        self.radius = theme.radius
        for kind in ("small", "body", "button", "title", "headline"):
            setattr(self, f"font_{kind}", theme.font(kind))
        palette = theme.palette
        for f in fields(Palette):
            if f.name != "name":
                setattr(self, f.name, getattr(palette, f.name))

    def lower(self, lowered: bool, window_height: float, panel_bottom_mm: float) -> None:
        """Leave the top of a tall panel empty in the lowered layout: every control under
        :data:`kiosk.theme.REACH_MAX_MM` from the floor (EN 301 549 8.3)."""
        self.lowered_offset = self.theme.lowered_offset(window_height, panel_bottom_mm) \
            if lowered else 0

    def mm(self, millimetres: float) -> float:
        """Pixels for a length in millimetres (for sizes kv rules compute)."""
        return float(self.theme.px(millimetres))


#: The one instance the kv files import: ``#:import style kiosk.ui.style.style``.
style = StyleProxy()
