"""The notifier on its own: one pass at a time with a clock the test moves, against a real
metadata store, a real SMTP server (aiosmtpd) and an SMS gateway on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import hashlib
import logging
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backoffice import docrequests, notifykeys, pki
from backoffice.app import Backoffice
from backoffice.errors import SetupError
from backoffice.notify import Notifier
from backoffice.settings import load_settings
from backoffice.status import DossierStatus
from backoffice.store.metadata import iso
from backoffice.store.notifydb import Channel, EventKind, NotifyStore, notification_id
from backoffice.store.requestsdb import RequestStore
from backoffice.store.staffdb import StaffStore
from deposit import contact
from tests.backoffice.harness import FakeKiosk, enroll, free_port, init_backoffice, store_record
from tests.backoffice.notifykit import SmsGateway, SmtpServer, notify_settings

EMAIL = "jeanne.dupont-1957@example.org"
PHONE = "+33612345678"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Office:
    """A back office's store (no listener), one kiosk, and a notifier built from settings."""

    def __init__(self, root: Path, *, smtp_port: int | None, sms_url: str | None = None,
                 extra: str = "", before: Callable[[], object] = lambda: None) -> None:
        self.data = init_backoffice(root, free_port())
        self.kiosk = FakeKiosk(enroll(self.data, "MAIRIE-01", root / "bundle"), root / "kiosk")
        notify_settings(self.data, smtp_port=smtp_port, sms_url=sms_url, extra=extra)
        before()     # files the settings name
        self.settings = load_settings(self.data)
        self.clock = Clock()
        self.bo = Backoffice.open(self.settings, self.clock)
        notifier = Notifier.from_settings(self.settings, self.bo.metadata, self.clock)
        assert notifier is not None
        self.notifier = notifier
        self.db = NotifyStore(self.bo.metadata)

    def deposit(self, *, email: str | None = EMAIL, phone: str | None = PHONE,
                language: str = "fr", link: str | None = None,
                card_deposit: str | None = None) -> str:
        """A stored dossier whose contact came sealed, as the kiosk seals it."""
        deposit_id = store_record(self.bo, self.kiosk, received=self.clock.now)
        card = contact.ContactCard(
            deposit_id=card_deposit or deposit_id, email=email, phone=phone, language=language,
            status_url=link or f"{self.settings.public_url}/suivi/{deposit_id}?t=TOKEN",
            notice_version="2025-01")
        sealed = contact.seal(card, notifykeys.recipient(self.settings))
        assert self.db.keep_contact(deposit_id, sealed, self.clock.now)
        return deposit_id

    def decide(self, deposit_id: str, status: DossierStatus) -> None:
        self.clock.advance(1)
        StaffStore(self.bo.metadata).decide(deposit_id, status, "ines", self.clock.now,
                                            lambda current: "")

    def close(self) -> None:
        self.bo.close()
        self.kiosk.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(free_port()) as server:
        yield server


def test_a_status_change_is_one_mail_per_event_and_planning_again_adds_none(
        tmp_path: Path, smtp: SmtpServer) -> None:
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        deposit_id = office.deposit(phone=None)
        assert office.notifier.run_once().planned == 0      # the arrival is not an event
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        first = office.notifier.run_once()
        again = office.notifier.run_once()
        [row] = office.db.notifications(deposit_id)
    finally:
        office.close()
    assert (first.planned, first.sent, again.planned, again.sent) == (1, 1, 0, 0)
    assert row.event.kind is EventKind.STATUS and row.channel is Channel.EMAIL
    assert row.notification_id == hashlib.sha256(
        f"{deposit_id}|{row.event.key}|email".encode()).hexdigest()
    assert row.notification_id == notification_id(deposit_id, row.event.key, Channel.EMAIL)
    assert len(smtp.mails) == 1


