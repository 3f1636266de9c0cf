"""Signals for people: "call an agent" and satisfaction ratings, in small files and the log.

Nothing here identifies the citizen: an agent call says when, from which kiosk
and at which step; a rating says the day, the procedure and the rating.

An agent call reaches the staff through the uploader (this process has no
network credentials and never waits on the network): :class:`AgentSignal`
writes the call to ``status/agent.json`` and nudges the uploader; while the
call is open a small thread reads the uploader's answer
(``status/agent-call.json``, kiosk/agentcall.py) and posts ``AgentSeen`` once a
member of staff saw it. The wipe forgets the call, so the next citizen never
hears of the previous one's.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deposit.agentcall import new_call_id
from kiosk.agentcall import ANSWER_FILE, CALL_FILE, GIVE_UP_S, AnswerState, read_answer, write_json
from kiosk.events import Clock, Post
from kiosk.journey import AgentSeen
from kiosk.nudge import NudgeKind

log = logging.getLogger(__name__)

#: Seconds between two reads of the uploader's answer while a call is open.
WATCH_EVERY_S = 0.25


@dataclass
class _OpenCall:
    call_id: str
    called_at: str
    stop: threading.Event


class AgentSignal:
    """"Call an agent": ``status/agent.json`` for the uploader and diagnostics, a nudge, a log
    line for the technician, and ``AgentSeen`` posted once staff saw the call.

    A session has at most one open call: tapping again before anyone saw it
    sends the same call again (same id; the back office keeps one), while a
    tap after it was seen makes a new call. ``post`` receives ``AgentSeen``
    (thread-safe; None: the acknowledgement is not followed); ``nudge`` wakes
    the uploader.
    """

    def __init__(self, status_dir: Path, kiosk_id: str, wall_clock: Clock = time.time, *,
                 post: Post | None = None,
                 nudge: Callable[[NudgeKind], object] = lambda kind: None,
                 watch_every_s: float = WATCH_EVERY_S, watch_for_s: float = GIVE_UP_S + 60,
                 new_id: Callable[[], str] = new_call_id) -> None:
        self.path = status_dir / CALL_FILE
        self.status_dir = status_dir
        self.kiosk_id = kiosk_id
        self._wall = wall_clock
        self._post = post
        self._nudge = nudge
        self._every = watch_every_s
        self._watch_for = watch_for_s
        self._new_id = new_id
        self._lock = threading.Lock()
        self._open: _OpenCall | None = None
        self.calls = 0

    @property
    def open_call(self) -> str | None:
        """The id of this session's call no one has said they saw yet, if any."""
        with self._lock:
            return self._open.call_id if self._open else None

    def call(self, step: str) -> str:
        """Call (or call again) for this session; the call's id. Never blocks on the network."""
        with self._lock:
            self.calls += 1
            fresh = self._open is None
            if self._open is None:
                at = datetime.fromtimestamp(self._wall(), UTC).isoformat(timespec="seconds")
                self._open = _OpenCall(self._new_id(), at, threading.Event())
            current = self._open
            write_json(self.path, {"id": current.call_id, "kiosk_id": self.kiosk_id,
                                   "called_at": current.called_at, "step": step,
                                   "calls_since_start": self.calls})
        log.warning("AGENT CALLED at kiosk %s, step %s (call %s%s)", self.kiosk_id, step,
                    current.call_id, "" if fresh else ", again")
        self._nudge(NudgeKind.AGENT_CALL)
        if fresh and self._post is not None:
            threading.Thread(target=self._watch, args=(current,), daemon=True,
                             name="agent-call-watch").start()
        return current.call_id

    def forget(self) -> None:
        """The session ended (the wipe): whatever staff say of its call is not for the next
        citizen."""
        with self._lock:
            if self._open is not None:
                self._open.stop.set()
                self._open = None

    close = forget

    def _watch(self, call: _OpenCall) -> None:
        """Read the uploader's answer every quarter second until the call is seen, forgotten,
        or too old to matter."""
        answer_path = self.status_dir / ANSWER_FILE
        last_seen_mtime = -1
        deadline = time.monotonic() + self._watch_for
        while not call.stop.wait(self._every) and time.monotonic() < deadline:
            try:
                mtime = answer_path.stat().st_mtime_ns
            except OSError:
                continue
            if mtime == last_seen_mtime:
                continue
            last_seen_mtime = mtime
            answer = read_answer(self.status_dir)
            if answer is None or answer.call_id != call.call_id or \
                    answer.state is not AnswerState.SEEN:
                continue
            with self._lock:
                if self._open is not call:         # wiped meanwhile: not this citizen's
                    return
                self._open = None                  # seen: a new tap is a new call
                assert self._post is not None
                self._post(AgentSeen())
            log.info("agent call %s seen by %s", call.call_id, answer.seen_by)
            return


class SatisfactionLog:
    """Ratings, one JSON line each: the day, the procedure, the rating. No one is identifiable."""

    def __init__(self, status_dir: Path, wall_clock: Clock = time.time) -> None:
        self.path = status_dir / "satisfaction.jsonl"
        self._wall = wall_clock

    def record(self, rating: int, procedure: str | None) -> None:
        day = datetime.fromtimestamp(self._wall(), UTC).date().isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"day": day, "procedure": procedure, "rating": rating}) + "\n")
