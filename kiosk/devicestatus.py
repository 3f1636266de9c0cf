"""The kiosk application's word on its devices and its last citizen, for the uploader's heartbeat.

The kiosk application (``kiosk run``) is the process that talks to the printer,
the camera and the code reader; the uploader (``kiosk uploader``), another
process, holds the kiosk's certificate and sends the heartbeat
(kiosk/heartbeat.py). They share two small files in ``{data_dir}/status``,
each replaced atomically (a temporary file, then a rename), so a reader sees
the old file or the new one, never half:

- ``devices.json``, written by :class:`DeviceStatus` whenever what it says
  changes (the printer's status is asked every few seconds: an unchanged
  answer does not wear the SD card), and at least every :data:`REFRESH_S`
  while the application runs::

      {"at": "2026-12-05T09:30:00Z",
       "devices": {"printer": {"health": "warn", "detail": "paper near end",
                               "since": "2026-12-05T08:10:00Z"}, ...},
       "paper": "near_end"}

  A file older than :data:`STALE_AFTER_S` means the application is not
  running (or stuck): :func:`read_devices` then says every device is
  ``unknown``, as it does for a missing or garbled file.
- ``activity.json``: ``{"last_session_end": "2026-12-05T09:41:07Z"}``, written
  at each wipe (:meth:`DeviceStatus.session_ended`).

Nothing personal goes in either: a device's state and a short technical
detail, the time a session ended; never what a citizen did.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deposit.heartbeat import (
    MAX_TEXT,
    DeviceHealth,
    DeviceKind,
    DeviceState,
    PaperLevel,
    parse_time,
    utc,
)
from drivers.printer.base import PrinterStatus
from kiosk.agentcall import write_json
from kiosk.events import Clock, Post
from kiosk.journey import (
    CaptureFailed,
    CaptureStarted,
    Device,
    DeviceChanged,
    Event,
    PageCaptured,
)

log = logging.getLogger(__name__)

DEVICES_FILE = "devices.json"
ACTIVITY_FILE = "activity.json"
#: Seconds after which ``devices.json`` is rewritten even when nothing changed: the proof
#: that the application still runs.
REFRESH_S = 300.0
#: A ``devices.json`` older than this (seconds) comes from an application that stopped.
STALE_AFTER_S = 3 * REFRESH_S


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` as a heartbeat accepts it: control characters replaced, at most ``limit``."""
    cleaned = "".join(" " if ord(c) < 32 or 0x7f <= ord(c) < 0xa0 else c for c in text)
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


def printer_health(status: PrinterStatus) -> tuple[DeviceHealth, str, PaperLevel]:
    """The printer's health, a detail naming its problems, and its paper, from its status."""
    if not status.known:
        return DeviceHealth.UNKNOWN, "the printer does not report its condition", \
            PaperLevel.UNKNOWN
    paper = PaperLevel.OUT if status.paper_out else \
        PaperLevel.NEAR_END if status.paper_near_end else PaperLevel.OK
    problems = status.problems()
    failing = [p for p in problems if p != "paper_near_end"]
    if failing:
        return DeviceHealth.FAIL, ", ".join(p.replace("_", " ") for p in failing), paper
    if problems:
        return DeviceHealth.WARN, "paper near end", paper
    return DeviceHealth.OK, "", paper


@dataclass(frozen=True)
class _Said:
    health: DeviceHealth
    detail: str
    since: str


