"""The legal chain end to end: a deposit at a kiosk, a request for two documents from the
staff, the citizen's phone showing it, the documents brought at the kiosk by showing the
receipt's QR code, the dossier completed, its deemed-decision date recomputed, and one mail
per event.

Real parts throughout: the kiosk's Kivy interface under Xvfb on simulated devices (camera,
printer, code reader), its ``kiosk uploader`` process, a back office serving its four
listeners over TLS, the staff API with a personal certificate, Debian's Chromium sized as a
phone, and an SMTP server (aiosmtpd) on 127.0.0.1.

With ``LEGAL_CHAIN_SCREENSHOTS=DIR`` the status page is saved on a phone at each step
(received, incomplete, accepted) and the kiosk's complement screens, for docs/.
"""

from __future__ import annotations

import email
import email.policy
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backoffice import deadlines
from backoffice.docrequests import RequestState
from backoffice.roles import Role
from backoffice.status import DossierStatus
from backoffice.store.complementsdb import ComplementStore
from deposit.outbox import Outbox
from deposit.status import OutboxState
from devtools import processes
from devtools.demo import write_config
from kiosk.config import load_config
from kiosk.journey import ReceiptPhase, Step
from kiosk.runtime import sealing_keys
from tests.backoffice.harness import RunningServer, free_port
from tests.backoffice.notifykit import SmsGateway, SmtpServer, notify_settings
from tests.e2e.fleet import enrolled
from tests.ui_fixtures import display, kiosk_data  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.ui]

PROCEDURE = "caf-aide-logement"       # silence means rejection after 2 months: a deemed date
ASKED = ("identity", "rib")            # two documents of its list
NAMES = ("Pièce d'identité", "Relevé d'identité bancaire (RIB)")
EMAIL = "jeanne.martin-1961@example.org"
PHONE = "0612345678"
SHOTS = os.environ.get("LEGAL_CHAIN_SCREENSHOTS")


