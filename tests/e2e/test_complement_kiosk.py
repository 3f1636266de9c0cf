"""Missing documents brought at a kiosk, end to end with a real back office: the kiosk's
application layer (camera and printer simulators, no Kivy) reads the receipt of a delivered
dossier, asks the back office's kiosk listener over mutual TLS what it awaits, takes only
those documents, seals them as a complement, and the uploader delivers it; the back office
stores it beside the dossier and the request is answered. A forged token, and the same receipt
once the request is answered, are told "nothing asked" by the real route, and nothing is
sealed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backoffice import docrequests
from backoffice.docrequests import RequestState
from backoffice.store.complementsdb import ComplementStore
from deposit.bundle import Enrollment
from deposit.delivery import Backoff, deliver_pass
from deposit.ids import DepositId
from deposit.manifest import new_tracking_token
from deposit.outbox import Outbox
from deposit.status import DeliveryOutcome
from kiosk.complement import LookupPhase
from kiosk.config import Config, load_config
from kiosk.controller import Controller
from kiosk.events import EventQueue
from kiosk.journey import Action, CodeRead, ReceiptPhase, Step, Tap
from kiosk.runtime import Runtime, SealingKeys, build_runtime, sealing_keys
from kiosk.uploading import open_uploader, outbox_folder
from printer.receipt import status_link, tracking_url
from tests.backoffice.harness import FakeKiosk, RunningServer
from tests.backoffice.test_complements import ask_for
from tests.e2e.fleet import Enrolled, enrolled, kiosk_config

pytestmark = pytest.mark.slow


def pump_until(queue: EventQueue, controller: Controller, condition, what: str,
               timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; state: {controller.state}")
        queue.pump(controller, timeout=0.2)


@dataclass
class Desk:
    """A served back office, a fake kiosk of its fleet that delivers originals, and the
    application layer of a real kiosk enrolled there (no Kivy, no code reader thread)."""

    office: Enrolled
    server: RunningServer
    fake: FakeKiosk
    config: Config
    keys: SealingKeys
    queue: EventQueue
    runtime: Runtime


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    office = enrolled(tmp_path, "MAIRIE-50")
    server = RunningServer(office.data, office.port).start()
    fake = FakeKiosk(office.bundle, tmp_path / "fake")
    # Taps follow each other at once here: no input guard against double taps.
    config = load_config(kiosk_config(tmp_path / "kiosk", office.bundle,
                                      extra="[session]\ninput_guard = 0"))
    keys = sealing_keys(config)
    queue = EventQueue()
    runtime = build_runtime(config, keys, post=queue, code_reader=False)
    try:
        yield Desk(office, server, fake, config, keys, queue, runtime)
    finally:
        runtime.close()
        fake.close()
        server.stop()


def test_a_kiosk_answers_a_request_for_documents_and_the_back_office_keeps_them(
        desk: Desk) -> None:
    office, server, fake, config, keys, queue, runtime = (
        desk.office, desk.server, desk.fake, desk.config, desk.keys, desk.queue, desk.runtime)
    controller = runtime.controller
    # A dossier delivered earlier, and the staff's request for two of its documents.
    original = fake.make(procedure="caf-aide-logement", size=2000)
    assert fake.deliver(original).outcome is DeliveryOutcome.DELIVERED
    deadline = (datetime.now(UTC) + timedelta(days=10)).date()
    request_id = ask_for(server, original.deposit_id, deadline=deadline,
                         documents=("rib", "lease"))

    def receipt(token: str) -> str:
        return status_link(tracking_url(keys.public_url,
                                        DepositId.parse(original.deposit_id), token), "es")

    # A forged token: the real route says nothing is asked; nothing is sealed.
    controller.dispatch(CodeRead(receipt(new_tracking_token())))
    pump_until(queue, controller, lambda: controller.state.lookup is LookupPhase.NONE,
               "the answer to a forged token")
    controller.dispatch(Tap(Action.BACK))

    controller.dispatch(CodeRead(receipt(original.token)))
    pump_until(queue, controller, lambda: controller.state.step is Step.CHECKLIST,
               "the checklist of the requested documents")
    assert [d.code for d in controller.state.documents] == ["rib", "lease"]
    complement = controller.state.complement
    assert complement is not None and complement.request_id == request_id
    assert complement.deadline == deadline
    controller.dispatch(Tap(Action.BEGIN))
    camera = controller.capture
    assert camera is not None
    pump_until(queue, controller, lambda: camera._camera is not None, "the camera")
    tray = getattr(camera._camera, "simulator")  # noqa: B009 - only the simulator has one
    for page in ("payslip", "proof-of-address"):
        tray.place(page)
        pump_until(queue, controller, lambda: bool(controller.state.document
                                                   and controller.state.document.pages),
                   f"the page {page}")
        controller.dispatch(Tap(Action.NEXT))
        tray.remove()
    pump_until(queue, controller, lambda: controller.state.step is Step.REVIEW, "review")
    controller.dispatch(Tap(Action.CONTINUE))
    controller.dispatch(Tap(Action.SEND))
    pump_until(queue, controller, lambda: controller.state.step is Step.RECEIPT, "receipt")
    deposit = controller.state.deposit
    assert deposit is not None and deposit.complement_of == original.deposit_id

    # The uploader's pass delivers it, with the kiosk's certificate.
    bundle = Enrollment.load(office.bundle)
    with open_uploader(config, bundle) as uploader:
        box = Outbox(outbox_folder(config))
        try:
            report = deliver_pass(box, uploader, owner="test", backoff=Backoff())
        finally:
            box.close()
    outcomes = {d.deposit_id: d.outcome for d in report.deliveries}
    assert outcomes == {deposit.deposit_id: DeliveryOutcome.DELIVERED}

    stored = ComplementStore(server.bo.metadata).of_deposit(original.deposit_id)
    assert [(c.complement_id, c.request_id) for c in stored] == \
        [(deposit.deposit_id, request_id)]
    (request,) = docrequests.requests_of(server.bo.metadata, original.deposit_id)
    assert request.state is RequestState.ANSWERED
    assert server.bo.metadata.deposit(deposit.deposit_id) is None   # not a dossier

    # The same receipt again: nothing is asked any more.
    pump_until(queue, controller, lambda: controller.state.receipt is ReceiptPhase.PRINTED,
               "the printed receipt")
    controller.dispatch(Tap(Action.FINISH))
    controller.dispatch(Tap(Action.FINISH))
    pump_until(queue, controller, lambda: controller.state.step is Step.WELCOME, "wipe")
    controller.dispatch(CodeRead(receipt(original.token)))
    pump_until(queue, controller, lambda: controller.state.lookup is LookupPhase.NONE,
               "the answer once the request is answered")


def test_a_request_past_its_deadline_is_told_at_the_kiosk_and_nothing_is_sealed(
        desk: Desk) -> None:
    server, fake, keys, queue, runtime = desk.server, desk.fake, desk.keys, desk.queue, \
        desk.runtime
    controller = runtime.controller
    original = fake.make(procedure="caf-aide-logement", size=2000)
    assert fake.deliver(original).outcome is DeliveryOutcome.DELIVERED
    asked = datetime.now(UTC) - timedelta(days=20)
    deadline = (asked + timedelta(days=10)).date()
    ask_for(server, original.deposit_id, at=asked, deadline=deadline, documents=("rib",))
    controller.dispatch(CodeRead(status_link(tracking_url(
        keys.public_url, DepositId.parse(original.deposit_id), original.token), "fr")))
    pump_until(queue, controller, lambda: controller.state.lookup is LookupPhase.EXPIRED,
               "the answer for a passed deadline")
    assert controller.state.step is Step.LOOKUP
    shown = controller.state.complement          # the deadline the screen tells, no request
    assert shown is not None and (shown.request_id, shown.deadline) == (None, deadline)
    assert runtime.outbox is not None and runtime.outbox.stats(quick=True).pending == 0
    assert docrequests.open_request(server.bo.metadata, original.deposit_id) is not None
