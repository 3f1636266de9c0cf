"""The document camera contract: frames as numpy arrays, read with latest-frame semantics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from drivers.errors import CameraError, DeviceTimeoutError


class CameraTimeoutError(CameraError, DeviceTimeoutError):
    """No frame came from the camera within the allowed time."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One camera frame.

    ``image`` is H x W x 3 uint8 in BGR order (OpenCV's); ``timestamp`` is
    ``time.monotonic()`` when it was read; ``index`` counts frames from the
    camera's start. ``meta`` carries what a simulator knows (the true page
    corners, the defects it applied); real backends leave it empty.

    The camera never writes into an image it has handed out: a frame may be
    kept as long as needed (a captured page), and is freed when dropped.
    """

    image: npt.NDArray[np.uint8]
    timestamp: float
    index: int
    meta: Mapping[str, Any] = field(default_factory=dict)


class CameraState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    LOST = "lost"          # was running, the device disappeared; reopening is being tried


@dataclass(frozen=True)
class CameraStatus:
    state: CameraState
    message: str = ""
    frames: int = 0
    fps: float = 0.0
    resolution: tuple[int, int] | None = None


@runtime_checkable
class Camera(Protocol):
    """A document camera read in a worker thread; methods raise only drivers errors.

    The worker keeps only the newest frame (no queue grows): a slow consumer
    skips frames, it never falls behind.
    """

    def start(self) -> None:
        """Start the reading thread. Raises DeviceUnavailableError if the device cannot open."""
        ...

    def latest(self, timeout: float = 0.0) -> Frame | None:
        """The newest frame, if it is newer than the one the previous call returned.

        Waits up to ``timeout`` s for one; returns None when none came (nothing
        new to show). Frames are never older than the previous call's.
        """
        ...

    def frame_after(self, index: int, timeout: float = 0.0) -> Frame | None:
        """The newest frame whose ``index`` is greater than ``index``, waiting up to ``timeout`` s.

        For a second consumer of the same camera (the camera code reader), which
        keeps its own position instead of sharing the one of :meth:`latest`.
        """
        ...

    def capture_still(self, timeout: float = 2.0) -> Frame:
        """A frame for capture (full resolution where the backend has a still mode).

        Always a frame read after the call. Raises CameraTimeoutError when none
        comes in time, CameraError when the camera is not running.
        """
        ...

    def status(self) -> CameraStatus: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
