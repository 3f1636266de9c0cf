"""A systemd notify socket for tests: what a service sends with sd_notify, with arrival times."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from pathlib import Path


class NotifySocket:
    """Binds a datagram socket as systemd does for ``Type=notify`` and records every message
    (``(monotonic time, text)``) in a thread until :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def pings(self, start: float = float("-inf"), end: float = float("inf")) -> list[float]:
        """Times of the WATCHDOG=1 messages between ``start`` and ``end``."""
        return [t for t, text in list(self.messages)
                if "WATCHDOG=1" in text.splitlines() and start <= t <= end]

    def first(self, line: str) -> float | None:
        """When a message holding ``line`` (e.g. READY=1) first came, or None."""
        return next((t for t, text in list(self.messages) if line in text.splitlines()), None)

    def wait_for(self, line: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while (seen := self.first(line)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {line} within {timeout:g} s; got {self.messages}")
            time.sleep(0.05)
        return seen

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def gaps(times: list[float], start: float, end: float) -> list[float]:
    """The silences between consecutive pings over [start, end], the edges included."""
    points = [start, *[t for t in times if start < t < end], end]
    return [b - a for a, b in itertools.pairwise(points)]
