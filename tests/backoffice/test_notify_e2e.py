"""Notifications end to end: a kiosk's outbox, its uploader, a real back office, staff's
decisions, a real SMTP server (aiosmtpd) and an SMS gateway on 127.0.0.1.

The citizen's contact goes from the kiosk to the back office sealed to the notifier; the
status changes staff make are told by one mail and one SMS each, carrying the status link
and nothing personal; a deposit without a contact is told nothing.
"""

from __future__ import annotations

import email
import email.policy
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from backoffice import procedures
from backoffice.roles import Role
from backoffice.store.notifydb import NotifyStore
from deposit import manifest as mf
from deposit.bundle import Enrollment
from deposit.delivery import Backoff, Uploader, deliver_pass
from deposit.ids import DepositIdGenerator
from deposit.outbox import Outbox, Sealer
from deposit.status import DeliveryOutcome
from deposit.tus import TusClient
from kiosk.catalog import Catalog
from kiosk.journey import Contact, Seal
from kiosk.sealing import DepositService
from tests.backoffice.harness import RunningServer, enroll, free_port, init_backoffice
from tests.backoffice.notifykit import SMS_TOKEN, SmsGateway, SmtpServer, notify_settings

EMAIL = "jeanne.dupont-1957@example.org"
PHONE = "+33612345678"
SENTINEL = b"SENTINEL-CONTENT-3c9d-DUPONT"
PROCEDURE = "rsa"      # a sensitive procedure: its name must never leave in a message


@dataclass
class Kiosk:
    """The kiosk side: its outbox (sealing as the kiosk does), its uploader, its sealing
    service (for the contact card)."""

    enrollment: Enrollment
    box: Outbox
    service: DepositService
    uploader: Uploader

    def deposit(self, contact: Contact | None, *, consent: bool = True,
                language: str = "es") -> tuple[str, str]:
        """Seal and queue one deposit; its number and its status link."""
        deposit_id = str(self.service.ids.next())
        token = mf.new_tracking_token()
        link = self.enrollment.tracking_url(deposit_id, token)
        request = Seal(procedure=PROCEDURE, case_reference=None, language=language,
                       documents=(), contact=contact, consent=consent, at=0.0)
        sealed = self.service.sealed_contact(request, deposit_id, link)
        self.box.seal_and_queue(
            deposit_id=deposit_id, procedure=PROCEDURE, tracking_token=token, language=language,
            deposit_json={"version": 1, "deposit_id": deposit_id, "note": SENTINEL.decode(),
                          "contact": {"email": EMAIL, "phone": PHONE} if contact else None},
            pdf=b"%PDF-1.7\n" + SENTINEL + os.urandom(2000), sealed_contact=sealed)
        return deposit_id, link

    def deliver(self) -> None:
        report = deliver_pass(self.box, self.uploader, owner="uploader", backoff=Backoff())
        assert [d.outcome for d in report.deliveries] == [DeliveryOutcome.DELIVERED]
        assert self.box.pending() == []


@dataclass
class Office:
    server: RunningServer
    kiosk: Kiosk
    smtp: SmtpServer
    sms: SmsGateway
    staff_folder: Path


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    bundle = enroll(data, "MAIRIE-01", tmp_path / "bundle")
    enrollment = Enrollment.load(bundle)
    notifier = enrollment.notifier_recipient()
    assert notifier is not None
    box = Outbox(tmp_path / "kiosk" / "outbox",
                 sealer=Sealer(tuple(enrollment.recipients()), enrollment.kiosk_id,
                               enrollment.signing_key()),
                 reserve_bytes=0, dossier_estimate_bytes=1024 * 1024)
    service = DepositService(box, DepositIdGenerator(enrollment.fleet_code, time.time),
                             Catalog([]), kiosk_id=enrollment.kiosk_id, kiosk_place="Mairie",
                             public_url=enrollment.public_url, notifier=notifier)
    uploader = Uploader(TusClient(enrollment.http_client(), enrollment.upload_url),
                        kiosk_id=enrollment.kiosk_id, ack_key=enrollment.ack_key())
    smtp_port = free_port()
    with SmtpServer(smtp_port) as smtp, SmsGateway() as sms:
        notify_settings(data, smtp_port=smtp_port, sms_url=sms.url)
        server = RunningServer(data, port).start()
        try:
            yield Office(server, Kiosk(enrollment, box, service, uploader), smtp, sms,
                         tmp_path / "staff")
        finally:
            uploader.close()
            server.stop()
            box.close()


