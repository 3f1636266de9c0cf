"""A virtual X display for running the real interface where there is no screen (tests, demo).

``Xvfb -displayfd`` picks a free display number itself and writes it to a
pipe, so several runs on one machine never collide. Kivy draws into it with
Mesa's software OpenGL (llvmpipe). No Kivy is imported here.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from types import TracebackType

log = logging.getLogger(__name__)


class XvfbError(RuntimeError):
    """Xvfb is missing or did not start; the message says what to install or what it said."""


class Xvfb:
    """``with Xvfb(1920, 1080) as display: ...`` sets $DISPLAY while it runs."""

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24,
                 timeout: float = 20.0) -> None:
        self.size = (width, height, depth)
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.display: str | None = None
        self._previous: str | None = None

    def start(self) -> str:
        binary = shutil.which("Xvfb")
        if binary is None:
            raise XvfbError("Xvfb is not installed (Debian: apt install xvfb); it runs the "
                            "interface without a screen")
        read_fd, write_fd = os.pipe()
        width, height, depth = self.size
        try:
            self.process = subprocess.Popen(
                [binary, "-displayfd", str(write_fd), "-screen", "0",
                 f"{width}x{height}x{depth}", "+extension", "GLX", "-nolisten", "tcp",
                 "-noreset"],
                pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finally:
            os.close(write_fd)
        number = b""
        deadline = time.monotonic() + self.timeout
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            os.set_blocking(pipe.fileno(), False)
            while not number.endswith(b"\n"):
                if self.process.poll() is not None:
                    stderr = self.process.stderr.read().decode(errors="replace") \
                        if self.process.stderr else ""
                    raise XvfbError(f"Xvfb exited with status {self.process.returncode}: "
                                    f"{stderr.strip()[-400:]}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise XvfbError(f"Xvfb gave no display number within {self.timeout:g} s")
                try:
                    chunk = pipe.read(16)
                except BlockingIOError:
                    chunk = None
                if chunk:
                    number += chunk
                else:
                    time.sleep(0.02)
        self.display = f":{number.decode().strip()}"
        self._previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = self.display
        log.info("Xvfb started on display %s (%dx%dx%d)", self.display, width, height, depth)
        return self.display

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None
        if self.display is not None and os.environ.get("DISPLAY") == self.display:
            if self._previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = self._previous
        self.display = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def need_virtual_display() -> bool:
    """True when there is no display to draw on (no $DISPLAY and no $WAYLAND_DISPLAY)."""
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
