"""The application layer: turns journey commands into work on devices, and results into events.

No Kivy here. :class:`Controller` holds the one :class:`~kiosk.journey.JourneyState`
of the kiosk; :meth:`Controller.dispatch` feeds it an event (always on one
thread: the UI thread in the application), tells the listeners (the screens)
and performs the commands that came out:

=====================  ===================================================================
``StartCamera``        :class:`CaptureWorker` reads the camera in its own thread, feeds
                       ``scanner.AutoCapture``, publishes preview frames, and on capture
                       processes the still (rectify, enhance, judge, compress) into the
                       :class:`~kiosk.session.Session`; answers ``CaptureStarted``,
                       ``PageCaptured`` or ``CaptureFailed``
``Seal``               :class:`DepositService` builds ``deposit.json`` and the dossier PDF in
                       memory and has the outbox encrypt and queue them; ``Sealed`` or
                       ``SealFailed``
``PrintReceipt``       :class:`ReceiptService` through ``printer.service.ReceiptPrinter``;
                       ``Printed``, or ``PrintFailed`` with the receipt drawn for the screen
``CallAgent``          :class:`AgentSignal`: a log line and a small status file for the
                       diagnostics (the UI shows and sounds it)
``Wipe``               the session's pages overwritten, the preview dropped, the UI's
                       hook, then ``WipeDone``
=====================  ===================================================================

Slow work (sealing, printing, processing a still) runs in worker threads; their
results come back through ``post``, which the UI implements with
``Clock.schedule_once`` so they are handled on the UI thread like taps.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.base import Camera, CameraState
from drivers.errors import DeviceError
from kiosk.catalog import Catalog, Procedure
from kiosk.journey import (
    PRIVACY_NOTICE_VERSION,
    Activity,
    CallAgent,
    CaptureFailed,
    CaptureNow,
    CaptureStarted,
    CodeRead,
    Command,
    DepositResult,
    Device,
    DeviceChanged,
    DiscardPages,
    Event,
    Journey,
    JourneyState,
    PageCaptured,
    PageRef,
    Printed,
    PrintFailed,
    PrintReceipt,
    RecordSatisfaction,
    Seal,
    Sealed,
    SealFailed,
    StartCamera,
    StopCamera,
    Wipe,
    WipeDone,
)
from kiosk.session import Session, StoredPage

log = logging.getLogger(__name__)

Post = Callable[[Event], None]
Clock = Callable[[], float]

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


# ----------------------------------------------------------------------------- capture


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


class StillProcessor(Protocol):
    """``scanner.process_still``: what the worker needs of the page pipeline."""

    def __call__(self, frame: npt.NDArray[np.uint8], *, corners: Any = None,
                 previous: Any = None) -> Any: ...


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
                 clock: Clock = time.monotonic, auto_capture: Any = None,
                 process_still: StillProcessor | None = None,
                 lost_after: float = 3.0, activity_every: float = 5.0,
                 idle_stop: float = 8.0) -> None:
        self._camera_factory = camera_factory
        self._camera: Camera | None = None
        self._session = session
        self._post = post
        self._clock = clock
        if auto_capture is None or process_still is None:
            import scanner  # the page pipeline; imported here so the journey runs without it
            auto_capture = auto_capture or scanner.AutoCapture()
            process_still = process_still or scanner.process_still
        self._auto = auto_capture
        self._process: StillProcessor = process_still
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
            still = camera.capture_still(timeout=2.0).image if manual else event.frame
            result = self._process(still, previous=None if manual else event.corners)
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

    def _refused(self, manual: bool, reasons: Any) -> None:
        """A still auto-capture took was refused: take the page again once the citizen
        nudges it (not only once it leaves the tray, as for a page already taken)."""
        if not manual:
            with self._lock:
                self._auto.refused(reasons)

    def _publish(self, image: npt.NDArray[np.uint8], guidance: Any) -> None:
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


# ----------------------------------------------------------------------------- sealing


class SealError(Exception):
    """Sealing failed; ``reason`` is what the citizen is told ("disk_full" or "error")."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Sealer(Protocol):
    def seal(self, request: Seal, session: Session) -> SealedDeposit: ...


@dataclass(frozen=True)
class SealedDeposit:
    result: DepositResult
    created: datetime
    token: str


