"""The kiosk's heartbeat: built by the uploader from what the kiosk left on its disk, sent often.

The uploader (``kiosk uploader``) is the process that holds the kiosk's
certificate and signing key, and it outlives the application's troubles, so
it is the one that tells the back office how the kiosk is. Every
``[upload] heartbeat_s`` seconds (and once at start) :class:`HeartbeatSender`,
on a thread of its own with its own HTTPS client and a short timeout, has
:class:`HeartbeatBuilder` gather:

=========================  ===================================================================
devices, paper             ``status/devices.json`` (kiosk/devicestatus.py, written by ``kiosk
                           run``); unknown when missing, garbled or stale
last citizen activity      ``status/activity.json`` (the last wipe)
queue                      the outbox: deposits waiting, their bytes, the oldest one's sealing
disk                       ``shutil.disk_usage`` of the data folder
software                   the kiosk's version (``kiosk --version``)
agent call                 ``status/agent.json`` without a "seen" answer in
                           ``status/agent-call.json`` (kiosk/agentcall.py), not given up yet
certificate                ``not_after`` of the bundle's ``tls/kiosk.crt``
out of order               ``status/service.json`` (``{"out_of_order", "message", "since"}``,
                           written by the service mode) when it is there and readable
satisfaction               ``status/satisfaction.jsonl`` (kiosk/signals.py): running counts per
                           (procedure or "-", ISO week, rating) for the last
                           :data:`RATING_WEEKS` weeks
=========================  ===================================================================

signs it (deposit/heartbeat.py) and posts it (deposit/heartbeatclient.py).
A file that is missing or garbled never stops a heartbeat: what it would
have said is "unknown" (or absent). A heartbeat that cannot be sent is
logged once per run of failures and replaced by the next one; it never
delays a dossier, which the uploader's loop sends on its own thread.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from deposit.bundle import Enrollment
from deposit.errors import DepositError, OutboxError
from deposit.heartbeat import (
    MAX_BLOB,
    Disk,
    Heartbeat,
    Queue,
    Rating,
    parse_time,
    sign,
    utc,
)
from deposit.heartbeatclient import HeartbeatClient
from deposit.manifest import SigningKey
from deposit.outbox import Outbox
from kiosk import __version__
from kiosk.agentcall import GIVE_UP_S, AnswerState, read_answer, read_call
from kiosk.devicestatus import clean_text, read_devices, read_last_activity
from kiosk.service.switch import load as load_switch
from kiosk.service.texts import OUT_OF_ORDER_REASONS

log = logging.getLogger(__name__)

SATISFACTION_FILE = "satisfaction.jsonl"
#: How many ISO weeks of ratings travel (this week and the ones before it).
RATING_WEEKS = 8
#: A heartbeat carries at most this many counts (deposit/heartbeat.py refuses more).
MAX_RATINGS = 2000
#: Bytes the signed blob adds around the heartbeat's canonical JSON (the signature, two keys).
SIGNATURE_ROOM = 128
#: Seconds a heartbeat may take: it is small, and the next one replaces it anyway.
TIMEOUT_S = 10.0
#: A procedure's catalog code as a heartbeat accepts it (deposit/heartbeat.py).
_PROCEDURE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _procedure(value: Any) -> str | None:
    """The rating's procedure as it travels ("-" for none); None when it is not a code."""
    if value is None or value == "":
        return "-"
    if (isinstance(value, str) and 0 < len(value) <= 64 and value[0] not in "_.-"
            and set(value) <= _PROCEDURE_CHARS):
        return value
    return None


