"""The touchscreen application feeds systemd's watchdog for as long as its UI thread turns.

From outside, as systemd sees it: ``kiosk run --windowed`` under the virtual display with
``NOTIFY_SOCKET`` and ``WATCHDOG_USEC=4000000``; every 2 s at most a ``WATCHDOG=1`` over
20 s. And inside the application: a UI thread blocked for 3 s sends nothing meanwhile
(no helper thread pings on its behalf), then pings again once it turns.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from devtools import processes
from tests.watchdog import NotifySocket, gaps

pytestmark = pytest.mark.ui

WATCHDOG_USEC = 4_000_000
HALF = WATCHDOG_USEC / 2_000_000


def test_kiosk_run_pings_the_watchdog_at_least_every_half_interval_for_twenty_seconds(
        display: str, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[devices]\ncamera = "sim://?placed=false"\n')
    notify = NotifySocket(tmp_path / "notify")
    log = tmp_path / "kiosk.log"
    process = processes.start(
        processes.kiosk_command("run", "--windowed", "--config", str(config)), log,
        cwd=tmp_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify"),
                           "WATCHDOG_USEC": str(WATCHDOG_USEC), "DISPLAY": display,
                           "KIVY_HOME": str(tmp_path / "kivy"), "WATCHDOG_PID": None})
    try:
        ready = notify.wait_for("READY=1", timeout=120)
        time.sleep(21)
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        window = (ready, ready + 20)
        pings = notify.pings(*window)
        silences = gaps(pings, *window)
        print(f"{len(pings)} pings in 20 s; longest silence {max(silences):.2f} s "
              f"(allowed {HALF:.1f} s)")
        assert max(silences) <= HALF, silences
    finally:
        processes.stop(process, timeout=15)
        notify.close()


def test_a_blocked_ui_thread_stops_the_pings_until_it_turns_again(
        display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kivy.app import App
    from kivy.clock import Clock

    from devtools.citizen import sim_config
    from kiosk.commands.run import run_app

    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")              # pings at most 0.5 s apart
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    marks: dict[str, float] = {}

    def block(_dt: float) -> None:
        marks["blocked"] = time.monotonic()
        time.sleep(3.0)                                          # the UI thread hangs
        marks["released"] = time.monotonic()

    def stop(_dt: float) -> None:
        app = App.get_running_app()
        if app is not None:
            app.stop()

    def plan(_dt: float) -> bool:
        """Once the app runs and told systemd it is ready: block 2.5 s later, stop after."""
        if App.get_running_app() is None or notify.first("READY=1") is None:
            return True
        Clock.schedule_once(block, 2.5)
        Clock.schedule_once(stop, 8.0)
        return False

    planner = Clock.schedule_interval(plan, 0.1)
    try:
        assert run_app(sim_config(tmp_path / "data"), None, width=1280, height=800,
                       fullscreen=False) == 0
    finally:
        planner.cancel()
        notify.close()
    blocked, released = marks["blocked"], marks["released"]
    before = notify.pings(blocked - 2.0, blocked)
    during = notify.pings(blocked + 0.05, released - 0.05)
    after = notify.pings(released, released + 2.0)
    print(f"pings: {len(before)} in the 2 s before, {len(during)} while blocked 3 s, "
          f"{len(after)} in the 2 s after")
    assert max(gaps(before, blocked - 2.0, blocked)) <= 0.5
    assert during == []
    assert after and after[0] - released < 0.5
