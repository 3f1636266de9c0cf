"""The application layer without Kivy: commands become device work, results come back as events.

Real parts throughout: the camera and code reader simulators, the scanner,
an outbox sealing for a fresh age identity, the printer simulator behind its
pseudo-terminal.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from deposit.ids import DepositId
from deposit.status import OutboxState, Standing
from devtools.citizen import local_keys, sim_config
from kiosk.capture import CaptureWorker
from kiosk.catalog import convocation_url, load_catalog
from kiosk.config import SessionSection
from kiosk.controller import CodeReaderThread, Controller
from kiosk.events import EventQueue
from kiosk.journey import (
    Action,
    CaptureFailed,
    CodeRead,
    Contact,
    DepositResult,
    Device,
    DeviceChanged,
    DocumentPages,
    Event,
    Journey,
    PageCaptured,
    Printed,
    PrintFailed,
    PrintReceipt,
    Sealed,
    Step,
    Tap,
    WipeDone,
)
from kiosk.nudge import NudgeListener
from kiosk.reasons import OutboxProblem, PrintProblem
from kiosk.runtime import build_runtime, sealing_keys
from kiosk.sealing import SealedDeposit
from kiosk.session import Session, StoredPage
from kiosk.signals import AgentSignal, SatisfactionLog


def stored(page_id: str = "p1", size: int = 1000) -> StoredPage:
    return StoredPage(id=page_id, document="doc", encoded=object(),
                      data=bytearray(b"x" * size), preview=np.full((8, 6, 3), 200, np.uint8),
                      thumbnail=np.full((4, 3, 3), 200, np.uint8))


def pump_until(queue: EventQueue, controller: Controller, condition, timeout: float = 60):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out; state: {controller.state}")
        queue.pump(controller, timeout=0.2)


# ----------------------------------------------------------------------------- session


def test_the_wipe_overwrites_every_page_buffer_before_forgetting_it() -> None:
    session = Session()
    page = stored()
    data, preview = page.data, page.preview
    assert session.add(page)
    assert session.wipe() == 1
    assert len(session) == 0 and data == bytearray(1000) and not preview.any()
    assert page.encoded is None


def test_a_page_from_before_the_wipe_is_refused_and_wiped() -> None:
    session = Session()
    generation = session.generation
    session.wipe()
    late = stored("late")
    assert not session.add(late, generation)
    assert len(session) == 0 and late.data == bytearray(1000)


def test_discarded_pages_are_wiped_and_unknown_ones_ignored() -> None:
    session = Session()
    page = stored()
    session.add(page)
    session.discard(["p1", "nope"])
    assert session.get("p1") is None and page.data == bytearray(1000)
    with pytest.raises(KeyError):
        session.pages(["p1"])


# ----------------------------------------------------------------------------- small services


def test_calling_an_agent_writes_a_status_the_diagnostics_read(tmp_path: Path) -> None:
    signal = AgentSignal(tmp_path / "status", "DEMO-01", wall_clock=lambda: 1_700_000_000,
                         new_id=lambda: "0" * 32)
    signal.call("capture")
    signal.call("review")
    status = json.loads((tmp_path / "status" / "agent.json").read_text())
    assert status == {"id": "0" * 32, "kiosk_id": "DEMO-01",
                      "called_at": "2023-11-14T22:13:20+00:00", "step": "review",
                      "calls_since_start": 2}
    assert not list((tmp_path / "status").glob(".*.tmp"))


def test_ratings_are_kept_without_anything_personal(tmp_path: Path) -> None:
    log = SatisfactionLog(tmp_path, wall_clock=lambda: 1_700_000_000)
    log.record(3, "rsa")
    log.record(1, None)
    lines = [json.loads(x) for x in (tmp_path / "satisfaction.jsonl").read_text().splitlines()]
    assert lines == [{"day": "2023-11-14", "procedure": "rsa", "rating": 3},
                     {"day": "2023-11-14", "procedure": None, "rating": 1}]


def test_codes_read_by_the_reader_become_events() -> None:
    from drivers import open_code_reader
    from drivers.codes.sim_backend import SimCodeReader

    queue = EventQueue()
    reader = open_code_reader("sim://")
    assert isinstance(reader, SimCodeReader)
    thread = CodeReaderThread(reader, queue)
    thread.start()
    try:
        reader.simulator.inject_text("https://x.fr/convocation?v=1&p=rsa&r=R1")
        event = queue.events.get(timeout=10)
        assert event == CodeRead("https://x.fr/convocation?v=1&p=rsa&r=R1")
    finally:
        thread.close()


# ----------------------------------------------------------------------------- capture


def test_the_capture_worker_takes_a_page_laid_on_the_tray_and_keeps_it_in_memory() -> None:
    from drivers import open_camera
    from drivers.camera.sim_backend import SimCamera

    queue = EventQueue()
    session = Session()
    camera = open_camera("sim://?seed=2&placed=false")
    assert isinstance(camera, SimCamera)
    worker = CaptureWorker(lambda: camera, session, queue)
    try:
        worker.start("income", 1)
        deadline = time.monotonic() + 20
        while worker.latest_preview() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        frame = worker.latest_preview()
        assert frame is not None
        assert frame.image.shape == (720, 960, 3) and frame.corners is None
        camera.simulator.place("tax-notice")
        events: list[Event] = []
        while not any(isinstance(e, PageCaptured | CaptureFailed) for e in events):
            assert time.monotonic() < deadline + 40, events
            events.append(queue.events.get(timeout=40))
        captured = [e for e in events if isinstance(e, PageCaptured)]
        assert captured, events
        page = session.get(captured[0].page.id)
        assert page is not None and page.encoded.codec in ("jpeg", "ccitt-g4")
        assert max(page.preview.shape[:2]) <= 1000 and max(page.thumbnail.shape[:2]) <= 240
        # The page stays on the tray: armed again, the worker does not take it twice.
        worker.start("income", 2)
        time.sleep(3)
        assert not any(isinstance(e, PageCaptured) for e in
                       [queue.events.get_nowait() for _ in range(queue.events.qsize())])
    finally:
        worker.close()


# ----------------------------------------------------------------------------- whole runtime


@pytest.fixture
def runtime(tmp_path: Path):
    keys, identity = local_keys()
    # Taps follow each other at once here: these tests pin the controller, not the input guard
    # against double taps (tests/accessibility/test_double_tap.py does).
    config = sim_config(tmp_path / "data", seed=4, session=SessionSection(input_guard=0))
    queue = EventQueue()
    rt = build_runtime(config, keys, post=queue)
    # the tests find the age identity and the event queue on the runtime
    rt.identity = identity  # type: ignore[attr-defined]
    rt.queue = queue  # type: ignore[attr-defined]
    yield rt
    rt.close()


def test_a_deposit_through_the_controller_is_sealed_for_the_back_office_only(runtime) -> None:
    controller, queue = runtime.controller, runtime.queue
    controller.dispatch(CodeRead(convocation_url("x.fr", "listes-electorales", "EL-5",
                                                 ["address"])))
    assert controller.state.step is Step.CHECKLIST
    controller.dispatch(Tap(Action.BEGIN))
    pump_until(queue, controller, lambda: controller.capture._camera is not None)
    controller.capture._camera.simulator.place("proof-of-address")
    pump_until(queue, controller, lambda: controller.state.document.pages)
    controller.dispatch(Tap(Action.NEXT))
    controller.dispatch(Tap(Action.CONTINUE))
    controller.dispatch(Tap(Action.CONSENT, True))
    controller.dispatch(Tap(Action.CONTINUE, Contact(email="a.b@example.fr")))
    controller.dispatch(Tap(Action.SEND))
    # mypy keeps the narrowing of the assert above (CHECKLIST) in these lambdas, though
    # dispatch() and pump_until() move the journey on
    pump_until(queue, controller,
               lambda: controller.state.step is Step.RECEIPT)  # type: ignore[comparison-overlap]
    pump_until(queue, controller, lambda: controller.state.receipt.value == "printed")
    deposit_id = controller.state.deposit.deposit_id
    entry = runtime.outbox.get(deposit_id)
    raw = entry.envelope_path.read_bytes()
    assert b"a.b@example.fr" not in raw and b"%PDF" not in raw     # ciphertext only
    from deposit.envelope import decrypt

    plain = io.BytesIO()
    decrypt(io.BytesIO(raw), plain, [runtime.identity])
    plain.seek(0)
    with tarfile.open(fileobj=plain) as archive:
        deposit_json = archive.extractfile("deposit.json")
        assert deposit_json is not None
        body = json.loads(deposit_json.read())
        dossier_pdf = archive.extractfile("dossier.pdf")
        assert dossier_pdf is not None
        pdf = dossier_pdf.read()
    assert body["contact"] == {"email": "a.b@example.fr"} and body["consent"]["accepted"]
    assert body["case_reference"] == "EL-5" and body["deposit_id"] == deposit_id
    assert body["documents"] == [{"code": "address", "title": "Justificatif de domicile",
                                  "pages": 1}]
    assert pdf.startswith(b"%PDF")
    assert deposit_id in controller.state.deposit.tracking_url
    controller.dispatch(Tap(Action.FINISH))
    controller.dispatch(Tap(Action.RATE, 2))
    pump_until(queue, controller,
               lambda: controller.state.step is Step.WELCOME)  # type: ignore[comparison-overlap]
    assert len(runtime.session) == 0 and controller.current.sealed is None
    assert (runtime.status_dir / "satisfaction.jsonl").exists()


def test_paper_out_gives_the_receipt_drawn_for_the_screen(runtime) -> None:
    controller, queue = runtime.controller, runtime.queue
    runtime.printer.simulator.set(paper="out")
    deposit_id = str(DepositId("D3M0", 123456))
    result = DepositResult(deposit_id, f"https://suivi.example.fr/suivi/{deposit_id}?t=x")
    controller.current.sealed = SealedDeposit(result, datetime.now(UTC), "x")
    controller.perform(PrintReceipt(result, "rsa", "fr", (DocumentPages("identity", ("p",)),)))
    assert queue.events.get(timeout=30) == PrintFailed(PrintProblem.PAPER_OUT)
    assert controller.current.screen_png.startswith(b"\x89PNG")
    runtime.printer.simulator.set(paper="ok")
    controller.perform(PrintReceipt(result, "rsa", "fr", (DocumentPages("identity", ("p",)),)))
    assert queue.events.get(timeout=30) == Printed()
    assert len(runtime.printer.simulator.pngs) == 1


def test_device_checks_report_a_short_disk_and_a_printer_without_paper(runtime) -> None:
    queue = runtime.queue
    runtime.outbox.reserve_bytes = 1 << 60
    runtime.printer.simulator.set(paper="out")
    runtime.check_devices()
    events = [queue.events.get(timeout=20) for _ in range(3)]
    assert DeviceChanged(Device.OUTBOX, ok=False, problem=OutboxProblem.DISK_FULL) in events
    assert any(e.device is Device.PRINTER and not e.ok for e in events)


def test_without_enrollment_the_kiosk_refuses_deposits(tmp_path: Path) -> None:
    rt = build_runtime(sim_config(tmp_path / "data"), None, code_reader=False)
    try:
        assert not rt.controller.state.accepting
        rt.controller.dispatch(Tap(Action.START))
        assert rt.controller.state.step is Step.WELCOME
    finally:
        rt.close()


def test_results_for_a_wiped_session_do_nothing(tmp_path: Path) -> None:
    journey = Journey(load_catalog())
    queue = EventQueue()
    controller = Controller(journey, Session(), None, None, None, None, None, post=queue)
    before = controller.state
    for event in (Sealed(None), Printed(), WipeDone()):  # type: ignore[arg-type]
        controller.dispatch(event)
    assert controller.state == before


# ----------------------------------------------------------------------------- enrollment


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A real enrollment bundle from the back office's own tools (no server is started)."""
    from devtools.backoffice import free_port
    from tests.conftest import run_cli

    data, out = tmp_path / "backoffice", tmp_path / "bundle"
    for args in (["init", "--data", str(data), "--url", f"https://127.0.0.1:{free_port()}",
                  "--key-type", "x25519"], ["enroll", "--data", str(data), "DEMO-01",
                                            "--out", str(out)]):
        done = run_cli("backoffice", args)
        assert done.returncode == 0, done.stderr
    return out


