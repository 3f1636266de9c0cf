"""What each service page shows and tests, from the running kiosk's own parts.

:func:`build_service` is called by the composition root (kiosk/runtime.py):
it gives the service mode the kiosk's open printer (test receipt, cutter,
paper), the camera factory (the camera page opens the camera itself: at the
welcome screen the citizens' capture worker has released it), the code
reader, and the checks ``kiosk diag`` runs (kiosk/service/checks.py) for the
outbox, network, storage and version pages. Devices the kiosk could not open
are reported as such, never retried here behind the kiosk's back.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from deposit import badge as badgemod
from deposit.errors import DepositError
from deposit.fleetstate import AckKey
from deposit.outboxview import read_queue
from deposit.status import OutboxState
from drivers.camera.base import Camera
from drivers.codes import decode_image
from drivers.errors import DeviceError
from drivers.printer.base import Printer
from kiosk.capture import CaptureWorker, fit_long_side, to_rgb
from kiosk.config import Config
from kiosk.controller import CodeReaderThread
from kiosk.service.access import ServiceGate
from kiosk.service.checks import run_checks
from kiosk.service.journal import Priority, recent_lines
from kiosk.service.mode import ServiceMode
from kiosk.service.model import Action, Level, Page, Pages, Row
from kiosk.service.results import CheckName, Outcome
from kiosk.uploading import outbox_folder
from printer.testpage import cutter_test, print_test_receipt
from scanner.calibration import SheetIssue, measure_sheet
from scanner.focus import Exposure, Region, read_camera
from scanner.trayprior import record_tray

log = logging.getLogger(__name__)

#: The warnings and errors the devices page lists (the newest last).
RECENT = 12
#: The camera page's preview: long side in pixels, and frames analysed per second.
PREVIEW_LONG_SIDE = 960
PREVIEW_FPS = 8.0
#: No frame for this long (seconds) and the page says the camera gives none: the capture
#: worker's own limit for a lost camera (kiosk/capture.py, ``lost_after``).
LOST_AFTER_S = 3.0


class RecentErrors(logging.Handler):
    """The kiosk's own recent log lines: its warnings and errors for the devices page, and
    the last lines for the journal page where there is no systemd journal (development).

    The project's log lines carry no personal data (a code read is logged by its
    length, never its text), so they may be shown to the technician.
    """

    PREFIXES = ("drivers", "kiosk", "printer", "scanner", "deposit")

    def __init__(self, keep: int = RECENT, lines: int = 200) -> None:
        super().__init__(logging.INFO)
        self.records: collections.deque[tuple[float, str, str]] = collections.deque(maxlen=keep)
        self.lines: collections.deque[tuple[float, str, str, str]] = \
            collections.deque(maxlen=lines)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] not in self.PREFIXES:
            return
        message = record.getMessage()
        self.lines.append((record.created, record.levelname, record.name, message))
        # The service mode's own lines (entered, left, switched) are the technician's doing.
        if record.levelno >= logging.WARNING and not record.name.startswith("kiosk.service"):
            self.records.append((record.created, record.levelname, message))

    def rows(self) -> list[Row]:
        if not self.records:
            return [Row("Erreurs récentes", "aucune depuis le démarrage", Level.OK)]
        return [Row(datetime.fromtimestamp(at).strftime("%d/%m %H:%M:%S"), message,
                    Level.FAIL if level in ("ERROR", "CRITICAL") else Level.WARN)
                for at, level, message in self.records]


#: One handler per process, installed by the first build_service.
_RECENT = RecentErrors()
_INSTALLED = threading.Lock()


def _install_recent() -> RecentErrors:
    with _INSTALLED:
        root = logging.getLogger()
        if _RECENT not in root.handlers:
            root.addHandler(_RECENT)
    return _RECENT


def printer_rows(printer: Printer | None) -> list[Row]:
    """The printer's condition now (DLE EOT), paper level first."""
    if printer is None:
        return [Row("Imprimante", "non ouverte au démarrage (voir le journal)", Level.FAIL)]
    try:
        status = printer.status()
    except DeviceError as exc:
        return [Row("Imprimante", f"ne répond pas : {exc}", Level.FAIL)]
    if not status.known:
        paper = Row("Papier", "inconnu (l'imprimante ne dit pas son état)", Level.WARN)
    elif status.paper_out:
        paper = Row("Papier", "épuisé", Level.FAIL)
    elif status.paper_near_end:
        paper = Row("Papier", "presque fini : changez le rouleau", Level.WARN)
    else:
        paper = Row("Papier", "suffisant", Level.OK)
    rows = [Row("Imprimante", "prête" if status.can_print else "ne peut pas imprimer",
                Level.OK if status.can_print else Level.FAIL), paper]
    if status.cover_open:
        rows.append(Row("Capot", "ouvert", Level.FAIL))
    if not status.online:
        rows.append(Row("En ligne", "non", Level.FAIL))
    if status.cutter_error:
        rows.append(Row("Massicot", "en erreur", Level.FAIL))
    if status.unrecoverable_error:
        rows.append(Row("Erreur", "irrécupérable : éteignez et rallumez l'imprimante",
                        Level.FAIL))
    rows.append(Row("Modèle", f"{printer.profile.name}, {printer.profile.paper_width_mm} mm"))
    return rows


