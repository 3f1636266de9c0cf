"""Prepare Kivy before its first import: window size, full screen, where it keeps its files.

Kivy reads its configuration when ``kivy`` is first imported and creates the
window when ``kivy.core.window`` is; so :func:`prepare` must run before any
other module of :mod:`kiosk.ui` is imported. It imports nothing of Kivy itself
until the environment is set.
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare(*, width: int, height: int, fullscreen: bool, kivy_home: Path | None = None,
            console_log: bool = False) -> None:
    """Set Kivy's environment and graphics configuration for the kiosk window."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")            # our command line is ours
    os.environ.setdefault("KIVY_NO_CONFIG", "1")          # no ~/.kivy/config.ini to drift
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")      # Kivy logs go through logging
    if not console_log:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if kivy_home is not None:
        kivy_home.mkdir(parents=True, exist_ok=True)
        os.environ["KIVY_HOME"] = str(kivy_home)
    import logging

    from kivy.config import Config

    if not console_log:
        # Kivy says what it found (GL version, providers) at INFO: for a technician's -v only.
        logging.getLogger("kivy").setLevel(logging.WARNING)

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("kivy", "exit_on_escape", "0")             # no way out for a citizen
    Config.set("kivy", "log_enable", "0")                 # no log file of Kivy's own
    Config.set("input", "mouse", "mouse,disable_multitouch")


def reported_dpi() -> float:
    """The density the display reports to Kivy (after :func:`prepare`; 96 under Xvfb)."""
    from kivy.metrics import Metrics

    return float(Metrics.dpi)
