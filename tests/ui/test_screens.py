"""Screen rules that need the real widgets: speech text, the theme switch, nothing gestural."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ui


def test_every_screen_describes_itself_with_its_buttons(make_kiosk) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    text = driver.describe()
    assert text.splitlines()[0] == "Borne de dépôt"
    assert "Bouton : Commencer" in text and "Bouton : Appeler un agent" in text
    driver.tap_action("help")
    dialog = driver.describe()
    assert dialog.splitlines()[0] == "Aide" and "Bouton : Fermer" in dialog
    assert "Déposez les papiers" not in dialog               # only the dialog is read
    driver.tap_action("close")
    driver.tap_action("start")
    steps = driver.describe()
    assert steps.splitlines()[0] == "Étape 1 sur 6 : Démarche"
    assert "Bouton : Annuler" in steps


def test_large_text_and_high_contrast_restyle_every_screen_at_once(make_kiosk) -> None:
    from kiosk.theme import HIGH_CONTRAST
    from kiosk.ui.style import style

    kiosk = make_kiosk()
    driver = kiosk.driver
    start = driver.app.root.current_screen.ids.start
    before = start.font_size
    theme = driver.app.theme
    try:
        style.apply(theme.with_modes(large_text=True, high_contrast=True))
        driver.idle(3)
        assert start.font_size > before
        assert tuple(style.background) == HIGH_CONTRAST.background
        label = next(w for w in driver.app.root.current_screen.walk()
                     if type(w).__name__ == "KLabel" and w.text)
        assert tuple(label.color) in (HIGH_CONTRAST.text, HIGH_CONTRAST.text_muted)
        assert min(start.size) >= theme.target
    finally:
        style.apply(theme)
        driver.idle(2)
    assert start.font_size == before


def test_no_widget_listens_for_anything_but_a_tap(make_kiosk) -> None:
    """No swipe, drag, pinch or long press anywhere: only buttons' release (EN 301 549 5.5)."""
    from kivy.uix.behaviors import DragBehavior
    from kivy.uix.carousel import Carousel
    from kivy.uix.scatter import Scatter
    from kivy.uix.scrollview import ScrollView

    kiosk = make_kiosk()
    root = kiosk.app.root
    widgets = list(root.walk(restrict=True))
    for screen in root.screens.values():
        widgets += list(screen.walk(restrict=True))
    assert len(widgets) > 200
    gestural = (ScrollView, Scatter, Carousel, DragBehavior)
    assert [type(w).__name__ for w in widgets if isinstance(w, gestural)] == []
    ours = [cls.__name__ for w in widgets for cls in type(w).__mro__
            if cls.__module__.startswith("kiosk") and "on_touch_move" in vars(cls)]
    assert ours == []