class DeviceStatus:
    """Writes ``devices.json`` and ``activity.json`` (see the module docstring).

    Thread-safe: the printer is asked on the controller's job thread, the
    camera reports on its own, the runtime records opening failures on the
    main thread. A failure to write is logged, never raised: the citizen's
    journey does not depend on it.
    """

    def __init__(self, status_dir: Path, wall_clock: Clock = time.time) -> None:
        self.status_dir = status_dir
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._devices: dict[DeviceKind, _Said] = {}
        self._paper = PaperLevel.UNKNOWN
        self._written_at = float("-inf")
        self._write_failed = False

    def _now(self) -> str:
        return utc(datetime.fromtimestamp(self._wall(), UTC))

    def record(self, kind: DeviceKind, health: DeviceHealth, detail: str = "", *,
               paper: PaperLevel | None = None) -> None:
        """``kind`` is in ``health`` now (``since`` moves only when the health changes)."""
        detail = clean_text(detail)
        with self._lock:
            before = self._devices.get(kind)
            changed = before is None or before.health is not health or before.detail != detail
            if before is None or before.health is not health:
                self._devices[kind] = _Said(health, detail, self._now())
            else:
                self._devices[kind] = _Said(health, detail, before.since)
            if paper is not None and paper is not self._paper:
                self._paper, changed = paper, True
            if changed or self._wall() - self._written_at >= REFRESH_S:
                self._write()

    def record_printer(self, status: PrinterStatus) -> None:
        health, detail, paper = printer_health(status)
        self.record(DeviceKind.PRINTER, health, detail, paper=paper)

    def printer_unreadable(self, why: str) -> None:
        """The printer did not answer (or could not be opened): it fails, its paper unknown."""
        self.record(DeviceKind.PRINTER, DeviceHealth.FAIL, why, paper=PaperLevel.UNKNOWN)

    def observing_camera(self, post: Post) -> Post:
        """``post``, noting on the way what the camera worker's events say of the camera."""
        def observe(event: Event) -> None:
            if isinstance(event, DeviceChanged) and event.device is Device.CAMERA:
                self.record(DeviceKind.CAMERA, DeviceHealth.OK if event.ok else DeviceHealth.FAIL,
                            "" if event.ok else "no frame from the camera")
            elif isinstance(event, CaptureStarted | PageCaptured):
                self.record(DeviceKind.CAMERA, DeviceHealth.OK)
            elif isinstance(event, CaptureFailed) and event.reason == "camera":
                self.record(DeviceKind.CAMERA, DeviceHealth.FAIL, "a still could not be taken")
            post(event)
        return observe

    def session_ended(self) -> None:
        """A citizen's session ended (the wipe): ``activity.json`` says when."""
        try:
            write_json(self.status_dir / ACTIVITY_FILE, {"last_session_end": self._now()})
        except OSError as exc:
            log.warning("cannot write %s: %s", self.status_dir / ACTIVITY_FILE, exc)

    def _write(self) -> None:
        now = self._wall()
        data = {"at": self._now(), "paper": self._paper.value,
                "devices": {k.value: {"health": s.health.value, "detail": s.detail,
                                      "since": s.since} for k, s in self._devices.items()}}
        try:
            write_json(self.status_dir / DEVICES_FILE, data)
        except OSError as exc:
            if not self._write_failed:         # once per run of failures, not every check
                log.warning("cannot write %s: %s", self.status_dir / DEVICES_FILE, exc)
            self._write_failed = True
            return
        self._write_failed = False
        self._written_at = now


# ---------------------------------------------------------------------- the uploader's side


@dataclass(frozen=True)
class DeviceReport:
    """What ``devices.json`` says, one state per device kind (unknown where it says nothing)."""

    devices: tuple[DeviceState, ...]
    paper: PaperLevel


def _unknown(detail: str) -> DeviceReport:
    return DeviceReport(tuple(DeviceState(k, DeviceHealth.UNKNOWN, detail) for k in DeviceKind),
                        PaperLevel.UNKNOWN)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _time_or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parse_time(value)
    except ValueError:
        return None
    return value


def read_devices(status_dir: Path, now: datetime,
                 stale_after_s: float = STALE_AFTER_S) -> DeviceReport:
    """The devices as the kiosk application last wrote them; every one unknown when the file
    is missing, garbled, or so old that the application is not running."""
    path = status_dir / DEVICES_FILE
    if not path.exists():
        return _unknown("the kiosk application has not reported yet")
    data = _read(path)
    at = _time_or_none(data.get("at")) if data is not None else None
    if data is None or at is None or not isinstance(data.get("devices"), dict):
        log.debug("%s is garbled: devices reported unknown", path)
        return _unknown("the device status file is unreadable")
    if (now - parse_time(at)).total_seconds() > stale_after_s:
        return _unknown(f"the kiosk application has not reported since {at}")
    states = []
    for kind in DeviceKind:
        item = data["devices"].get(kind.value)
        state = DeviceState(kind, DeviceHealth.UNKNOWN, "not asked yet")
        if isinstance(item, dict):
            try:
                state = DeviceState(kind, DeviceHealth(str(item.get("health"))),
                                    clean_text(str(item.get("detail") or "")),
                                    _time_or_none(item.get("since")))
            except ValueError:
                state = DeviceState(kind, DeviceHealth.UNKNOWN, "unreadable state")
        states.append(state)
    try:
        paper = PaperLevel(str(data.get("paper")))
    except ValueError:
        paper = PaperLevel.UNKNOWN
    return DeviceReport(tuple(states), paper)


def read_last_activity(status_dir: Path) -> str | None:
    """When the last citizen session ended (``activity.json``), None if unknown."""
    data = _read(status_dir / ACTIVITY_FILE)
    return _time_or_none(data.get("last_session_end")) if data is not None else None

