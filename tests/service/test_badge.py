"""Technicians' badges end to end: issued by the real ``backoffice badge issue`` on a real data
folder, read by the kiosk's gate with the enrollment bundle's key, revoked through the fleet
state fetched from the real back office over mutual TLS, and the PIN's lock-out on disk."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from backoffice.cli import main as backoffice_main
from backoffice.settings import load_settings
from deposit import ack as ackmod
from deposit import badge as badgemod
from deposit.bundle import Enrollment
from deposit.fleetstate import AckKey, FleetState, FleetStateError, FleetStateProblem
from kiosk import fleetstate
from kiosk.service.access import (
    CLOCK_TOLERANCE,
    LOCK_FILE,
    LOCKOUT_S,
    Refusal,
    ServiceGate,
    ServiceRefused,
)
from tests.backoffice.harness import RunningServer, enroll, free_port, init_backoffice

PIN = "482916"


class Clock:
    """A wall clock the test moves."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Fleet:
    data: Path
    port: int
    enrollment: Enrollment
    status_dir: Path
    tmp: Path

    @property
    def ack_key(self) -> AckKey:
        return self.enrollment.ack_key()

    def gate(self, clock: Clock | None = None, *, max_attempts: int = 5,
             lockout_s: float = LOCKOUT_S) -> ServiceGate:
        return ServiceGate(self.status_dir, self.ack_key, wall_clock=clock or Clock(_now()),
                           max_attempts=max_attempts, lockout_s=lockout_s)


def _now() -> float:
    return datetime.now(UTC).timestamp()


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    bundle = enroll(data, "MAIRIE-01", tmp_path / "bundle")
    return Fleet(data, port, Enrollment.load(bundle), tmp_path / "kiosk" / "status", tmp_path)


def backoffice(args: list[str], monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str], stdin: str = "") -> tuple[int, str, str]:
    """``backoffice ARGS`` in this process, ``stdin`` as its (non-terminal) standard input."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        status = backoffice_main(args)
    finally:
        # The command sets up logging as a program does; give pytest's capture back.
        root.handlers[:] = handlers
        root.setLevel(level)
    out, err = capsys.readouterr()
    return status, out, err


def issue(fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          *, holder: str = "Jeanne Martin", days: int = 30, pin: str = PIN) -> str:
    """A badge's QR text from ``backoffice badge issue`` (its PNG beside, named by id)."""
    status, out, err = backoffice(
        ["badge", "issue", holder, "--days", str(days), "--data", str(fleet.data), "--out",
         str(fleet.tmp / "card.png")], monkeypatch, capsys, stdin=pin + "\n")
    assert status == 0, err
    return out.strip()