def rating_counts(path: Path, today: date, weeks: int = RATING_WEEKS) -> tuple[Rating, ...]:
    """Running counts of the ratings in ``path`` (one JSON line each: day, procedure, rating)
    per (procedure, ISO week, rating), for the ISO week of ``today`` and the ``weeks - 1``
    before it; lines that cannot be read are skipped."""
    first = today - timedelta(days=today.isoweekday() - 1) - timedelta(weeks=weeks - 1)
    counts: Counter[tuple[str, str, int]] = Counter()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        log.warning("cannot read %s: %s; no ratings in this heartbeat", path, exc)
        return ()
    skipped = 0
    for line in lines:
        try:
            data = json.loads(line)
            day = date.fromisoformat(data["day"])
            rating = data["rating"]
            procedure = _procedure(data.get("procedure"))
        except (ValueError, TypeError, KeyError):
            skipped += 1
            continue
        if (procedure is None or not isinstance(rating, int) or isinstance(rating, bool)
                or not 1 <= rating <= 5):
            skipped += 1
            continue
        if first <= day <= today:
            counts[(procedure, iso_week(day), rating)] += 1
    if skipped:
        log.debug("%s: %d line(s) that are not ratings skipped", path, skipped)
    # By week, procedure, rating; when there are too many to travel, the newest weeks do.
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))
    return tuple(Rating(p, w, r, n) for (p, w, r), n in ordered[-MAX_RATINGS:])


def agent_call_since(status_dir: Path, now: datetime) -> str | None:
    """When the kiosk's agent call was made, if no one has said they saw it and the uploader
    has not given up on it yet (kiosk/agentcall.py)."""
    call = read_call(status_dir)
    if call is None:
        return None
    answer = read_answer(status_dir)
    if answer is not None and answer.call_id == call.call_id and \
            answer.state is AnswerState.SEEN:
        return None
    try:
        called = datetime.fromisoformat(call.called_at)
    except ValueError:
        return None
    if called.tzinfo is None or (now - called).total_seconds() >= GIVE_UP_S:
        return None
    return utc(called)


def _time_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return utc(parse_time(text))
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return utc(moment) if moment.tzinfo is not None else None


@dataclass
class HeartbeatBuilder:
    """Gathers a :class:`~deposit.heartbeat.Heartbeat` (see the module docstring).

    ``outbox`` and ``bundle`` may be None (not opened: the queue is reported
    empty, the certificate's expiry unknown); ``wall_clock`` is passed in for
    tests. A problem met while gathering (a disk that cannot be measured, a
    garbled switch file) is logged as a warning the first time, then quietly:
    a heartbeat every few minutes must not fill the journal with one fault.
    """

    kiosk_id: str
    data_dir: Path
    outbox: Outbox | None = None
    bundle: Enrollment | None = None
    software: str = __version__
    wall_clock: Callable[[], float] = time.time
    rating_weeks: int = RATING_WEEKS
    _warned: set[str] = field(default_factory=set, init=False, repr=False)

    def _warn_once(self, message: str) -> None:
        if message in self._warned:
            log.debug("heartbeat: %s", message)
            return
        self._warned.add(message)
        log.warning("heartbeat: %s", message)

    @property
    def status_dir(self) -> Path:
        return self.data_dir / "status"

    def build(self) -> Heartbeat:
        now = datetime.fromtimestamp(self.wall_clock(), UTC)
        devices = read_devices(self.status_dir, now)
        switch = load_switch(self.status_dir)      # the service mode's out-of-order switch
        heartbeat = Heartbeat(
            kiosk_id=self.kiosk_id, sent_at=utc(now), software=clean_text(self.software, 64),
            devices=devices.devices, paper=devices.paper, queue=self._queue(),
            disk=self._disk(), certificate_not_after=self._certificate(),
            agent_call_since=agent_call_since(self.status_dir, now),
            last_activity_at=read_last_activity(self.status_dir),
            out_of_order=switch.reason is not None,
            out_of_order_message=OUT_OF_ORDER_REASONS[switch.reason]["fr"] if switch.reason
            else "",
            ratings=rating_counts(self.status_dir / SATISFACTION_FILE, now.date(),
                                  self.rating_weeks))
        return self._fitting(heartbeat)

    def _fitting(self, heartbeat: Heartbeat) -> Heartbeat:
        """``heartbeat`` with its oldest weeks of ratings left out until its signed blob fits
        in :data:`~deposit.heartbeat.MAX_BLOB` (a kiosk with many procedures; the back office
        keeps the counts it was sent before for the weeks left out)."""
        ratings, left_out = heartbeat.ratings, ""
        while ratings and len(heartbeat.canonical()) + SIGNATURE_ROOM > MAX_BLOB:
            left_out = min(r.week for r in ratings)
            ratings = tuple(r for r in ratings if r.week != left_out)
            heartbeat = replace(heartbeat, ratings=ratings)
        if left_out:
            self._warn_once(f"too many rating counts for one heartbeat: weeks up to {left_out} "
                            f"left out")
        return heartbeat

    def _queue(self) -> Queue:
        if self.outbox is None:
            return Queue()
        try:
            stats = self.outbox.stats(quick=True)
        except (OutboxError, OSError) as exc:
            self._warn_once(f"the outbox cannot be counted ({exc}); queue reported empty")
            return Queue()
        return Queue(stats.pending, stats.queued_bytes, _time_or_none(stats.oldest_queued_at))

    def _disk(self) -> Disk:
        try:
            usage = shutil.disk_usage(self.data_dir)
        except OSError as exc:
            self._warn_once(f"{self.data_dir}: {exc}; disk reported as 0 bytes")
            return Disk(0, 0)
        return Disk(usage.free, usage.total)

    def _certificate(self) -> str | None:
        if self.bundle is None:
            return None
        try:
            return utc(self.bundle.certificate_expiry())
        except DepositError as exc:
            self._warn_once(f"{exc}; certificate expiry not reported")
            return None


