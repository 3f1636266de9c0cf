"""The simulated receipt printer: status from a settable state, jobs parsed and rendered.

It answers ``DLE EOT 1-4`` the moment the query arrives (as printers do, even
in the middle of another command's data), from :class:`SimState`; it parses
everything else with :class:`~drivers.printer.simulator.parser.EscPosParser`
and renders each finished job to a PNG. While it cannot print (paper out,
cover open, cutter error, offline) it takes the data and prints nothing.

It sits behind a real pseudo-terminal (:meth:`PrinterSimulator.start_pty`):
the driver opens the slave side with the ordinary serial backend, so a
simulated print exercises the serial code byte for byte.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import re
import select
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from PIL import Image

from drivers.printer.base import PrinterProfile
from drivers.printer.simulator.parser import EscPosParser, ParsedJob
from drivers.printer.simulator.render import render

log = logging.getLogger(__name__)

Paper = Literal["ok", "near-end", "out"]

# Status bits, written here from the command reference on purpose rather than
# imported from drivers.printer.status: the simulator is the driver's check.
_FIXED = 0x12
_REAL_TIME = re.compile(rb"\x10\x04[\x01-\x04]")


@dataclass
class SimState:
    """What the simulated printer reports and does. Tests change it at any time.

    ``paper_out_after_lines`` / ``paper_out_after_bytes``: the roll runs out
    after that many more printed text lines / bytes of print data (status
    queries not counted); the count starts when the value is set and the
    setting clears itself when the paper runs out. ``status_reply`` replaces
    the answer to every status query (``b""``: no answer; other bytes: a
    printer that answers nonsense).
    """

    paper: Paper = "ok"
    cover_open: bool = False
    cutter_error: bool = False
    online: bool = True
    unrecoverable_error: bool = False
    paper_out_after_lines: int | None = None
    paper_out_after_bytes: int | None = None
    status_reply: bytes | None = None

    @property
    def can_print(self) -> bool:
        return (self.online and self.paper != "out" and not self.cover_open
                and not self.cutter_error and not self.unrecoverable_error)

    def status_byte(self, n: int) -> int:
        """The answer to ``DLE EOT n``."""
        if n == 1:
            return _FIXED | (0x00 if self.can_print else 0x08)
        if n == 2:
            error = self.cutter_error or self.unrecoverable_error
            return (_FIXED | (0x04 if self.cover_open else 0)
                    | (0x20 if self.paper == "out" else 0) | (0x40 if error else 0))
        if n == 3:
            return (_FIXED | (0x08 if self.cutter_error else 0)
                    | (0x20 if self.unrecoverable_error else 0))
        return (_FIXED | (0x0C if self.paper == "near-end" else 0)
                | (0x60 if self.paper == "out" else 0))


class PrinterSimulator:
    """A receipt printer in a thread. See the module docstring.

    ``out_dir``: where each finished job is rendered as ``receipt-NNNN.png``
    (None: not rendered), by ``renderer`` in a thread of its own so that status
    queries are answered at once, as a printer answers them in real time.
    ``idle_end``: seconds of silence after which a job without a cut counts as
    finished.
    """

    def __init__(self, profile: PrinterProfile, state: SimState | None = None, *,
                 out_dir: Path | None = None, idle_end: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 renderer: Callable[[ParsedJob, PrinterProfile], Image.Image] = render,
                 ) -> None:
        self.profile = profile
        self.out_dir = out_dir
        self._render = renderer
        self.idle_end = idle_end
        self._clock = clock
        self._state = state or SimState()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._parser = EscPosParser(profile, self._gate)
        self._jobs: list[ParsedJob] = []       # finished and rendered, oldest first
        self._collected = 0                     # finished jobs handed to the renderer
        # Rendering a PNG takes a while; a real printer answers DLE EOT in real time,
        # so jobs are rendered by a worker and published in order once rendered.
        self._render_queue: queue.SimpleQueue[ParsedJob | None] = queue.SimpleQueue()
        self._renderer = threading.Thread(target=self._render_loop, daemon=True,
                                          name="printer simulator renderer")
        self._renderer.start()
        self._received = bytearray()
        self._tail = b""
        self._lines_since_armed = 0
        self._bytes_since_armed = 0
        self._last_data = clock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._fds: tuple[int, int] | None = None
        self._wake: tuple[int, int] | None = None
        self.path: str | None = None
        self.link: Path | None = None

    # ------------------------------------------------------------ state

    @property
    def state(self) -> SimState:
        """The current state (a copy); assign a new one, or use :meth:`set`."""
        with self._lock:
            return replace(self._state)

    @state.setter
    def state(self, value: SimState) -> None:
        with self._lock:
            self._state = replace(value)
            self._lines_since_armed = self._bytes_since_armed = 0

    def set(self, **changes: object) -> None:
        """Change some fields of the state: ``sim.set(paper="out", cover_open=True)``."""
        with self._lock:
            self.state = replace(self._state, **changes)  # type: ignore[arg-type]

    @property
    def jobs(self) -> list[ParsedJob]:
        """Jobs finished so far, oldest first, each rendered (waits for the renderer)."""
        self.flush()
        with self._lock:
            return list(self._jobs)

    @property
    def pngs(self) -> list[Path]:
        """The rendered receipts, oldest first."""
        return [job.png for job in self.jobs if job.png is not None]

    @property
    def received(self) -> bytes:
        """Every byte received, status queries included."""
        with self._lock:
            return bytes(self._received)

    @property
    def discarded(self) -> int:
        """How many things (lines, images, cuts...) were not printed: paper out, offline."""
        with self._lock:
            return self._parser.discarded

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[ParsedJob]:
        """Wait until ``count`` jobs are finished; raises TimeoutError."""
        deadline = self._clock() + timeout
        with self._changed:
            while len(self._jobs) < count:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._jobs)} of {count} printer jobs "
                                       f"after {timeout:g} s")
                self._changed.wait(min(remaining, 0.05))
                self._finish_if_idle()
            return list(self._jobs)

    # ------------------------------------------------------------ bytes in

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the line; return the bytes the printer answers."""
        with self._lock:
            self._received += data
            self._last_data = self._clock()
            scan = self._tail + data
            replies = bytearray()
            done = 0
            for match in _REAL_TIME.finditer(scan):
                end = match.end() - len(self._tail)
                if end <= 0:
                    continue  # answered with the previous piece
                self._print_data(data[done:end])
                done = end
                replies += self._status_reply(scan[match.end() - 1])
            self._print_data(data[done:])
            self._tail = scan[-2:]
            return bytes(replies)

    def _status_reply(self, n: int) -> bytes:
        override = self._state.status_reply
        if override is not None:
            return override
        return bytes([self._state.status_byte(n)])

    def _print_data(self, data: bytes) -> None:
        limit = self._state.paper_out_after_bytes
        if limit is not None and data:
            room = limit - self._bytes_since_armed
            if room < len(data):
                self._parser.feed(data[:max(room, 0)])
                self._run_out_of_paper()
                data = data[max(room, 0):]
            else:
                self._bytes_since_armed += len(data)
        self._parser.feed(data)
        self._collect()

    def _run_out_of_paper(self) -> None:
        log.info("simulated printer: paper ran out")
        self._state = replace(self._state, paper="out", paper_out_after_lines=None,
                              paper_out_after_bytes=None)

    def _gate(self, kind: str) -> bool:
        """May the printer put this on paper now? (called by the parser)"""
        if kind == "line" and self._state.paper_out_after_lines is not None:
            if self._lines_since_armed >= self._state.paper_out_after_lines:
                self._run_out_of_paper()
            else:
                self._lines_since_armed += 1
        return self._state.can_print

    def _collect(self) -> None:
        finished = self._parser.finished
        if not finished:
            return
        self._parser.finished = []
        for job in finished:
            self._collected += 1
            job.index = self._collected
            self._render_queue.put(job)

    def _render_loop(self) -> None:
        while (job := self._render_queue.get()) is not None:
            self._save(job)
            with self._changed:
                self._jobs.append(job)
                self._changed.notify_all()
            log.info("simulated printer: job %d, %d lines, %d QR codes, %d images%s%s",
                     job.index, len(job.lines), len(job.qr_codes), len(job.images),
                     ", paper ran out" if job.truncated else "",
                     f" -> {job.png}" if job.png else "")

    def _save(self, job: ParsedJob) -> None:
        if self.out_dir is None:
            return
        path = self.out_dir / f"receipt-{job.index:04d}.png"
        try:
            self._render(job, self.profile).save(path)
        except OSError as exc:
            log.warning("simulated printer: cannot write %s: %s", path, exc)
            return
        job.png = path

    def _finish_if_idle(self) -> None:
        with self._lock:
            if self._parser.pending and self._clock() - self._last_data >= self.idle_end:
                self._parser.finish()
                self._collect()

    def finish(self) -> None:
        """End the job in progress now (what a printer does when the line goes quiet)."""
        with self._lock:
            self._parser.finish()
            self._collect()

    # ------------------------------------------------------------ pseudo-terminal

    def start_pty(self, link: Path | None = None) -> str:
        """Serve on a new pseudo-terminal in a thread; return the slave's path.

        ``link``: also make (or move) a symbolic link there pointing at it, a
        stable name for configuration files (``serial:///run/kiosk-printer``).
        """
        if self._thread is not None:
            raise RuntimeError("simulator already serving")
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes as they are
        os.set_blocking(master, False)
        self._fds = (master, slave)
        self._wake = os.pipe()
        self.path = os.ttyname(slave)
        if link is not None:
            temporary = link.with_name(f".{link.name}.{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            temporary.symlink_to(self.path)
            temporary.replace(link)
            self.link = link
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"printer simulator {self.path}",
                                        daemon=True)
        self._thread.start()
        log.info("simulated printer (%s, %d mm) on %s", self.profile.name,
                 self.profile.paper_width_mm, self.path)
        return self.path

    def _serve(self) -> None:
        assert self._fds is not None and self._wake is not None
        master, wake = self._fds[0], self._wake[0]
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master, wake], [], [], 0.1)
            except (OSError, ValueError):
                return
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if exc.errno == errno.EIO:  # no slave open right now
                        time.sleep(0.05)
                        continue
                    log.warning("simulated printer: read failed: %s", exc)
                    return
                replies = self.feed(data)
                if replies:
                    self._write(master, replies)
            else:
                self._finish_if_idle()

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                select.select([], [fd], [], 0.1)
            except OSError as exc:
                log.debug("simulated printer: reply not sent: %s", exc)
                return

    def stop(self) -> None:
        """Stop serving and close the pseudo-terminal (as if the printer were unplugged).

        The job in progress is finished (rendered) first.
        """
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            if self._wake is not None:
                with contextlib.suppress(OSError):
                    os.write(self._wake[1], b"x")
            thread.join(5)
        for fds in (self._fds, self._wake):
            for fd in fds or ():
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fds = self._wake = None
        self.finish()
        self.flush()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every finished job is rendered and listed in :attr:`jobs`."""
        deadline = self._clock() + timeout
        with self._changed:
            while len(self._jobs) < self._collected and self._clock() < deadline:
                self._changed.wait(0.05)

    def close(self) -> None:
        """Stop serving and end the renderer thread."""
        self.stop()
        self._render_queue.put(None)
        self._renderer.join(5)

    def __enter__(self) -> PrinterSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
