"""Data files: fonts, icons, message catalogs, the procedure catalog, sample pages.

Code finds them through :func:`path`, which works from a checkout and from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """The path of an asset, e.g. ``path("catalog", "caf-apl.toml")``."""
    return ROOT.joinpath(*parts)
