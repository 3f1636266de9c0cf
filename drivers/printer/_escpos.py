"""Import python-escpos without its import-time side effects.

Importing ``escpos.capabilities`` (which every part of python-escpos does)

- calls ``logging.basicConfig()``, which installs a root handler when there is
  none yet, so the application's own ``logging.basicConfig(...)`` later does
  nothing at all;
- creates a temporary folder (``mkdtemp()``) for a pickle cache and never
  removes it: one stray folder in /tmp per process.

This module imports it once with a placeholder root handler in place and the
cache folder pointed at a temporary folder removed when the process exits.
Everything in ``drivers.printer`` that needs python-escpos imports it from here.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import shutil
import sys
import tempfile
from typing import Any

_CACHE_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _import_quietly() -> None:
    if "escpos.capabilities" in sys.modules:
        return
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    previous = os.environ.get(_CACHE_VARIABLE)
    cache = None
    if previous is None:
        cache = tempfile.mkdtemp(prefix="escpos-capabilities-")
        os.environ[_CACHE_VARIABLE] = cache
    try:
        importlib.import_module("escpos.capabilities")
        importlib.import_module("escpos.escpos")
    finally:
        root.removeHandler(placeholder)
        if cache is not None:
            del os.environ[_CACHE_VARIABLE]
            atexit.register(shutil.rmtree, cache, ignore_errors=True)


_import_quietly()

from escpos.capabilities import CAPABILITIES as _CAPABILITIES  # noqa: E402
from escpos.escpos import Escpos  # noqa: E402

#: The capability database of python-escpos: ``{"profiles": {...}, "encodings": {...}}``.
CAPABILITIES: dict[str, Any] = _CAPABILITIES

__all__ = ["CAPABILITIES", "Escpos"]