class CameraSession:
    """The camera page's camera: opened when the page shows, closed when it hides.

    A thread reads frames and keeps the newest preview (RGB, at most
    ``PREVIEW_LONG_SIDE``) and the newest gauges (``analyse``, a few times a
    second): the panel reads both without waiting.
    """

    def __init__(self, factory: Callable[[], Camera], capture: CaptureWorker | None,
                 analyse: Callable[[npt.NDArray[np.uint8]], list[Row]] | None = None) -> None:
        self.factory = factory
        self.capture = capture
        self.analyse = analyse
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._preview: npt.NDArray[np.uint8] | None = None
        self._rows: list[Row] = [Row("Caméra", "ouverture…")]
        self.last_frame: npt.NDArray[np.uint8] | None = None
        #: The camera while the session has it open (None otherwise).
        self.camera: Camera | None = None
        #: Set while the camera reads a badge (the code reader's fallback): each QR code's text.
        self.on_code: Callable[[str], None] | None = None

    def scan(self, on_code: Callable[[str], None]) -> None:
        """Read QR codes from the camera (a badge shown under it) until :meth:`stop`."""
        self.start()
        self.on_code = on_code

    def start(self) -> None:
        self.stop()
        if self.capture is not None:
            self.capture.release()           # the citizens' worker lets go of the device
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="service-camera", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.on_code = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._preview = None

    def preview(self) -> npt.NDArray[np.uint8] | None:
        with self._lock:
            return self._preview

    def frame(self) -> npt.NDArray[np.uint8] | None:
        """The newest full-resolution frame."""
        with self._lock:
            return self.last_frame

    def frames(self, count: int, timeout: float = 10.0) -> list[npt.NDArray[np.uint8]]:
        """``count`` successive full-resolution frames (for the empty tray's median)."""
        taken: list[npt.NDArray[np.uint8]] = []
        end = time.monotonic() + timeout
        last = None
        while len(taken) < count:
            if time.monotonic() > end:
                raise DeviceError(f"only {len(taken)} frames from the camera in {timeout:g} s")
            frame = self.frame()
            if frame is not None and frame is not last:
                taken.append(frame)
                last = frame
            time.sleep(0.02)
        return taken

    def rows(self) -> list[Row]:
        with self._lock:
            return list(self._rows)

    def _say(self, rows: list[Row]) -> None:
        with self._lock:
            self._rows = rows

    def _run(self) -> None:
        try:
            camera = self.factory()
            camera.start()
        except DeviceError as exc:
            self._say([Row("Caméra", f"ne s'ouvre pas : {exc}", Level.FAIL)])
            return
        self.camera = camera
        last_analysis = 0.0
        last_frame = time.monotonic()
        try:
            while not self._stop.is_set():
                frame = camera.latest(timeout=0.5)
                if frame is None:
                    # one late frame on a busy machine is not a lost camera: the gauges stay
                    if time.monotonic() - last_frame > LOST_AFTER_S:
                        status = camera.status()
                        self._say([Row("Caméra", f"aucune image ({status.state.value}) "
                                       f"{status.message}", Level.FAIL)])
                    continue
                last_frame = time.monotonic()
                image = frame.image
                preview = to_rgb(fit_long_side(image, PREVIEW_LONG_SIDE))
                with self._lock:
                    self._preview = preview
                    self.last_frame = image
                now = time.monotonic()
                on_code = self.on_code
                if on_code is not None:
                    if now - last_analysis >= 1 / PREVIEW_FPS:
                        last_analysis = now
                        for code in decode_image(image, formats=["QRCode"], thorough=False):
                            on_code(code.text)
                    continue
                if now - last_analysis >= 1 / PREVIEW_FPS:
                    last_analysis = now
                    status = camera.status()
                    height, width = image.shape[:2]
                    rows = [Row("Caméra", f"{width}x{height}, {status.fps:.0f} images/s",
                                Level.OK)]
                    if self.analyse is not None:
                        try:
                            rows += self.analyse(image)
                        except Exception as exc:  # a gauge's failure is shown, not fatal
                            log.exception("camera gauges failed")
                            rows.append(Row("Mesures", f"impossibles : {exc}", Level.FAIL))
                    self._say(rows)
        except DeviceError as exc:
            self._say([Row("Caméra", f"perdue : {exc}", Level.FAIL)])
        finally:
            self.camera = None
            try:
                camera.stop()
                camera.close()
            except DeviceError as exc:
                log.warning("service camera did not close cleanly: %s", exc)


