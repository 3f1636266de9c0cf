"""Signals for people: "call an agent" and satisfaction ratings, in small files and the log.

Nothing here identifies the citizen: an agent call says when, from which kiosk
and at which step; a rating says the day, the procedure and the rating.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.events import Clock

log = logging.getLogger(__name__)


class AgentSignal:
    """"Call an agent": a log line for the technician and ``status/agent.json`` for diagnostics.

    The file holds when, from which kiosk and at which step; nothing about the
    citizen. It is replaced atomically, so a reader never sees half of it.
    """

    def __init__(self, status_dir: Path, kiosk_id: str, wall_clock: Clock = time.time) -> None:
        self.path = status_dir / "agent.json"
        self.kiosk_id = kiosk_id
        self._wall = wall_clock
        self.calls = 0

    def call(self, step: str) -> None:
        self.calls += 1
        at = datetime.fromtimestamp(self._wall(), UTC).isoformat(timespec="seconds")
        log.warning("AGENT CALLED at kiosk %s, step %s", self.kiosk_id, step)
        _write_json(self.path, {"kiosk_id": self.kiosk_id, "called_at": at, "step": step,
                                "calls_since_start": self.calls})


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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
