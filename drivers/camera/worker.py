"""The reading thread every camera backend shares: latest-frame semantics, loss and recovery.

A backend provides a :class:`FrameSource` (open, read one frame, close);
:class:`ThreadedCamera` reads it in a worker thread and keeps only the newest
frame, so a slow consumer skips frames instead of letting a queue grow. When
reads fail for ``lost_after`` seconds, or the device node vanishes, the camera
reports itself LOST, closes the source and tries to open it again every
``retry`` seconds; when that works it is RUNNING again, without the
application doing anything.

Only the worker thread touches the source (OpenCV captures are not
thread-safe); still captures are requests the worker serves between two reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.base import CameraState, CameraStatus, CameraTimeoutError, Frame
from drivers.errors import CameraError, DeviceError, DeviceUnavailableError

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Read = tuple[Image, Mapping[str, Any]]

#: What a source may raise that means "this read or open failed" (translated here).
SOURCE_ERRORS: tuple[type[BaseException], ...] = (DeviceError, OSError, cv2.error)


class EndOfStream(Exception):
    """A finite source (a file played once) has no more frames."""


class FrameSource(Protocol):
    """What a backend gives :class:`ThreadedCamera`. Called from the worker thread only."""

    #: How the source is named in logs and status messages ("v4l2 /dev/video0").
    description: str
    #: Seconds between frames for a source that does not block until the next frame
    #: (a file, the simulator); None for a device whose read waits for the sensor.
    pace: float | None

    def open(self) -> tuple[int, int] | None:
        """Open; return (width, height) if known. Raises DeviceUnavailableError (or OSError)."""
        ...

    def read(self) -> Read | None:
        """The next frame and its meta, or None when the read failed (the ok flag was false).

        Raises EndOfStream when a finite source is over.
        """
        ...

    def read_still(self) -> Read | None:
        """A frame at still resolution (or simply the next frame)."""
        ...

    def present(self) -> bool:
        """False when the device is known to be gone (its node vanished)."""
        ...

    def close(self) -> None: ...


class _StillRequest:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.frame: Frame | None = None
        self.error: str = ""

    def deliver(self, frame: Frame | None, error: str = "") -> None:
        self.frame, self.error = frame, error
        self.done.set()


class ThreadedCamera:
    """A :class:`drivers.camera.base.Camera` reading a :class:`FrameSource` in a worker thread.

    ``clock`` gives the frames' timestamps and measures ``lost_after``; it is
    ``time.monotonic`` unless a test passes another.
    """

    def __init__(self, source: FrameSource, *, lost_after: float = 2.0, retry: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self._lost_after = lost_after
        self._retry = retry
        self._clock = clock
        self._cond = threading.Condition()
        self._lifecycle = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame: Frame | None = None
        self._cursor = -1
        self._index = 0
        self._state = CameraState.STOPPED
        self._message = ""
        self._fps = 0.0
        self._resolution: tuple[int, int] | None = None
        self._stills: list[_StillRequest] = []
        self._closed = False

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        """Open the source and start reading. Raises DeviceUnavailableError if it cannot open."""
        with self._lifecycle:
            if self._closed:
                raise CameraError(f"camera {self.source.description} is closed")
            if self._thread is not None and self._thread.is_alive():
                return
            self._open_source()
            self._stop.clear()
            self._set_state(CameraState.RUNNING, "")
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"camera {self.source.description}")
            self._thread.start()

    def latest(self, timeout: float = 0.0) -> Frame | None:
        with self._cond:
            def newer() -> bool:
                return self._frame is not None and self._frame.index > self._cursor

            if not self._cond.wait_for(newer, timeout=max(0.0, timeout)):
                return None
            assert self._frame is not None
            self._cursor = self._frame.index
            return self._frame

    def frame_after(self, index: int, timeout: float = 0.0) -> Frame | None:
        with self._cond:
            def newer() -> bool:
                return self._frame is not None and self._frame.index > index

            if not self._cond.wait_for(newer, timeout=max(0.0, timeout)):
                return None
            return self._frame

    def capture_still(self, timeout: float = 2.0) -> Frame:
        if self._thread is None or not self._thread.is_alive():
            raise CameraError(f"camera {self.source.description} is not running; call start()")
        request = _StillRequest()
        with self._cond:
            self._stills.append(request)
        if not request.done.wait(timeout):
            with self._cond:
                if request in self._stills:
                    self._stills.remove(request)
            status = self.status()
            raise CameraTimeoutError(
                f"camera {self.source.description}: no still frame within {timeout:g} s "
                f"(state {status.state}{': ' + status.message if status.message else ''})")
        if request.frame is None:
            raise CameraError(f"camera {self.source.description}: {request.error}")
        return request.frame

    def status(self) -> CameraStatus:
        with self._cond:
            return CameraStatus(state=self._state, message=self._message, frames=self._index,
                                fps=round(self._fps, 2), resolution=self._resolution)

    def stop(self) -> None:
        """Stop the worker and close the source (the camera can be started again)."""
        with self._lifecycle:
            thread = self._thread
            self._stop.set()
            if thread is not None:
                thread.join(timeout=10)
                if thread.is_alive():  # pragma: no cover - a driver stuck in a read
                    log.error("camera %s: reading thread did not stop", self.source.description)
            self._thread = None
            self._close_source()
            self._fail_stills("the camera was stopped")
            self._set_state(CameraState.STOPPED, "")

    def close(self) -> None:
        self.stop()
        self._closed = True

    def __enter__(self) -> ThreadedCamera:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ worker

    def _open_source(self) -> None:
        try:
            resolution = self.source.open()
        except DeviceUnavailableError:
            raise
        except SOURCE_ERRORS as exc:
            raise DeviceUnavailableError(
                f"camera {self.source.description} cannot be opened: {exc}") from exc
        with self._cond:
            self._resolution = resolution

    def _close_source(self) -> None:
        try:
            self.source.close()
        except SOURCE_ERRORS as exc:
            log.debug("camera %s: error while closing: %s", self.source.description, exc)

    def _set_state(self, state: CameraState, message: str) -> None:
        with self._cond:
            previous = self._state
            self._state, self._message = state, message
        if previous == state:
            return
        if state == CameraState.LOST:
            log.warning("camera %s lost: %s", self.source.description, message)
        elif state == CameraState.RUNNING and previous == CameraState.LOST:
            log.info("camera %s is back", self.source.description)

    def _fail_stills(self, error: str) -> None:
        with self._cond:
            pending, self._stills = self._stills, []
        for request in pending:
            request.deliver(None, error)

    def _publish(self, image: Image, meta: Mapping[str, Any], now: float,
                 still: _StillRequest | None) -> None:
        with self._cond:
            frame = Frame(image=image, timestamp=now, index=self._index, meta=dict(meta))
            self._index += 1
            self._resolution = (int(image.shape[1]), int(image.shape[0]))
            if still is not None:
                still.deliver(frame)
                return
            previous = self._frame
            self._frame = frame
            if previous is not None and now > previous.timestamp:
                rate = 1.0 / (now - previous.timestamp)
                self._fps = rate if self._fps == 0 else 0.8 * self._fps + 0.2 * rate
            self._cond.notify_all()

    def _run(self) -> None:
        desc = self.source.description
        opened = True
        last_ok = self._clock()
        due = last_ok
        error = ""
        try:
            while not self._stop.is_set():
                if not opened:
                    if self._stop.wait(self._retry):
                        break
                    try:
                        self._open_source()
                    except DeviceUnavailableError as exc:
                        self._set_state(CameraState.LOST, str(exc))
                        continue
                    opened, error = True, ""
                    last_ok = due = self._clock()
                    self._set_state(CameraState.RUNNING, "")
                with self._cond:
                    still = self._stills.pop(0) if self._stills else None
                try:
                    got = self.source.read_still() if still else self.source.read()
                except EndOfStream:
                    if still is not None:
                        still.deliver(None, "the stream ended")
                    self._set_state(CameraState.STOPPED, "end of stream")
                    break
                except SOURCE_ERRORS as exc:
                    got, error = None, f"{type(exc).__name__}: {exc}"
                now = self._clock()
                if got is None:
                    if still is not None:
                        with self._cond:
                            self._stills.insert(0, still)
                    gone = not self.source.present()
                    if gone or now - last_ok >= self._lost_after:
                        reason = "the device disappeared" if gone else \
                            f"no frame for {now - last_ok:.1f} s"
                        detail = f"{reason}; {error}" if error else reason
                        self._set_state(CameraState.LOST, detail)
                        self._close_source()
                        opened = False
                    elif self._stop.wait(0.01):
                        break
                    continue
                last_ok = now
                image, meta = got
                self._publish(image, meta, now, still)
                pace = self.source.pace
                if pace:
                    due = max(due + pace, now)   # late: no burst to catch up
                    if self._stop.wait(max(0.0, due - self._clock())):
                        break
        except Exception as exc:  # a bug must show in the status, not kill the thread silently
            log.exception("camera %s: reading thread failed", desc)
            self._set_state(CameraState.LOST, f"internal error: {exc}")
        finally:
            if opened:
                self._close_source()
            self._fail_stills("the camera stopped")