@pytest.fixture
def badge_text(fleet: Fleet, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> str:
    return issue(fleet, monkeypatch, capsys)


# ---------------------------------------------------------------------- opening the gate


def test_badge_issued_by_the_back_office_opens_the_gate_with_its_pin(
        fleet: Fleet, badge_text: str, caplog: pytest.LogCaptureFixture) -> None:
    gate = fleet.gate()
    with caplog.at_level(logging.INFO, logger="kiosk.service.access"):
        badge = gate.read_badge(badge_text)
        gate.check_pin(badge, PIN)
    assert badge.holder == "Jeanne Martin"
    assert badge.expires_at - badge.issued_at == timedelta(days=30)
    assert gate.locked_until() is None
    assert "service mode opened with badge" in caplog.text
    assert PIN not in caplog.text


def test_png_of_the_badge_decodes_to_its_text(fleet: Fleet, badge_text: str) -> None:
    results = zxingcpp.read_barcodes(Image.open(fleet.tmp / "card.png"))
    assert [r.text for r in results] == [badge_text]
    assert badge_text.startswith(badgemod.PREFIX)


def test_issuing_records_the_os_user_and_list_shows_the_badge(
        fleet: Fleet, badge_text: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    badge = fleet.gate().read_badge(badge_text)
    status, out, _ = backoffice(["badge", "list", "--json", "--data", str(fleet.data)],
                                monkeypatch, capsys)
    assert status == 0
    [listed] = json.loads(out)
    assert listed["badge_id"] == badge.badge_id
    assert listed["holder"] == "Jeanne Martin"
    assert listed["state"] == "valid"
    assert listed["issued_by"]


@pytest.mark.parametrize(("days", "pin", "complaint"), [
    (0, PIN, "--days must be from 1 to 90"),
    (91, PIN, "--days must be from 1 to 90"),
    (30, "12345", "6 to 8 digits"),
    (30, "123456789", "6 to 8 digits"),
    (30, "12a456", "6 to 8 digits"),
])
def test_issue_refuses_a_duration_or_pin_out_of_bounds(
        fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        days: int, pin: str, complaint: str) -> None:
    status, out, err = backoffice(
        ["badge", "issue", "Jeanne Martin", "--days", str(days), "--data", str(fleet.data),
         "--out", str(fleet.tmp / "card.png")], monkeypatch, capsys, stdin=pin + "\n")
    assert status == 2
    assert complaint in err
    assert out == ""
    assert not (fleet.tmp / "card.png").exists()


# ---------------------------------------------------------------------- refusals


def test_badge_past_its_expiry_is_refused_as_expired(fleet: Fleet, badge_text: str) -> None:
    badge = badgemod.decode(badge_text, fleet.ack_key)
    within = fleet.gate(Clock(badge.expires_at.timestamp() - 60))
    within.read_badge(badge_text)
    later = fleet.gate(Clock((badge.expires_at + CLOCK_TOLERANCE).timestamp() + 1))
    with pytest.raises(ServiceRefused) as refused:
        later.read_badge(badge_text)
    assert refused.value.refusal is Refusal.EXPIRED


def test_badge_read_before_its_issue_time_is_refused_beyond_the_clock_tolerance(
        fleet: Fleet, badge_text: str) -> None:
    badge = badgemod.decode(badge_text, fleet.ack_key)
    fleet.gate(Clock(badge.issued_at.timestamp() - 60)).read_badge(badge_text)  # clocks apart
    early = fleet.gate(Clock((badge.issued_at - CLOCK_TOLERANCE).timestamp() - 1))
    with pytest.raises(ServiceRefused) as refused:
        early.read_badge(badge_text)
    assert refused.value.refusal is Refusal.NOT_YET_VALID


def test_badge_signed_by_another_key_is_refused_as_forged(
        fleet: Fleet, badge_text: str, caplog: pytest.LogCaptureFixture) -> None:
    genuine = badgemod.decode(badge_text, fleet.ack_key)
    other = ackmod.load_private_key(ackmod.generate_key()[0])
    forged = badgemod.encode(genuine, other)
    with caplog.at_level(logging.WARNING), pytest.raises(ServiceRefused) as refused:
        fleet.gate().read_badge(forged)
    assert refused.value.refusal is Refusal.FORGED
    assert "Jeanne Martin" not in caplog.text   # an unsigned holder's name is not repeated


def test_badge_signed_as_an_acknowledgement_is_refused_as_forged(
        fleet: Fleet, badge_text: str) -> None:
    """The ack key signs acknowledgements too: a signature under another context is no badge."""
    genuine = badgemod.decode(badge_text, fleet.ack_key)
    key = ackmod.load_private_key(load_settings(fleet.data).ack_key.read_bytes())
    payload = genuine.payload()
    signature = key.sign(ackmod.DOMAIN + payload)
    text = f"{badgemod.PREFIX}{badgemod._b64(payload)}.{badgemod._b64(signature)}"
    with pytest.raises(ServiceRefused) as refused:
        fleet.gate().read_badge(text)
    assert refused.value.refusal is Refusal.FORGED


@pytest.mark.parametrize("where", ["payload", "signature", "last"])
def test_badge_with_one_changed_character_is_refused_as_forged(
        fleet: Fleet, badge_text: str, where: str) -> None:
    payload_end = badge_text.index(".")
    index = {"payload": (len(badgemod.PREFIX) + payload_end) // 2,
             "signature": (payload_end + len(badge_text)) // 2,
             "last": len(badge_text) - 1}[where]
    original = badge_text[index]
    for replacement in "AQgw_-":     # changes the low bits, the high bits, or both
        if replacement == original:
            continue
        changed = badge_text[:index] + replacement + badge_text[index + 1:]
        with pytest.raises(ServiceRefused) as refused:
            fleet.gate().read_badge(changed)
        assert refused.value.refusal is Refusal.FORGED, (where, replacement)


@pytest.mark.parametrize("text", [
    "https://demarches.example.fr/convocation?v=1&p=rsa&r=R1",
    "https://suivi.example.fr/suivi/ABCD-1234567-X?t=token",
    "",
    "KIOSK-BADGE",
])
def test_codes_that_are_not_badges_are_refused_as_not_a_badge(fleet: Fleet, text: str) -> None:
    with pytest.raises(ServiceRefused) as refused:
        fleet.gate().read_badge(text)
    assert refused.value.refusal is Refusal.NOT_A_BADGE


@pytest.fixture
def server(fleet: Fleet) -> Iterator[RunningServer]:
    running = RunningServer(fleet.data, fleet.port).start()
    yield running
    running.stop()


def refresh(fleet: Fleet) -> FleetState:
    with fleet.enrollment.http_client(timeout=10) as client:
        return fleetstate.refresh(client, fleet.enrollment.upload_url, fleet.ack_key,
                                  fleet.status_dir)


def test_revoked_badge_is_refused_once_the_kiosk_refreshed_the_fleet_state(
        fleet: Fleet, badge_text: str, server: RunningServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    gate = fleet.gate()
    badge = gate.read_badge(badge_text)
    assert badge.badge_id not in refresh(fleet).revoked_badges
    status, out, _ = backoffice(["badge", "revoke", badge.badge_id, "--data", str(fleet.data)],
                                monkeypatch, capsys)
    assert status == 0 and badge.badge_id in out
    gate.read_badge(badge_text)          # the kiosk does not know yet
    assert badge.badge_id in refresh(fleet).revoked_badges
    with caplog.at_level(logging.WARNING), pytest.raises(ServiceRefused) as refused:
        gate.read_badge(badge_text)
    assert refused.value.refusal is Refusal.REVOKED
    assert f"badge {badge.badge_id} of Jeanne Martin" in caplog.text
    # The gate reads the stored state: a new gate (a restart) refuses it all the same.
    with pytest.raises(ServiceRefused):
        fleet.gate().read_badge(badge_text)


def test_fleet_state_older_than_the_one_held_or_far_ahead_is_refused_and_not_stored(
        fleet: Fleet) -> None:
    now = datetime.now(UTC)
    clock = [now]
    running = RunningServer(fleet.data, fleet.port, clock=lambda: clock[0]).start()
    try:
        held = refresh(fleet)
        stored = (fleet.status_dir / fleetstate.FILE).read_bytes()
        clock[0] = now - timedelta(hours=1)   # or an old answer replayed on the path
        with pytest.raises(FleetStateError) as refused:
            refresh(fleet)
        assert refused.value.problem is FleetStateProblem.ROLLBACK
        assert (fleet.status_dir / fleetstate.FILE).read_bytes() == stored
        clock[0] = now + fleetstate.MAX_AHEAD + timedelta(minutes=5)   # a runaway clock
        with pytest.raises(FleetStateError) as refused:
            refresh(fleet)
        assert refused.value.problem is FleetStateProblem.FUTURE
        assert (fleet.status_dir / fleetstate.FILE).read_bytes() == stored
        clock[0] = now + timedelta(minutes=5)
        assert refresh(fleet).issued() > held.issued()
    finally:
        running.stop()


def test_fleet_state_changed_on_disk_is_not_trusted(
        fleet: Fleet, badge_text: str, server: RunningServer,
        caplog: pytest.LogCaptureFixture) -> None:
    refresh(fleet)
    path = fleet.status_dir / fleetstate.FILE
    path.write_bytes(path.read_bytes().replace(b'"revoked_badges":[]',
                                               b'"revoked_badges":["0123456789abcdef"]'))
    with caplog.at_level(logging.ERROR, logger="kiosk.fleetstate"):
        assert fleetstate.load(fleet.status_dir, fleet.ack_key) is None
    assert "refused (signature" in caplog.text


# ---------------------------------------------------------------------- the PIN's lock-out


def test_five_wrong_pins_lock_out_for_its_time_across_restarts_then_a_right_pin_opens(
        fleet: Fleet, badge_text: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(_now())
    gate = fleet.gate(clock)
    badge = gate.read_badge(badge_text)
    with caplog.at_level(logging.WARNING, logger="kiosk.service.access"):
        for left in (4, 3, 2, 1):
            with pytest.raises(ServiceRefused) as refused:
                gate.check_pin(badge, "000000")
            assert (refused.value.refusal, refused.value.attempts_left) == \
                (Refusal.WRONG_PIN, left)
        with pytest.raises(ServiceRefused) as refused:
            gate.check_pin(badge, "000000")
    assert refused.value.refusal is Refusal.LOCKED_OUT
    until = refused.value.locked_until
    assert until == pytest.approx(clock.now + LOCKOUT_S)
    assert "locked out until" in caplog.text and "000000" not in caplog.text
    # The right PIN is not even tried while locked out, nor after a restart.
    clock.now += LOCKOUT_S - 1
    restarted = fleet.gate(clock)
    assert restarted.locked_until() == until
    with pytest.raises(ServiceRefused) as refused:
        restarted.check_pin(badge, PIN)
    assert refused.value.refusal is Refusal.LOCKED_OUT
    # The lock-out ends by itself; the right PIN then opens and resets the count.
    clock.now += 2
    assert restarted.locked_until() is None
    restarted.check_pin(badge, PIN)
    with pytest.raises(ServiceRefused) as refused:
        restarted.check_pin(badge, "000000")
    assert refused.value.attempts_left == 4


def test_a_wrong_pin_after_a_lockout_locks_out_again_at_once(
        fleet: Fleet, badge_text: str) -> None:
    clock = Clock(_now())
    gate = fleet.gate(clock, max_attempts=2, lockout_s=60)
    badge = gate.read_badge(badge_text)
    for _ in range(2):
        with pytest.raises(ServiceRefused):
            gate.check_pin(badge, "000000")
    clock.now += 61
    with pytest.raises(ServiceRefused) as refused:
        gate.check_pin(badge, "000001")
    assert refused.value.refusal is Refusal.LOCKED_OUT
    assert refused.value.locked_until == pytest.approx(clock.now + 60)


def test_lockout_is_per_kiosk_whichever_badge_is_shown(
        fleet: Fleet, badge_text: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    other_text = issue(fleet, monkeypatch, capsys, holder="Paul Durand", pin="11112222")
    gate = fleet.gate(max_attempts=2)
    first, other = gate.read_badge(badge_text), gate.read_badge(other_text)
    for _ in range(2):
        with pytest.raises(ServiceRefused):
            gate.check_pin(first, "000000")
    with pytest.raises(ServiceRefused) as refused:
        gate.check_pin(other, "11112222")
    assert refused.value.refusal is Refusal.LOCKED_OUT


def test_clock_moved_back_restarts_the_lockout_for_its_full_time_and_no_longer(
        fleet: Fleet, badge_text: str) -> None:
    clock = Clock(_now())
    gate = fleet.gate(clock, max_attempts=1, lockout_s=600)
    badge = gate.read_badge(badge_text)
    with pytest.raises(ServiceRefused):
        gate.check_pin(badge, "000000")
    clock.now -= 10 * 365 * 86400          # a Pi without a real-time clock, years back
    until = gate.locked_until()
    assert until == pytest.approx(clock.now + 600)
    clock.now += 599
    with pytest.raises(ServiceRefused) as refused:
        gate.check_pin(badge, PIN)
    assert refused.value.refusal is Refusal.LOCKED_OUT
    clock.now += 2
    gate.check_pin(badge, PIN)


def test_an_interrupted_pin_check_counts_as_a_failed_attempt(
        fleet: Fleet, badge_text: str) -> None:
    """The attempt is on disk before scrypt runs: a power cut during it gains nothing.
    Here scrypt itself fails (parameters beyond its memory), as the check would die."""
    gate = fleet.gate(max_attempts=3)
    badge = gate.read_badge(badge_text)
    dying = badgemod.Badge(badge.badge_id, badge.holder, badge.issued_at, badge.expires_at,
                           badgemod.PinVerifier(badge.pin.salt, badge.pin.digest, log2_n=60),
                           badge.issuer)
    with pytest.raises((ValueError, OverflowError, MemoryError)):
        gate.check_pin(dying, PIN)
    with pytest.raises(ServiceRefused) as refused:
        gate.check_pin(badge, "000000")
    assert refused.value.attempts_left == 1


def test_damaged_lock_file_locks_out_rather_than_opens(
        fleet: Fleet, badge_text: str, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(_now())
    fleet.status_dir.mkdir(parents=True)
    (fleet.status_dir / LOCK_FILE).write_text('{"failures": 0, "locked_fr')
    gate = fleet.gate(clock)
    badge = gate.read_badge(badge_text)
    with caplog.at_level(logging.ERROR), pytest.raises(ServiceRefused) as refused:
        gate.check_pin(badge, PIN)
    assert refused.value.refusal is Refusal.LOCKED_OUT
    assert "unreadable" in caplog.text
    clock.now += LOCKOUT_S + 1
    gate.check_pin(badge, PIN)
