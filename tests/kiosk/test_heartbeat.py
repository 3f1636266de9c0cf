"""The kiosk's heartbeat, built by the uploader from the files the kiosk application leaves.

Real parts: the application's own writers (DeviceStatus, AgentSignal,
SatisfactionLog), a runtime on simulators with a printer near its paper's
end, a real outbox with a sealed deposit. Every heartbeat built here must
pass the wire format's own checks (signed, then verified).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from deposit import manifest as mf
from deposit.heartbeat import (
    MAX_BLOB,
    DeviceHealth,
    DeviceKind,
    DeviceState,
    Heartbeat,
    PaperLevel,
    Rating,
    sign,
    verify,
)
from deposit.outbox import Outbox, Sealer
from devtools.citizen import local_keys, sim_config
from drivers import open_code_reader
from drivers.printer.base import PrinterStatus
from kiosk.agentcall import ANSWER_FILE, GIVE_UP_S, Answer, AnswerState, write_json
from kiosk.controller import CodeReaderThread
from kiosk.devicestatus import DEVICES_FILE, STALE_AFTER_S, DeviceStatus, read_devices
from kiosk.events import EventQueue
from kiosk.heartbeat import HeartbeatBuilder, agent_call_since, rating_counts
from kiosk.journey import CaptureStarted, Device, DeviceChanged, Event, Wipe, WipeReason
from kiosk.runtime import build_runtime
from kiosk.service.switch import Switch
from kiosk.service.switch import save as save_switch
from kiosk.service.texts import OUT_OF_ORDER_REASONS, OutOfOrderReason
from kiosk.signals import AgentSignal, SatisfactionLog
from tests.deposit.conftest import BACKOFFICE_RCPT, deposit_json
from tests.drivers.codes.test_serial_backend import FlakyScanner

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)       # a Wednesday, ISO week 2026-W49
KEY = mf.generate_signing_key()


class Wall:
    """A wall clock the test moves."""

    def __init__(self, at: datetime = T0) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def round_trip(heartbeat: Heartbeat) -> Heartbeat:
    """The heartbeat as the back office reads it: signed, then verified by the wire format."""
    return verify(sign(heartbeat, KEY), KEY.public_key(), kiosk_id=heartbeat.kiosk_id)


def device(heartbeat: Heartbeat, kind: DeviceKind) -> DeviceState:
    state = heartbeat.device(kind)
    assert state is not None, f"no {kind} in the heartbeat"
    return state


def states(heartbeat: Heartbeat) -> dict[DeviceKind, tuple[DeviceHealth, str]]:
    return {d.kind: (d.health, d.detail) for d in heartbeat.devices}


# ----------------------------------------------------------------------------- from real files


def test_a_heartbeat_says_what_the_kiosks_files_outbox_and_disk_say(tmp_path: Path) -> None:
    data = tmp_path / "data"
    status = data / "status"
    wall = Wall()
    devices = DeviceStatus(status, wall)
    devices.record_printer(PrinterStatus(paper_near_end=True))
    seen: list[Event] = []
    devices.observing_camera(seen.append)(DeviceChanged(Device.CAMERA, ok=False))
    devices.record(DeviceKind.CODE_READER, DeviceHealth.OK)
    wall.advance(60)
    devices.session_ended()
    ratings = SatisfactionLog(status, wall)
    ratings.record(3, "caf-apl")
    ratings.record(3, "caf-apl")
    ratings.record(1, None)
    AgentSignal(status, "DEMO-01", wall).call("capture")
    save_switch(status, Switch(OutOfOrderReason.PRINTER,
                               datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "Camille Martin"))
    outbox = Outbox(data / "outbox", sealer=Sealer((BACKOFFICE_RCPT,), "DEMO-01", KEY),
                    reserve_bytes=0, clock=wall)
    try:
        outbox.seal_and_queue(deposit_id="D3M0-0000-0001-7", procedure="caf-apl",
                              deposit_json=deposit_json("D3M0-0000-0001-7"),
                              pdf=b"%PDF-1.7\n" + b"x" * 5000, tracking_token="t" * 43)
        wall.advance(60)
        heartbeat = round_trip(HeartbeatBuilder("DEMO-01", data, outbox, software="9.9",
                                                wall_clock=wall).build())
    finally:
        outbox.close()
    assert seen == [DeviceChanged(Device.CAMERA, ok=False)]          # still forwarded
    assert heartbeat.sent_at == "2026-12-02T10:02:00Z"
    assert states(heartbeat) == {
        DeviceKind.PRINTER: (DeviceHealth.WARN, "paper near end"),
        DeviceKind.CAMERA: (DeviceHealth.FAIL, "no frame from the camera"),
        DeviceKind.CODE_READER: (DeviceHealth.OK, "")}
    assert device(heartbeat, DeviceKind.PRINTER).since == "2026-12-02T10:00:00Z"
    assert heartbeat.paper is PaperLevel.NEAR_END
    assert heartbeat.last_activity_at == "2026-12-02T10:01:00Z"
    assert heartbeat.agent_call_since == "2026-12-02T10:01:00Z"
    assert heartbeat.out_of_order
    assert heartbeat.out_of_order_message == OUT_OF_ORDER_REASONS[OutOfOrderReason.PRINTER]["fr"]
    assert heartbeat.ratings == (Rating("-", "2026-W49", 1, 1), Rating("caf-apl", "2026-W49", 3, 2))
    assert heartbeat.queue.depth == 1 and heartbeat.queue.bytes > 5000
    assert heartbeat.queue.oldest_at == "2026-12-02T10:01:00Z"
    assert 0 < heartbeat.disk.free_bytes <= heartbeat.disk.total_bytes
    assert heartbeat.software == "9.9"
    assert heartbeat.certificate_not_after is None                   # no bundle given


def test_the_running_kiosk_writes_its_printers_state_and_its_last_session_for_the_uploader(
        tmp_path: Path) -> None:
    """A runtime on simulators: the device check and the wipe write the files (no stub)."""
    data = tmp_path / "data"
    config = sim_config(data, printer=f"sim://?out={data / 'receipts'}&paper=near-end")
    keys, _identity = local_keys()
    runtime = build_runtime(config, keys, post=EventQueue())
    try:
        runtime.check_devices()
        deadline = time.monotonic() + 30
        while not (data / "status" / DEVICES_FILE).exists() or not all(
                kind in (data / "status" / DEVICES_FILE).read_text()
                for kind in ("printer", "code_reader")):
            assert time.monotonic() < deadline, "the device check wrote nothing"
            time.sleep(0.05)
        runtime.controller.perform(Wipe(WipeReason.TIMEOUT))
        heartbeat = round_trip(HeartbeatBuilder(config.kiosk.id, data, runtime.outbox).build())
    finally:
        runtime.close()
    assert heartbeat.kiosk_id == config.kiosk.id
    assert states(heartbeat)[DeviceKind.PRINTER] == (DeviceHealth.WARN, "paper near end")
    assert states(heartbeat)[DeviceKind.CODE_READER] == (DeviceHealth.OK, "")
    assert states(heartbeat)[DeviceKind.CAMERA] == (DeviceHealth.UNKNOWN, "not asked yet")
    assert heartbeat.paper is PaperLevel.NEAR_END
    assert heartbeat.last_activity_at is not None
    assert heartbeat.queue.depth == 0 and heartbeat.queue.oldest_at is None


def test_an_unplugged_code_reader_fails_and_is_ok_again_once_back(tmp_path: Path) -> None:
    scanner = FlakyScanner()
    thread = CodeReaderThread(open_code_reader(f"serial://socket://127.0.0.1:{scanner.port}"),
                              EventQueue(), DeviceStatus(tmp_path))

    def code_reader_becomes(health: DeviceHealth) -> str:
        deadline = time.monotonic() + 20
        while True:
            report = read_devices(tmp_path, datetime.now(UTC))
            state = next(d for d in report.devices if d.kind is DeviceKind.CODE_READER)
            if state.health is health:
                return state.detail
            assert time.monotonic() < deadline, f"the code reader never became {health}"
            time.sleep(0.05)

    thread.start()
    connections = []
    try:
        connections.append(scanner.accept())
        assert code_reader_becomes(DeviceHealth.OK) == ""
        connections[0].close()                          # unplugged
        assert "disappeared" in code_reader_becomes(DeviceHealth.FAIL)
        connections.append(scanner.accept())            # plugged back: the reader reopens
        assert code_reader_becomes(DeviceHealth.OK) == ""
    finally:
        thread.close()
        for connection in connections:
            connection.close()
        scanner.close()


def test_an_unchanged_device_is_not_rewritten_until_its_refresh_and_keeps_its_since(
        tmp_path: Path) -> None:
    wall = Wall()
    devices = DeviceStatus(tmp_path, wall)
    path = tmp_path / DEVICES_FILE
    devices.record_printer(PrinterStatus())
    first = path.read_text()
    wall.advance(10)
    devices.record_printer(PrinterStatus())
    assert path.read_text() == first                         # the SD card is spared
    wall.advance(300)
    devices.record_printer(PrinterStatus())
    refreshed = json.loads(path.read_text())
    assert refreshed["at"] == "2026-12-02T10:05:10Z"         # proof the application runs
    assert refreshed["devices"]["printer"]["since"] == "2026-12-02T10:00:00Z"
    wall.advance(5)
    devices.record_printer(PrinterStatus(paper_out=True, cover_open=True))
    changed = json.loads(path.read_text())["devices"]["printer"]
    assert changed == {"health": "fail", "detail": "cover open, paper out",
                       "since": "2026-12-02T10:05:15Z"}
    assert json.loads(path.read_text())["paper"] == "out"


def test_the_camera_is_ok_once_a_capture_starts_after_a_failure(tmp_path: Path) -> None:
    devices = DeviceStatus(tmp_path, Wall())
    forwarded: list[Event] = []
    post = devices.observing_camera(forwarded.append)
    post(DeviceChanged(Device.CAMERA, ok=False))
    post(CaptureStarted())
    saved = json.loads((tmp_path / DEVICES_FILE).read_text())
    assert saved["devices"]["camera"]["health"] == "ok"
    assert forwarded == [DeviceChanged(Device.CAMERA, ok=False), CaptureStarted()]


# ----------------------------------------------------------------------------- missing, garbled


def test_garbled_or_missing_files_never_stop_a_heartbeat(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.mkdir()
    (status / "devices.json").write_text("{not json")
    (status / "activity.json").write_text('{"last_session_end": "yesterday"}')
    (status / "service.json").write_text('{"out_of_order": "yes"}')
    (status / "agent.json").write_text("[]")
    (status / "satisfaction.jsonl").write_bytes(
        b'{"day": "2026-12-01", "procedure": "caf-apl", "rating": 2}\n'
        b"\xff\xfe garbage\n"
        b'{"day": "2026-13-01", "procedure": "caf-apl", "rating": 2}\n'
        b'{"day": "2026-12-01", "procedure": "CAF APL", "rating": 2}\n'
        b'{"day": "2026-12-01", "procedure": "caf-apl", "rating": 9}\n'
        b'{"day": "2026-12-01", "procedure": "caf-apl", "rating": true}\n'
        b'{"day": "2026-12-01", "procedure": "caf-apl"')       # a line cut by a power loss
    heartbeat = round_trip(HeartbeatBuilder("DEMO-01", tmp_path, wall_clock=Wall()).build())
    assert {d.health for d in heartbeat.devices} == {DeviceHealth.UNKNOWN}
    assert device(heartbeat, DeviceKind.PRINTER).detail == "the device status file is unreadable"
    assert heartbeat.paper is PaperLevel.UNKNOWN
    assert heartbeat.last_activity_at is None and heartbeat.agent_call_since is None
    assert not heartbeat.out_of_order
    assert heartbeat.ratings == (Rating("caf-apl", "2026-W49", 2, 1),)


def test_a_kiosk_with_no_status_files_at_all_still_beats_and_says_its_fault_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    builder = HeartbeatBuilder("DEMO-01", tmp_path / "fresh", wall_clock=Wall())
    with caplog.at_level(logging.DEBUG, logger="kiosk.heartbeat"):
        heartbeats = [round_trip(builder.build()) for _ in range(3)]
    assert device(heartbeats[0], DeviceKind.CAMERA).detail == \
        "the kiosk application has not reported yet"
    assert heartbeats[0].ratings == () and heartbeats[0].disk.total_bytes == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disk reported as 0 bytes" in warnings[0]


def test_devices_written_by_an_application_that_stopped_are_unknown(tmp_path: Path) -> None:
    wall = Wall()
    DeviceStatus(tmp_path / "status", wall).record_printer(PrinterStatus())
    wall.advance(STALE_AFTER_S - 1)
    fresh = HeartbeatBuilder("DEMO-01", tmp_path, wall_clock=wall).build()
    assert device(fresh, DeviceKind.PRINTER).health is DeviceHealth.OK
    wall.advance(2)
    stale = HeartbeatBuilder("DEMO-01", tmp_path, wall_clock=wall).build()
    assert device(stale, DeviceKind.PRINTER).health is DeviceHealth.UNKNOWN
    assert device(stale, DeviceKind.PRINTER).detail == \
        "the kiosk application has not reported since 2026-12-02T10:00:00Z"


# ----------------------------------------------------------------------------- ratings


def test_ratings_are_counted_per_procedure_iso_week_and_rating_over_eight_weeks(
        tmp_path: Path) -> None:
    path = tmp_path / "satisfaction.jsonl"
    lines = [("2026-11-15", "caf-apl", 3),      # Sunday of W46: nine weeks back, left out
             ("2026-11-16", "caf-apl", 3),      # Monday of W47: the eighth week back
             ("2026-12-31", "caf-apl", 2),      # Thursday: ISO week 2026-W53...
             ("2027-01-01", "caf-apl", 2),      # ...and so is the Friday of the new year
             ("2027-01-01", None, 1),
             ("2027-01-05", "cni", 3),
             ("2027-01-05", "cni", 3),
             ("2027-01-07", "cni", 3)]          # after "today": not counted
    path.write_text("".join(json.dumps({"day": d, "procedure": p, "rating": r}) + "\n"
                            for d, p, r in lines))
    assert rating_counts(path, date(2027, 1, 6)) == (
        Rating("caf-apl", "2026-W47", 3, 1),
        Rating("-", "2026-W53", 1, 1),
        Rating("caf-apl", "2026-W53", 2, 2),
        Rating("cni", "2027-W01", 3, 2))
    assert rating_counts(path, date(2027, 1, 6), weeks=1) == (Rating("cni", "2027-W01", 3, 2),)
    assert rating_counts(tmp_path / "none.jsonl", date(2027, 1, 6)) == ()


def test_a_kiosk_with_many_procedures_sends_its_newest_weeks_within_the_size_limit(
        tmp_path: Path) -> None:
    wall = Wall(T0 - timedelta(weeks=7))
    ratings = SatisfactionLog(tmp_path / "status", wall)
    for _week in range(8):
        for n in range(60):
            for rating in (1, 2, 3):
                ratings.record(rating, f"procedure-{n:02d}")
        wall.advance(7 * 86400)
    builder = HeartbeatBuilder("DEMO-01", tmp_path, wall_clock=Wall(T0))
    blob = sign(builder.build(), KEY)
    heartbeat = verify(blob, KEY.public_key())
    weeks = sorted({r.week for r in heartbeat.ratings})
    print(f"{len(heartbeat.ratings)} of {8 * 60 * 3} counts in {len(blob)} bytes")
    assert len(blob) <= MAX_BLOB
    assert weeks[-1] == "2026-W49" and "2026-W42" not in weeks
    assert all(r.count == 1 for r in heartbeat.ratings)


# ----------------------------------------------------------------------------- agent call


def test_an_agent_call_is_pending_until_seen_or_given_up(tmp_path: Path) -> None:
    wall = Wall()
    signal = AgentSignal(tmp_path, "DEMO-01", wall)
    first = signal.call("review")
    at = datetime.fromtimestamp(wall(), UTC)
    assert agent_call_since(tmp_path, at) == "2026-12-02T10:00:00Z"
    write_json(tmp_path / ANSWER_FILE, Answer(first, AnswerState.SENT).as_dict())
    assert agent_call_since(tmp_path, at + timedelta(minutes=1)) == "2026-12-02T10:00:00Z"
    write_json(tmp_path / ANSWER_FILE, Answer(first, AnswerState.SEEN, "Awa").as_dict())
    assert agent_call_since(tmp_path, at + timedelta(minutes=2)) is None
    signal.forget()
    wall.advance(600)
    second = signal.call("capture")                 # a new citizen's call
    assert second != first
    later = datetime.fromtimestamp(wall(), UTC)
    assert agent_call_since(tmp_path, later) == "2026-12-02T10:10:00Z"   # the old "seen" is not its
    assert agent_call_since(tmp_path, later + timedelta(seconds=GIVE_UP_S)) is None


@pytest.mark.parametrize("reason", list(OutOfOrderReason))
def test_the_out_of_order_message_is_what_the_citizens_read_and_fits_a_heartbeat(
        tmp_path: Path, reason: OutOfOrderReason) -> None:
    save_switch(tmp_path / "status", Switch(reason, datetime.now(UTC), "Camille Martin"))
    heartbeat = round_trip(HeartbeatBuilder("DEMO-01", tmp_path, wall_clock=Wall()).build())
    assert heartbeat.out_of_order
    assert heartbeat.out_of_order_message == OUT_OF_ORDER_REASONS[reason]["fr"]
    assert len(heartbeat.out_of_order_message) <= 200
