"""sd_notify: readiness and watchdog pings reach a real datagram socket, path or abstract."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from kiosk.systemd import Notifier


def listen(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    sock.settimeout(2)
    return sock


@pytest.mark.parametrize("abstract", [False, True])
def test_ready_reaches_the_notify_socket(tmp_path: Path, abstract: bool) -> None:
    address = f"@kiosk-test-{os.getpid()}" if abstract else str(tmp_path / "notify")
    with listen(address) as sock:
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": address})
        assert notifier.ready("waiting for the camera")
        assert sock.recv(4096) == b"READY=1\nSTATUS=waiting for the camera"


def test_watchdog_pings_never_further_apart_than_half_the_interval(tmp_path: Path) -> None:
    now = [100.0]
    address = str(tmp_path / "notify")
    with listen(address) as sock:
        notifier = Notifier.from_environment(
            {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "20000000"}, clock=lambda: now[0])
        assert notifier.ping_interval == 10.0      # the longest gap allowed between two pings
        assert notifier.watchdog()                 # first ping goes at once
        now[0] += 4.9
        assert not notifier.watchdog()             # too early: nothing sent
        now[0] += 0.2
        assert notifier.watchdog()                 # a quarter of the interval: sent
        # A caller that calls every 5 s (half of ping_interval) gets pings at most 10 s apart.
        now[0] += 9.9
        assert notifier.watchdog()
        assert [sock.recv(64) for _ in range(3)] == [b"WATCHDOG=1"] * 3
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(64)


def test_watchdog_for_another_process_is_ignored(tmp_path: Path) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "n"),
                                          "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert notifier.ping_interval is None


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert not notifier.ready() and not notifier.watchdog()


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.ready() is False
    assert "cannot notify systemd" in caplog.text


def test_a_child_of_the_compositor_pings_the_parents_watchdog_when_told(tmp_path: Path) -> None:
    env = {"NOTIFY_SOCKET": str(tmp_path / "n"), "WATCHDOG_USEC": "1000000",
           "WATCHDOG_PID": str(os.getppid())}
    assert Notifier.from_environment(env).ping_interval is None
    assert Notifier.from_environment({**env, "KIOSK_WATCHDOG_CHILD": "1"}).ping_interval == 0.5
