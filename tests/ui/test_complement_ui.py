"""Bringing missing documents at the real touchscreen (Kivy under Xvfb): the receipt's QR code
held under the simulated code reader, a simulated back office answering the lookup on
127.0.0.1, the page laid on the simulated tray, every tap through the window to a widget."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from deposit.ids import DepositId
from deposit.manifest import new_tracking_token
from devtools.lookupsim import Fault, LookupSimulator
from kiosk.complement import LookupPhase
from kiosk.journey import ReceiptPhase, Step
from tests.ui.test_journey_ui import assert_nothing_left

pytestmark = pytest.mark.ui

ORIGINAL = str(DepositId("K7QM", 4242))
TOKEN = new_tracking_token()
NOTE = "Le justificatif doit dater de moins de trois mois."


@pytest.fixture
def office() -> Iterator[LookupSimulator]:
    with LookupSimulator() as sim:
        yield sim


@pytest.fixture
def kiosk(display: str, kiosk_data: Path, office: LookupSimulator) -> Iterator[Any]:
    """A kiosk whose enrollment asks ``office`` about receipts."""
    import httpx

    from deposit.complements import ComplementClient
    from devtools.citizen import OffsetClock, local_keys, sim_config
    from devtools.kit import start_kiosk

    keys, identity = local_keys()
    keys = replace(keys, complements=ComplementClient(lambda: httpx.Client(timeout=2.0),
                                                      office.base_url))
    clock = OffsetClock()
    started = start_kiosk(sim_config(kiosk_data), keys, clock=clock)
    started.identity = identity            # type: ignore[attr-defined]
    try:
        yield started
    finally:
        started.close()


def show_receipt(kiosk: Any) -> None:
    from devtools.citizen import Citizen
    from printer.receipt import status_link, tracking_url

    public_url = kiosk.runtime.journey.receipt_base
    Citizen(kiosk).show_code(status_link(tracking_url(public_url, DepositId.parse(ORIGINAL),
                                                      TOKEN), "fr"))


def test_missing_documents_are_taken_and_added_to_the_dossier(kiosk: Any,
                                                               office: LookupSimulator) -> None:
    from devtools.citizen import Citizen

    driver = kiosk.driver
    assert "Bouton : Apporter des pièces manquantes" in driver.describe()
    office.request_documents(ORIGINAL, TOKEN, ["address"], procedure="listes-electorales",
                             deadline=date(2027, 1, 15), note=NOTE)
    show_receipt(kiosk)
    driver.wait_for_step(Step.CHECKLIST)
    checklist = driver.describe()
    assert "Le service attend ces papiers" in checklist
    assert f"Pour le dossier {ORIGINAL}, avant le 15 janvier 2027" in checklist
    assert f"Message du service : {NOTE}" in checklist
    assert "Justificatif de domicile" in checklist and "Pièce d'identité" not in checklist

    person = Citizen(kiosk)
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["proof-of-address"], last=True)
    driver.wait_for_step(Step.REVIEW)
    person.tap("continue")
    driver.wait_for_step(Step.CONFIRM)
    confirm = driver.describe()
    assert f"Ajouté au dossier\n{ORIGINAL}" in confirm and "Contact" not in confirm
    person.tap("send")
    driver.wait_for_step(Step.RECEIPT, 60)
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the receipt to be printed")
    receipt = driver.describe()
    number = driver.state.deposit.deposit_id
    assert number != ORIGINAL and number in receipt
    assert f"Ces papiers sont ajoutés au dossier {ORIGINAL}." in receipt
    assert kiosk.runtime.outbox.get(number) is not None

    person.tap("finish")
    driver.wait_for_step(Step.SATISFACTION)
    person.tap("finish")
    driver.wait_for_step(Step.WELCOME, 30)
    assert_nothing_left(kiosk, [TOKEN, NOTE, ORIGINAL])


def test_a_receipt_that_asks_for_nothing_is_told_and_nothing_is_sealed(
        kiosk: Any, office: LookupSimulator) -> None:
    driver = kiosk.driver
    driver.tap_action("complement")
    driver.wait_for_step(Step.LOOKUP)
    assert "Présentez le QR code de votre reçu de dépôt" in driver.describe()
    show_receipt(kiosk)
    driver.wait_until(lambda: driver.state.lookup is LookupPhase.NONE, 20, "the answer")
    driver.idle(3)
    said = driver.describe()
    assert "Aucun papier n'est demandé pour ce reçu" in said
    assert "Bouton : Appeler un agent" in said and "Bouton : Terminer" in said
    driver.tap_action("finish")
    driver.wait_for_step(Step.WELCOME, 30)
    assert kiosk.runtime.outbox.stats(quick=True).pending == 0


def test_a_back_office_out_of_reach_offers_to_try_again(kiosk: Any,
                                                        office: LookupSimulator) -> None:
    driver = kiosk.driver
    office.fault = Fault.BUSY
    show_receipt(kiosk)
    driver.wait_until(lambda: driver.state.lookup is LookupPhase.UNAVAILABLE, 20,
                      "the failed lookup")
    driver.idle(3)
    said = driver.describe()
    assert "Nous ne pouvons pas vérifier votre dossier pour le moment" in said
    assert "Vos papiers ne sont pas perdus" in said and "Bouton : Réessayer" in said
    office.fault = None
    office.expire(ORIGINAL, TOKEN, date(2026, 11, 30))
    driver.tap_action("retry")
    driver.wait_until(lambda: driver.state.lookup is LookupPhase.EXPIRED, 20, "the answer")
    driver.idle(3)
    assert "La date limite (30 novembre 2026) est passée" in driver.describe()


def test_with_speech_on_what_the_lookup_answers_is_read_aloud(kiosk: Any, kiosk_data: Path,
                                                              office: LookupSimulator) -> None:
    """EN 301 549 5.1.3: the answer, and the agent to call, are spoken, not only shown."""
    from kiosk.access import Setting

    driver = kiosk.driver
    driver.tap_action("accessibility")
    driver.tap_action("toggle", Setting.SPEECH)
    driver.tap_action("close")
    office.expire(ORIGINAL, TOKEN, date(2026, 11, 30))
    show_receipt(kiosk)
    driver.wait_until(lambda: driver.state.lookup is LookupPhase.EXPIRED, 20, "the answer")
    driver.idle(10)
    assert kiosk.speaker.wait_idle(60), "the speech queue never emptied"
    said = "\n".join(path.read_text(encoding="utf-8")
                     for path in sorted((kiosk_data / "speech").glob("[0-9][0-9][0-9].txt")))
    assert "La date limite (30 novembre 2026) est passée" in said
    assert "Appeler un agent" in said
