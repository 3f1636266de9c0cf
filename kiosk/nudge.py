"""The kiosk application nudges the uploader: "a dossier was just queued, send it now".

One Unix datagram socket, ``{data_dir}/uploader.sock``, bound by ``kiosk
uploader``. After each deposit the application sends one empty datagram to it,
without blocking and without caring whether anyone listens: when the uploader
is down, busy or gone, the datagram is simply lost, and the uploader finds the
dossier anyway at its next poll (``[upload] poll_s``). Nothing but the wake-up
crosses: the uploader reads what to send from the outbox.

Both services run as the ``kiosk`` user with ``/var/lib/kiosk`` (0700) as their
state directory, so no other user can reach the socket. A path longer than a
Unix socket address allows (tests in deep temporary folders) falls back to an
abstract socket named after the folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SOCKET_NAME = "uploader.sock"
_MAX_PATH = 107          # sun_path is 108 bytes with its terminating NUL


def address(data_dir: Path) -> str:
    """The socket's address for a data folder: a path, or an abstract name (leading NUL)."""
    path = str(data_dir / SOCKET_NAME)
    if len(os.fsencode(path)) <= _MAX_PATH:
        return path
    digest = hashlib.sha256(os.fsencode(os.path.realpath(data_dir))).hexdigest()[:32]
    return f"\0deposit-kiosk-uploader-{digest}"


class Nudger:
    """The application's side: :meth:`__call__` never blocks and never raises."""

    def __init__(self, data_dir: Path) -> None:
        self.address = address(data_dir)

    def __call__(self) -> bool:
        """Send one nudge; whether a listener took it (False is normal with no uploader)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(b"", self.address)
        except OSError as exc:      # no uploader listening, or its queue is full: it will poll
            log.debug("uploader not nudged (%s): it will find the dossier at its next poll", exc)
            return False
        return True


class NudgeListener:
    """The uploader's side: bound at start, :meth:`wait` returns early when nudged."""

    def __init__(self, data_dir: Path) -> None:
        self.address = address(data_dir)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        path = None if self.address.startswith("\0") else Path(self.address)
        if path is not None:
            path.unlink(missing_ok=True)        # left by an uploader that was killed
        self._sock.bind(self.address)
        if path is not None:
            path.chmod(0o600)
        self._sock.setblocking(False)

    def wait(self, seconds: float, *, tick: float | None = None,
             on_tick: Callable[[], object] = lambda: None,
             should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait up to ``seconds``; True when nudged. ``on_tick`` is called at least every
        ``tick`` seconds while waiting (the watchdog); ``should_stop`` ends the wait early."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            on_tick()
            if should_stop():
                return False
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._sock], [], [], min(left, tick or left, 1.0))
            if ready and self._drain():
                return True
            if left <= 0:
                return False

    def _drain(self) -> bool:
        """Read every nudge waiting (several deposits in a row make one pass)."""
        got = False
        while True:
            try:
                self._sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return got
            got = True

    def close(self) -> None:
        self._sock.close()
        if not self.address.startswith("\0"):
            Path(self.address).unlink(missing_ok=True)

    def __enter__(self) -> NudgeListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
