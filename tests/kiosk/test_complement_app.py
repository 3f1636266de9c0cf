"""A complement through the application layer without Kivy: the real runtime (camera and
printer simulators, an outbox sealing for a fresh identity), the real lookup client, and a
simulated back office answering the lookup on 127.0.0.1.

What the back office will receive is checked from the outbox: a version 2 manifest naming
the original deposit and the request, with the original's token; and what the citizen takes
away from the printer: the complement's own number, "added to dossier N", and the original
dossier's follow-up QR code.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image

from deposit import manifest as mf
from deposit.complements import ComplementClient
from deposit.ids import DepositId
from devtools.citizen import local_keys, sim_config
from devtools.lookupsim import Fault, LookupSimulator
from kiosk.complement import LookupPhase
from kiosk.config import SessionSection
from kiosk.controller import Controller
from kiosk.events import EventQueue
from kiosk.journey import Action, CodeRead, Step, Tap
from kiosk.runtime import build_runtime
from printer.receipt import status_link, tracking_url

ORIGINAL = str(DepositId("K7QM", 4242))
TOKEN = mf.new_tracking_token()


def pump_until(queue: EventQueue, controller: Controller, condition, timeout: float = 60):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out; state: {controller.state}")
        queue.pump(controller, timeout=0.2)


@pytest.fixture
def office():
    with LookupSimulator() as sim:
        yield sim


@pytest.fixture
def runtime(tmp_path: Path, office: LookupSimulator):
    keys, _identity = local_keys()
    keys = replace(keys, complements=ComplementClient(lambda: httpx.Client(timeout=2.0),
                                                      office.base_url))
    config = sim_config(tmp_path / "data", seed=4, session=SessionSection(input_guard=0))
    queue = EventQueue()
    rt = build_runtime(config, keys, post=queue)
    rt.queue = queue  # type: ignore[attr-defined]
    rt.keys = keys  # type: ignore[attr-defined]
    yield rt
    rt.close()


def step_of(controller: Controller) -> Step:
    """The step now (a call: mypy does not keep an earlier assert's narrowing on it)."""
    return controller.state.step


def receipt_code(public_url: str) -> str:
    return status_link(tracking_url(public_url, DepositId.parse(ORIGINAL), TOKEN), "fr")


def test_a_complement_is_sealed_naming_the_original_and_its_receipt_follows_it(
        runtime, office: LookupSimulator) -> None:
    controller, queue = runtime.controller, runtime.queue
    office.request_documents(ORIGINAL, TOKEN, ["address"], procedure="listes-electorales",
                             deadline=date(2027, 1, 15), request_id="rq_abcdef0123456789")
    controller.dispatch(CodeRead(receipt_code(runtime.keys.public_url)))
    assert step_of(controller) is Step.LOOKUP
    pump_until(queue, controller,
               lambda: controller.state.step is Step.CHECKLIST)
    assert [d.code for d in controller.state.documents] == ["address"]
    controller.dispatch(Tap(Action.BEGIN))
    pump_until(queue, controller, lambda: controller.capture._camera is not None)
    controller.capture._camera.simulator.place("proof-of-address")
    pump_until(queue, controller, lambda: controller.state.document.pages)
    controller.dispatch(Tap(Action.NEXT))
    controller.dispatch(Tap(Action.CONTINUE))
    assert step_of(controller) is Step.CONFIRM
    controller.dispatch(Tap(Action.SEND))
    pump_until(queue, controller, lambda: controller.state.step is Step.RECEIPT)
    pump_until(queue, controller, lambda: controller.state.receipt.value == "printed")

    deposit = controller.state.deposit
    assert deposit.deposit_id != ORIGINAL and deposit.complement_of == ORIGINAL
    entry = runtime.outbox.get(deposit.deposit_id)
    manifest = mf.verify(entry.manifest, runtime.keys.signing_key.public_key())
    assert (manifest.version, manifest.complement_of, manifest.request_id,
            manifest.procedure) == (2, ORIGINAL, "rq_abcdef0123456789", "listes-electorales")
    assert manifest.tracking_token_sha256 == mf.tracking_token_sha256(TOKEN)

    receipt = controller.current.receipt
    assert str(receipt.deposit_id) == deposit.deposit_id
    assert str(receipt.complement_of) == ORIGINAL and receipt.due_date is None
    (png,) = runtime.printer.simulator.pngs
    with Image.open(png) as picture:
        codes = [r.text for r in zxingcpp.read_barcodes(picture)]
    assert codes == [receipt_code(runtime.keys.public_url)]


def test_an_unreachable_back_office_seals_nothing(runtime, office: LookupSimulator) -> None:
    controller, queue = runtime.controller, runtime.queue
    office.fault = Fault.BUSY
    controller.dispatch(CodeRead(receipt_code(runtime.keys.public_url)))
    pump_until(queue, controller, lambda: controller.state.lookup is LookupPhase.UNAVAILABLE)
    assert runtime.outbox.stats(quick=True).pending == 0
    office.fault = None
    office.request_documents(ORIGINAL, TOKEN, ["address"], procedure="listes-electorales",
                             deadline=date(2027, 1, 15))
    controller.dispatch(Tap(Action.RETRY))
    pump_until(queue, controller,
               lambda: controller.state.step is Step.CHECKLIST)
    assert len(office.requests) == 2
