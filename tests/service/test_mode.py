"""The service mode in the running kiosk (no Kivy): a badge at the welcome screen, its PIN, the
pages' tests on the simulators, and the out-of-order switch.

Real parts: the runtime built from a simulator configuration (code reader, camera and printer
simulators, an outbox sealing for a fresh age identity), badges signed with a back office
acknowledgement key the kiosk trusts, the gate of kiosk/service/access.py with its lock-out file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deposit import badge as badgemod
from devtools.citizen import local_keys, sim_config
from kiosk.config import SessionSection
from kiosk.events import EventQueue
from kiosk.journey import Action, CodeRead, ReceiptPhase, Step, Tap
from kiosk.runtime import Runtime, build_runtime
from kiosk.service.mode import ServiceMode
from kiosk.service.model import Act, Level, Page, Phase, Row
from kiosk.service.switch import SERVICE_FILE
from kiosk.service.texts import OutOfOrderReason

PIN = "482913"


def issue(key: Ed25519PrivateKey, holder: str = "Camille Martin", *, days: int = 7,
          issued: datetime | None = None, pin: str = PIN) -> str:
    issued = issued or datetime.now(UTC).replace(microsecond=0)
    badge = badgemod.Badge(badgemod.new_badge_id(), holder, issued, issued + timedelta(days=days),
                           badgemod.PinVerifier.make(pin, log2_n=10), "https://bo.example")
    return badgemod.encode(badge, key)


@pytest.fixture
def office_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def kiosk(tmp_path: Path, office_key: Ed25519PrivateKey) -> Iterator[Runtime]:
    keys, _identity = local_keys()
    keys = replace(keys, ack_key=office_key.public_key())
    config = sim_config(tmp_path / "data", seed=5, session=SessionSection(input_guard=0))
    queue = EventQueue()
    rt = build_runtime(config, keys, post=queue)
    rt.queue = queue  # type: ignore[attr-defined]
    yield rt
    rt.close()


def pump(rt: Runtime, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            assert rt.service is not None
            raise AssertionError(f"timed out; service view: {rt.service.view()}")
        rt.queue.pump(rt.controller, timeout=0.1)  # type: ignore[attr-defined]


def show(rt: Runtime, text: str) -> None:
    """Hold a code under the simulated code reader and let the controller see it."""
    assert rt.code_reader is not None
    before = rt.controller.state
    rt.code_reader.reader.simulator.inject_text(text)  # type: ignore[attr-defined]
    service = rt.service
    assert service is not None
    pump(rt, lambda: service.phase is not Phase.CLOSED or rt.controller.state is not before)


def enter(rt: Runtime, text: str, pin: str = PIN) -> ServiceMode:
    service = rt.service
    assert service is not None
    show(rt, text)
    for digit in pin:
        service.press(Act.DIGIT, digit)
    service.press(Act.VALIDATE)
    end = time.monotonic() + 20             # the PIN is checked on the mode's worker
    while service.view().notice == "Vérification…":
        assert time.monotonic() < end, "the PIN check never ended"
        time.sleep(0.02)
    return service


def rows_of(service: ServiceMode, page: Page, settled: Callable[[tuple[Row, ...]], bool]
            = bool, timeout: float = 30.0) -> tuple[Row, ...]:
    """The page's rows once the worker computed them (and ``settled`` holds)."""
    end = time.monotonic() + timeout
    while True:
        view = service.view()
        assert view.page is page
        if not view.busy and view.rows and settled(view.rows):
            return view.rows
        if time.monotonic() > end:
            raise AssertionError(f"page {page} never settled: {view}")
        time.sleep(0.05)


def service_tray(kiosk: Runtime) -> Any:
    """The simulated tray of the camera the service mode opened, once it is open."""
    session = kiosk.service_camera
    assert session is not None
    end = time.monotonic() + 20
    while session.camera is None:
        assert time.monotonic() < end, "the camera never opened"
        time.sleep(0.05)
    return getattr(session.camera, "simulator")  # noqa: B009 - the simulator's own


