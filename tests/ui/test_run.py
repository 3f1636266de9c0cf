"""``kiosk run``'s application loop: the real App.run(), the welcome screen, systemd told."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui


def test_kiosk_run_shows_the_welcome_screen_and_tells_systemd_it_is_ready(
        display, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kivy.app import App
    from kivy.clock import Clock

    from devtools.citizen import sim_config
    from kiosk.commands.run import run_app

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    seen: dict[str, str] = {}
    polls = []

    def look_and_stop(dt: float) -> bool:
        app = App.get_running_app()
        if app is None or app.root is None:
            return True
        polls.append(dt)
        seen["screen"] = app.root.ids.sm.current
        seen["text"] = app.root.describe()
        if "nouveaux dossiers" in seen["text"] or len(polls) > 60:
            app.stop()
            return False
        return True

    poll = Clock.schedule_interval(look_and_stop, 0.25)
    try:
        status = run_app(sim_config(tmp_path / "data"), None, width=1280, height=800,
                         fullscreen=False)
    finally:
        poll.cancel()
    assert status == 0
    assert seen["screen"] == "welcome"
    # Not enrolled: the kiosk runs, and says it cannot take dossiers.
    assert "ne peut pas prendre de nouveaux dossiers" in seen["text"]
    messages = []
    while True:
        try:
            messages.append(notify.recv(4096).decode())
        except BlockingIOError:
            break
    notify.close()
    assert any("READY=1" in m for m in messages), messages