@dataclass
class HeartbeatSender:
    """Builds, signs and sends a heartbeat at start and then every ``period_s`` seconds, on
    its own thread (:meth:`start`), or once (:meth:`beat`)."""

    builder: HeartbeatBuilder
    client: HeartbeatClient
    key: SigningKey
    period_s: float
    stop: threading.Event = field(default_factory=threading.Event)
    #: Run after each heartbeat that got through: the uploader fetches the signed fleet state
    #: there (kiosk/fleetstate.py: the badges revoked). A DepositError it raises is logged
    #: once per run of failures; the heartbeats go on.
    fleet_state: Callable[[], object] | None = None
    sent: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._lost = 0              # heartbeats lost since the last one that got through
        self._fleet_state_failing = False

    def start(self) -> HeartbeatSender:
        self._thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S * 2 + 1)
        self.client.close()

    def _run(self) -> None:
        log.info("heartbeats to %s every %.0f s", self.client.endpoint, self.period_s)
        while not self.stop.is_set():
            try:
                self.beat()
            except Exception:       # the thread must outlive a surprise; say it loudly
                log.exception("heartbeat: unexpected failure; trying again at the next beat")
            self.stop.wait(self.period_s)

    def beat(self) -> bool:
        """One heartbeat, now; True if the back office took it. Failures are logged once per
        run of failures, never raised."""
        heartbeat = self.builder.build()
        try:
            self.client.send(sign(heartbeat, self.key))
        except DepositError as exc:
            self.failed += 1
            self._lost += 1
            if self._lost == 1:
                log.warning("heartbeat not delivered (%s); trying again every %.0f s, quietly "
                            "until one gets through", exc, self.period_s)
            else:
                log.debug("heartbeat not delivered again: %s", exc)
            return False
        self.sent += 1
        if self._lost:
            log.info("heartbeats get through again (%d lost meanwhile)", self._lost)
        self._lost = 0
        log.debug("heartbeat sent (%s)", heartbeat.sent_at)
        self._refresh_fleet_state()
        return True

    def _refresh_fleet_state(self) -> None:
        if self.fleet_state is None:
            return
        try:
            self.fleet_state()
        except DepositError as exc:
            if not self._fleet_state_failing:
                log.warning("fleet state not refreshed (%s); again after the next heartbeat",
                            exc)
            self._fleet_state_failing = True
            return
        if self._fleet_state_failing:
            log.info("fleet state refreshed again")
        self._fleet_state_failing = False