def config_for(bundle: Path, data: Path):
    from dataclasses import replace

    facts = json.loads((bundle / "bundle.json").read_text())
    config = sim_config(data, seed=4, session=SessionSection(input_guard=0))
    return replace(config, kiosk=replace(config.kiosk, id=facts["kiosk_id"],
                                         code=facts["fleet_code"]))


def test_sealing_never_waits_for_the_network_it_nudges_the_uploader(bundle: Path,
                                                                    tmp_path: Path) -> None:
    from drivers.camera.sim_backend import SimCamera

    config = config_for(bundle, tmp_path / "kiosk")
    queue = EventQueue()
    rt = build_runtime(config, sealing_keys(config, bundle), post=queue)
    assert rt.outbox is not None
    # The uploader (another process) found the back office unreachable, and listens.
    rt.outbox.set_standing(Standing.UNREACHABLE, "cannot reach https://127.0.0.1:9/files/")
    listener = NudgeListener(config.kiosk.data_dir)
    try:
        controller = rt.controller
        controller.dispatch(CodeRead(convocation_url("x.fr", "rsa", "R-9", ["rib"])))
        controller.dispatch(Tap(Action.BEGIN))
        assert controller.capture is not None
        pump_until(queue, controller, lambda: controller.capture._camera is not None)
        camera = controller.capture._camera
        assert isinstance(camera, SimCamera)
        camera.simulator.place("text")
        assert controller.state.document is not None
        pump_until(queue, controller, lambda: controller.state.document.pages)
        for tap in (Tap(Action.NEXT), Tap(Action.CONTINUE), Tap(Action.CONTINUE),
                    Tap(Action.SEND)):
            controller.dispatch(tap)
        pump_until(queue, controller, lambda: controller.state.step is Step.RECEIPT)
        deposit = controller.state.deposit
        assert deposit is not None
        assert deposit.queued_offline                          # the receipt says "as soon as"
        assert deposit.tracking_url.startswith(json.loads(
            (bundle / "bundle.json").read_text())["public_url"])
        assert rt.outbox.get(deposit.deposit_id).state is OutboxState.SEALED
        assert listener.wait(0), "the uploader was not nudged"
    finally:
        listener.close()
        rt.close()