def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_each_status_change_sends_one_mail_and_one_sms_with_the_link_and_nothing_personal(
        office: Office) -> None:
    deposit_id, link = office.kiosk.deposit(Contact(email=EMAIL, phone=PHONE))
    office.kiosk.deliver()
    notify = NotifyStore(office.server.bo.metadata)
    assert notify.contact(deposit_id) is not None
    staff = office.server.add_staff(office.staff_folder, "ines", Role.INSTRUCTOR)
    try:
        time.sleep(0.5)   # the arrival itself is not an event
        assert office.smtp.mails == [] and office.sms.received == []

        staff.set_status(deposit_id, "in_review")
        wait_for(lambda: len(office.smtp.mails) == 1 and len(office.sms.received) == 1)
        time.sleep(0.5)   # several passes of the loop: still one of each
        assert len(office.smtp.mails) == 1 and len(office.sms.received) == 1
    finally:
        staff.close()

    [mail] = office.smtp.mails
    assert mail.rcpt_tos == (EMAIL,)
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_content()
    assert link in body
    assert message["Subject"] == "Su expediente ha cambiado"   # the citizen's language (es)
    assert message["Content-Language"] == "es"
    text = mail.data.decode("utf-8", "replace") + "\n" + body
    info = procedures.shipped()[PROCEDURE]
    forbidden = [EMAIL, EMAIL.split("@")[0], PHONE, PHONE[3:], PROCEDURE, info.name,
                 *info.names.values(), SENTINEL.decode(), "in_review", "in review"]
    for secret in forbidden:
        assert secret.lower() not in text.lower(), secret

    [sms] = office.sms.received
    assert sms.authorization == f"Bearer {SMS_TOKEN}"
    assert sms.body["to"] == PHONE
    assert link in sms.body["text"]
    for secret in forbidden:
        if secret != PHONE:
            assert secret.lower() not in sms.body["text"].lower(), secret


def test_a_final_status_is_told_then_the_contact_is_erased(office: Office) -> None:
    deposit_id, _ = office.kiosk.deposit(Contact(email=EMAIL, phone=PHONE), language="fr")
    office.kiosk.deliver()
    notify = NotifyStore(office.server.bo.metadata)
    staff = office.server.add_staff(office.staff_folder, "ines", Role.INSTRUCTOR)
    try:
        staff.set_status(deposit_id, "in_review")
        wait_for(lambda: len(office.smtp.mails) == 1)
        staff.set_status(deposit_id, "accepted")
        wait_for(lambda: len(office.smtp.mails) == 2 and len(office.sms.received) == 2)
        wait_for(lambda: notify.contact(deposit_id) is None)
    finally:
        staff.close()
    last = email.message_from_bytes(office.smtp.mails[1].data, policy=email.policy.default)
    assert last["Subject"] == "Votre dossier a évolué"
    rows = notify.notifications(deposit_id)
    assert len(rows) == 4 and all(row.sent_at is not None for row in rows)


def test_a_deposit_without_a_contact_is_told_nothing(office: Office) -> None:
    deposit_id, _ = office.kiosk.deposit(None)
    office.kiosk.deliver()
    notify = NotifyStore(office.server.bo.metadata)
    assert notify.contact(deposit_id) is None
    staff = office.server.add_staff(office.staff_folder, "ines", Role.INSTRUCTOR)
    try:
        staff.set_status(deposit_id, "in_review")
        time.sleep(1.0)   # ten passes of the loop
    finally:
        staff.close()
    assert office.smtp.mails == [] and office.sms.received == []
    assert notify.notifications(deposit_id) == []


def test_the_contact_is_never_in_clear_in_the_server_database(office: Office) -> None:
    deposit_id, _ = office.kiosk.deposit(Contact(email=EMAIL, phone=PHONE))
    office.kiosk.deliver()
    assert NotifyStore(office.server.bo.metadata).contact(deposit_id) is not None
    database = Path(office.server.bo.settings.metadata.removeprefix("sqlite://"))
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert database in files
    for path in files:
        raw = path.read_bytes()
        for secret in (EMAIL, PHONE, EMAIL.split("@")[0]):
            assert secret.encode() not in raw, (path, secret)
