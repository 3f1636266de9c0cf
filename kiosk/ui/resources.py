"""What the application loads once per process before its first screen: the font and the
kv rules."""

from __future__ import annotations

from pathlib import Path

from kivy.lang import Builder

HERE = Path(__file__).resolve().parent
_KV_LOADED = False


def use_dejavu() -> None:
    """DejaVu Sans as the default font: every French letter, ⇧ ⌫ ✓ ☑, Arabic, and the cap
    height the theme's text sizes are computed for (Kivy's own Roboto has no arrows)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    from printer.fonts import BOLD, REGULAR, font_path

    LabelBase.register(DEFAULT_FONT, str(font_path(REGULAR)), fn_bold=str(font_path(BOLD)))


def load_kv() -> None:
    """Load the kv files once per process (loading twice would double every rule)."""
    global _KV_LOADED
    if _KV_LOADED:
        return
    Builder.load_file(str(HERE / "widgets.kv"))
    for path in sorted((HERE / "screens").glob("*.kv")):
        Builder.load_file(str(path))
    Builder.load_file(str(HERE / "root.kv"))
    _KV_LOADED = True
