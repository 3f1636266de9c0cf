"""Tell systemd we are ready and alive (``Type=notify`` with ``WatchdogSec=``).

The protocol is one datagram to the socket named by ``$NOTIFY_SOCKET`` (a path,
or an abstract socket when it starts with ``@``); it needs no library, and
systemd-python has no wheels. Outside systemd (no ``$NOTIFY_SOCKET``) every
call does nothing, so the same code runs on a laptop.

    notifier = Notifier.from_environment()
    notifier.ready("kiosk ready")          # READY=1
    ...
    notifier.watchdog()                    # call at least every notifier.ping_interval / 2 s

Ping the watchdog from the loop whose hang should restart the service (the
Kivy clock for the UI), never from a thread of its own that pings regardless:
it would keep pinging while the loop is stuck. A loop that legitimately waits
on a bounded operation (the uploader's network requests, which give up after
``[upload] timeout_s`` without a byte moving) uses :class:`LoopWatch`: the loop
beats at each step, and a thread pings on its behalf only while the last beat
is more recent than that bound; a loop stuck for longer stops the pings.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Notifier:
    """Sends sd_notify messages; does nothing when ``address`` is None."""

    address: str | None
    watchdog_usec: int | None = None
    clock: Callable[[], float] = time.monotonic
    _last_ping: float = field(default=float("-inf"), init=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None,
                         clock: Callable[[], float] = time.monotonic) -> Notifier:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        watchdog_usec: int | None = None
        # WATCHDOG_PID, when set, names the process the watchdog is meant for. Under
        # a compositor (cage) that process is our parent; KIOSK_WATCHDOG_CHILD=1 in
        # the unit says the parent's watchdog is ours to ping.
        pid = env.get("WATCHDOG_PID")
        ours = {str(os.getpid())}
        if env.get("KIOSK_WATCHDOG_CHILD") == "1":
            ours.add(str(os.getppid()))
        if env.get("WATCHDOG_USEC") and (pid is None or pid in ours):
            try:
                watchdog_usec = int(env["WATCHDOG_USEC"])
            except ValueError:
                log.warning("ignoring WATCHDOG_USEC=%r: not an integer", env["WATCHDOG_USEC"])
        return cls(address=address, watchdog_usec=watchdog_usec, clock=clock)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def ping_interval(self) -> float | None:
        """The longest gap allowed between two pings: half the interval systemd allows (its
        own advice), or None without a watchdog. Call :meth:`watchdog` at least every half of
        this: it sends once a quarter of systemd's interval has passed, so the pings that go
        are never further apart than this, whatever the caller's rhythm."""
        if not self.watchdog_usec:
            return None
        return self.watchdog_usec / 2_000_000

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; False (and a log line) if it fails."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(message)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        lines = ["READY=1"] + ([f"STATUS={status}"] if status else [])
        return self.send(*lines)

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        """Ping the watchdog if a quarter of its interval has passed since the last ping."""
        interval = self.ping_interval
        if interval is None:
            return False
        now = self.clock()
        if now - self._last_ping < interval / 2:
            return False
        self._last_ping = now
        return self.send("WATCHDOG=1")


class LoopWatch:
    """Feeds the watchdog for a loop that may wait on operations bounded by ``stale_after``.

    The loop calls :meth:`beat` at each step (a block sent, a request made, a
    moment of its idle wait); a thread pings ``notifier`` every quarter of the
    watchdog's interval for as long as the last beat is at most ``stale_after``
    seconds old. Outside systemd's watchdog it does nothing.
    """

    def __init__(self, notifier: Notifier, stale_after: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.notifier = notifier
        self.stale_after = stale_after
        self._clock = clock
        self._last_beat = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stale_logged = False

    def beat(self) -> None:
        self._last_beat = self._clock()

    @property
    def alive(self) -> bool:
        return self._clock() - self._last_beat <= self.stale_after

    def start(self) -> LoopWatch:
        interval = self.notifier.ping_interval
        if interval is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(interval / 2,),
                                            name="watchdog", daemon=True)
            self._thread.start()
        return self

    def _run(self, every: float) -> None:
        while not self._stop.wait(every / 2):
            if self.alive:
                self._stale_logged = False
                self.notifier.watchdog()
            elif not self._stale_logged:
                self._stale_logged = True
                log.error("the loop has not moved for %.0f s (more than %.0f s): watchdog "
                          "pings stop, systemd will restart the service",
                          self._clock() - self._last_beat, self.stale_after)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
