"""An agent call between the kiosk's two processes, and the uploader's side that carries it.

The kiosk application (kiosk/signals.py, no network, no credentials) and the
uploader (``kiosk uploader``, which holds the kiosk's client certificate) share
two small files in ``{data_dir}/status``, each replaced atomically:

- ``agent.json``, written by the application: the call (its random id, the
  step, when). The application also nudges the uploader
  (:attr:`kiosk.nudge.NudgeKind.AGENT_CALL`); the file is the truth, the nudge
  only a wake-up, so a lost datagram delays a call by at most
  :data:`FILE_CHECK_S`.
- ``agent-call.json``, written by the uploader: what became of that call
  (:class:`AnswerState`), which the application polls while a call is open.

:class:`AgentCallRelay` is the uploader's thread: it posts the call at once
(retrying with a short backoff while the back office cannot be reached), then
asks about it about once a second until a member of staff saw it, and gives up
:data:`GIVE_UP_S` after the call. It has its own HTTPS client and its own
thread, so a dossier being uploaded never delays a call.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from deposit.agentcall import AgentCallClient, CallAnswer, CallNotFoundError, CallState
from deposit.delivery import KIOSK_REFUSALS, Backoff
from deposit.errors import RefusedError, TransientError
from kiosk.nudge import NudgeKind, NudgeListener

log = logging.getLogger(__name__)

CALL_FILE = "agent.json"
ANSWER_FILE = "agent-call.json"
#: Seconds between two questions about an open call.
POLL_S = 1.0
#: Seconds between two looks at ``agent.json`` when no nudge came (a lost datagram).
FILE_CHECK_S = 2.0
#: Seconds after the call when the uploader stops trying: the citizen has surely gone.
GIVE_UP_S = 15 * 60.0
#: Seconds a request about a call may take (a call must not wait on a dead link for long).
TIMEOUT_S = 5.0
#: Seconds between attempts while the back office refuses this kiosk (revoked, expired).
REFUSED_RETRY_S = 30.0


class AnswerState(StrEnum):
    """What became of the kiosk's call, in ``status/agent-call.json``.

    Crosses a process boundary: written by ``kiosk uploader`` (this module), read
    by the kiosk application (kiosk/signals.py), which tells the citizen.
    """

    SENT = "sent"                  # the back office has it; no one said they saw it yet
    SEEN = "seen"                  # a member of staff saw it: someone is coming
    UNREACHABLE = "unreachable"    # not delivered yet (retrying), or given up


@dataclass(frozen=True)
class Call:
    """A call as ``agent.json`` holds it."""

    call_id: str
    step: str
    called_at: str              # RFC 3339, on the kiosk

    def called_epoch(self) -> float:
        try:
            return datetime.fromisoformat(self.called_at).timestamp()
        except ValueError:
            return 0.0


@dataclass(frozen=True)
class Answer:
    """The uploader's word on a call, as ``agent-call.json`` holds it."""

    call_id: str
    state: AnswerState
    seen_by: str | None = None
    seen_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.call_id, "state": self.state.value, "seen_by": self.seen_by,
                "seen_at": self.seen_at}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_call(status_dir: Path) -> Call | None:
    """The call in ``agent.json``; None when there is none (or only one from an older kiosk
    version, without an id)."""
    data = _read_json(status_dir / CALL_FILE)
    if data is None:
        return None
    call_id, step, called_at = data.get("id"), data.get("step"), data.get("called_at")
    if not all(isinstance(v, str) for v in (call_id, step, called_at)):
        return None
    return Call(str(call_id), str(step), str(called_at))


def read_answer(status_dir: Path) -> Answer | None:
    data = _read_json(status_dir / ANSWER_FILE)
    if data is None or not isinstance(data.get("id"), str):
        return None
    try:
        state = AnswerState(str(data.get("state")))
    except ValueError:
        return None
    by, at = data.get("seen_by"), data.get("seen_at")
    return Answer(data["id"], state, by if isinstance(by, str) else None,
                  at if isinstance(at, str) else None)


@dataclass
class _Tracked:
    call: Call
    give_up_at: float                   # wall-clock seconds
    delivered: bool = False
    attempts: int = 0
    due: float = 0.0                    # monotonic: next request
    answer: AnswerState | None = None