#: The focus gauge's marks (scanner/focus.py's gauge, calibrated on the simulator's blur:
#: 0.5 is blur 3 px, the blur the scanner's defect corpus counts as unusable; a sharp 1080p
#: page reads about 0.95). Below FOCUS_FAIL pages are refused as blurred; below FOCUS_WARN
#: they pass but small print suffers.
FOCUS_FAIL = 0.5
FOCUS_WARN = 0.75
#: Frames the empty tray's median is taken over (scanner/trayprior.py needs 3 at least).
TRAY_FRAMES = 9
_EXPOSURE_WORDS = {Exposure.OK: "correcte", Exposure.UNDER: "trop sombre",
                   Exposure.OVER: "trop claire (blancs écrêtés)"}
_SHEET_WORDS = {
    SheetIssue.NO_SHEET: "feuille de calibration introuvable (ses quatre marques doivent se voir)",
    SheetIssue.LOW_RESOLUTION: "résolution trop faible : les pages seraient refusées",
    SheetIssue.NO_BILEVEL: "résolution juste : les pages de texte resteraient en gris",
    SheetIssue.LOW_CONTRAST: "contraste faible (blanc trop sombre ou noir trop clair)",
    SheetIssue.FLAT_STEPS: "gris confondus : exposition à régler",
    SheetIssue.TILTED: "caméra pas d'équerre avec le plateau",
}


def camera_rows(frame: npt.NDArray[np.uint8]) -> list[Row]:
    """The focus and exposure gauges of one preview frame, on the page at a fixed scale."""
    reading = read_camera(frame)
    where = "sur la page" if reading.region is Region.PAGE else \
        "sur toute l'image (aucune page posée)"
    focus = reading.focus.gauge
    level = Level.FAIL if focus < FOCUS_FAIL else Level.WARN if focus < FOCUS_WARN else Level.OK
    exposure = reading.exposure
    return [Row("Netteté", f"{focus:.2f} {where}", level, gauge=focus),
            Row("Exposition", f"{_EXPOSURE_WORDS[exposure.verdict]} : papier "
                f"{exposure.paper:.0f}/255, blancs écrêtés {exposure.highlights:.1%}, noirs "
                f"{exposure.shadows:.1%}",
                Level.OK if exposure.verdict is Exposure.OK else Level.WARN,
                gauge=exposure.paper / 255)]


