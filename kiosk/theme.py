"""Sizes and colours of the citizen interface, in one place, in millimetres.

Every size on screen is computed here from physical millimetres and the
display's DPI, so a touch target is at least 15 mm wide and high whatever the
screen (EN 301 549 and the usual kiosk guidance ask for 9 to 19 mm; 15 mm
suits people with tremors and big fingers). The DPI is ``[ui] dpi`` in the
configuration; 0 means "what the display reports", and 96 when it reports
nothing. Assumption: the configured or reported DPI is the panel's real one;
set it when a panel lies (common with HDMI panels), e.g. 149 for a 10.1-inch
1280x800, 141 for a 15.6-inch 1920x1080, 102 for a 21.5-inch 1920x1080.

Text sizes are given by the height of a capital letter: in the large-text mode
a capital H is 6.1 mm, 0.7 degree at 500 mm (EN 301 549, 5.1.4). Font size =
cap height / 0.729 for DejaVu Sans.

Two palettes: the standard one (French State blue and red on white, text at
contrast >= 7:1 for body text and >= 4.5:1 elsewhere) and a high-contrast one
(white and yellow on black, every pair >= 7:1). The test suite checks both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

RGBA = tuple[float, float, float, float]

MM_PER_INCH = 25.4
DEFAULT_DPI = 96.0
DEJAVU_CAP_HEIGHT = 0.729     # capital height / font size for DejaVu Sans
MIN_TARGET_MM = 15.0
#: The highest point a wheelchair user reaches forward (EN 301 549 8.3.2.x, after ADA 308):
#: 1220 mm; the lowest, 380 mm, is the installer's business (``[ui] panel_bottom_mm``).
REACH_MAX_MM = 1220.0
#: The lowered layout never shrinks the journey's area below this height: a panel mounted
#: so high that less would remain is mounted wrong, and the layout says so in the log.
LOWERED_MIN_MM = 120.0


def rgb(hex_colour: str, alpha: float = 1.0) -> RGBA:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def relative_luminance(colour: RGBA) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGBA, b: RGBA) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Palette:
    name: str
    background: RGBA
    surface: RGBA          # cards, the top and bottom bars
    text: RGBA
    text_muted: RGBA       # secondary text (still >= 4.5:1 on background and surface)
    primary: RGBA          # the one obvious next step
    primary_ink: RGBA
    secondary: RGBA        # other buttons
    secondary_ink: RGBA
    danger: RGBA           # cancel, errors
    danger_ink: RGBA
    agent: RGBA            # "call an agent"
    agent_ink: RGBA
    success: RGBA
    success_ink: RGBA
    outline: RGBA
    scrim: RGBA            # behind dialogs
    focus: RGBA            # the page outline in the preview (page steady), selection
    focus_pending: RGBA    # the page outline while the page is not yet steady or legible
    focus_casing: RGBA     # drawn under the outline: a two-tone line stands out on any tray
    disabled: RGBA
    disabled_ink: RGBA

    def pairs(self) -> dict[str, tuple[RGBA, RGBA]]:
        """(foreground, background) pairs that carry text, for contrast checks."""
        return {
            "text/background": (self.text, self.background),
            "text/surface": (self.text, self.surface),
            "text_muted/background": (self.text_muted, self.background),
            "text_muted/surface": (self.text_muted, self.surface),
            "primary_ink/primary": (self.primary_ink, self.primary),
            "secondary_ink/secondary": (self.secondary_ink, self.secondary),
            "danger_ink/danger": (self.danger_ink, self.danger),
            "agent_ink/agent": (self.agent_ink, self.agent),
            "success_ink/success": (self.success_ink, self.success),
            "disabled_ink/disabled": (self.disabled_ink, self.disabled),
            "danger/background": (self.danger, self.background),
        }


STANDARD = Palette(
    name="standard",
    background=rgb("#F6F6F6"), surface=rgb("#FFFFFF"), text=rgb("#161616"),
    text_muted=rgb("#3A3A3A"), primary=rgb("#000091"), primary_ink=rgb("#FFFFFF"),
    secondary=rgb("#E3E3FD"), secondary_ink=rgb("#000091"), danger=rgb("#C9191E"),
    danger_ink=rgb("#FFFFFF"), agent=rgb("#6A1B9A"), agent_ink=rgb("#FFFFFF"),
    success=rgb("#18753C"), success_ink=rgb("#FFFFFF"), outline=rgb("#666666"),
    scrim=rgb("#000000", 0.6), focus=rgb("#00C853"), focus_pending=rgb("#FF8C00"),
    focus_casing=rgb("#000000"), disabled=rgb("#D0D0D0"),
    disabled_ink=rgb("#3A3A3A"),
)

HIGH_CONTRAST = Palette(
    name="high-contrast",
    background=rgb("#000000"), surface=rgb("#000000"), text=rgb("#FFFFFF"),
    text_muted=rgb("#FFFF00"), primary=rgb("#FFFF00"), primary_ink=rgb("#000000"),
    secondary=rgb("#FFFFFF"), secondary_ink=rgb("#000000"), danger=rgb("#FF9E9E"),
    danger_ink=rgb("#000000"), agent=rgb("#00FFFF"), agent_ink=rgb("#000000"),
    success=rgb("#7CFC00"), success_ink=rgb("#000000"), outline=rgb("#FFFFFF"),
    scrim=rgb("#000000", 0.85), focus=rgb("#00FFFF"), focus_pending=rgb("#FF8C00"),
    focus_casing=rgb("#000000"), disabled=rgb("#333333"),
    disabled_ink=rgb("#FFFFFF"),
)

#: Capital-letter heights in millimetres: (standard, large text). In large text every kind
#: is at least :func:`cap_for_angle` of 0.7 degree at the viewing distance (6.11 mm at
#: 500 mm): all text the citizen must read, the small print included (EN 301 549 5.1.4).
_CAPS_MM = {
    "small": (2.6, 6.2),
    "body": (3.2, 6.2),
    "button": (3.6, 6.4),
    "title": (4.6, 7.2),
    "headline": (6.2, 8.5),
}
LARGE_TEXT_DEGREES = 0.7
DEFAULT_VIEWING_MM = 500.0


def cap_for_angle(degrees: float, distance_mm: float) -> float:
    """The capital height, in millimetres, that subtends ``degrees`` at ``distance_mm``."""
    return 2 * distance_mm * math.tan(math.radians(degrees) / 2)


def angle_of_cap(cap_mm: float, distance_mm: float) -> float:
    """The visual angle, in degrees, of a capital ``cap_mm`` high seen from ``distance_mm``."""
    return math.degrees(2 * math.atan(cap_mm / (2 * distance_mm)))


@dataclass(frozen=True)
class Theme:
    """Sizes in pixels for one display, and the colours of the current mode."""

    dpi: float = DEFAULT_DPI
    large_text: bool = False
    high_contrast: bool = False
    min_target_mm: float = MIN_TARGET_MM
    viewing_distance_mm: float = DEFAULT_VIEWING_MM

    @property
    def palette(self) -> Palette:
        return HIGH_CONTRAST if self.high_contrast else STANDARD

    def px(self, mm: float) -> float:
        """Pixels for a length in millimetres on this display."""
        return mm * self.dpi / MM_PER_INCH

    def mm(self, px: float) -> float:
        return px * MM_PER_INCH / self.dpi

    def font(self, kind: str) -> float:
        """Font size in pixels of a kind of text (small, body, button, title, headline)."""
        return math.ceil(self.px(self.cap_mm(kind)) / DEJAVU_CAP_HEIGHT)

    def cap_mm(self, kind: str) -> float:
        """The capital height, in millimetres, of a kind of text in the current mode."""
        standard, large = _CAPS_MM[kind]
        if not self.large_text:
            return standard
        return max(large, cap_for_angle(LARGE_TEXT_DEGREES, self.viewing_distance_mm))

    @property
    def target(self) -> float:
        """The smallest side of anything touchable, in pixels."""
        return round(self.px(self.min_target_mm))

    @property
    def button_height(self) -> float:
        """Height of ordinary buttons: the target, or more when the label is large."""
        return max(self.target, round(self.font("button") * 2.2))

    @property
    def spacing(self) -> float:
        return round(self.px(3))

    @property
    def padding(self) -> float:
        return round(self.px(5))

    @property
    def radius(self) -> float:
        return round(self.px(2))

    def lowered_offset(self, window_height: float, panel_bottom_mm: float) -> float:
        """Pixels to leave empty at the top of a window ``window_height`` pixels tall whose lower
        edge is ``panel_bottom_mm`` above the floor, so that nothing is drawn above
        :data:`REACH_MAX_MM`; the rest keeps at least :data:`LOWERED_MIN_MM` of height."""
        top_mm = panel_bottom_mm + self.mm(window_height)
        excess = max(0.0, top_mm - REACH_MAX_MM)
        keep = min(self.mm(window_height), LOWERED_MIN_MM)
        return round(self.px(min(excess, self.mm(window_height) - keep)))

    def with_modes(self, *, large_text: bool | None = None,
                   high_contrast: bool | None = None) -> Theme:
        return replace(self,
                       large_text=self.large_text if large_text is None else large_text,
                       high_contrast=self.high_contrast if high_contrast is None
                       else high_contrast)


def theme_from_config(dpi: float, reported_dpi: float | None, name: str) -> Theme:
    """The theme for ``[ui] dpi`` (0: the display's ``reported_dpi``) and ``[ui] theme``."""
    effective = dpi if dpi > 0 else (reported_dpi or DEFAULT_DPI)
    return Theme(dpi=effective, large_text=name in LARGE_THEMES,
                 high_contrast=name in CONTRAST_THEMES)


THEMES = ("standard", "large", "contrast", "large-contrast")
LARGE_THEMES = frozenset({"large", "large-contrast"})
CONTRAST_THEMES = frozenset({"contrast", "large-contrast"})