class DepositService:
    """Builds the dossier of a :class:`~kiosk.journey.Seal` request and queues it, encrypted.

    ``outbox`` is a ``deposit.outbox.Outbox`` opened with a sealer (recipients,
    kiosk id, signing key); ``ids`` a ``deposit.ids.DepositIdGenerator``
    resumed from the outbox's last id; ``public_url`` the back office's public
    address for tracking links. ``deliver`` (optional) tries to hand the
    dossier to the back office at once and says whether it did (else it stays
    queued for the uploader, and the receipt says it will be sent as soon as
    possible).
    """

    def __init__(self, outbox: Any, ids: Any, catalog: Catalog, *, kiosk_id: str,
                 kiosk_place: str, public_url: str, timezone: str = "Europe/Paris",
                 deliver: Callable[[str], bool] | None = None,
                 wall_clock: Clock = time.time) -> None:
        self.outbox = outbox
        self.ids = ids
        self.catalog = catalog
        self.kiosk_id = kiosk_id
        self.kiosk_place = kiosk_place
        self.public_url = public_url
        self.timezone = timezone
        self.deliver = deliver
        self._wall = wall_clock

    def deposit_json(self, request: Seal, deposit_id: str, created: datetime,
                     procedure: Procedure, pages: Sequence[tuple[str, int]]) -> dict[str, Any]:
        """The ``deposit.json`` of docs/contracts.md (inside the envelope only)."""
        from deposit.manifest import rfc3339

        contact = None
        if request.contact is not None:
            contact = {k: v for k, v in (("email", request.contact.email),
                                         ("phone", request.contact.phone)) if v}
        return {
            "version": 1, "deposit_id": deposit_id, "kiosk_id": self.kiosk_id,
            "kiosk_place": self.kiosk_place,
            "procedure": {"code": procedure.code, "title": procedure.name.get("fr")},
            "case_reference": request.case_reference, "language": request.language,
            "created": rfc3339(created),
            "documents": [{"code": code, "title": _document_title(procedure, code, "fr"),
                           "pages": count} for code, count in pages],
            "contact": contact or None,
            "consent": {"notice_version": PRIVACY_NOTICE_VERSION, "accepted": request.consent,
                        "at": rfc3339(created) if request.consent else None},
        }

    def seal(self, request: Seal, session: Session) -> SealedDeposit:
        from deposit.errors import OutboxError, OutboxFullError
        from deposit.ids import DepositId
        from deposit.manifest import new_tracking_token
        from printer.dossier import DossierDocument, DossierInfo, dossier_pdf
        from printer.receipt import tracking_url

        procedure = self.catalog.get(request.procedure)
        if procedure is None:
            raise SealError("error", f"procedure {request.procedure!r} is not in the catalog")
        created = datetime.fromtimestamp(self._wall(), UTC)
        try:
            documents = [DossierDocument(title=_document_title(procedure, doc.code, "fr"),
                                         pages=[p.encoded for p in session.pages(doc.page_ids)],
                                         code=doc.code)
                         for doc in request.documents]
        except KeyError as exc:
            raise SealError("error", f"page {exc} is no longer in the session") from None
        deposit_id: DepositId = self.ids.next()
        info = DossierInfo(deposit_id=deposit_id, procedure_code=procedure.code,
                           procedure_title=procedure.name.get("fr"), created=created,
                           kiosk_id=self.kiosk_id, kiosk_place=self.kiosk_place,
                           case_reference=request.case_reference,
                           citizen_language=request.language, timezone=self.timezone)
        pdf = dossier_pdf(info, documents)
        token = new_tracking_token()
        body = self.deposit_json(request, str(deposit_id), created, procedure,
                                 [(d.code, len(d.page_ids)) for d in request.documents])
        try:
            self.outbox.seal_and_queue(deposit_id=str(deposit_id), procedure=procedure.code,
                                       deposit_json=body, pdf=pdf, tracking_token=token,
                                       created=created)
        except OutboxFullError as exc:
            raise SealError("disk_full", str(exc)) from None
        except OutboxError as exc:
            raise SealError("error", str(exc)) from None
        finally:
            del pdf, body
        url = tracking_url(self.public_url, deposit_id, token)
        sent = False
        if self.deliver is not None:
            try:
                sent = self.deliver(str(deposit_id))
            except Exception as exc:  # delivery is best effort: the uploader will send it
                log.warning("immediate delivery of %s failed: %s", deposit_id, exc)
        return SealedDeposit(DepositResult(str(deposit_id), url, queued_offline=not sent),
                             created, token)


def _document_title(procedure: Procedure, code: str, language: str) -> str:
    spec = procedure.document(code)
    return spec.name.get(language) if spec else code