def camera_actions(camera: CameraSession, capture: CaptureWorker | None,
                   data_dir: Path) -> tuple[Action, ...]:
    def sheet() -> Row:
        frame = camera.frame()
        if frame is None:
            raise DeviceError("no frame from the camera yet")
        reading = measure_sheet(frame)
        if reading.dpi is None:
            return Row("Feuille de calibration", _SHEET_WORDS[SheetIssue.NO_SHEET], Level.FAIL)
        said = [f"{reading.dpi:.0f} points par pouce sur la page",
                f"{reading.distinct_steps}/7 gris distincts"]
        if reading.resolved_lpmm is not None:
            said.append(f"{reading.resolved_lpmm:g} paires de lignes/mm résolues")
        said += [_SHEET_WORDS[i] for i in reading.issues]
        bad = {SheetIssue.LOW_RESOLUTION, SheetIssue.NO_SHEET, SheetIssue.LOW_CONTRAST}
        level = Level.OK if reading.ok else \
            Level.FAIL if bad & set(reading.issues) else Level.WARN
        return Row("Feuille de calibration", " · ".join(said), level)

    def tray() -> Row:
        frames = camera.frames(TRAY_FRAMES)
        recorded = record_tray(frames, data_dir)
        if capture is not None:
            capture.reload_tray()
        return Row("Plateau vide enregistré", f"médiane de {len(frames)} images "
                   f"{recorded.size[0]}x{recorded.size[1]} : la détection des pages s'en sert",
                   Level.OK)

    return (Action("sheet", "Mesurer la feuille de calibration", sheet),
            Action("tray", "Enregistrer le plateau vide", tray))


def _level(outcome: Outcome) -> Level:
    return {Outcome.OK: Level.OK, Outcome.WARN: Level.WARN, Outcome.FAIL: Level.FAIL}[outcome]


#: The checks' names on the panel.
CHECK_LABELS = {
    CheckName.PRINTER: "Imprimante", CheckName.CAMERA: "Caméra",
    CheckName.CODE_READER: "Lecteur de codes", CheckName.OUTBOX: "File d'envoi",
    CheckName.NETWORK: "Back-office", CheckName.CERTIFICATE: "Certificat du kiosque",
    CheckName.CLOCK: "Horloge", CheckName.STORAGE: "Disque de données",
    CheckName.ENROLLMENT: "Enrôlement", CheckName.VERSION: "Logiciel",
    CheckName.SERVICE: "Services systemd",
}


def check_rows(config: Config, *names: CheckName) -> list[Row]:
    """The checks ``kiosk diag`` runs, one row each (the detail as the command prints it)."""
    return [Row(CHECK_LABELS[r.check], r.detail, _level(r.result))
            for r in run_checks(config, only=names)]


def outbox_rows(config: Config) -> list[Row]:
    """The queue, read-only: counts, then each deposit held (nothing personal in it)."""
    rows = check_rows(config, CheckName.OUTBOX)
    try:
        view = read_queue(outbox_folder(config), limit=30)
    except DepositError as exc:
        return [*rows, Row("Dépôts", f"illisibles : {exc}", Level.FAIL)]
    for deposit in view.deposits:
        outcome = deposit.last_outcome.value if deposit.last_outcome else "pas encore essayé"
        rows.append(Row(deposit.deposit_id,
                        f"{deposit.procedure or '?'} · scellé {deposit.sealed_at} · "
                        f"{deposit.envelope_size / 1024:.0f} Kio · {deposit.state.value} · "
                        f"{deposit.attempts} essai(s), dernier : {outcome}",
                        Level.WARN if deposit.state is OutboxState.REFUSED else Level.INFO))
    return rows


#: The journal page's filters: the most severe priority shown.
LOG_FILTERS = {"all": Priority.INFO, "warning": Priority.WARNING, "error": Priority.ERR}


