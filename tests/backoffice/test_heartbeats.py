"""Heartbeats at the back office: sent by a kiosk's real uploader over mutual TLS, checked
(the kiosk of the certificate, its own signing key, not revoked, not from the future), stored
once, the latest by sent_at, the ratings as running totals; on both metadata engines."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backoffice import fleet
from backoffice.fleethealth import AlertKind, Thresholds, fleet_alerts, recent_weeks
from backoffice.settings import load_settings
from backoffice.store import healthdb
from backoffice.store.alertsdb import AlertStore
from backoffice.store.engines import open_metadata
from backoffice.store.healthdb import Recorded, StoredRating
from backoffice.store.metadata import KioskRecord, MetadataStore
from deposit import manifest as mf
from deposit.errors import RefusedError
from deposit.heartbeat import (
    Disk,
    Heartbeat,
    PaperLevel,
    Queue,
    Rating,
    sign,
    utc,
)
from deposit.heartbeatclient import HeartbeatClient
from drivers.printer.base import PrinterStatus
from kiosk import fleetstate
from kiosk.config import load_config
from kiosk.devicestatus import DeviceStatus
from kiosk.heartbeat import HeartbeatBuilder, HeartbeatSender
from kiosk.journey import Device, DeviceChanged
from kiosk.signals import AgentSignal, SatisfactionLog
from kiosk.uploading import UploaderService
from tests.backoffice.harness import FakeKiosk, RunningServer, enroll, free_port
from tests.e2e.fleet import kiosk_config

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)       # a Wednesday, ISO week 2026-W49


def beat(kiosk_id: str, sent: datetime, *, ratings: tuple[Rating, ...] = (),
         paper: PaperLevel = PaperLevel.OK, depth: int = 0) -> Heartbeat:
    return Heartbeat(kiosk_id=kiosk_id, sent_at=utc(sent), software="1.0", devices=(),
                     paper=paper, queue=Queue(depth, depth * 1000, None),
                     disk=Disk(10**9, 4 * 10**9), ratings=ratings)


def now_s() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# ----------------------------------------------------------------------------- the store


@pytest.fixture
def store(backoffice_data: tuple[Path, int]) -> Iterator[MetadataStore]:
    data, _port = backoffice_data
    opened = open_metadata(load_settings(data).metadata)
    opened.init_schema()
    for kiosk_id, code in (("MAIRIE-07", "7K2P"), ("MAIRIE-08", "8K2P")):
        opened.add_kiosk(KioskRecord(kiosk_id, code, kiosk_id[-1] * 64, "1", "key", T0))
    yield opened
    opened.close()


def test_the_latest_heartbeat_is_the_newest_sent_whatever_the_order_of_arrival(store) -> None:
    newer, older = beat("MAIRIE-07", T0, paper=PaperLevel.NEAR_END), \
        beat("MAIRIE-07", T0 - timedelta(minutes=5))
    assert healthdb.record(store, newer, T0 + timedelta(seconds=1)) is Recorded.LATEST
    assert healthdb.record(store, older, T0 + timedelta(seconds=2)) is Recorded.LATE
    assert healthdb.record(store, newer, T0 + timedelta(seconds=3)) is Recorded.REPLAY
    [(kiosk_id, latest, received)] = healthdb.latest_health(store)
    assert (kiosk_id, latest, received) == ("MAIRIE-07", newer, T0 + timedelta(seconds=1))
    assert [h.sent_at for h, _ in healthdb.history(store, "MAIRIE-07", T0 - timedelta(hours=1))
            ] == [older.sent_at, newer.sent_at]
    assert healthdb.history(store, "MAIRIE-07", T0) == [(newer, T0 + timedelta(seconds=1))]


def test_ratings_are_the_kiosks_running_totals_and_a_late_heartbeat_never_lowers_them(
        store) -> None:
    first = beat("MAIRIE-07", T0, ratings=(Rating("caf-apl", "2026-W49", 3, 2),
                                           Rating("-", "2026-W48", 1, 1)))
    healthdb.record(store, first, T0)
    later = beat("MAIRIE-07", T0 + timedelta(minutes=5),
                 ratings=(Rating("caf-apl", "2026-W49", 3, 5),))
    healthdb.record(store, later, T0 + timedelta(minutes=5))
    healthdb.record(store, beat("MAIRIE-07", T0 - timedelta(minutes=5), ratings=(
        Rating("caf-apl", "2026-W49", 3, 1),)), T0 + timedelta(minutes=6))
    healthdb.record(store, beat("MAIRIE-08", T0, ratings=(Rating("cni", "2026-W49", 2, 4),)),
                    T0)
    today = date(2026, 12, 2)
    assert healthdb.ratings(store, "MAIRIE-07", today=today) == [
        StoredRating("MAIRIE-07", "-", "2026-W48", 1, 1),
        StoredRating("MAIRIE-07", "caf-apl", "2026-W49", 3, 5)]
    assert healthdb.ratings(store, weeks=1, today=today) == [
        StoredRating("MAIRIE-07", "caf-apl", "2026-W49", 3, 5),
        StoredRating("MAIRIE-08", "cni", "2026-W49", 2, 4)]
    # Eight weeks on, W48 has left the window; W49 is the eighth week back.
    assert [r.week for r in healthdb.ratings(store, today=date(2027, 1, 20))] == \
        ["2026-W49", "2026-W49"]


def test_old_history_is_pruned_but_each_kiosks_latest_stays(store) -> None:
    healthdb.record(store, beat("MAIRIE-07", T0 - timedelta(days=40)), T0 - timedelta(days=40))
    healthdb.record(store, beat("MAIRIE-08", T0 - timedelta(days=31)), T0 - timedelta(days=31))
    healthdb.record(store, beat("MAIRIE-08", T0), T0)
    assert healthdb.prune(store, T0 - timedelta(days=30)) == 2
    assert healthdb.history(store, "MAIRIE-07", T0 - timedelta(days=90)) == []
    assert [(k.kiosk_id, k.heartbeat.sent_at) for k in healthdb.latest_health(store)] == [
        ("MAIRIE-07", utc(T0 - timedelta(days=40))), ("MAIRIE-08", utc(T0))]


def test_a_revoked_kiosks_health_leaves_the_fleet_unless_asked_for(store) -> None:
    healthdb.record(store, beat("MAIRIE-07", T0), T0)
    healthdb.record(store, beat("MAIRIE-08", T0), T0)
    store.revoke("MAIRIE-08", T0)
    assert [k.kiosk_id for k in healthdb.latest_health(store)] == ["MAIRIE-07"]
    assert [k.kiosk_id for k in healthdb.latest_health(store, include_revoked=True)] == [
        "MAIRIE-07", "MAIRIE-08"]


# ----------------------------------------------------------------------------- over the network


@pytest.fixture
def client(server: RunningServer, kiosk: FakeKiosk) -> Iterator[HeartbeatClient]:
    sender = HeartbeatClient(kiosk.enrollment.http_client(timeout=10),
                             kiosk.enrollment.upload_url)
    yield sender
    sender.close()


def test_a_kiosks_uploader_beats_at_start_and_every_period(server, kiosk, tmp_path) -> None:
    config = load_config(kiosk_config(tmp_path / "box", kiosk.enrollment.folder,
                                      upload="heartbeat_s = 1"))
    service = UploaderService(config)
    runner = threading.Thread(target=service.run, daemon=True)
    started = time.monotonic()
    runner.start()
    try:
        deadline = started + 30
        while len(healthdb.history(server.bo.metadata, "MAIRIE-01",
                                   datetime.now(UTC) - timedelta(hours=1))) < 3:
            assert time.monotonic() < deadline, "fewer than 3 heartbeats in 30 s"
            time.sleep(0.1)
        took = time.monotonic() - started
    finally:
        service.stop.set()
        runner.join(timeout=30)
        service.close()
    print(f"3 heartbeats stored {took:.1f} s after the uploader started (period 1 s)")
    assert took < 10
    [(kiosk_id, latest, _received)] = healthdb.latest_health(server.bo.metadata)
    assert kiosk_id == "MAIRIE-01"
    assert latest.certificate_not_after == utc(kiosk.enrollment.certificate_expiry())
    assert latest.queue.depth == 0 and latest.disk.total_bytes > 0


def test_uploader_once_sends_one_heartbeat_and_brings_the_fleet_state(server, kiosk,
                                                                       tmp_path) -> None:
    config = load_config(kiosk_config(tmp_path / "box", kiosk.enrollment.folder))
    with UploaderService(config) as service:
        service.run(once=True)
        assert service.heartbeats is not None and service.heartbeats.sent == 1
    assert len(healthdb.history(server.bo.metadata, "MAIRIE-01",
                                datetime.now(UTC) - timedelta(hours=1))) == 1
    # The badges' revocations come back with it, signed (kiosk/fleetstate.py verifies them).
    held = fleetstate.load(config.kiosk.data_dir / "status", kiosk.enrollment.ack_key())
    assert held is not None and held.revoked_badges == frozenset()


def test_failures_are_logged_once_per_run_and_the_next_beat_tries_again(
        server, kiosk, client, tmp_path, caplog) -> None:
    enrollment = kiosk.enrollment
    nowhere = HeartbeatClient(enrollment.http_client(timeout=2),
                              f"https://127.0.0.1:{free_port()}/files/")
    (tmp_path / "data").mkdir()
    sender = HeartbeatSender(HeartbeatBuilder("MAIRIE-01", tmp_path / "data", bundle=enrollment),
                             nowhere, enrollment.signing_key(), period_s=300)
    with caplog.at_level(logging.INFO, logger="kiosk.heartbeat"):
        assert [sender.beat() for _ in range(3)] == [False, False, False]
        nowhere.close()
        sender.client = client                         # the network is back
        assert sender.beat()
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == ["WARNING", "INFO"]
    assert "cannot reach" in said[0][1]
    assert said[1][1] == "heartbeats get through again (3 lost meanwhile)"
    assert len(healthdb.latest_health(server.bo.metadata)) == 1


def test_a_replayed_heartbeat_is_accepted_and_stored_once(server, kiosk, client) -> None:
    blob = sign(beat("MAIRIE-01", now_s(), depth=2), kiosk.enrollment.signing_key())
    client.send(blob)
    client.send(blob)
    history = healthdb.history(server.bo.metadata, "MAIRIE-01", now_s() - timedelta(hours=1))
    assert [h.queue.depth for h, _ in history] == [2]


def test_an_older_heartbeat_arriving_late_is_kept_but_never_replaces_the_latest(
        server, kiosk, client) -> None:
    key = kiosk.enrollment.signing_key()
    now = now_s()
    client.send(sign(beat("MAIRIE-01", now, paper=PaperLevel.OUT,
                          ratings=(Rating("caf-apl", "2026-W49", 3, 7),)), key))
    client.send(sign(beat("MAIRIE-01", now - timedelta(minutes=5), paper=PaperLevel.OK,
                          ratings=(Rating("caf-apl", "2026-W49", 3, 6),)), key))
    [(_, latest, _)] = healthdb.latest_health(server.bo.metadata)
    assert latest.paper is PaperLevel.OUT
    assert [r.count for r in healthdb.ratings(server.bo.metadata, weeks=None)] == [7]
    assert len(healthdb.history(server.bo.metadata, "MAIRIE-01", now - timedelta(hours=1))) == 2


def test_a_heartbeat_signed_with_another_key_is_refused(server, client) -> None:
    with pytest.raises(RefusedError) as refused:
        client.send(sign(beat("MAIRIE-01", now_s()), mf.generate_signing_key()))
    assert refused.value.status == 403 and "not signed by kiosk MAIRIE-01" in str(refused.value)
    assert healthdb.latest_health(server.bo.metadata) == []


def test_a_kiosk_cannot_send_another_kiosks_heartbeat(server, kiosk, backoffice_data,
                                                      tmp_path) -> None:
    data, _port = backoffice_data
    other = FakeKiosk(enroll(data, "MAIRIE-02", tmp_path / "bundle2"), tmp_path / "k2")
    theirs = HeartbeatClient(other.enrollment.http_client(timeout=10),
                             other.enrollment.upload_url)
    try:
        # Even a genuine heartbeat of MAIRIE-01, replayed by MAIRIE-02.
        with pytest.raises(RefusedError) as refused:
            theirs.send(sign(beat("MAIRIE-01", now_s()), kiosk.enrollment.signing_key()))
        assert refused.value.status == 403 and "names kiosk 'MAIRIE-01'" in str(refused.value)
    finally:
        theirs.close()
        other.close()
    assert healthdb.latest_health(server.bo.metadata) == []


def test_a_revoked_kiosks_heartbeat_is_refused(server, kiosk, client, backoffice_data) -> None:
    data, _port = backoffice_data
    fleet.revoke(data, "MAIRIE-01", now=datetime.now(UTC))
    with pytest.raises(RefusedError) as refused:
        client.send(sign(beat("MAIRIE-01", now_s()), kiosk.enrollment.signing_key()))
    assert refused.value.status == 403
    assert healthdb.latest_health(server.bo.metadata, include_revoked=True) == []


def test_malformed_or_future_heartbeats_are_refused_with_a_reason(server, kiosk,
                                                                  client) -> None:
    key = kiosk.enrollment.signing_key()
    ahead = sign(beat("MAIRIE-01", now_s() + timedelta(minutes=11)), key)
    cases = {b"{}": "exactly 'heartbeat' and 'signature'",
             b"not json": "not UTF-8 JSON",
             sign(beat("MAIRIE-01", now_s()), key) + b" ": "canonical form",
             ahead: "ahead of the back office's clock"}
    for blob, reason in cases.items():
        with pytest.raises(RefusedError) as refused:
            client.send(blob)
        assert refused.value.status == 400 and reason in str(refused.value), blob[:40]
    client.send(sign(beat("MAIRIE-01", now_s() + timedelta(minutes=9)), key))  # a clock drift
    assert len(healthdb.latest_health(server.bo.metadata)) == 1


def test_the_endpoint_deletes_history_older_than_the_settings_say(server, kiosk,
                                                                  client) -> None:
    days = server.bo.settings.heartbeat_history_days
    old = datetime.now(UTC) - timedelta(days=days + 1)
    healthdb.record(server.bo.metadata, beat("MAIRIE-01", old), old)
    assert len(healthdb.history(server.bo.metadata, "MAIRIE-01", old - timedelta(days=1))) == 1
    sent = now_s()
    client.send(sign(beat("MAIRIE-01", sent), kiosk.enrollment.signing_key()))
    history = healthdb.history(server.bo.metadata, "MAIRIE-01", old - timedelta(days=1))
    assert [h.sent_at for h, _ in history] == [utc(sent)]


def test_history_days_is_a_setting_that_must_be_positive(backoffice_data) -> None:
    from backoffice.errors import SetupError

    data, _port = backoffice_data
    settings = load_settings(data)
    assert settings.heartbeat_history_days == 30
    path = data / "backoffice.toml"
    path.write_text(path.read_text().replace("heartbeat_history_days = 30",
                                             "heartbeat_history_days = 0"))
    with pytest.raises(SetupError, match="heartbeat_history_days = 0 must be at least 1"):
        load_settings(data)
    assert replace(settings, heartbeat_history_days=7).to_toml().count(
        "heartbeat_history_days = 7") == 1


def test_what_the_kiosk_writes_reaches_the_fleets_alerts_and_ratings(server, kiosk,
                                                                     tmp_path) -> None:
    """The whole way: the kiosk application's own writers, the uploader's heartbeat, the store,
    and the fleet's alerts (backoffice/fleethealth.py) read from it."""
    config = load_config(kiosk_config(tmp_path / "box", kiosk.enrollment.folder))
    status = config.kiosk.data_dir / "status"
    devices = DeviceStatus(status)
    devices.record_printer(PrinterStatus(paper_near_end=True))
    devices.observing_camera(lambda event: None)(DeviceChanged(Device.CAMERA, ok=False))
    AgentSignal(status, "MAIRIE-01").call("capture")
    SatisfactionLog(status).record(3, "caf-apl")
    with UploaderService(config) as service:
        service.run(once=True)
    now = datetime.now(UTC)
    fleet_store = AlertStore(server.bo.metadata)
    alerts = fleet_alerts(fleet_store.fleet(), now, Thresholds())
    assert [(a.kiosk_id, a.kind) for a in alerts] == [
        ("MAIRIE-01", AlertKind.PAPER_NEAR_END), ("MAIRIE-01", AlertKind.DEVICE_FAILED),
        ("MAIRIE-01", AlertKind.AGENT_CALL_WAITING)]
    assert [(r.kiosk_id, r.procedure, r.rating, r.count) for r in fleet_store.ratings(
        recent_weeks(now))] == [("MAIRIE-01", "caf-apl", 3, 1)]