# ----------------------------------------------------------------------------- receipt


@dataclass(frozen=True)
class ReceiptOutcome:
    printed: bool
    problem: str = ""
    screen_png: bytes | None = None


class ReceiptService:
    """Lays out and prints receipts through ``printer.service.ReceiptPrinter``."""

    def __init__(self, receipt_printer: Any, catalog: Catalog, *, kiosk_id: str, place: str,
                 timezone: str = "Europe/Paris") -> None:
        self.receipt_printer = receipt_printer
        self.catalog = catalog
        self.kiosk_id = kiosk_id
        self.place = place
        self.timezone = timezone

    def receipt(self, job: PrintReceipt, sealed: SealedDeposit, case_reference: str | None
                ) -> Any:
        from deposit.ids import DepositId
        from printer.receipt import (
            DocumentEntry,
            ProcessingTime,
            Receipt,
            ServiceContact,
            Transmission,
        )

        procedure = self.catalog.get(job.procedure)
        assert procedure is not None
        lang = job.language
        return Receipt(
            deposit_id=DepositId.parse(job.deposit.deposit_id), created=sealed.created,
            kiosk_id=self.kiosk_id, place=self.place, procedure=procedure.name.get(lang),
            documents=tuple(DocumentEntry(_document_title(procedure, d.code, lang),
                                          len(d.page_ids)) for d in job.documents),
            processing_time=ProcessingTime(days=procedure.processing_days),
            tracking_url=job.deposit.tracking_url,
            transmission=Transmission.QUEUED if job.deposit.queued_offline
            else Transmission.SENT,
            service=ServiceContact(name=procedure.service.name.get(lang),
                                   phone=procedure.service.contact),
            language=lang, timezone=self.timezone, case_reference=case_reference)

    def print(self, receipt: Any) -> ReceiptOutcome:
        outcome = self.receipt_printer.print(receipt)
        if outcome.printed:
            return ReceiptOutcome(True)
        problem = outcome.problem.value if outcome.problem is not None else "error"
        if outcome.status is not None and outcome.status.paper_out:
            problem = "paper_out"     # many printers also say "offline" without paper: say why
        return ReceiptOutcome(False, problem, outcome.screen_png)


# ----------------------------------------------------------------------------- agent, stats


class AgentSignal:
    """"Call an agent": a log line for the technician and ``status/agent.json`` for diagnostics.

    The file holds when, from which kiosk and at which step; nothing about the
    citizen. It is replaced atomically, so a reader never sees half of it.
    """

    def __init__(self, status_dir: Path, kiosk_id: str, wall_clock: Clock = time.time) -> None:
        self.path = status_dir / "agent.json"
        self.kiosk_id = kiosk_id
        self._wall = wall_clock
        self.calls = 0

    def call(self, step: str) -> None:
        self.calls += 1
        at = datetime.fromtimestamp(self._wall(), UTC).isoformat(timespec="seconds")
        log.warning("AGENT CALLED at kiosk %s, step %s", self.kiosk_id, step)
        _write_json(self.path, {"kiosk_id": self.kiosk_id, "called_at": at, "step": step,
                                "calls_since_start": self.calls})


class SatisfactionLog:
    """Ratings, one JSON line each: the day, the procedure, the rating. No one is identifiable."""

    def __init__(self, status_dir: Path, wall_clock: Clock = time.time) -> None:
        self.path = status_dir / "satisfaction.jsonl"
        self._wall = wall_clock

    def record(self, rating: int, procedure: str | None) -> None:
        day = datetime.fromtimestamp(self._wall(), UTC).date().isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"day": day, "procedure": procedure, "rating": rating}) + "\n")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------- controller


@dataclass
class Hooks:
    """What the UI does for some commands (all optional; the application runs without a UI)."""

    on_agent: Callable[[], None] | None = None
    on_wipe: Callable[[], None] | None = None


@dataclass
class Receipts:
    """The receipt of the current deposit, held until the wipe (for reprints and the screen)."""

    sealed: SealedDeposit | None = None
    receipt: Any = None
    screen_png: bytes | None = None
    case_reference: str | None = None


