"""Import python-escpos without its import-time side effects.

Importing ``escpos.capabilities`` (which every part of python-escpos does)

- calls ``logging.basicConfig()``, which installs a root handler when there is
  none yet, so the application's own ``logging.basicConfig(...)`` later does
  nothing at all;
- creates a temporary folder (``mkdtemp()``) for a pickle cache and never
  removes it: one stray folder in /tmp per process.

This module imports it once with a placeholder root handler in place, and
removes that folder when the process exits.
Everything in ``drivers.printer`` that needs python-escpos imports it from here.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import shutil
import sys
import tempfile
from typing import Any


def _import_quietly() -> None:
    if "escpos.capabilities" in sys.modules:
        return
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    # capabilities.py runs ``environ.get(VARIABLE, mkdtemp())``: mkdtemp() runs even
    # when the variable is set, so the folder it makes is noted here and removed at exit.
    made: list[str] = []
    original = tempfile.mkdtemp

    def noting_mkdtemp(*args: Any, **kwargs: Any) -> Any:
        folder = original(*args, **kwargs)
        if sys._getframe(1).f_globals.get("__name__") == "escpos.capabilities":
            made.append(folder)
        return folder

    tempfile.mkdtemp = noting_mkdtemp
    try:
        importlib.import_module("escpos.capabilities")
        importlib.import_module("escpos.escpos")
    finally:
        tempfile.mkdtemp = original
        root.removeHandler(placeholder)
        for folder in made:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)


_import_quietly()

from escpos.capabilities import CAPABILITIES as _CAPABILITIES  # noqa: E402
from escpos.escpos import Escpos  # noqa: E402

#: The capability database of python-escpos: ``{"profiles": {...}, "encodings": {...}}``.
CAPABILITIES: dict[str, Any] = _CAPABILITIES

__all__ = ["CAPABILITIES", "Escpos"]
