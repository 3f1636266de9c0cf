"""The kiosk application nudges the uploader: "a dossier was just queued", "a citizen called an
agent": act now rather than at the next poll.

One Unix datagram socket, ``{data_dir}/uploader.sock``, bound by ``kiosk
uploader``. The application sends one datagram to it, without blocking and
without caring whether anyone listens: when the uploader is down, busy or
gone, the datagram is simply lost, and the uploader finds the work anyway at
its next poll (the outbox for dossiers, ``status/agent.json`` for a call).
Nothing but the kind of wake-up crosses (:class:`NudgeKind`): the uploader reads
what to do from the outbox or the status file.

The datagram is the kind's value in ASCII; an empty datagram (what the first
version sent, and still what a dossier's nudge is) means
:attr:`NudgeKind.DEPOSIT`, and so does a kind this uploader does not know
(a wake-up too many costs one pass).

The listener reads the socket on a thread of its own, so a call is noticed
while the uploader's main loop is busy sending a dossier; each kind has its
own wait (:meth:`NudgeListener.wait`).

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
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

SOCKET_NAME = "uploader.sock"
_MAX_PATH = 107          # sun_path is 108 bytes with its terminating NUL


class NudgeKind(StrEnum):
    """What a nudge asks of the uploader.

    Crosses a process boundary: sent by the kiosk application (kiosk/sealing.py
    through the runtime's Nudger, kiosk/signals.py), read by ``kiosk uploader``
    (kiosk/uploading.py, kiosk/agentcall.py). An old uploader reads any of them
    as DEPOSIT.
    """

    DEPOSIT = "deposit"          # a dossier was queued: deliver the outbox (sent as b"")
    AGENT_CALL = "agent-call"    # a citizen called an agent: status/agent.json says which call


def encode(kind: NudgeKind) -> bytes:
    return b"" if kind is NudgeKind.DEPOSIT else kind.value.encode("ascii")


def decode(datagram: bytes) -> NudgeKind:
    try:
        return NudgeKind(datagram.decode("ascii")) if datagram else NudgeKind.DEPOSIT
    except (UnicodeDecodeError, ValueError):
        log.debug("unknown nudge %r: taken as a deposit's", datagram[:40])
        return NudgeKind.DEPOSIT


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

    def __call__(self, kind: NudgeKind = NudgeKind.DEPOSIT) -> bool:
        """Send one nudge; whether a listener took it (False is normal with no uploader)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(encode(kind), self.address)
        except OSError as exc:      # no uploader listening, or its queue is full: it will poll
            log.debug("uploader not nudged (%s, %s): it will see it at its next poll", kind,
                      exc)
            return False
        return True


class NudgeListener:
    """The uploader's side: bound at start; a thread reads the socket; :meth:`wait` returns
    early when nudged with its kind."""

    def __init__(self, data_dir: Path) -> None:
        self.address = address(data_dir)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        path = None if self.address.startswith("\0") else Path(self.address)
        if path is not None:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)   # a kiosk's first start
            path.unlink(missing_ok=True)        # left by an uploader that was killed
        self._sock.bind(self.address)
        if path is not None:
            path.chmod(0o600)
        self._sock.setblocking(False)
        self._nudged = {kind: threading.Event() for kind in NudgeKind}
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="nudge-listener", daemon=True)
        self._reader.start()

    def wait(self, seconds: float, *, kind: NudgeKind = NudgeKind.DEPOSIT,
             tick: float | None = None, on_tick: Callable[[], object] = lambda: None,
             should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait up to ``seconds`` for a nudge of ``kind``; True when nudged (nudges of that kind
        received since the last wait count: several dossiers in a row make one pass).
        ``on_tick`` is called at least every ``tick`` seconds while waiting (the watchdog);
        ``should_stop`` ends the wait early."""
        nudged = self._nudged[kind]
        deadline = time.monotonic() + max(0.0, seconds)
        self._drain()        # what is already in the socket counts now, not a moment later
        while True:
            on_tick()
            if should_stop():
                return False
            if nudged.is_set():
                nudged.clear()
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            nudged.wait(min(left, tick or left, 1.0))

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([self._sock], [], [], 0.5)
            except (OSError, ValueError):      # closed under us
                return
            if ready:
                self._drain()

    def _drain(self) -> None:
        """Read every nudge waiting; each sets its kind's event."""
        while True:
            try:
                datagram = self._sock.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:                    # closed
                return
            self._nudged[decode(datagram)].set()

    def close(self) -> None:
        self._closed.set()
        self._reader.join(timeout=2)
        self._sock.close()
        if not self.address.startswith("\0"):
            Path(self.address).unlink(missing_ok=True)

    def __enter__(self) -> NudgeListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
