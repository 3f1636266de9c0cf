"""The theme: sizes from millimetres, text sizes from the capital height, contrast of every pair."""

from __future__ import annotations

import pytest

from kiosk.theme import (
    DEJAVU_CAP_HEIGHT,
    HIGH_CONTRAST,
    STANDARD,
    Theme,
    angle_of_cap,
    contrast_ratio,
    rgb,
    theme_from_config,
)


@pytest.mark.parametrize("dpi", [96, 102, 141, 149])
def test_touch_targets_are_fifteen_millimetres_on_any_panel(dpi: float) -> None:
    theme = Theme(dpi=dpi)
    assert theme.mm(theme.target) == pytest.approx(15, abs=0.2)
    assert theme.button_height >= theme.target


@pytest.mark.parametrize("dpi", [96, 102, 141, 150, 220])
@pytest.mark.parametrize("distance", [500, 700])
def test_large_text_makes_every_capital_h_subtend_0_7_degree(dpi: float, distance: float) -> None:
    """EN 301 549 5.1.4 on every kind of text, the small print included, after rounding to
    whole pixels (the 0.69 degree of an earlier version came from rounding down)."""
    theme = Theme(dpi=dpi, large_text=True, viewing_distance_mm=distance)
    for kind in ("small", "body", "button", "title", "headline"):
        cap = theme.mm(theme.font(kind) * DEJAVU_CAP_HEIGHT)
        assert angle_of_cap(cap, distance) >= 0.7, (kind, cap)
    assert Theme(dpi=dpi).font("body") < theme.font("body")


def test_the_lowered_layout_keeps_every_control_under_1220_mm() -> None:
    theme = Theme(dpi=102)
    tall = 1920                                       # 478 mm of a 21.5-inch portrait panel
    offset = theme.lowered_offset(tall, panel_bottom_mm=800)
    assert 800 + theme.mm(tall - offset) == pytest.approx(1220, abs=0.5)
    assert theme.lowered_offset(800, panel_bottom_mm=800) == 0     # already within reach
    assert theme.mm(tall - theme.lowered_offset(tall, panel_bottom_mm=1200)) >= 120


@pytest.mark.parametrize(("palette", "minimum"), [(STANDARD, 4.5), (HIGH_CONTRAST, 7.0)])
def test_every_text_colour_pair_is_readable(palette, minimum: float) -> None:
    ratios = {name: contrast_ratio(fg, bg) for name, (fg, bg) in palette.pairs().items()}
    assert min(ratios.values()) >= minimum, ratios
    assert contrast_ratio(palette.text, palette.background) >= 7


def test_contrast_ratio_matches_wcag() -> None:
    assert contrast_ratio(rgb("#000000"), rgb("#FFFFFF")) == pytest.approx(21)
    assert contrast_ratio(rgb("#777777"), rgb("#FFFFFF")) == pytest.approx(4.48, abs=0.01)


def test_the_configuration_picks_the_dpi_and_the_modes() -> None:
    assert theme_from_config(0, None, "standard").dpi == 96
    assert theme_from_config(0, 141.0, "standard").dpi == 141
    chosen = theme_from_config(120, 141.0, "large-contrast")
    assert chosen.dpi == 120 and chosen.large_text and chosen.high_contrast
    assert chosen.palette is HIGH_CONTRAST
    assert Theme().with_modes(high_contrast=True).palette is HIGH_CONTRAST