@dataclass
class Controller:
    """Runs the journey of one kiosk (see the module docstring)."""

    journey: Journey
    session: Session
    capture: CaptureWorker | None
    sealer: Sealer | None
    receipts: ReceiptService | None
    agent: AgentSignal | None
    satisfaction: SatisfactionLog | None
    post: Post
    clock: Clock = time.monotonic
    hooks: Hooks = field(default_factory=Hooks)
    wipe_pause: float = 0.0        # seconds the "thank you" screen stays (data is gone at once)
    state: JourneyState = field(init=False)
    listeners: list[Callable[[JourneyState, JourneyState], None]] = field(default_factory=list)
    current: Receipts = field(default_factory=Receipts)

    def __post_init__(self) -> None:
        self.state = self.journey.initial(self.clock())
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-job")

    def dispatch(self, event: Event) -> None:
        transition = self.journey.handle(self.state, event, self.clock())
        old, self.state = self.state, transition.state
        if old is not self.state:
            for listener in list(self.listeners):
                listener(old, self.state)
        for command in transition.commands:
            self.perform(command)

    def perform(self, command: Command) -> None:
        log.debug("command %s", type(command).__name__)
        if isinstance(command, StartCamera):
            if self.capture is not None:
                self.capture.start(command.document, command.page_number, command.retake)
        elif isinstance(command, StopCamera):
            if self.capture is not None:
                self.capture.stop()
        elif isinstance(command, CaptureNow):
            if self.capture is not None:
                self.capture.capture_now()
        elif isinstance(command, DiscardPages):
            self.session.discard(command.page_ids)
        elif isinstance(command, Seal):
            self._jobs.submit(self._seal, command, self.state.case_reference)
        elif isinstance(command, PrintReceipt):
            self._jobs.submit(self._print, command)
        elif isinstance(command, CallAgent):
            if self.agent is not None:
                self.agent.call(command.step.value)
            if self.hooks.on_agent is not None:
                self.hooks.on_agent()
        elif isinstance(command, RecordSatisfaction):
            if self.satisfaction is not None:
                self.satisfaction.record(command.rating, command.procedure)
        elif isinstance(command, Wipe):
            self._wipe(command)

    def _seal(self, request: Seal, case_reference: str | None) -> None:
        if self.sealer is None:
            self.post(SealFailed("error"))
            return
        try:
            sealed = self.sealer.seal(request, self.session)
        except SealError as exc:
            log.error("sealing failed (%s): %s", exc.reason, exc)
            self.post(SealFailed(exc.reason))
            return
        except Exception:
            log.exception("sealing failed")
            self.post(SealFailed("error"))
            return
        self.current = Receipts(sealed=sealed, case_reference=case_reference)
        self.post(Sealed(sealed.result))

    def _print(self, job: PrintReceipt) -> None:
        if self.receipts is None or self.current.sealed is None:
            self.post(PrintFailed("error"))
            return
        try:
            if self.current.receipt is None:
                self.current.receipt = self.receipts.receipt(job, self.current.sealed,
                                                             self.current.case_reference)
            outcome = self.receipts.print(self.current.receipt)
        except Exception:
            log.exception("receipt failed")
            self.post(PrintFailed("error"))
            return
        if outcome.printed:
            self.post(Printed())
        else:
            self.current.screen_png = outcome.screen_png
            self.post(PrintFailed(outcome.problem))

    def _wipe(self, command: Wipe) -> None:
        if self.capture is not None:
            self.capture.release()
        wiped = self.session.wipe()
        self.current = Receipts()
        if self.hooks.on_wipe is not None:
            self.hooks.on_wipe()
        log.info("session wiped (%s, %d page(s))", command.reason.value, wiped)
        if self.wipe_pause > 0:
            timer = threading.Timer(self.wipe_pause, self.post, (WipeDone(),))
            timer.daemon = True
            timer.start()
        else:
            self.post(WipeDone())

    def check_devices(self, outbox: Any = None, printer: Any = None) -> None:
        """Ask the outbox and the printer how they are, on the job thread (so a status query
        never crosses a receipt being printed); changes come back as DeviceChanged."""
        self._jobs.submit(self._check_devices, outbox, printer)

    def _check_devices(self, outbox: Any, printer: Any) -> None:
        if outbox is not None:
            try:
                ok = bool(outbox.space_ok())
                problem = "" if ok else "disk_full"
            except Exception as exc:  # an outbox that cannot answer cannot take dossiers
                log.error("outbox check failed: %s", exc)
                ok, problem = False, "error"
            self.post(DeviceChanged(Device.OUTBOX, ok=ok, problem=problem))
        if printer is not None:
            try:
                status = printer.status()
                problems = [p for p in status.problems() if p != "paper_near_end"]
                self.post(DeviceChanged(Device.PRINTER, ok=not problems,
                                        problem=problems[0] if problems else ""))
            except DeviceError as exc:
                log.warning("printer status unreadable: %s", exc)
                self.post(DeviceChanged(Device.PRINTER, ok=False, problem="offline"))

    def close(self) -> None:
        self._jobs.shutdown(wait=True, cancel_futures=False)
        if self.capture is not None:
            self.capture.close()