def badge_card(text: str) -> Any:
    """A badge's QR code as a BGR image, to lay on the simulated tray."""
    import cv2
    import qrcode

    card = qrcode.make(text, border=4, box_size=8).get_image().convert("RGB")
    return cv2.cvtColor(np.asarray(card), cv2.COLOR_RGB2BGR)


# ----------------------------------------------------------------------------- entering


def test_a_badge_issued_by_the_back_office_opens_the_service_mode_with_the_right_pin(
        kiosk: Runtime, office_key: Ed25519PrivateKey, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    service = enter(kiosk, issue(office_key))
    assert service.phase is Phase.OPEN
    assert service.view().holder == "Camille Martin"
    assert kiosk.controller.state.step is Step.WELCOME          # the journey never saw it
    assert "SERVICE MODE ENTERED by Camille Martin" in caplog.text
    service.press(Act.LEAVE)
    assert service.view().phase is Phase.CLOSED
    assert "SERVICE MODE LEFT by Camille Martin" in caplog.text
    assert PIN not in caplog.text


@pytest.mark.parametrize("case", ["expired", "forged", "other-office", "not-yet-valid"])
def test_a_badge_that_does_not_hold_does_not_open_it(kiosk: Runtime,
                                                     office_key: Ed25519PrivateKey,
                                                     case: str) -> None:
    if case == "expired":
        text = issue(office_key, issued=datetime.now(UTC) - timedelta(days=10), days=2)
    elif case == "forged":
        good = issue(office_key)
        payload, signature = good[len(badgemod.PREFIX):].split(".")
        text = badgemod.PREFIX + payload[:-3] + ("A" if payload[-3] != "A" else "B") + \
            payload[-2:] + "." + signature
    elif case == "other-office":
        text = issue(Ed25519PrivateKey.generate())
    else:
        text = issue(office_key, issued=datetime.now(UTC) + timedelta(days=1))
    service = kiosk.service
    assert service is not None
    show(kiosk, text)
    view = service.view()
    assert view.phase is Phase.PIN and not view.holder          # no keypad: refused
    assert view.notice.startswith("Badge refusé") and view.notice_level is Level.FAIL
    for digit in PIN:
        service.press(Act.DIGIT, digit)
    service.press(Act.VALIDATE)
    assert service.phase is not Phase.OPEN


def test_five_wrong_pins_lock_the_kiosk_out_for_its_time_even_with_the_right_one(
        kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    text = issue(office_key)
    for _ in range(5):
        service = enter(kiosk, text, pin="000000")
        assert service.phase is Phase.PIN
        service.press(Act.CLOSE)
    service = enter(kiosk, text)                  # the right PIN, during the lock-out
    assert service.phase is Phase.PIN
    assert "Trop de codes faux" in service.view().notice or \
        "verrouill" in service.view().notice.lower()
    lock = json.loads((kiosk.config.kiosk.data_dir / "status" /
                       "service-lock.json").read_text())
    assert lock["locked_until"] - lock["locked_from"] == pytest.approx(15 * 60)


def test_a_badge_during_a_citizens_session_is_ignored(kiosk: Runtime,
                                                      office_key: Ed25519PrivateKey) -> None:
    kiosk.controller.dispatch(Tap(Action.START))
    assert kiosk.controller.state.step is not Step.WELCOME
    step = kiosk.controller.state.step
    kiosk.controller.dispatch(CodeRead(issue(office_key)))
    assert kiosk.service is not None and kiosk.service.phase is Phase.CLOSED
    assert kiosk.controller.state.step is step


# ----------------------------------------------------------------------------- pages


def test_the_live_code_test_reads_the_simulators_code(kiosk: Runtime,
                                                      office_key: Ed25519PrivateKey) -> None:
    service = enter(kiosk, issue(office_key))
    service.press(Act.PAGE, Page.CODES.value)
    assert kiosk.code_reader is not None
    kiosk.code_reader.reader.simulator.inject_text("TEST-123 é")  # type: ignore[attr-defined]
    pump(kiosk, lambda: "TEST-123 é" in [r.value for r in service.view().rows])
    assert kiosk.controller.state.step is Step.WELCOME


def test_the_out_of_order_switch_outlives_a_restart_and_keeps_citizens_out(
        tmp_path: Path, kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    service = enter(kiosk, issue(office_key))
    service.press(Act.PAGE, Page.OUT_OF_ORDER.value)
    service.press(Act.OUT_OF_ORDER, OutOfOrderReason.PRINTER.value)
    service.press(Act.LEAVE)
    saved = json.loads((kiosk.config.kiosk.data_dir / "status" / SERVICE_FILE).read_text())
    assert saved["out_of_order"] is True and saved["by"] == "Camille Martin"
    assert saved["reason"] == "printer" and saved["message"]
    # a convocation shown now goes nowhere: the citizens see the notice
    from kiosk.catalog import convocation_url
    kiosk.controller.dispatch(CodeRead(convocation_url("x.fr", "listes-electorales", "EL-5",
                                                       ["address"])))
    assert kiosk.controller.state.step is Step.WELCOME
    # a restart keeps it
    again = ServiceMode(None, service.pages, kiosk.config.kiosk.data_dir / "status")
    assert again.out_of_order is OutOfOrderReason.PRINTER
    assert again.view().out_of_order is OutOfOrderReason.PRINTER


def test_the_service_mode_closes_by_itself_when_left_idle(kiosk: Runtime,
                                                          office_key: Ed25519PrivateKey) -> None:
    service = enter(kiosk, issue(office_key))
    now = [time.monotonic()]
    service._clock = lambda: now[0]             # its idle timer, on a clock the test moves
    service.press(Act.PAGE, Page.HOME.value)
    now[0] += service.idle_s - 1
    service.tick()
    assert service.phase is Phase.OPEN
    now[0] += 2
    service.tick()
    assert service.view().phase is Phase.CLOSED


def test_the_printers_test_receipt_decodes_from_the_simulators_png(
        kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    from devtools.backoffice import decode_qr
    from devtools.citizen import printer_simulator

    service = enter(kiosk, issue(office_key))
    service.press(Act.PAGE, Page.PRINTER.value)
    service.press(Act.RUN, "test_receipt")
    rows = rows_of(service, Page.PRINTER, lambda rs: any("imprimé" in r.label for r in rs))
    printed = next(r for r in rows if "imprimé" in r.label)
    assert printed.level is Level.OK
    qr = printed.value.rsplit(": ", 1)[1]
    assert qr.startswith("KIOSK-TEST ")
    png = printer_simulator(kiosk).pngs[-1]
    assert decode_qr(png) == [qr]


def test_the_queue_view_lists_the_deposits_queued(kiosk: Runtime,
                                                  office_key: Ed25519PrivateKey) -> None:
    from kiosk.catalog import convocation_url
    from kiosk.journey import Contact

    controller = kiosk.controller
    controller.dispatch(CodeRead(convocation_url("x.fr", "listes-electorales", "EL-5",
                                                 ["address"])))
    controller.dispatch(Tap(Action.BEGIN))
    capture = controller.capture
    assert capture is not None
    pump(kiosk, lambda: capture._camera is not None)
    getattr(capture._camera, "simulator").place("proof-of-address")  # noqa: B009
    pump(kiosk, lambda: bool(controller.state.document and controller.state.document.pages))
    for tap in (Tap(Action.NEXT), Tap(Action.CONTINUE), Tap(Action.CONSENT, True),
                Tap(Action.CONTINUE, Contact()), Tap(Action.SEND)):
        controller.dispatch(tap)
    pump(kiosk, lambda: controller.state.deposit is not None, 60)
    assert controller.state.deposit is not None
    deposit_id = controller.state.deposit.deposit_id
    pump(kiosk, lambda: controller.state.receipt is ReceiptPhase.PRINTED, 60)
    controller.dispatch(Tap(Action.FINISH))
    pump(kiosk, lambda: controller.state.step is Step.SATISFACTION, 30)
    controller.dispatch(Tap(Action.RATE, 3))
    pump(kiosk, lambda: controller.state.step is Step.WELCOME, 30)

    service = enter(kiosk, issue(office_key))
    service.press(Act.PAGE, Page.OUTBOX.value)
    rows = rows_of(service, Page.OUTBOX, lambda rs: len(rs) >= 2)
    assert rows[0].level is Level.OK and rows[0].value.startswith("1 waiting")
    listed = [r for r in rows if r.label == deposit_id]
    assert len(listed) == 1 and "listes-electorales" in listed[0].value
    assert "sealed" in listed[0].value


def test_a_badge_under_the_camera_opens_it_when_the_code_reader_is_broken(
        tmp_path: Path, kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    service = kiosk.service
    assert service is not None
    service.camera_entry()
    assert service.view().scanning and service.phase is Phase.PIN
    service_tray(kiosk).place(badge_card(issue(office_key)), size_mm=(60.0, 60.0))
    end = time.monotonic() + 20
    while service.view().holder == "":
        assert time.monotonic() < end, f"the camera never read the badge: {service.view()}"
        time.sleep(0.1)
    assert service.view().holder == "Camille Martin" and not service.view().scanning


def _open_camera_page(kiosk: Runtime, office_key: Ed25519PrivateKey) -> tuple[ServiceMode, Any]:
    service = enter(kiosk, issue(office_key))
    service.press(Act.PAGE, Page.CAMERA.value)
    return service, service_tray(kiosk)


def _sharpness(service: ServiceMode, after: float) -> float:
    """The focus gauge on the page, from frames analysed a second after ``after``."""
    while time.monotonic() < after:
        time.sleep(0.05)
    time.sleep(1.0)                        # the page's rows again, from the new frames
    end = time.monotonic() + 20
    while True:
        rows = [r for r in service.view().rows if r.label == "Netteté"]
        if rows and rows[0].gauge is not None and "sur la page" in rows[0].value:
            return rows[0].gauge
        assert time.monotonic() < end, f"no focus gauge on the page: {service.view().rows}"
        time.sleep(0.05)


def test_the_focus_gauge_rises_as_the_simulated_blur_falls(
        kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    from drivers.camera.synth import Defects

    service, tray = _open_camera_page(kiosk, office_key)
    readings = []
    for blur in (5.0, 2.5, 1.0, 0.0):
        tray.place("text", defects=Defects(blur_sigma=blur))
        readings.append(_sharpness(service, time.monotonic() + 0.5))
    assert readings == sorted(readings) and readings[0] < readings[-1] - 0.3, readings


def test_the_empty_tray_recorded_on_the_camera_page_becomes_the_detectors_prior(
        kiosk: Runtime, office_key: Ed25519PrivateKey) -> None:
    from scanner.trayprior import load_tray

    service, tray = _open_camera_page(kiosk, office_key)
    tray.remove()
    service.press(Act.RUN, "tray")
    rows = rows_of(service, Page.CAMERA, lambda rs: any("Plateau" in r.label for r in rs))
    recorded = next(r for r in rows if "Plateau" in r.label)
    assert recorded.level is Level.OK, recorded
    data_dir = kiosk.config.kiosk.data_dir
    prior = load_tray(data_dir, (1920, 1080))
    assert prior.meta is not None and prior.meta.frames == 9
    capture = kiosk.controller.capture
    assert capture is not None
    loaded = capture._load_tray((1920, 1080))
    assert loaded is not None and (loaded.image == prior.image).all()


def test_a_refused_badge_under_the_camera_is_refused_once_and_the_camera_keeps_looking(
        kiosk: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
    forged = issue(Ed25519PrivateKey.generate())            # another office's key
    service = kiosk.service
    assert service is not None
    service.camera_entry()
    service_tray(kiosk).place(badge_card(forged), size_mm=(60.0, 60.0))
    end = time.monotonic() + 20
    while "refusé" not in service.view().notice:
        assert time.monotonic() < end, f"the camera never read the badge: {service.view()}"
        time.sleep(0.1)
    time.sleep(1.5)                          # a dozen more frames of the same card
    assert service.view().scanning and service.phase is Phase.PIN
    assert caplog.text.count("service badge refused") == 1
