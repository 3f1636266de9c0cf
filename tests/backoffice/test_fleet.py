"""The fleet's alerts end to end: kiosks enrolled, their latest heartbeats stored as the
heartbeat endpoint stores them, ``backoffice fleet [--json] [--notify]``, occurrences in the
store (both engines), one mail per alert to a real SMTP server (aiosmtpd) and one webhook to a
local HTTP server, the "resolved" messages, retries, ``backoffice serve``'s timer, and the staff
API's ``GET /staff/v1/fleet``.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from backoffice import cli, fleet
from backoffice.alerting import AlertRound, Channel
from backoffice.errors import SetupError
from backoffice.fleethealth import Alert, AlertKind, recent_weeks
from backoffice.roles import Action, Outcome, Role
from backoffice.settings import load_settings, parse_listen
from backoffice.staffclient import StaffAPIError
from backoffice.store.alertsdb import AlertStore
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore
from backoffice.store.staffdb import StaffStore
from deposit.bundle import Enrollment
from deposit.heartbeat import PaperLevel, Queue, sign, utc
from deposit.heartbeatclient import HeartbeatClient
from tests.backoffice.fleetkit import (
    WebhookReceiver,
    fleet_settings,
    healthy,
    ratings,
    store_heartbeats,
)
from tests.backoffice.harness import RunningServer, free_port, init_backoffice
from tests.backoffice.notifykit import Mail, SmtpServer

pytestmark = pytest.mark.timeout(120)


def enroll_fleet(data: Path, root: Path, count: int, *, enrolled: datetime) -> list[str]:
    """``count`` kiosks enrolled the usual way (``backoffice enroll``), ``enrolled`` long ago."""
    ids = [f"BORNE-{n:02d}" for n in range(1, count + 1)]
    for kiosk_id in ids:
        fleet.enroll(data, kiosk_id, root / "bundles" / kiosk_id, now=enrolled)
    return ids


def fleet_json(data: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    capsys.readouterr()
    assert cli.main(["fleet", "--data", str(data), "--json", *extra]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def alert_set(view: dict[str, object]) -> set[tuple[str, str, str]]:
    alerts = view["alerts"]
    assert isinstance(alerts, list)
    return {(a["kiosk"], a["kind"], a["subject"]) for a in alerts}


def parsed(mail: Mail) -> EmailMessage:
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return init_backoffice(tmp_path, free_port())


@pytest.fixture
def store(data: Path) -> Iterator[MetadataStore]:
    opened = open_metadata(load_settings(data).metadata)
    opened.init_schema()
    yield opened
    opened.close()


# ---------------------------------------------------------------------- the acceptance test

def test_twenty_kiosks_report_exactly_their_alerts_and_each_new_alert_is_mailed_once(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    with SmtpServer(free_port()) as smtp, WebhookReceiver() as hook:
        # The back office runs while the kiosks are enrolled and send their heartbeats; it
        # runs no alert round of its own (interval 0): the rounds below are the test's.
        fleet_settings(data, smtp_port=smtp.port, webhook=hook.url, extra="interval_seconds = 0")
        server = RunningServer(data, parse_listen(load_settings(data).listen)[1]).start()
        try:
            ids = enroll_fleet(data, tmp_path, 20, enrolled=now - timedelta(days=10))
            for kiosk_id in ids:
                beat = healthy(kiosk_id, now - timedelta(minutes=1),
                               ratings=ratings("rsa", recent_weeks(now)[0], r3=2, r2=1))
                if kiosk_id in ("BORNE-02", "BORNE-03", "BORNE-04"):
                    beat = replace(beat, paper=PaperLevel.NEAR_END)
                elif kiosk_id == "BORNE-05":
                    beat = replace(beat, queue=Queue(4, 8_000_000,
                                                     utc(now - timedelta(hours=3))))
                elif kiosk_id == "BORNE-06":
                    beat = replace(beat, certificate_not_after=utc(now + timedelta(days=12)))
                elif kiosk_id == "BORNE-07":
                    continue                                  # silent: never heard of
                # each signed with its kiosk's key, over mutual TLS with its certificate
                bundle = Enrollment.load(tmp_path / "bundles" / kiosk_id)
                client = HeartbeatClient(bundle.http_client(timeout=10), bundle.upload_url)
                try:
                    client.send(sign(beat, bundle.signing_key()))
                finally:
                    client.close()
        finally:
            server.stop()
        expected = {("BORNE-02", "paper_near_end", ""), ("BORNE-03", "paper_near_end", ""),
                    ("BORNE-04", "paper_near_end", ""), ("BORNE-05", "queue_old", ""),
                    ("BORNE-06", "certificate_expiring", ""), ("BORNE-07", "silent", "")}

        view = fleet_json(data, capsys)
        assert alert_set(view) == expected
        kiosks = view["kiosks"]
        assert isinstance(kiosks, list) and len(kiosks) == 20
        assert kiosks[0]["ratings"] == [{"procedure": "rsa", "count": 3, "mean": 2.67}]
        # Reading changes nothing: no occurrence was recorded, nothing was sent.
        probe = open_metadata(load_settings(data).metadata)
        try:
            assert AlertStore(probe).occurrences() == []
        finally:
            probe.close()
        assert smtp.mails == [] and hook.received == []

        assert alert_set(fleet_json(data, capsys, "--notify")) == expected
        assert len(smtp.mails) == 6 and len(hook.received) == 6
        subjects = sorted(str(parsed(m)["Subject"]) for m in smtp.mails)
        assert subjects[0] == "[bornes] BORNE-02 : papier bientôt épuisé"
        assert all(m.rcpt_tos == ("technique@mairie.example", "astreinte@mairie.example")
                   for m in smtp.mails)
        assert {(h.body["kiosk"], h.body["kind"], h.body["subject"]) for h in hook.received} \
            == expected
        assert {h.body["state"] for h in hook.received} == {"opened"}

        # A repeat round: the same alerts still hold, nothing is sent again.
        fleet_json(data, capsys, "--notify")
        assert len(smtp.mails) == 6 and len(hook.received) == 6


# ---------------------------------------------------------------------- clearing

def test_an_alert_that_no_longer_holds_is_cleared_and_told_resolved_once(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, paper=PaperLevel.NEAR_END), now)])
    with SmtpServer(free_port()) as smtp, WebhookReceiver() as hook:
        fleet_settings(data, smtp_port=smtp.port, webhook=hook.url)
        rounds = AlertRound.from_settings(load_settings(data), store, lambda: datetime.now(UTC))
        assert rounds.run_once().opened == 1
        store_heartbeats(data, [(healthy("BORNE-01", now), now)])      # paper refilled
        report = rounds.run_once()
        assert (report.opened, report.cleared) == (0, 1)
        rounds.run_once()
        assert len(smtp.mails) == 2 and len(hook.received) == 2
        opened, resolved = (parsed(m) for m in smtp.mails)
        assert str(resolved["Subject"]) == "[bornes] résolu : BORNE-01 : papier bientôt épuisé"
        assert resolved["In-Reply-To"] == opened["Message-ID"]
        assert "Résolue le" in resolved.get_content()
        cleared = hook.received[1]
        assert cleared.body["state"] == "cleared" and cleared.body["cleared_at"] is not None
        assert cleared.idempotency_key == cleared.body["alert_id"] + ":cleared"
    [occurrence] = AlertStore(store).occurrences()
    assert occurrence.cleared_at is not None and occurrence.cleared_notified_at is not None


def test_the_same_alert_again_after_clearing_is_a_new_occurrence(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    db = AlertStore(store)
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now)
    paper = Alert("BORNE-01", AlertKind.PAPER_OUT, "", "paper out")
    first = db.reconcile([paper], now).opened[0]
    assert db.reconcile([paper], now).opened == []
    assert db.reconcile([], now).cleared[0].alert_id == first.alert_id
    second = db.reconcile([paper], now).opened[0]
    assert second.alert_id != first.alert_id
    assert [o.alert_id for o in db.open_alerts()] == [second.alert_id]


def test_a_revoked_kiosk_has_no_alert_and_its_open_ones_clear(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 2, enrolled=now - timedelta(days=3))   # neither ever beat
    rounds = AlertRound.from_settings(load_settings(data), store, lambda: datetime.now(UTC))
    assert rounds.run_once().opened == 2
    fleet.revoke(data, "BORNE-02", now=now)
    assert rounds.run_once().cleared == 1
    assert [o.kiosk_id for o in AlertStore(store).open_alerts()] == ["BORNE-01"]


# ---------------------------------------------------------------------- retries

def test_a_failing_smtp_server_then_a_working_one_delivers_each_mail_once(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, paper=PaperLevel.OUT), now)])
    port = free_port()
    fleet_settings(data, smtp_port=port)          # nothing listens there yet
    settings = load_settings(data)
    report = AlertRound.from_settings(settings, store, lambda: datetime.now(UTC)).run_once()
    assert (report.opened, report.failed, report.sent) == (1, 1, {})
    assert AlertStore(store).occurrences()[0].opened_notified_at is None
    with SmtpServer(port) as smtp:
        # A new process (``backoffice fleet --notify`` once more): the mail goes, once.
        again = AlertRound.from_settings(settings, store, lambda: datetime.now(UTC))
        assert again.run_once().sent == {Channel.EMAIL: 1}
        assert again.run_once().sent == {}
        assert len(smtp.mails) == 1
    assert AlertStore(store).occurrences()[0].opened_notified_at is not None


def test_a_webhook_that_went_through_is_not_posted_again_while_the_mail_waits(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, paper=PaperLevel.NEAR_END), now)])
    port = free_port()
    with WebhookReceiver() as hook:
        fleet_settings(data, smtp_port=port, webhook=hook.url)
        rounds = AlertRound.from_settings(load_settings(data), store,
                                          lambda: datetime.now(UTC))
        first = rounds.run_once()
        assert first.sent == {Channel.WEBHOOK: 1} and first.failed == 1
        rounds.run_once()                                   # the relay still down
        assert len(hook.received) == 1
        with SmtpServer(port) as smtp:
            assert rounds.run_once().sent == {Channel.EMAIL: 1}
            assert len(smtp.mails) == 1 and len(hook.received) == 1


def test_a_refusing_webhook_holds_the_mail_back_until_it_accepts(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, agent_call_since=utc(now)), now)])
    with SmtpServer(free_port()) as smtp, WebhookReceiver(status=503) as hook:
        fleet_settings(data, smtp_port=smtp.port, webhook=hook.url)
        rounds = AlertRound.from_settings(load_settings(data), store,
                                          lambda: datetime.now(UTC))
        assert rounds.run_once().failed == 1
        assert smtp.mails == []
        hook.status = 204
        assert rounds.run_once().sent == {Channel.WEBHOOK: 1, Channel.EMAIL: 1}
        assert hook.received[0].body["kind"] == "agent_call_waiting"


def test_without_a_channel_alerts_are_kept_and_marked_told_at_once(
        data: Path, tmp_path: Path, store: MetadataStore) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 1, enrolled=now - timedelta(days=3))
    report = AlertRound.from_settings(load_settings(data), store,
                                      lambda: datetime.now(UTC)).run_once()
    assert report.opened == 1 and report.sent == {}
    [occurrence] = AlertStore(store).occurrences()
    assert occurrence.kind is AlertKind.SILENT and occurrence.opened_notified_at is not None


# ---------------------------------------------------------------------- the store

def test_two_reconciliations_at_once_open_each_alert_once(
        backoffice_data: tuple[Path, int], tmp_path: Path) -> None:
    data, _port = backoffice_data
    now = datetime.now(UTC)
    ids = enroll_fleet(data, tmp_path, 3, enrolled=now)
    alerts = [Alert(k, kind, "", "x") for k in ids
              for kind in (AlertKind.SILENT, AlertKind.PAPER_OUT)]
    url = load_settings(data).metadata
    stores = [open_metadata(url) for _ in range(4)]
    try:
        for attempt in range(5):
            barrier = threading.Barrier(len(stores))

            def reconcile(s: MetadataStore, barrier: threading.Barrier) -> None:
                barrier.wait()
                AlertStore(s).reconcile(alerts, now)

            threads = [threading.Thread(target=reconcile, args=(s, barrier)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert len(AlertStore(stores[0]).open_alerts()) == len(alerts), attempt
            AlertStore(stores[0]).reconcile([], now)           # all cleared: start again
        assert len(AlertStore(stores[0]).occurrences()) == 5 * len(alerts)
    finally:
        for s in stores:
            s.close()


def test_delivery_runs_in_one_process_at_a_time(
        backoffice_data: tuple[Path, int]) -> None:
    data, _port = backoffice_data
    url = load_settings(data).metadata
    one, two = open_metadata(url), open_metadata(url)
    try:
        one.init_schema()
        with AlertStore(one).delivery_lock() as first, \
                AlertStore(two).delivery_lock() as second:
            assert (first, second) == (True, False)
        with AlertStore(two).delivery_lock() as later:
            assert later
    finally:
        one.close()
        two.close()


# ---------------------------------------------------------------------- settings

@pytest.mark.parametrize(("table", "complaint"), [
    ('silent_after = 10', "unknown key 'silent_after' in [fleet]"),
    ('smtp_host = "mail.example.org"\nsmtp_security = "none"\nsmtp_from = "a@b.c"\n'
     'smtp_to = ["t@b.c"]', "only to a relay on a loopback address"),
    ('smtp_host = "mail.example.org"\nsmtp_from = "a@b.c"', "smtp_to must list"),
    ('smtp_to = "t@b.c"', "[fleet] smtp_to = 't@b.c' is not a list"),
    ('webhook_url = "http://hooks.example.org/x"', "must be https://"),
    ('silent_after_minutes = 0', "must be positive"),
])
def test_fleet_settings_that_cannot_work_are_refused_saying_why(
        data: Path, table: str, complaint: str) -> None:
    with (data / "backoffice.toml").open("a") as f:
        f.write(f"\n[fleet]\n{table}\n")
    with pytest.raises(SetupError) as caught:
        load_settings(data)
    assert complaint in str(caught.value)


def test_fleet_settings_defaults_and_a_full_table(data: Path) -> None:
    defaults = load_settings(data).fleet
    assert (defaults.silent_after_minutes, defaults.queue_older_than_minutes,
            defaults.certificate_warning_days, defaults.email, defaults.webhook) == (
        15.0, 60.0, 30, False, False)
    with (data / "backoffice.toml").open("a") as f:
        f.write('\n[fleet]\nsilent_after_minutes = 5\nsmtp_host = "mail.example.org"\n'
                'smtp_security = "tls"\nsmtp_from = "bornes@example.org"\n'
                'smtp_to = ["a@example.org", "b@example.org"]\n'
                'webhook_url = "https://hooks.example.org/bornes"\n')
    full = load_settings(data).fleet
    assert (full.silent_after_minutes, full.port, full.smtp_to) == (
        5.0, 465, ("a@example.org", "b@example.org"))


def test_fleet_exits_2_naming_the_problem_when_the_data_folder_is_unusable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fleet", "--data", str(tmp_path / "nowhere")]) == 2
    assert "is not a back-office data folder" in capsys.readouterr().err


def test_fleet_prints_one_line_per_kiosk_then_the_alerts(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 2, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, paper=PaperLevel.NEAR_END), now)])
    assert cli.main(["fleet", "--data", str(data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["KIOSK", "CODE", "HEARTBEAT"]
    assert out[1].startswith("BORNE-01") and "near_end" in out[1]
    assert out[2].startswith("BORNE-02") and "never" in out[2] and "no news" in out[2]
    assert "ALERTS (2)" in out
    assert any("BORNE-02  silent" in line for line in out)


# ---------------------------------------------------------------------- serve and the staff API

def test_serve_runs_rounds_on_its_timer_and_the_staff_api_shows_the_fleet(
        tmp_path: Path) -> None:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    now = datetime.now(UTC)
    enroll_fleet(data, tmp_path, 2, enrolled=now - timedelta(days=3))
    store_heartbeats(data, [(healthy("BORNE-01", now, paper=PaperLevel.NEAR_END), now),
                            (healthy("BORNE-02", now), now)])
    with SmtpServer(free_port()) as smtp:
        fleet_settings(data, smtp_port=smtp.port, extra="interval_seconds = 0.2")
        server = RunningServer(data, port).start()
        try:
            deadline = time.monotonic() + 15
            while not smtp.mails and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(smtp.mails) == 1
            time.sleep(0.6)                                  # more rounds: nothing new
            assert len(smtp.mails) == 1

            supervisor = server.add_staff(tmp_path / "profiles", "paul.martin",
                                          Role.SUPERVISOR)
            admin = server.add_staff(tmp_path / "profiles", "root.admin", Role.ADMINISTRATOR)
            instructor = server.add_staff(tmp_path / "profiles", "marie.durand")
            try:
                view = supervisor.get("/fleet")
                assert [k["kiosk"] for k in view["kiosks"]] == ["BORNE-01", "BORNE-02"]
                assert [(a["kiosk"], a["kind"]) for a in view["alerts"]] == [
                    ("BORNE-01", "paper_near_end")]
                assert admin.get("/fleet")["alerts"] == view["alerts"]
                with pytest.raises(StaffAPIError) as refused:
                    instructor.get("/fleet")
                assert refused.value.status == 403
            finally:
                for client in (supervisor, admin, instructor):
                    client.close()
            trail = StaffStore(server.bo.metadata).audit_trail(limit=50)
            fleet_reads = [(e.actor, e.outcome) for e in trail if e.action is Action.FLEET]
            assert sorted(fleet_reads) == [("marie.durand", Outcome.REFUSED),
                                           ("paul.martin", Outcome.DONE),
                                           ("root.admin", Outcome.DONE)]
        finally:
            server.stop()