class CodeReaderThread:
    """Reads the code reader in a thread; each code read becomes a CodeRead event."""

    def __init__(self, reader: Any, post: Post) -> None:
        self.reader = reader
        self.post = post
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="code-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                code = self.reader.read(timeout=0.5)
            except DeviceError as exc:
                log.warning("code reader: %s", exc)
                self._closed.wait(2.0)
                continue
            if code is not None:
                # The text is not logged: a code may carry a case reference.
                log.info("code read (%s, %d characters)", code.format, len(code.text))
                self.post(CodeRead(code.text))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        try:
            self.reader.close()
        except DeviceError as exc:
            log.warning("code reader did not close cleanly: %s", exc)


class EventQueue:
    """``post`` for running the controller without a UI (tests, tools): events wait in a queue
    until :meth:`pump` dispatches them on the caller's thread."""

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def __call__(self, event: Event) -> None:
        self.events.put(event)

    def pump(self, controller: Controller, timeout: float = 0.0) -> int:
        count = 0
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(remaining, 0)) if remaining > 0 and \
                    count == 0 else self.events.get_nowait()
            except queue.Empty:
                return count
            controller.dispatch(event)
            count += 1


# ----------------------------------------------------------------------------- runtime


@dataclass(frozen=True)
class Enrollment:
    """What a kiosk needs from its enrollment to seal deposits for its back office."""

    recipients: tuple[str, ...]
    signing_key: Any                 # Ed25519PrivateKey (deposit/ holds the cryptography)
    public_url: str                  # base of the tracking links printed on receipts
    deliver: Callable[[str], bool] | None = None   # immediate delivery, when reachable


@dataclass
class Runtime:
    """Everything a running kiosk holds open; :meth:`close` releases it all, in order."""

    controller: Controller
    catalog: Catalog
    journey: Journey
    session: Session
    outbox: Any = None
    printer: Any = None
    code_reader: CodeReaderThread | None = None
    status_dir: Path | None = None

    def check_devices(self) -> None:
        self.controller.check_devices(self.outbox, self.printer)

    def close(self) -> None:
        if self.code_reader is not None:
            self.code_reader.close()
        self.controller.close()
        if self.printer is not None:
            try:
                self.printer.close()
            except DeviceError as exc:
                log.warning("printer did not close cleanly: %s", exc)
        if self.outbox is not None:
            self.outbox.close()


def journey_from_config(config: Any, catalog: Catalog) -> Journey:
    from kiosk.journey import Timeouts

    s = config.session
    return Journey(catalog, languages=config.kiosk.languages,
                   default_language=config.kiosk.default_language,
                   timeouts=Timeouts(inactivity=s.inactivity, capture=s.capture_inactivity,
                                     satisfaction=s.satisfaction, warning=s.warning),
                   max_pages=s.max_pages)