def eventually(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def delivered(config_data: Path, deposit_id: str) -> bool:
    with Outbox(config_data / "outbox") as outbox:
        entry = outbox.get(deposit_id)
        return entry is not None and entry.state in (OutboxState.ACKNOWLEDGED,
                                                     OutboxState.PURGED)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(free_port()) as server:
        yield server


@pytest.fixture
def sms() -> Iterator[SmsGateway]:
    with SmsGateway() as gateway:
        yield gateway


def shoot_phone(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_documents_requested_by_staff_are_brought_at_a_kiosk_and_the_dossier_moves_on(
        tmp_path: Path, display: str, smtp: SmtpServer, sms: SmsGateway,  # noqa: F811
        chromium: Any) -> None:
    from devtools.citizen import Citizen
    from devtools.kit import start_kiosk

    office = enrolled(tmp_path / "office", "MAIRIE-31")
    notify_settings(office.data, smtp_port=smtp.port, sms_url=sms.url)
    server = RunningServer(office.data, office.port).start()
    work = tmp_path / "kiosk"
    work.mkdir()
    config_path = write_config(work, office.kiosk_id, office.fleet_code, office.bundle, seed=5)
    config = load_config(config_path)
    uploader = processes.start_uploader(config_path, work / "uploader.log")
    kiosk = start_kiosk(config, sealing_keys(config))
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR",
                                 ignore_https_errors=True, device_scale_factor=2)
    staff = server.add_staff(tmp_path / "staff", "ines.martin", Role.INSTRUCTOR)
    try:
        driver, person = kiosk.driver, Citizen(kiosk)

        # 1. The deposit: the procedure, its three required documents, an e-mail address.
        person.tap("start")
        person.tap("choose", PROCEDURE)
        driver.wait_for_step(Step.CHECKLIST)
        person.tap("begin")
        driver.wait_for_step(Step.CAPTURE)
        procedure = kiosk.runtime.catalog.get(PROCEDURE)
        assert procedure is not None
        pages = iter(("tax-notice", "payslip", "proof-of-address", "text"))
        for number, document in enumerate(procedure.documents, start=1):
            last = number == len(procedure.documents)
            if document.required:
                person.capture_document([next(pages)], last=last)
            else:
                person.tap("skip")          # "if you have one": the citizen has not
                if not last:
                    person.clear_tray()
        driver.wait_for_step(Step.REVIEW)
        person.tap("continue")
        driver.wait_for_step(Step.CONTACT)
        person.type_contact(email=EMAIL, phone=PHONE)
        person.tap("consent", True)
        person.tap("continue")
        driver.wait_for_step(Step.CONFIRM)
        person.tap("send")
        driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 120,
                          "the receipt")
        deposit = driver.state.deposit
        original, status_url = deposit.deposit_id, deposit.tracking_url
        person.tap("finish")
        person.tap("rate", 3)
        driver.wait_for_step(Step.WELCOME, 30)
        eventually(lambda: delivered(config.kiosk.data_dir, original), 90, "the delivery")
        record = server.bo.metadata.deposit(original)
        assert record is not None and record.deemed_on is not None
        arrival_deemed = record.deemed_on

        page = phone.new_page()
        page.goto(status_url)
        assert "Reçu" in page.locator(".status").inner_text()
        shoot_phone(page, "status-received")

        # 2. The staff ask for two documents, with a deadline.
        deadline = (datetime.now(UTC) + timedelta(days=14)).date()
        asked = staff.request_documents(original, list(ASKED), deadline.isoformat(),
                                        note="Le RIB doit être à votre nom.")
        asked_on = deadlines.receipt_date(datetime.now(UTC))

        # 3. The citizen's phone shows them.
        page.goto(status_url)
        section = page.locator("section.documents").inner_text()
        assert all(name in section for name in NAMES)
        assert "n'importe quelle borne de dépôt" in section
        shoot_phone(page, "status-incomplete")

        # 4. At the kiosk: the receipt's QR code, only the two documents, a receipt.
        person.show_code(status_url)
        driver.wait_for_step(Step.CHECKLIST, 30)
        checklist = driver.describe()
        assert all(name in checklist for name in NAMES)
        assert "Justificatif de domicile" not in checklist
        person.tap("begin")
        driver.wait_for_step(Step.CAPTURE)
        person.capture_document(["proof-of-address"])
        person.capture_document(["payslip"], last=True)
        driver.wait_for_step(Step.REVIEW)
        person.tap("continue")
        driver.wait_for_step(Step.CONFIRM)
        person.tap("send")
        driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 120,
                          "the complement's receipt")
        complement = driver.state.deposit.deposit_id
        assert original in driver.describe()
        person.tap("finish")
        person.tap("rate", 3)
        driver.wait_for_step(Step.WELCOME, 30)

        # 5. The complement is appended, the request answered, the date recomputed.
        eventually(lambda: delivered(config.kiosk.data_dir, complement), 90,
                   "the complement's delivery")
        stored = ComplementStore(server.bo.metadata).of_deposit(original)
        assert [(c.complement_id, c.request_id) for c in stored] == \
            [(complement, asked["request_id"])]
        dossier = staff.dossier(original)
        assert [r["state"] for r in dossier["requests"]] == [RequestState.ANSWERED.value]
        assert dossier["status"] == DossierStatus.IN_REVIEW.value
        answered_on = deadlines.receipt_date(stored[0].received_at)
        # Silence means rejection: the delay was suspended from the request to the documents.
        record = server.bo.metadata.deposit(original)
        assert record is not None
        assert record.deemed_on == arrival_deemed + (answered_on - asked_on)
        assert date.fromisoformat(dossier["deemed"]["deemed_on"]) == record.deemed_on

        staff.set_status(original, DossierStatus.ACCEPTED.value)
        page.goto(status_url)
        assert "Accepté" in page.locator(".status").inner_text()
        shoot_phone(page, "status-accepted")

        # 6. One mail and one SMS per event (the request, the documents' arrival, the
        # decision), each with the link and nothing personal.
        eventually(lambda: len(smtp.mails) >= 3 and len(sms.received) >= 3, 60,
                   "three mails and three SMS")
        time.sleep(3)                       # and no more come
        assert (len(smtp.mails), len(sms.received)) == (3, 3)
        personal = (EMAIL, PHONE, "+33612345678", "Aide au logement", PROCEDURE, "RIB",
                    "Pièce d'identité", complement)
        for mail in smtp.mails:
            assert mail.rcpt_tos == (EMAIL,)
            message = email.message_from_bytes(mail.data, policy=email.policy.default)
            body = message.get_body(("plain",))
            assert body is not None and status_url in body.get_content()
            headers_and_body = mail.data.decode("utf-8", "replace")
            assert not [p for p in personal if p in headers_and_body]
        for text in (m.body["text"] for m in sms.received):
            assert status_url in text
            assert not [p for p in personal if p in text]
        assert {m.body["to"] for m in sms.received} == {"+33612345678"}
    finally:
        staff.close()
        phone.close()
        kiosk.close()
        processes.stop(uploader)
        server.stop()
