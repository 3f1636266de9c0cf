"""The composition root: every collaborator of a running kiosk, built from the configuration.

:func:`build_runtime` opens the devices the configuration names, the outbox,
the printer's receipt service, the camera worker, the code reader thread and
the controller, and wires them; :class:`Runtime` holds them and closes them in
order. :func:`sealing_keys` reads what sealing needs from the enrollment bundle
(``backoffice enroll``'s folder). ``kiosk run`` puts the UI on top
(kiosk/commands/run.py); tests, the demo and the benchmarks drive the same
runtime with or without the UI.

Delivery is not here: ``kiosk uploader`` is another process (kiosk/uploading.py);
the runtime only nudges it (kiosk/nudge.py) after each deposit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from deposit.complements import TIMEOUT_S as COMPLEMENT_TIMEOUT_S
from deposit.complements import ComplementClient
from deposit.errors import DepositError
from deposit.fleetstate import AckKey
from deposit.heartbeat import DeviceHealth, DeviceKind
from deposit.ids import DepositIdGenerator
from deposit.manifest import SigningKey
from deposit.outbox import Outbox
from deposit.outbox import Sealer as OutboxSealer
from drivers import open_camera, open_code_reader, open_printer
from drivers.camera.base import Camera
from drivers.errors import DeviceError
from drivers.printer.base import Printer
from kiosk.access import Access
from kiosk.capture import CaptureWorker
from kiosk.catalog import Catalog, load_catalog
from kiosk.complement import ComplementLookup
from kiosk.config import Config
from kiosk.controller import CodeReaderThread, Controller
from kiosk.devicestatus import DeviceStatus
from kiosk.enrollment import load_bundle
from kiosk.errors import KioskError
from kiosk.events import Clock, EventQueue, Post
from kiosk.journey import Event, Journey, Step, Timeouts
from kiosk.nudge import Nudger
from kiosk.reasons import OutboxProblem
from kiosk.receipts import ReceiptService
from kiosk.sealing import DepositService
from kiosk.service.mode import ServiceMode
from kiosk.service.pages import CameraSession, build_service
from kiosk.session import Session
from kiosk.signals import AgentSignal, SatisfactionLog
from kiosk.theme import CONTRAST_THEMES, LARGE_THEMES
from kiosk.twoddocs import PageChecker, load_trust
from printer.service import ReceiptPrinter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SealingKeys:
    """What a kiosk needs from its enrollment to seal deposits for its back office."""

    recipients: tuple[str, ...]       # the back office's age recipients
    signing_key: SigningKey           # this kiosk's manifest-signing key
    public_url: str                   # base of the tracking links printed on receipts
    notifier: str | None = None       # the notifier's age recipient (None: older bundle)
    #: Asks the back office what a receipt's dossier awaits (None: receipts are read, but
    #: every lookup says the back office cannot be asked).
    complements: ComplementLookup | None = None
    #: The back office's signing key: badges and the fleet state are checked with it.
    ack_key: AckKey | None = None


@dataclass
class Runtime:
    """Everything a running kiosk holds open; :meth:`close` releases it all, in order."""

    config: Config
    controller: Controller
    catalog: Catalog
    journey: Journey
    session: Session
    outbox: Outbox | None = None
    printer: Printer | None = None
    code_reader: CodeReaderThread | None = None
    status_dir: Path | None = None
    service: ServiceMode | None = None
    #: The camera the service pages open (the panel shows its preview).
    service_camera: CameraSession | None = None
    #: Reads the 2D-Doc of captured pages ([twoddoc] enabled).
    page_checker: PageChecker | None = None

    def check_devices(self) -> None:
        self.controller.check_devices(self.outbox, self.printer)

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
        if self.service_camera is not None:
            self.service_camera.stop()
        if self.code_reader is not None:
            self.code_reader.close()
        self.controller.close()
        if self.page_checker is not None:
            self.page_checker.close()
        if self.printer is not None:
            try:
                self.printer.close()
            except DeviceError as exc:
                log.warning("printer did not close cleanly: %s", exc)
        if self.outbox is not None:
            self.outbox.close()


def journey_from_config(config: Config, catalog: Catalog,
                        receipt_base: str | None = None) -> Journey:
    s = config.session
    return Journey(catalog, languages=config.kiosk.languages,
                   default_language=config.kiosk.default_language,
                   timeouts=Timeouts(inactivity=s.inactivity, capture=s.capture_inactivity,
                                     satisfaction=s.satisfaction, warning=s.warning),
                   max_pages=s.max_pages, input_guard=s.input_guard,
                   default_access=Access(large_text=config.ui.theme in LARGE_THEMES,
                                         high_contrast=config.ui.theme in CONTRAST_THEMES),
                   receipt_base=receipt_base)


def build_runtime(config: Config, keys: SealingKeys | None, *, post: Post | None = None,
                  clock: Clock = time.monotonic, catalog: Catalog | None = None,
                  code_reader: bool = True,
                  camera_factory: Callable[[], Camera] | None = None) -> Runtime:
    """Open everything the configuration names and wire the controller to it.

    Without ``keys`` (no usable enrollment) the kiosk runs but refuses deposits
    (nothing to seal for): the welcome screen says so. Raises
    KioskError/DeviceError/deposit errors with a message naming what is wrong.
    """
    catalog = catalog or load_catalog(languages=config.kiosk.languages)
    journey = journey_from_config(config, catalog, keys.public_url if keys else None)
    session = Session()
    post = post or EventQueue()
    data_dir = Path(config.kiosk.data_dir)
    status_dir = data_dir / "status"
    outbox = sealer = None
    if keys is not None:
        ob = config.outbox
        outbox = Outbox(data_dir / "outbox",
                        sealer=OutboxSealer(keys.recipients, config.kiosk.id, keys.signing_key),
                        reserve_bytes=ob.reserve_mb * 1024 * 1024,
                        dossier_estimate_bytes=ob.dossier_estimate_mb * 1024 * 1024,
                        busy_timeout_ms=ob.busy_timeout_ms, recover=True)
        ids = DepositIdGenerator(config.kiosk.code, time.time, outbox.last_deposit_id())
        sealer = DepositService(outbox, ids, catalog, kiosk_id=config.kiosk.id,
                                kiosk_place=config.kiosk.place, public_url=keys.public_url,
                                nudge=Nudger(data_dir), notifier=keys.notifier)
    printer = receipts = None
    devices = DeviceStatus(status_dir)      # for the uploader's heartbeat (kiosk/heartbeat.py)
    try:
        printer = open_printer(config.devices.printer)
        receipts = ReceiptService(ReceiptPrinter(printer), catalog, kiosk_id=config.kiosk.id,
                                  place=config.kiosk.place)
    except DeviceError as exc:
        log.error("receipt printer unavailable (%s): receipts will be shown on screen", exc)
        devices.printer_unreadable(f"cannot be opened: {exc}")
    camera_url = config.devices.camera

    def forward(event: Event) -> None:
        controller.post(event)      # the UI replaces controller.post once it runs

    checker = None
    if config.twoddoc.enabled:
        ack_key = keys.ack_key if keys else None
        checker = PageChecker(session, forward,
                              lambda: load_trust(config, status_dir, ack_key))
    # Auto-capture times the page's stillness on the real clock, whatever the journey's is.
    capture = CaptureWorker(camera_factory or (lambda: open_camera(camera_url)), session,
                            devices.observing_camera(forward), data_dir=data_dir,
                            check_page=checker.submit if checker else None)
    # The agent call goes through the uploader (nudged); its acknowledgement comes back as an
    # event, to whatever post the controller has then (the UI's once it runs).
    agent = AgentSignal(status_dir, config.kiosk.id, post=forward, nudge=Nudger(data_dir))
    controller = Controller(journey, session, capture, sealer, receipts, agent,
                            SatisfactionLog(status_dir), post=post, clock=clock,
                            complements=keys.complements if keys else None,
                            device_status=devices)
    if keys is None:
        controller.state = replace(controller.state, devices=replace(
            controller.state.devices, outbox_ok=False,
            outbox_problem=OutboxProblem.NOT_ENROLLED))
    reader_thread = None
    if code_reader:
        try:
            reader_thread = CodeReaderThread(open_code_reader(config.devices.code_reader),
                                             forward, devices)
            reader_thread.start()
        except DeviceError as exc:
            log.error("code reader unavailable (%s): convocations cannot be read", exc)
            devices.record(DeviceKind.CODE_READER, DeviceHealth.FAIL, f"cannot be opened: {exc}")
    runtime = Runtime(config, controller, catalog, journey, session, outbox, printer,
                      reader_thread, status_dir, page_checker=checker)
    runtime.service, runtime.service_camera = build_service(
        config, keys.ack_key if keys else None, printer=printer, capture=capture,
        camera_factory=camera_factory or (lambda: open_camera(camera_url)),
        code_reader=reader_thread)
    controller.service = runtime.service
    runtime.service.can_enter = lambda: controller.state.step is Step.WELCOME and \
        controller.state.overlay is None
    return runtime


def sealing_keys(config: Config, bundle: Path | None = None) -> SealingKeys:
    """What sealing needs, from this kiosk's enrollment bundle (see :func:`load_bundle`)."""
    loaded = load_bundle(config, bundle)
    try:
        notifier = loaded.notifier_recipient()
    except DepositError as exc:   # notifications are not worth refusing deposits for
        log.error("enrollment bundle %s: %s; citizens' contacts will not be notified",
                  loaded.folder, exc)
        notifier = None
    # The lookup makes its own short-lived client per question (module docstring of
    # deposit/complements.py: why the application asks, not the uploader).
    lookups = ComplementClient(lambda: loaded.http_client(timeout=COMPLEMENT_TIMEOUT_S),
                               loaded.upload_url)
    try:
        return SealingKeys(tuple(loaded.recipients()), loaded.signing_key(), loaded.public_url,
                           notifier, lookups, loaded.ack_key())
    except (DepositError, OSError) as exc:
        raise KioskError(f"enrollment bundle {loaded.folder}: {exc}") from None
