"""The real Kivy interface under a virtual display, on simulated devices (the fixtures of
tests/ui and tests/accessibility).

Kivy reads its environment when first imported, so this file prepares it at
import (before any test module imports :mod:`kiosk.ui`). The session fixture
``display`` starts Xvfb with ``-displayfd`` when there is no display, and stops
it at the end. Each test gets a fresh kiosk (its own data folder, outbox,
simulated camera and printer, and a fresh app on the one Kivy window).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.xvfb import Xvfb, need_virtual_display
from kiosk.ui import boot

KIVY_HOME = Path(tempfile.mkdtemp(prefix="kiosk-ui-kivy-"))
# The kiosk's own temporary folder, private to this run, so the tests can read all of it.
TMPDIR = Path(tempfile.mkdtemp(prefix="kiosk-ui-tmp-"))
os.environ["TMPDIR"] = str(TMPDIR)
tempfile.tempdir = None
boot.prepare(width=1280, height=800, fullscreen=False, kivy_home=KIVY_HOME)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    if not need_virtual_display():
        yield os.environ.get("DISPLAY", "")
        return
    xvfb = Xvfb(1920, 1920)
    try:
        yield xvfb.start()
    finally:
        xvfb.stop()


@pytest.fixture
def kiosk_data(tmp_path: Path) -> Path:
    data = tmp_path / "kiosk-data"
    data.mkdir()
    return data


@pytest.fixture
def make_kiosk(display: str, kiosk_data: Path):
    """``make_kiosk(**options)`` starts a kiosk; every kiosk started is closed after the test."""
    from devtools.citizen import OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk
    from kiosk.config import SessionSection

    started = []

    def make(*, printer: str = "", session: SessionSection | None = None, seed: int = 1,
             enrolled: bool = True):
        clock = OffsetClock()
        keys, identity = local_keys()
        config = sim_config(kiosk_data, printer=printer, session=session, seed=seed)
        kiosk = start_kiosk(config, keys if enrolled else None, clock=clock)
        kiosk.identity = identity            # type: ignore[attr-defined]
        kiosk.offset_clock = clock           # type: ignore[attr-defined]
        started.append(kiosk)
        return kiosk

    yield make
    for kiosk in started:
        kiosk.close()