@dataclass
class AgentCallRelay:
    """The uploader's thread for agent calls (see the module docstring)."""

    status_dir: Path
    client: AgentCallClient
    listener: NudgeListener | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    poll_s: float = POLL_S
    file_check_s: float = FILE_CHECK_S
    give_up_s: float = GIVE_UP_S
    backoff: Backoff = field(default_factory=lambda: Backoff(
        base=0.5, cap=5.0, floor=0.25, rng=random.Random()))  # noqa: S311 - jitter
    wall_clock: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._tracked: dict[str, _Tracked] = {}
        self._current: str | None = None
        self._finished: set[str] = set()
        self._thread: threading.Thread | None = None
        answer = read_answer(self.status_dir)
        if answer is not None and answer.state is AnswerState.SEEN:
            self._finished.add(answer.call_id)        # seen before a restart: nothing to do

    def start(self) -> AgentCallRelay:
        self._thread = threading.Thread(target=self._run, name="agent-calls", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S * 2 + 1)
        self.client.close()

    def _run(self) -> None:
        log.info("agent calls relayed to %s", self.client.endpoint)
        while not self.stop.is_set():
            try:
                wait = self.step()
            except Exception:             # the relay must outlive a surprise; say it loudly
                log.exception("agent-call relay: unexpected failure; going on")
                wait = self.file_check_s
            if self.listener is not None:
                self.listener.wait(wait, kind=NudgeKind.AGENT_CALL, tick=0.5,
                                   should_stop=self.stop.is_set)
            else:
                self.stop.wait(wait)

    # ------------------------------------------------------------------ one step

    def step(self) -> float:
        """Look for a new call, make the requests that are due; seconds until the next."""
        self._look()
        now_wall, now = self.wall_clock(), self.clock()
        for call_id, t in list(self._tracked.items()):
            if now_wall >= t.give_up_at:
                log.warning("agent call %s: given up %.0f min after the call (%s)", call_id,
                            self.give_up_s / 60, "delivered, never seen" if t.delivered
                            else "never delivered")
                self._drop(call_id)
                continue
            if now < t.due:
                continue
            if not t.delivered:
                self._deliver(t)
            elif call_id == self._current:
                self._ask(t)
            else:
                self._drop(call_id)         # delivered, and a newer call is the kiosk's now
        dues = [t.due for t in self._tracked.values()]
        until = min(dues) - self.clock() if dues else self.file_check_s
        return max(0.0, min(until, self.file_check_s))

    def _look(self) -> None:
        call = read_call(self.status_dir)
        if call is None or call.call_id in self._tracked or call.call_id in self._finished:
            return
        give_up_at = call.called_epoch() + self.give_up_s
        if self.wall_clock() >= give_up_at:
            self._finished.add(call.call_id)
            return
        log.warning("agent called at this kiosk (step %s, call %s): telling the back office",
                    call.step, call.call_id)
        self._tracked[call.call_id] = _Tracked(call, give_up_at)
        self._current = call.call_id

    def _deliver(self, t: _Tracked) -> None:
        t.attempts += 1
        try:
            answer = self.client.send(t.call.call_id, t.call.step, t.call.called_at)
        except RefusedError as exc:
            if exc.status in KIOSK_REFUSALS:
                log.error("agent call %s: the back office refuses this kiosk (%s)",
                          t.call.call_id, exc)
                t.due = self.clock() + REFUSED_RETRY_S
            else:
                log.error("agent call %s refused by the back office: %s", t.call.call_id, exc)
                self._drop(t.call.call_id)
            self._tell(t, AnswerState.UNREACHABLE)
            return
        except (TransientError, CallNotFoundError) as exc:
            delay = self.backoff.delay(t.attempts - 1)
            log.warning("agent call %s not delivered (%s); again in %.1f s", t.call.call_id,
                        exc, delay)
            t.due = self.clock() + delay
            self._tell(t, AnswerState.UNREACHABLE)
            return
        t.delivered = True
        log.info("agent call %s delivered to the back office", t.call.call_id)
        self._settle(t, answer)

    def _ask(self, t: _Tracked) -> None:
        try:
            answer = self.client.status(t.call.call_id)
        except CallNotFoundError:
            log.warning("agent call %s unknown to the back office: posting it again",
                        t.call.call_id)
            t.delivered, t.due = False, self.clock()
            return
        except (TransientError, RefusedError) as exc:
            log.info("agent call %s: no answer this time (%s)", t.call.call_id, exc)
            t.due = self.clock() + self.poll_s
            return
        self._settle(t, answer)

    def _settle(self, t: _Tracked, answer: CallAnswer) -> None:
        if answer.state is CallState.SEEN:
            log.info("agent call %s seen by %s", t.call.call_id, answer.seen_by)
            self._tell(t, AnswerState.SEEN, answer.seen_by, answer.seen_at)
            self._drop(t.call.call_id)
            return
        self._tell(t, AnswerState.SENT)
        t.due = self.clock() + self.poll_s

    def _tell(self, t: _Tracked, state: AnswerState, seen_by: str | None = None,
              seen_at: str | None = None) -> None:
        """Write the answer file for the kiosk's current call, when what it says changes."""
        if t.call.call_id != self._current or t.answer is state:
            return
        try:
            write_json(self.status_dir / ANSWER_FILE,
                       Answer(t.call.call_id, state, seen_by, seen_at).as_dict())
        except OSError as exc:
            log.error("cannot write %s: %s", self.status_dir / ANSWER_FILE, exc)
            return
        t.answer = state

    def _drop(self, call_id: str) -> None:
        self._tracked.pop(call_id, None)
        self._finished.add(call_id)