def test_a_back_office_that_refuses_the_kiosk_closes_the_welcome_screen(runtime) -> None:
    controller, queue = runtime.controller, runtime.queue
    runtime.outbox.set_standing(Standing.REFUSED, "403 kiosk D3M0 is revoked")
    runtime.check_devices()
    pump_until(queue, controller, lambda: not controller.state.accepting)
    assert controller.state.devices.outbox_problem is OutboxProblem.KIOSK_REFUSED
    controller.dispatch(Tap(Action.START))
    assert controller.state.step is Step.WELCOME
    assert runtime.outbox.pending() == []                      # nothing was lost: nothing held
    runtime.outbox.set_standing(Standing.ONLINE)               # accepted again
    runtime.check_devices()
    pump_until(queue, controller, lambda: controller.state.accepting)


def test_a_bundle_for_another_kiosk_is_refused_with_both_names(bundle: Path,
                                                               tmp_path: Path) -> None:
    from kiosk.errors import KioskError

    config = sim_config(tmp_path / "kiosk")         # DEMO-01, but the default code D3M0
    with pytest.raises(KioskError, match=r"is for kiosk DEMO-01 \(code .*code = 'D3M0'"):
        sealing_keys(config, bundle)
    with pytest.raises(KioskError, match="no enrollment bundle"):
        sealing_keys(config, tmp_path / "nowhere")
