"""The kiosk's side of an agent call: the typed nudge, the status file, and ``AgentSeen`` posted
only for this citizen's call once the uploader says staff saw it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.agentcall import ANSWER_FILE, Answer, AnswerState, read_call, write_json
from kiosk.journey import AgentSeen, Event
from kiosk.nudge import NudgeKind, NudgeListener, Nudger, address
from kiosk.signals import AgentSignal


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NudgeListener]:
    with NudgeListener(tmp_path) as opened:
        yield opened


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# ----------------------------------------------------------------------------- the nudge


def test_an_agent_call_nudge_wakes_the_agent_wait_and_not_the_deposit_one(
        tmp_path: Path, listener: NudgeListener) -> None:
    assert Nudger(tmp_path)(NudgeKind.AGENT_CALL)
    assert listener.wait(1.0, kind=NudgeKind.AGENT_CALL)
    assert not listener.wait(0.2)                       # the deposit wait: nothing for it
    assert not listener.wait(0, kind=NudgeKind.AGENT_CALL)   # taken once


def test_the_plain_empty_nudge_of_a_dossier_still_wakes_the_deposit_wait(
        tmp_path: Path, listener: NudgeListener) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old_kiosk:
        old_kiosk.sendto(b"", address(tmp_path))
    assert listener.wait(1.0)
    assert not listener.wait(0, kind=NudgeKind.AGENT_CALL)
    Nudger(tmp_path)()
    assert listener.wait(1.0)


def test_an_agent_call_nudge_is_seen_while_the_deposit_loop_is_busy(
        tmp_path: Path, listener: NudgeListener) -> None:
    """Nobody waits on the socket (the uploader's loop is sending a dossier): the listener's
    own thread takes the datagram, and a waiter for calls wakes at once."""
    woke: list[float] = []

    def relay() -> None:
        if listener.wait(5.0, kind=NudgeKind.AGENT_CALL):
            woke.append(time.monotonic())

    waiter = threading.Thread(target=relay)
    waiter.start()
    time.sleep(0.1)
    sent = time.monotonic()
    Nudger(tmp_path)(NudgeKind.AGENT_CALL)
    waiter.join(6)
    assert woke and woke[0] - sent < 0.5


def test_nudging_with_no_uploader_listening_neither_blocks_nor_raises(tmp_path: Path) -> None:
    assert Nudger(tmp_path)(NudgeKind.AGENT_CALL) is False


# ----------------------------------------------------------------------------- the signal


class Recorder:
    """The controller's ``post``, without a controller: what was posted, from any thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def seen(self) -> int:
        with self._lock:
            return sum(isinstance(e, AgentSeen) for e in self.events)


@pytest.fixture
def posted() -> Recorder:
    return Recorder()


@pytest.fixture
def signal(tmp_path: Path, listener: NudgeListener, posted: Recorder) -> Iterator[AgentSignal]:
    made = AgentSignal(tmp_path / "status", "MAIRIE-01", post=posted, nudge=Nudger(tmp_path),
                       watch_every_s=0.05)
    yield made
    made.close()


def answer(tmp_path: Path, call_id: str, state: AnswerState) -> None:
    write_json(tmp_path / "status" / ANSWER_FILE,
               Answer(call_id, state, "Awa" if state is AnswerState.SEEN else None).as_dict())


def test_a_call_gets_an_id_in_the_status_file_and_nudges_the_uploader(
        tmp_path: Path, signal: AgentSignal, listener: NudgeListener) -> None:
    call_id = signal.call("capture")
    assert len(call_id) == 32 and signal.open_call == call_id
    call = read_call(tmp_path / "status")
    assert call is not None and (call.call_id, call.step) == (call_id, "capture")
    assert listener.wait(1.0, kind=NudgeKind.AGENT_CALL)


def test_staff_seeing_the_call_posts_agent_seen_once(tmp_path: Path, signal: AgentSignal,
                                                     posted: Recorder) -> None:
    call_id = signal.call("review")
    answer(tmp_path, call_id, AnswerState.SENT)
    time.sleep(0.2)
    assert posted.seen() == 0
    answer(tmp_path, call_id, AnswerState.SEEN)
    assert eventually(lambda: posted.seen() == 1)
    time.sleep(0.2)
    assert posted.seen() == 1 and signal.open_call is None


def test_tapping_again_before_anyone_saw_it_repeats_the_same_call(
        tmp_path: Path, signal: AgentSignal, posted: Recorder) -> None:
    first = signal.call("capture")
    assert signal.call("review") == first
    status = json.loads((tmp_path / "status" / "agent.json").read_text())
    assert status["id"] == first and status["step"] == "review"
    answer(tmp_path, first, AnswerState.SEEN)
    assert eventually(lambda: posted.seen() == 1)
    assert signal.call("review") != first        # seen: asking again is a new call


def test_an_answer_about_another_call_posts_nothing(tmp_path: Path, signal: AgentSignal,
                                                   posted: Recorder) -> None:
    signal.call("welcome")
    answer(tmp_path, "e" * 32, AnswerState.SEEN)       # the previous citizen's, say
    time.sleep(0.4)
    assert posted.seen() == 0


def test_after_the_wipe_staffs_acknowledgement_is_not_told_to_the_next_citizen(
        tmp_path: Path, signal: AgentSignal, posted: Recorder) -> None:
    call_id = signal.call("capture")
    signal.forget()
    assert signal.open_call is None
    answer(tmp_path, call_id, AnswerState.SEEN)
    time.sleep(0.4)
    assert posted.seen() == 0
    assert signal.call("welcome") != call_id           # the next citizen's own call
