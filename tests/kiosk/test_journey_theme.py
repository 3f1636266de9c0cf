"""The theme: sizes from millimetres, text sizes from the capital height, contrast of every pair."""

from __future__ import annotations

import pytest

from kiosk.theme import (
    DEJAVU_CAP_HEIGHT,
    HIGH_CONTRAST,
    STANDARD,
    Theme,
    contrast_ratio,
    rgb,
    theme_from_config,
)


@pytest.mark.parametrize("dpi", [96, 102, 141, 149])
def test_touch_targets_are_fifteen_millimetres_on_any_panel(dpi: float) -> None:
    theme = Theme(dpi=dpi)
    assert theme.mm(theme.target) == pytest.approx(15, abs=0.2)
    assert theme.button_height >= theme.target


def test_large_text_makes_a_capital_h_at_least_6_1_mm() -> None:
    theme = Theme(dpi=102, large_text=True)
    for kind in ("body", "button", "title", "headline"):
        assert theme.mm(theme.font(kind) * DEJAVU_CAP_HEIGHT) >= 6.1 - 0.15
    assert Theme(dpi=102).font("body") < theme.font("body")


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
