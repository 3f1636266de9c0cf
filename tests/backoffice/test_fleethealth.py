"""The fleet's alerts as pure logic (backoffice/fleethealth.py): one heartbeat and the time now
in, the alerts that hold out; and the ratings' summary over the last four ISO weeks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from backoffice.fleethealth import (
    AlertKind,
    KioskHealth,
    RatingCount,
    Thresholds,
    alerts_of,
    fleet_view,
    ratings_summary,
    recent_weeks,
)
from deposit.heartbeat import DeviceHealth, DeviceKind, Heartbeat, PaperLevel, Queue, utc
from tests.backoffice.fleetkit import device, healthy

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
LIMITS = Thresholds(silent_after=timedelta(minutes=15), queue_older_than=timedelta(hours=1),
                    certificate_warning=timedelta(days=30))
ENROLLED = NOW - timedelta(days=90)


def kiosk(beat: Heartbeat | None, *, received: datetime | None = None,
          enrolled: datetime = ENROLLED) -> KioskHealth:
    return KioskHealth("MAIRIE-01", "AB12", enrolled, beat,
                       received or (NOW - timedelta(minutes=2) if beat else None))


def kinds(beat: Heartbeat | None, *, received: datetime | None = None,
          enrolled: datetime = ENROLLED) -> list[tuple[AlertKind, str]]:
    return [(a.kind, a.subject) for a in alerts_of(kiosk(beat, received=received,
                                                          enrolled=enrolled), NOW, LIMITS)]


def beat(**changes: object) -> Heartbeat:
    return healthy("MAIRIE-01", NOW - timedelta(minutes=2), **changes)


def test_a_healthy_kiosk_that_beat_recently_has_no_alert() -> None:
    assert kinds(beat()) == []


def test_paper_near_its_end_raises_paper_near_end_only() -> None:
    near = device(beat(paper=PaperLevel.NEAR_END), DeviceKind.PRINTER, DeviceHealth.WARN,
                  "paper near end")
    assert kinds(near) == [(AlertKind.PAPER_NEAR_END, "")]


def test_paper_out_is_one_alert_not_also_a_failed_printer() -> None:
    out = device(beat(paper=PaperLevel.OUT), DeviceKind.PRINTER, DeviceHealth.FAIL,
                 "paper end sensor")
    [alert] = alerts_of(kiosk(out), NOW, LIMITS)
    assert alert.kind is AlertKind.PAPER_OUT
    assert "paper end sensor" in alert.detail


def test_each_failing_device_is_its_own_alert_whose_subject_is_the_device_kind() -> None:
    since = NOW - timedelta(minutes=40)
    failing = device(device(beat(), DeviceKind.CAMERA, DeviceHealth.FAIL, "no frame in 5 s",
                            since), DeviceKind.CODE_READER, DeviceHealth.FAIL, "unplugged")
    alerts = alerts_of(kiosk(failing), NOW, LIMITS)
    assert [(a.kind, a.subject) for a in alerts] == [
        (AlertKind.DEVICE_FAILED, "camera"), (AlertKind.DEVICE_FAILED, "code_reader")]
    assert alerts[0].since == since and "no frame in 5 s" in alerts[0].detail


def test_a_printer_failing_with_paper_left_is_a_failed_device() -> None:
    cover = device(beat(), DeviceKind.PRINTER, DeviceHealth.FAIL, "cover open")
    assert kinds(cover) == [(AlertKind.DEVICE_FAILED, "printer")]


def test_a_warning_or_unknown_device_is_no_failure() -> None:
    unsure = device(device(beat(), DeviceKind.CAMERA, DeviceHealth.WARN), DeviceKind.PRINTER,
                    DeviceHealth.UNKNOWN)
    assert kinds(unsure) == []


def test_silent_once_the_last_heartbeat_is_older_than_silent_after() -> None:
    assert kinds(beat(), received=NOW - timedelta(minutes=14)) == []
    assert kinds(beat(), received=NOW - timedelta(minutes=16)) == [(AlertKind.SILENT, "")]


def test_silence_is_judged_on_the_back_offices_clock_not_the_kiosks() -> None:
    # The kiosk's clock is an hour late: its sent_at looks old, but it was received just now.
    late = healthy("MAIRIE-01", NOW - timedelta(hours=1))
    assert kinds(late, received=NOW - timedelta(minutes=1)) == []


def test_a_kiosk_that_never_beat_is_silent_once_enrolled_longer_than_silent_after() -> None:
    assert kinds(None, enrolled=NOW - timedelta(minutes=5)) == []
    [alert] = alerts_of(kiosk(None, enrolled=NOW - timedelta(hours=3)), NOW, LIMITS)
    assert alert.kind is AlertKind.SILENT and "no heartbeat ever received" in alert.detail


def test_a_silent_kiosk_keeps_the_alerts_of_its_last_heartbeat() -> None:
    old = beat(paper=PaperLevel.NEAR_END)
    assert kinds(old, received=NOW - timedelta(hours=2)) == [
        (AlertKind.SILENT, ""), (AlertKind.PAPER_NEAR_END, "")]


def test_queue_old_once_the_oldest_waiting_deposit_is_older_than_the_threshold() -> None:
    young = beat(queue=Queue(depth=3, bytes=6_000_000, oldest_at=utc(NOW - timedelta(minutes=50))))
    old = beat(queue=Queue(depth=3, bytes=6_000_000, oldest_at=utc(NOW - timedelta(minutes=70))))
    assert kinds(young) == []
    [alert] = alerts_of(kiosk(old), NOW, LIMITS)
    assert alert.kind is AlertKind.QUEUE_OLD and "3 deposit(s)" in alert.detail
    assert alert.since == NOW - timedelta(minutes=10)      # when it became an hour old


def test_certificate_expiring_within_the_warning_days_and_not_before() -> None:
    far = beat(certificate_not_after=utc(NOW + timedelta(days=31)))
    near = beat(certificate_not_after=utc(NOW + timedelta(days=29)))
    gone = beat(certificate_not_after=utc(NOW - timedelta(days=2)))
    assert kinds(far) == []
    assert kinds(near) == [(AlertKind.CERTIFICATE_EXPIRING, "")]
    [alert] = alerts_of(kiosk(gone), NOW, LIMITS)
    assert "expired" in alert.detail


def test_an_agent_call_no_one_saw_is_an_alert_since_the_call() -> None:
    called = NOW - timedelta(minutes=3)
    [alert] = alerts_of(kiosk(beat(agent_call_since=utc(called))), NOW, LIMITS)
    assert (alert.kind, alert.since) == (AlertKind.AGENT_CALL_WAITING, called)


def test_out_of_order_is_an_informational_alert_with_the_technicians_message() -> None:
    [alert] = alerts_of(kiosk(beat(out_of_order=True, out_of_order_message="vitre fêlée")),
                        NOW, LIMITS)
    assert alert.kind is AlertKind.OUT_OF_ORDER and alert.kind.informational
    assert "vitre fêlée" in alert.detail
    assert not AlertKind.SILENT.informational


def test_the_thresholds_are_the_ones_given() -> None:
    stricter = dataclasses.replace(LIMITS, silent_after=timedelta(minutes=1))
    assert [a.kind for a in alerts_of(kiosk(beat()), NOW, stricter)] == [AlertKind.SILENT]


def test_recent_weeks_cross_the_new_year() -> None:
    assert recent_weeks(datetime(2027, 1, 6, tzinfo=UTC)) == [
        "2027-W01", "2026-W53", "2026-W52", "2026-W51"]


def test_ratings_are_summed_per_procedure_over_the_weeks_given_only() -> None:
    rows = [RatingCount("K", "rsa", "2026-W49", 3, 4), RatingCount("K", "rsa", "2026-W48", 1, 2),
            RatingCount("K", "rsa", "2026-W40", 1, 50),       # too old: left out
            RatingCount("K", "-", "2026-W49", 2, 1)]
    summary = ratings_summary(rows, recent_weeks(NOW))
    assert [(r.procedure, r.count, round(r.mean, 3)) for r in summary] == [
        ("-", 1, 2.0), ("rsa", 6, round(14 / 6, 3))]


def test_the_fleet_view_lists_every_kiosk_its_state_and_the_alerts_once() -> None:
    k1 = kiosk(beat(paper=PaperLevel.NEAR_END))
    k2 = KioskHealth("MAIRIE-02", "CD34", ENROLLED)                 # never beat
    view = fleet_view([k2, k1], [RatingCount("MAIRIE-01", "rsa", "2026-W49", 3, 2)], NOW, LIMITS)
    assert [k["kiosk"] for k in view["kiosks"]] == ["MAIRIE-01", "MAIRIE-02"]
    assert [(a["kiosk"], a["kind"]) for a in view["alerts"]] == [
        ("MAIRIE-01", "paper_near_end"), ("MAIRIE-02", "silent")]
    first = view["kiosks"][0]
    assert first["paper"] == "near_end" and first["last_heartbeat_age_seconds"] == 120
    assert first["ratings"] == [{"procedure": "rsa", "count": 2, "mean": 3.0}]
    assert set(view["alerts"][0]) == {"kiosk", "kind", "subject", "detail", "since"}
    assert view["kiosks"][1]["devices"] == [] and view["kiosks"][1]["software"] is None