def build_runtime(config: Any, enrollment: Enrollment | None, *, post: Post | None = None,
                  clock: Clock = time.monotonic, catalog: Catalog | None = None,
                  code_reader: bool = True,
                  camera_factory: Callable[[], Camera] | None = None) -> Runtime:
    """Open everything the configuration names and wire the controller to it.

    Without ``enrollment`` the kiosk runs but refuses deposits (nothing to seal
    for): the welcome screen says the storage cannot take them. Raises
    KioskError/DeviceError/deposit errors with a message naming what is wrong.
    """
    from drivers import open_camera, open_code_reader, open_printer
    from kiosk.catalog import load_catalog

    catalog = catalog or load_catalog(languages=config.kiosk.languages)
    journey = journey_from_config(config, catalog)
    session = Session()
    post = post or EventQueue()
    data_dir = Path(config.kiosk.data_dir)
    status_dir = data_dir / "status"
    outbox = sealer = None
    if enrollment is not None:
        from deposit.ids import DepositIdGenerator
        from deposit.outbox import Outbox
        from deposit.outbox import Sealer as OutboxSealer

        ob = config.outbox
        outbox = Outbox(data_dir / "outbox",
                        sealer=OutboxSealer(tuple(enrollment.recipients), config.kiosk.id,
                                            enrollment.signing_key),
                        reserve_bytes=ob.reserve_mb * 1024 * 1024,
                        dossier_estimate_bytes=ob.dossier_estimate_mb * 1024 * 1024,
                        busy_timeout_ms=ob.busy_timeout_ms, recover=True)
        ids = DepositIdGenerator(config.kiosk.code, time.time, outbox.last_deposit_id())
        sealer = DepositService(outbox, ids, catalog, kiosk_id=config.kiosk.id,
                                kiosk_place=config.kiosk.place,
                                public_url=enrollment.public_url, deliver=enrollment.deliver)
    printer = receipts = None
    try:
        from printer.service import ReceiptPrinter

        printer = open_printer(config.devices.printer)
        receipts = ReceiptService(ReceiptPrinter(printer), catalog, kiosk_id=config.kiosk.id,
                                  place=config.kiosk.place)
    except DeviceError as exc:
        log.error("receipt printer unavailable (%s): receipts will be shown on screen", exc)
    camera_url = config.devices.camera

    def forward(event: Event) -> None:
        controller.post(event)      # the UI replaces controller.post once it runs

    # Auto-capture times the page's stillness on the real clock, whatever the journey's is.
    capture = CaptureWorker(camera_factory or (lambda: open_camera(camera_url)), session,
                            forward)
    controller = Controller(journey, session, capture, sealer, receipts,
                            AgentSignal(status_dir, config.kiosk.id), SatisfactionLog(status_dir),
                            post=post, clock=clock)
    if enrollment is None:
        controller.state = replace(controller.state, devices=replace(
            controller.state.devices, outbox_ok=False, outbox_problem="not_enrolled"))
    reader_thread = None
    if code_reader:
        try:
            reader_thread = CodeReaderThread(open_code_reader(config.devices.code_reader),
                                             forward)
            reader_thread.start()
        except DeviceError as exc:
            log.error("code reader unavailable (%s): convocations cannot be read", exc)
    return Runtime(controller, catalog, journey, session, outbox, printer, reader_thread,
                   status_dir)


@dataclass
class DeliveryLog:
    """What the immediate deliveries said (the demo reports it; the UI only needs the flag)."""

    outcomes: dict[str, Any] = field(default_factory=dict)


def enrollment_from_bundle(config: Any, bundle: Path | None = None, *,
                           deliver_timeout: int = 5,
                           log_to: DeliveryLog | None = None) -> Enrollment:
    """The enrollment of ``backoffice enroll`` (``{data_dir}/enrollment`` unless ``bundle``).

    Its deliver function makes one short delivery pass right after sealing
    (``deliver_timeout`` seconds, one attempt): when the back office answers,
    the receipt says the dossier was sent; otherwise it stays queued for the
    uploader and the receipt says it will be sent as soon as possible.
    Raises KioskError naming the folder and what is wrong.
    """
    from deposit.errors import BundleError, DepositError
    from deposit.upload import Enrollment as Bundle
    from kiosk.delivery import DeliveryError, bundle_folder, deliver_now
    from kiosk.errors import KioskError

    folder = bundle_folder(config, bundle)
    try:
        loaded = Bundle.load(folder)
        recipients = tuple(loaded.recipients())
        key = loaded.signing_key()
    except (BundleError, DepositError) as exc:
        raise KioskError(f"enrollment bundle {folder}: {exc}") from None
    if loaded.kiosk_id != config.kiosk.id or loaded.fleet_code != config.kiosk.code:
        raise KioskError(
            f"enrollment bundle {folder} is for kiosk {loaded.kiosk_id} (code "
            f"{loaded.fleet_code}) but the configuration says [kiosk] id = {config.kiosk.id!r}, "
            f"code = {config.kiosk.code!r}: merge the bundle's kiosk.toml into the configuration")
    quick = replace(config, upload=replace(config.upload, timeout_s=deliver_timeout, attempts=1))

    def deliver(deposit_id: str) -> bool:
        try:
            report = deliver_now(quick, bundle=folder, attempts=1)
        except DeliveryError as exc:
            log.warning("delivery of %s not attempted: %s", deposit_id, exc)
            if log_to is not None:
                log_to.outcomes[deposit_id] = {"outcome": "queued", "reason": str(exc)}
            return False
        mine = [d for d in report.deposits if d.deposit_id == deposit_id]
        if log_to is not None:
            log_to.outcomes[deposit_id] = mine[0].as_dict() if mine else \
                {"outcome": "queued", "reason": "not attempted"}
        return bool(mine and mine[0].acknowledged)

    return Enrollment(recipients, key, loaded.public_url, deliver)