def log_rows(recent: RecentErrors, wanted: str, count: int = 60) -> list[Row]:
    """The journal's last lines (kiosk and uploader units); where there is no journal, this
    process's own lines."""
    priority = LOG_FILTERS.get(wanted, Priority.INFO)
    excerpt = recent_lines(count, priority=priority)
    if excerpt.lines:
        return [Row(line.time.astimezone().strftime("%d/%m %H:%M:%S") if line.time else "",
                    f"{line.unit}: {line.message}",
                    Level.FAIL if line.priority <= Priority.ERR else
                    Level.WARN if line.priority == Priority.WARNING else Level.INFO)
                for line in reversed(excerpt.lines)]
    threshold = {Priority.INFO: logging.INFO, Priority.WARNING: logging.WARNING,
                 Priority.ERR: logging.ERROR}[priority]
    own = [(at, level, name, message) for at, level, name, message in recent.lines
           if logging.getLevelName(level) >= threshold][-count:]
    rows = [Row("Journal système", f"indisponible ({excerpt.reason}) : lignes de ce "
                "processus", Level.WARN)]
    for at, level, name, message in reversed(own):
        rows.append(Row(datetime.fromtimestamp(at).strftime("%d/%m %H:%M:%S"),
                        f"{name}: {message}",
                        Level.FAIL if level in ("ERROR", "CRITICAL") else
                        Level.WARN if level == "WARNING" else Level.INFO))
    return rows


def printer_actions(printer: Printer | None, kiosk_id: str) -> tuple[Action, ...]:
    if printer is None:
        return ()

    def test_receipt() -> Row:
        qr = print_test_receipt(printer, kiosk_id, datetime.now(UTC))
        return Row("Reçu de test imprimé", f"son QR code doit se lire : {qr}", Level.OK)

    def cut() -> Row:
        status = cutter_test(printer)
        if status.cutter_error:
            return Row("Test de coupe", "le massicot est en erreur", Level.FAIL)
        return Row("Test de coupe", "papier avancé et coupé", Level.OK)

    return (Action("test_receipt", "Imprimer un reçu de test", test_receipt),
            Action("cut", "Tester la coupe", cut))


def code_reader_rows(reader: CodeReaderThread | None) -> list[Row]:
    if reader is None:
        return [Row("Lecteur de codes", "non ouvert au démarrage (voir le journal)", Level.FAIL)]
    return [Row("Lecteur de codes", "ouvert : présentez un code pour le tester", Level.OK)]


def build_service(config: Config, ack_key: AckKey | None, *,
                  printer: Printer | None, capture: CaptureWorker | None,
                  camera_factory: Callable[[], Camera],
                  code_reader: CodeReaderThread | None
                  ) -> tuple[ServiceMode, CameraSession]:
    """The service mode of this kiosk, and the camera its pages use (the panel shows its
    preview)."""
    recent = _install_recent()
    status_dir = config.kiosk.data_dir / "status"
    camera = CameraSession(camera_factory, capture, camera_rows)
    pages = Pages(
        rows={
            Page.DEVICES: lambda: printer_rows(printer) + code_reader_rows(code_reader)
            + [Row("Caméra", "ouverte sur la page Caméra (libre à l'accueil)")]
            + recent.rows(),
            Page.PRINTER: lambda: printer_rows(printer),
            Page.CAMERA: camera.rows,
            Page.OUTBOX: lambda: outbox_rows(config),
            Page.NETWORK: lambda: check_rows(config, CheckName.NETWORK, CheckName.CLOCK,
                                             CheckName.CERTIFICATE, CheckName.ENROLLMENT),
            Page.STORAGE: lambda: check_rows(config, CheckName.STORAGE),
            Page.VERSION: lambda: [
                *check_rows(config, CheckName.VERSION, CheckName.SERVICE),
                Row("Kiosque", f"{config.kiosk.id} ({config.kiosk.code}), "
                    f"{config.kiosk.place or 'lieu non renseigné'}")],
        },
        actions={Page.PRINTER: printer_actions(printer, config.kiosk.id),
                 Page.CAMERA: camera_actions(camera, capture, config.kiosk.data_dir)},
        live={Page.DEVICES: 5.0, Page.PRINTER: 5.0, Page.CAMERA: 0.5, Page.OUTBOX: 10.0},
        logs=lambda wanted: log_rows(recent, wanted),
        on_show={Page.CAMERA: camera.start},
        on_hide={Page.CAMERA: camera.stop},
        badge_scan=(camera.scan, camera.stop),
    )
    gate = ServiceGate(status_dir, ack_key) if ack_key is not None else None
    service = ServiceMode(gate, pages, status_dir,
                          is_badge=lambda text: text.startswith(badgemod.PREFIX))
    return service, camera