def test_smtp_down_is_retried_with_backoff_then_sent_when_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    office = Office(tmp_path, smtp_port=port, extra="retry_seconds = 60")
    try:
        deposit_id = office.deposit(phone=None)
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        assert office.notifier.run_once().retried == 1
        [row] = office.db.notifications(deposit_id)
        assert (row.attempts, row.sent_at, row.given_up_at) == (1, None, None)
        assert row.next_attempt_at == office.clock.now + timedelta(seconds=60)
        assert row.last_error and EMAIL not in row.last_error
        office.clock.advance(30)
        assert office.notifier.run_once().retried == 0     # not due yet
        office.clock.advance(31)
        assert office.notifier.run_once().retried == 1     # still down: next in 120 s
        [row] = office.db.notifications(deposit_id)
        assert row.next_attempt_at == office.clock.now + timedelta(seconds=120)
        with SmtpServer(port) as smtp:
            office.clock.advance(121)
            assert office.notifier.run_once().sent == 1
            assert len(smtp.mails) == 1
        [row] = office.db.notifications(deposit_id)
    finally:
        office.close()
    assert (row.attempts, row.last_error) == (3, None) and row.sent_at is not None


def test_a_notification_is_given_up_after_max_attempts_with_its_error_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    office = Office(tmp_path, smtp_port=free_port(), extra="max_attempts = 3")
    try:
        deposit_id = office.deposit(phone=None)
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        with caplog.at_level(logging.INFO, logger="backoffice.notify"):
            reports = []
            for _ in range(4):
                reports.append(office.notifier.run_once())
                office.clock.advance(3600)
        [row] = office.db.notifications(deposit_id)
    finally:
        office.close()
    assert [(r.retried, r.given_up) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert row.attempts == 3 and row.given_up_at is not None and row.last_error
    given_up = [r for r in caplog.records if "given up after" in r.getMessage()]
    assert len(given_up) == 1 and given_up[0].levelno == logging.ERROR
    assert row.last_error in given_up[0].getMessage()
    assert all(EMAIL not in r.getMessage() for r in caplog.records
               if r.name.startswith("backoffice"))


def test_a_recipient_the_relay_refuses_is_given_up_at_once_without_naming_the_address(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with SmtpServer(free_port(), refuse_rcpt=True) as smtp:
        office = Office(tmp_path, smtp_port=smtp.port)
        try:
            deposit_id = office.deposit(phone=None)
            office.decide(deposit_id, DossierStatus.IN_REVIEW)
            with caplog.at_level(logging.INFO):
                report = office.notifier.run_once()
            [row] = office.db.notifications(deposit_id)
        finally:
            office.close()
    assert report.given_up == 1 and row.attempts == 1
    assert row.last_error is not None and "550" in row.last_error
    assert all(EMAIL not in r.getMessage() for r in caplog.records
               if r.name.startswith("backoffice"))
    assert EMAIL not in row.last_error


def test_a_request_for_documents_is_told_with_its_own_message(tmp_path: Path,
                                                              smtp: SmtpServer) -> None:
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        deposit_id = office.deposit(phone=None, language="en")
        with office.bo.metadata.transaction() as cur:   # as the docreq module writes it
            cur.execute("INSERT INTO document_requests (request_id, deposit_id, requested_at, "
                        "requested_by, deadline, documents, note, state) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        ("REQ-1", deposit_id, iso(office.clock.now), "ines", "2027-01-15",
                         '["justificatif-domicile"]', "", "open"))
        assert office.notifier.run_once().sent == 1
        [row] = office.db.notifications(deposit_id)
    finally:
        office.close()
    assert row.event.kind is EventKind.DOCUMENTS and row.event.ref == "REQ-1"
    message = email.message_from_bytes(smtp.mails[0].data, policy=email.policy.default)
    assert message["Subject"] == "Documents are requested for your dossier"
    assert "justificatif" not in smtp.mails[0].data.decode()


def test_a_request_for_documents_is_one_message_and_its_answer_another(
        tmp_path: Path, smtp: SmtpServer) -> None:
    """The request moves the dossier through two statuses in the same instant (in review,
    incomplete): the citizen gets the request's message only; the documents' arrival, which
    puts the dossier back in review, is told by one more."""
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        deposit_id = office.deposit(phone=None)
        office.clock.advance(60)
        request = RequestStore(office.bo.metadata).create(
            deposit_id, documents=("rib",), deadline=(office.clock.now + timedelta(days=10)
                                                       ).date(), note="", actor="ines",
            at=office.clock.now, moves=docrequests.request_moves("Pièces manquantes"))
        first = office.notifier.run_once()
        office.clock.advance(3600)
        docrequests.answer(office.bo.metadata, deposit_id=deposit_id,
                           request_id=request.request_id, complement_id="C0MP-0001-234X",
                           at=office.clock.now)
        second = office.notifier.run_once()
        rows = office.db.notifications(deposit_id)
        history = StaffStore(office.bo.metadata).history(deposit_id)
    finally:
        office.close()
    assert [h.status for h in history] == [DossierStatus.RECEIVED, DossierStatus.IN_REVIEW,
                                           DossierStatus.INCOMPLETE, DossierStatus.IN_REVIEW]
    assert (first.sent, second.sent) == (1, 1)
    assert [r.event.kind for r in rows] == [EventKind.DOCUMENTS, EventKind.STATUS]
    assert len(smtp.mails) == 2


def test_a_card_sealed_for_another_deposit_is_erased_and_never_used(
        tmp_path: Path, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        other = office.deposit(phone=None)
        deposit_id = office.deposit(phone=None, card_deposit=other)
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        with caplog.at_level(logging.ERROR):
            report = office.notifier.run_once()
        assert office.db.contact(deposit_id) is None and office.db.contact(other) is not None
    finally:
        office.close()
    assert report.sent == 0 and smtp.mails == []
    assert any("names another deposit" in r.getMessage() for r in caplog.records)


def test_a_link_outside_the_status_page_is_never_sent(tmp_path: Path, smtp: SmtpServer) -> None:
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        deposit_id = office.deposit(phone=None, link="https://phishing.example/suivi/X?t=1")
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        report = office.notifier.run_once()
        [row] = office.db.notifications(deposit_id)
    finally:
        office.close()
    assert report.given_up == 1 and smtp.mails == []
    assert row.last_error is not None and "status page" in row.last_error


def test_sms_through_the_gateway_retries_a_5xx_and_gives_up_a_4xx(tmp_path: Path) -> None:
    with SmsGateway(status=503) as gateway:
        office = Office(tmp_path, smtp_port=None, sms_url=gateway.url)
        try:
            deposit_id = office.deposit(email=None)
            office.decide(deposit_id, DossierStatus.IN_REVIEW)
            assert office.notifier.run_once().retried == 1
            gateway.status = 400
            office.clock.advance(3600)
            assert office.notifier.run_once().given_up == 1
            [row] = office.db.notifications(deposit_id)
        finally:
            office.close()
    assert row.channel is Channel.SMS and row.last_error == "the SMS gateway answered 400"
    assert [sms.body["to"] for sms in gateway.received] == [PHONE, PHONE]
    assert len({sms.idempotency_key for sms in gateway.received}) == 1


def test_a_channel_left_out_of_the_settings_is_given_up_saying_so(
        tmp_path: Path, smtp: SmtpServer) -> None:
    office = Office(tmp_path, smtp_port=smtp.port)
    try:
        deposit_id = office.deposit()
        office.decide(deposit_id, DossierStatus.IN_REVIEW)
        report = office.notifier.run_once()
        rows = {row.channel: row for row in office.db.notifications(deposit_id)}
    finally:
        office.close()
    assert (report.sent, report.given_up) == (1, 1)
    assert rows[Channel.SMS].last_error == "the sms channel is not configured ([notify])"


def test_a_contact_is_erased_after_its_final_status_is_told_or_its_retention(
        tmp_path: Path, smtp: SmtpServer) -> None:
    office = Office(tmp_path, smtp_port=smtp.port, extra="contact_retention_days = 30")
    try:
        decided = office.deposit(phone=None)
        forgotten = office.deposit(phone=None)
        office.decide(decided, DossierStatus.IN_REVIEW)
        office.decide(decided, DossierStatus.ACCEPTED)
        report = office.notifier.run_once()
        assert report.erased == 1 and office.db.contact(decided) is None
        assert office.db.contact(forgotten) is not None
        office.clock.advance(31 * 86400)
        assert office.notifier.run_once().erased == 1
        assert office.db.contact(forgotten) is None
    finally:
        office.close()
    assert report.sent == 2


def test_notifications_are_off_without_a_notify_table(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    data = init_backoffice(tmp_path, free_port())
    settings = load_settings(data)
    bo = Backoffice.open(settings)
    try:
        with caplog.at_level(logging.INFO):
            assert Notifier.from_settings(settings, bo.metadata, bo.clock) is None
    finally:
        bo.close()
    assert any("notifications are off" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("table", "refusal"), [
    ('smtp_url = "smtp://user:secret@mail.example:587"\nfrom_address = "a@b.example"',
     "must not hold a user or password"),
    ('smtp_url = "smtp://mail.example:25"\nsmtp_security = "none"\nfrom_address = "a@b.c"',
     "only to a relay on a loopback address"),
    ('smtp_url = "smtp://mail.example:587"', "from_address"),
    ('sms_url = "http://sms.example/v1"\nsms_token_file = "t"', "must be https://"),
    ('sms_url = "https://sms.example/v1"', "sms_token_file is needed"),
    ('smtp_url = "smtp://mail.example:587"\nfrom_address = "a@b.c"\nsmtp_security = "ssl"',
     "smtp_security must be one of"),
    ("smtp_password = \"x\"", "unknown key 'smtp_password' in [notify]"),
])
def test_notify_settings_refuse_what_would_leak_or_cannot_work(tmp_path: Path, table: str,
                                                              refusal: str) -> None:
    data = init_backoffice(tmp_path, free_port())
    with (data / "backoffice.toml").open("a") as f:
        f.write(f"\n[notify]\n{table}\n")
    with pytest.raises(SetupError, match="notify") as caught:
        load_settings(data)
    assert refusal in str(caught.value)


def test_init_makes_the_notifier_key_private_and_enroll_gives_its_recipient(
        tmp_path: Path) -> None:
    data = init_backoffice(tmp_path, free_port())
    settings = load_settings(data)
    assert oct(settings.notifier_identity.stat().st_mode & 0o777) == "0o600"
    bundle = enroll(data, "MAIRIE-01", tmp_path / "bundle")
    recipient = notifykeys.recipient(settings)
    assert (bundle / "notifier.txt").read_text().strip().endswith(recipient)
    assert recipient not in settings.recipient_lines()      # not a staff key
    assert notifykeys.recipient_of(notifykeys.identities(settings)[0]) == recipient


def test_an_older_data_folder_gets_the_notifier_key_when_the_service_starts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from backoffice.server import Service, bind_all

    data = init_backoffice(tmp_path, free_port())
    settings = load_settings(data)
    settings.notifier_identity.unlink()
    settings.notifier_recipient.unlink()
    bo = Backoffice.open(settings)
    sockets = bind_all(dataclasses.replace(settings))
    try:
        with caplog.at_level(logging.WARNING):
            Service(bo, sockets)
    finally:
        for sock in sockets.values():
            sock.close()
        bo.close()
    assert settings.notifier_identity.is_file() and settings.notifier_recipient.is_file()
    assert oct(settings.notifier_identity.stat().st_mode & 0o777) == "0o600"
    assert any("had no notifier key" in r.getMessage() for r in caplog.records)


def test_starttls_and_login_from_the_credentials_file_reach_a_relay_of_a_private_ca(
        tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = pki.create_ca(now, name="Relay test CA")
    relay = pki.issue_server(ca, "127.0.0.1", now)
    (tmp_path / "relay.crt").write_bytes(relay.cert_pem)
    (tmp_path / "relay.key").write_bytes(relay.key_pem)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(tmp_path / "relay.crt", tmp_path / "relay.key")
    with SmtpServer(free_port(), tls=tls, login=("notifier", "s3cret pass")) as smtp:
        office_root = tmp_path / "office"
        data = office_root / "backoffice"
        extra = ('smtp_security = "starttls"\nsmtp_ca_file = "notifier/relay-ca.crt"\n'
                 'smtp_credentials_file = "notifier/smtp.txt"')
        office = Office(office_root, smtp_port=smtp.port, extra=extra,
                        before=lambda: ((data / "notifier" / "relay-ca.crt").write_bytes(
                            ca.cert_pem), (data / "notifier" / "smtp.txt").write_text(
                            "notifier\ns3cret pass\n")))
        try:
            deposit_id = office.deposit(phone=None)
            office.decide(deposit_id, DossierStatus.IN_REVIEW)
            report = office.notifier.run_once()
        finally:
            office.close()
    assert report.sent == 1 and len(smtp.mails) == 1 and smtp.logins == ["notifier"]
