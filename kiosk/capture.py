"""The camera worker: preview frames, auto-capture, stills processed into the session.

:class:`CaptureWorker` reads the camera in its own thread while a document is
being captured, feeds ``scanner.AutoCapture``, publishes preview frames for
the UI to pick up, and processes each still (``scanner.process_still``) into
the :class:`~kiosk.session.Session`; it answers with ``CaptureStarted``,
``PageCaptured`` or ``CaptureFailed`` events. The UI thread never waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

import scanner
from drivers.camera.base import Camera, CameraState
from drivers.errors import DeviceError
from kiosk.events import Clock, Post
from kiosk.journey import (
    Activity,
    CaptureFailed,
    CaptureStarted,
    Device,
    DeviceChanged,
    PageCaptured,
    PageRef,
)
from kiosk.session import Session, StoredPage
from scanner import AutoCapture, Guidance, Image, Reason, StillResult
from scanner.trayprior import (
    TrayCalibrationError,
    TrayPrior,
    TrayRefusal,
    load_tray,
)

log = logging.getLogger(__name__)

#: Long side, in pixels, of the preview frames the worker hands to the screen.
PREVIEW_LONG_SIDE = 960
#: Long side of the page picture shown after a capture, and of the review thumbnails.
PAGE_PREVIEW_LONG_SIDE = 1000
THUMBNAIL_LONG_SIDE = 240


def fit_long_side(image: npt.NDArray[np.uint8], long_side: int) -> npt.NDArray[np.uint8]:
    """``image`` reduced (never enlarged) so that its long side is at most ``long_side``."""
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1:
        return image
    return np.asarray(cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                                 interpolation=cv2.INTER_AREA), dtype=np.uint8)


def to_rgb(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class PreviewFrame:
    """One frame for the live preview: RGB, reduced, with the page outline in its pixels."""

    seq: int
    image: npt.NDArray[np.uint8]
    corners: npt.NDArray[np.float32] | None
    reasons: tuple[str, ...]
    steady: bool
    progress: float
    waiting_for_new_page: bool = False    # the page on the tray was already taken
    capture_state: str = "searching"      # scanner.CaptureState: searching, steady, captured


#: (page id, the rectified page at full resolution, the session's generation): queues the
#: page's 2D-Doc check (kiosk.twoddocs.PageChecker.submit).
PageCheck = Callable[[str, npt.NDArray[np.uint8], int], None]


class StillProcessor(Protocol):
    """``scanner.process_still``: what the worker needs of the page pipeline."""

    def __call__(self, frame: Image, *, previous: npt.ArrayLike | None = None,
                 tray: TrayPrior | None = None) -> StillResult: ...


class CaptureWorker:
    """Reads the camera in a worker thread while a document is being captured.

    The UI thread never waits for it: :meth:`latest_preview` returns the newest
    :class:`PreviewFrame` (or None) at once, and captured pages arrive as
    events through ``post``. The camera is started at the first
    :meth:`start` and stopped by :meth:`release` (the wipe).

    A camera that stops giving frames (unplugged) is reported once with
    ``DeviceChanged(camera, ok=False)``; when frames come again,
    ``DeviceChanged(camera, ok=True)``.
    """

    def __init__(self, camera_factory: Callable[[], Camera], session: Session, post: Post, *,
                 clock: Clock = time.monotonic, auto_capture: AutoCapture | None = None,
                 process_still: StillProcessor = scanner.process_still,
                 lost_after: float = 3.0, activity_every: float = 5.0,
                 idle_stop: float = 8.0, data_dir: Path | None = None,
                 check_page: PageCheck | None = None) -> None:
        self._camera_factory = camera_factory
        self._camera: Camera | None = None
        self._session = session
        self._post = post
        self._clock = clock
        self._auto = auto_capture or AutoCapture()
        self._process = process_still
        #: Given each page kept, with its full-resolution picture (kiosk/twoddocs.py reads
        #: its 2D-Doc on its own thread); must return at once.
        self._check_page = check_page
        self._lost_after = lost_after
        self._activity_every = activity_every
        self._idle_stop = idle_stop
        self._disarmed_at: float | None = None
        self._lock = threading.Lock()
        self._armed = threading.Event()
        self._closed = threading.Event()
        self._capture_now = threading.Event()
        self._document = ""
        self._preview: PreviewFrame | None = None
        self._seq = 0
        self._camera_ok = True
        self._last_frame_at: float | None = None
        self._last_activity = float("-inf")
        self._thread: threading.Thread | None = None
        #: Where the service mode records the empty tray (None: no tray prior is used).
        self._data_dir = data_dir
        self._tray_for: tuple[int, int] | None = None
        self.frames_read = 0
        self.processing_seconds: list[float] = []

    # ---------------------------------------------------------------- UI thread

    def start(self, document: str, page_number: int, retake: bool = False) -> None:
        """Arm auto-capture for the next page of ``document``.

        Unless ``retake``, the page last taken must leave the tray (or move)
        before another is taken, so it is not taken twice.
        """
        with self._lock:
            self._document = document
            self._capture_now.clear()
            if retake:
                self._auto.reset()
            self._last_frame_at = self._clock()
            self._disarmed_at = None
        self._armed.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop looking (the preview freezes on its last frame until the UI drops it); the
        camera itself stops ``idle_stop`` seconds later unless capture starts again."""
        self._armed.clear()
        self._disarmed_at = self._clock()

    @property
    def tray(self) -> TrayPrior | None:
        """The recorded empty tray the detectors use as a prior (None: none recorded)."""
        return self._auto.tray

    def reload_tray(self) -> None:
        """The empty tray was recorded again (the service mode): read it at the next frame."""
        self._tray_for = None

    def _load_tray(self, size: tuple[int, int]) -> TrayPrior | None:
        assert self._data_dir is not None
        try:
            tray = load_tray(self._data_dir, size)
        except TrayCalibrationError as exc:
            if exc.reason is TrayRefusal.MISSING:
                log.debug("no tray calibration: %s", exc)
            else:
                log.warning("tray calibration not used: %s", exc)
            return None
        log.info("page detection uses the empty tray recorded %s",
                 tray.meta.recorded_at if tray.meta else "earlier")
        return tray

    def capture_now(self) -> None:
        self._capture_now.set()

    def latest_preview(self) -> PreviewFrame | None:
        return self._preview

    def release(self) -> None:
        """Stop and close the camera and forget the last preview (the wipe)."""
        self._armed.clear()
        with self._lock:
            self._preview = None
            self._auto.reset()
            camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.stop()
                camera.close()
            except DeviceError as exc:
                log.warning("camera did not close cleanly: %s", exc)

    def close(self) -> None:
        self._closed.set()
        self._armed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.release()

    # ---------------------------------------------------------------- worker thread

    def _stop_when_idle(self) -> None:
        """Stop the camera (not close it) once capture has been off for ``idle_stop`` s."""
        disarmed = self._disarmed_at
        if disarmed is None or self._clock() - disarmed < self._idle_stop:
            return
        with self._lock:
            camera = self._camera
            self._disarmed_at = None
        if camera is not None:
            try:
                camera.stop()
                log.info("camera stopped while nothing is being captured")
            except DeviceError as exc:
                log.warning("camera did not stop cleanly: %s", exc)

    def _open(self) -> Camera | None:
        with self._lock:
            camera = self._camera
        if camera is not None:
            if camera.status().state is CameraState.STOPPED:
                try:
                    camera.start()
                except DeviceError as exc:
                    # Closed or gone for good: drop it, and open the device afresh next time.
                    log.error("camera cannot be started again: %s", exc)
                    with self._lock:
                        if self._camera is camera:
                            self._camera = None
                    self._set_camera_ok(False)
                    return None
            return camera
        with self._lock:
            if self._camera is not None:
                return self._camera
        try:
            camera = self._camera_factory()
            camera.start()
        except DeviceError as exc:
            log.error("camera cannot be opened: %s", exc)
            self._set_camera_ok(False)
            return None
        with self._lock:
            self._camera = camera
        return camera

    def _set_camera_ok(self, ok: bool) -> None:
        if ok != self._camera_ok:
            self._camera_ok = ok
            log.log(logging.INFO if ok else logging.ERROR, "camera %s",
                    "back" if ok else "lost: no frame")
            self._post(DeviceChanged(Device.CAMERA, ok=ok))

    def _run(self) -> None:
        while not self._closed.is_set():
            if not self._armed.wait(timeout=0.5):
                self._stop_when_idle()
                continue
            if self._closed.is_set():
                break
            camera = self._open()
            if camera is None:
                self._closed.wait(1.0)
                continue
            try:
                frame = camera.latest(timeout=0.2)
                status = camera.status() if frame is None else None
            except DeviceError as exc:
                log.warning("camera read failed: %s", exc)
                frame, status = None, None
            now = self._clock()
            if frame is None:
                lost = status is not None and status.state is CameraState.LOST
                stale = self._last_frame_at is not None and \
                    now - self._last_frame_at > self._lost_after
                if lost or stale:
                    self._set_camera_ok(False)
                continue
            self._last_frame_at = now
            self._set_camera_ok(True)
            self.frames_read += 1
            if not self._armed.is_set():
                continue
            self._handle(camera, frame.image, now)

    def _handle(self, camera: Camera, image: npt.NDArray[np.uint8], now: float) -> None:
        size = (int(image.shape[1]), int(image.shape[0]))
        if self._data_dir is not None and size != self._tray_for:
            self._tray_for = size
            self._auto.tray = self._load_tray(size)
        event = self._auto.feed(image, now)
        guidance = self._auto.guidance
        self._publish(image, guidance)
        if guidance.corners is not None and now - self._last_activity >= self._activity_every:
            self._last_activity = now
            self._post(Activity())
        manual = self._capture_now.is_set()
        if event is None and not manual:
            return
        self._armed.clear()
        self._capture_now.clear()
        self._post(CaptureStarted())
        generation = self._session.generation
        started = time.perf_counter()
        try:
            if event is None or manual:
                result = self._process(camera.capture_still(timeout=2.0).image,
                                       tray=self._auto.tray)
            else:
                result = self._process(event.frame, previous=event.corners,
                                       tray=self._auto.tray)
        except DeviceError as exc:
            log.warning("capture failed: %s", exc)
            self._post(CaptureFailed("camera"))
            return
        except Exception:  # a bug in the pipeline must not kill the camera thread
            log.exception("page processing failed")
            self._post(CaptureFailed("camera"))
            return
        finally:
            self.processing_seconds.append(time.perf_counter() - started)
        if result.encoded is None or result.page is None:
            codes = [r.code.value for r in result.verdict.reasons] or ["no_page"]
            self._refused(manual, result.verdict.reasons)
            self._post(CaptureFailed(codes[0]))
            return
        reasons = tuple(r.code.value for r in result.verdict.reasons)
        if not manual and reasons:
            # The preview looked fine but the full still does not: say why and look again.
            self._refused(manual, result.verdict.reasons)
            self._post(CaptureFailed(reasons[0]))
            return
        picture = to_rgb(fit_long_side(result.page.image, PAGE_PREVIEW_LONG_SIDE))
        page = StoredPage(id=Session.new_page_id(), document=self._document,
                          encoded=result.encoded, data=bytearray(result.encoded.data),
                          preview=picture, thumbnail=fit_long_side(picture, THUMBNAIL_LONG_SIDE),
                          reasons=reasons, meta={"format": result.page.format})
        if self._session.add(page, generation):
            self._post(PageCaptured(PageRef(page.id, ok=not reasons, reasons=reasons)))
            if self._check_page is not None:
                self._check_page(page.id, result.page.image, generation)

    def _refused(self, manual: bool, reasons: Sequence[Reason]) -> None:
        """A still auto-capture took was refused: take the page again once the citizen
        nudges it (not only once it leaves the tray, as for a page already taken)."""
        if not manual:
            with self._lock:
                self._auto.refused(reasons)

    def _publish(self, image: npt.NDArray[np.uint8], guidance: Guidance) -> None:
        # The tray is the middle of a wide frame: show its 4:3 centre, larger.
        h, w = image.shape[:2]
        x0 = max(0, (w - h * 4 // 3) // 2)
        small = fit_long_side(image[:, x0:w - x0], PREVIEW_LONG_SIDE)
        scale = small.shape[1] / (w - 2 * x0)
        corners = None
        if guidance.corners is not None:
            corners = ((np.asarray(guidance.corners, dtype=np.float32) - [x0, 0]) * scale
                       ).astype(np.float32)
        self._seq += 1
        self._preview = PreviewFrame(
            seq=self._seq, image=to_rgb(small), corners=corners,
            reasons=tuple(r.code.value for r in guidance.reasons),
            steady=guidance.state.value == "steady", progress=guidance.progress,
            waiting_for_new_page=guidance.state.value == "captured" and corners is not None,
            capture_state=guidance.state.value)


