"""A citizen's "call an agent" reaches the staff and the acknowledgement comes back: the kiosk's
real AgentSignal (no UI: its ``post`` records events), a real ``kiosk uploader`` process, a
real back office over mutual TLS, and the staff's ``backoffice agents`` commands.

Acceptance: a call shows on the staff side within 2 s; its acknowledgement reaches the kiosk
within a few seconds. The figures are printed (pytest -s shows them).
"""

from __future__ import annotations

import json
import os
import signal as signals
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backoffice import agentcalls
from devtools.processes import REPO, start_uploader, stop
from kiosk.agentcall import AnswerState, read_answer
from kiosk.journey import AgentSeen, Event
from kiosk.nudge import Nudger
from kiosk.signals import AgentSignal
from tests.backoffice.harness import STAFF_PASSPHRASE, RunningServer
from tests.conftest import run_cli
from tests.e2e.fleet import Enrolled, enrolled, kiosk_config, kiosk_outbox, point_bundle_at, queue
from tests.netfaults import CuttingProxy

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def eventually(condition: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until ``condition`` holds (polled every 10 ms); fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - start


class Recorder:
    """The controller's ``post`` without a controller: events and when they came."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append((time.monotonic(), event))

    def seen_at(self) -> list[float]:
        with self._lock:
            return [t for t, e in self.events if isinstance(e, AgentSeen)]


def staff_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO),
                BACKOFFICE_STAFF_PASSPHRASE=STAFF_PASSPHRASE.decode())


class Follow:
    """``backoffice agents --follow --json`` as staff leave it running; lines and their times."""

    def __init__(self, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backoffice", "agents", "--follow", "--json", "--profile",
             str(profile)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=staff_env(), cwd=REPO)
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append((time.monotonic(), json.loads(line)))

    def arrival(self, call_id: str, state: str = "open") -> float | None:
        with self._lock:
            return next((t for t, c in self.lines if c["id"] == call_id and c["state"] == state),
                        None)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@dataclass
class Kiosk:
    office: Enrolled
    config: Path
    status: Path
    posted: Recorder
    signal: AgentSignal
    uploader: subprocess.Popen[bytes] | None = None

    def start_uploader(self) -> None:
        log = self.config.parent / "uploader.log"
        self.uploader = start_uploader(self.config, log)
        eventually(lambda: "agent calls relayed" in log.read_text(errors="replace"), 30,
                   "the uploader's agent-call relay started")

    def stop_uploader(self, sig: int = signals.SIGTERM) -> None:
        if self.uploader is not None:
            if sig == signals.SIGKILL:
                self.uploader.kill()
                self.uploader.wait(10)
            else:
                stop(self.uploader)
            self.uploader = None

    def answer_is(self, call_id: str, state: AnswerState) -> bool:
        answer = read_answer(self.status)
        return answer is not None and answer.call_id == call_id and answer.state is state


def make_kiosk(tmp_path: Path, office: Enrolled, upload: str = "") -> Kiosk:
    config = kiosk_config(tmp_path / "kiosk", office.bundle, upload=upload)
    data = config.parent / "data"
    posted = Recorder()
    signal = AgentSignal(data / "status", office.kiosk_id, post=posted, nudge=Nudger(data))
    return Kiosk(office, config, data / "status", posted, signal)


@pytest.fixture
def office(tmp_path: Path) -> Enrolled:
    return enrolled(tmp_path, "MAIRIE-21")


@pytest.fixture
def server(office: Enrolled) -> Iterator[RunningServer]:
    running = RunningServer(office.data, office.port).start()
    yield running
    running.stop()


@pytest.fixture
def kiosk(tmp_path: Path, office: Enrolled) -> Iterator[Kiosk]:
    made = make_kiosk(tmp_path, office)
    yield made
    made.signal.close()
    made.stop_uploader()


def test_a_call_shows_to_staff_within_two_seconds_and_their_ack_reaches_the_kiosk(
        server: RunningServer, kiosk: Kiosk, office: Enrolled, tmp_path: Path) -> None:
    server.add_staff(tmp_path / "profiles", "awa.diallo").close()
    profile = tmp_path / "profiles" / "awa.diallo"
    kiosk.start_uploader()
    follow = Follow(profile)
    try:
        time.sleep(1.5)                 # staff's terminal is up and following
        called = time.monotonic()
        call_id = kiosk.signal.call("capture")
        to_staff = eventually(lambda: follow.arrival(call_id), 2.0,
                              "the call in `backoffice agents --follow`")
        shown = follow.arrival(call_id)
        assert shown is not None
        [line] = [c for _, c in follow.lines if c["id"] == call_id]
        assert (line["kiosk_id"], line["step"]) == (office.kiosk_id, "capture")
        listed = run_cli("backoffice", ["agents", "--json", "--profile", str(profile)],
                         env=staff_env())
        assert [c["id"] for c in json.loads(listed.stdout)] == [call_id]
        assert kiosk.answer_is(call_id, AnswerState.SENT)
        assert kiosk.posted.seen_at() == []

        acked = time.monotonic()
        done = run_cli("backoffice", ["agents", "ack", call_id, "--by", "Awa", "--profile",
                                      str(profile)], env=staff_env())
        assert done.returncode == 0, done.stderr
        ack_cli = time.monotonic() - acked
        eventually(kiosk.posted.seen_at, 5.0, "AgentSeen posted on the kiosk")
        ack_to_kiosk = kiosk.posted.seen_at()[0] - acked
        assert kiosk.answer_is(call_id, AnswerState.SEEN)
        eventually(lambda: follow.arrival(call_id, "seen"), 2.0, "--follow says it was seen")
        print(f"\ncall to staff (--follow line): {shown - called:.2f} s "
              f"(store polled by --follow every 0.5 s); ack command to AgentSeen on the kiosk: "
              f"{ack_to_kiosk:.2f} s (of which the `backoffice agents ack` process: "
              f"{ack_cli:.2f} s)")
        assert to_staff < 2.0
    finally:
        follow.close()
    time.sleep(0.5)
    assert len(kiosk.posted.seen_at()) == 1


def test_a_call_made_while_the_back_office_is_down_is_delivered_once_it_is_back(
        kiosk: Kiosk, office: Enrolled) -> None:
    RunningServer(office.data, office.port).start().stop()   # it served, then went down
    kiosk.start_uploader()
    call_id = kiosk.signal.call("review")
    eventually(lambda: kiosk.answer_is(call_id, AnswerState.UNREACHABLE), 10,
               "the answer file says the back office cannot be reached")
    time.sleep(2)
    back = RunningServer(office.data, office.port).start()
    try:
        delay = eventually(lambda: back.bo.metadata.agent_call(call_id), 10,
                           "the call delivered once the back office is back")
        agentcalls.acknowledge(back.bo.metadata, call_id, "Bruno", datetime.now(UTC))
        eventually(kiosk.posted.seen_at, 5.0, "AgentSeen posted on the kiosk")
        print(f"\ndelivered {delay:.2f} s after the back office came back (backoff at most 5 s)")
    finally:
        back.stop()


def test_after_a_wipe_staffs_ack_of_the_previous_call_posts_nothing(
        server: RunningServer, kiosk: Kiosk) -> None:
    kiosk.start_uploader()
    call_id = kiosk.signal.call("capture")
    eventually(lambda: server.bo.metadata.agent_call(call_id), 5, "the call delivered")
    kiosk.signal.forget()                           # the controller performs Wipe
    agentcalls.acknowledge(server.bo.metadata, call_id, "Awa", datetime.now(UTC))
    eventually(lambda: kiosk.answer_is(call_id, AnswerState.SEEN), 5,
               "the uploader learnt that the call was seen")
    time.sleep(1.0)                                 # four of the kiosk's reads
    assert kiosk.posted.seen_at() == []


def test_the_same_call_sent_again_is_one_call_for_staff(server: RunningServer,
                                                        kiosk: Kiosk) -> None:
    kiosk.start_uploader()
    call_id = kiosk.signal.call("capture")
    assert kiosk.signal.call("capture") == call_id          # a second tap, no one came yet
    eventually(lambda: server.bo.metadata.agent_call(call_id), 5, "the call delivered")
    # The uploader is killed and restarted: it finds the call in status/agent.json and posts
    # it again, under the same id.
    kiosk.stop_uploader(signals.SIGKILL)
    kiosk.start_uploader()
    time.sleep(2.5)
    assert [c.call_id for c in server.bo.metadata.agent_calls(open_only=False)] == [call_id]
    agentcalls.acknowledge(server.bo.metadata, call_id, "Awa", datetime.now(UTC))
    eventually(kiosk.posted.seen_at, 5.0, "AgentSeen posted on the kiosk")


def test_a_dossier_being_uploaded_does_not_delay_a_call(tmp_path: Path, server: RunningServer,
                                                        office: Enrolled) -> None:
    # A slow link (about 300 KiB/s): a 4 MiB dossier takes over ten seconds to go.
    proxy = CuttingProxy(office.port, delay=0.05)
    point_bundle_at(office.bundle, proxy.port)
    made = make_kiosk(tmp_path, office, upload="chunk_mib = 4\ntimeout_s = 60")
    try:
        with kiosk_outbox(made.config, office.bundle) as box:
            [deposit_id] = queue(box, office.fleet_code, [4 * MIB])
        made.start_uploader()
        eventually(lambda: proxy.up_bytes > 512 * 1024, 30, "the dossier's upload under way")
        called = time.monotonic()
        call_id = made.signal.call("receipt")
        delay = eventually(lambda: server.bo.metadata.agent_call(call_id), 2.0,
                           "the call stored while the dossier is being sent")
        assert server.bo.metadata.deposit(deposit_id) is None, "the upload was already over"
        print(f"\ncall stored {delay:.2f} s after the tap, a 4 MiB upload in progress "
              f"({proxy.up_bytes // 1024} KiB sent so far)")
        assert time.monotonic() - called < 2.0
    finally:
        made.signal.close()
        # The link first: cut, the chunk in flight ends at once, and so does the uploader
        # on SIGTERM (else it finishes sending 4 MiB at 300 KiB/s first).
        proxy.close()
        made.stop_uploader()
