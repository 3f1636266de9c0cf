"""The fleet's alerts: from each kiosk's latest heartbeat and the time now, what holds.

Pure logic, no I/O: the store (backoffice/store/alertsdb.py) reads the kiosks and
their latest heartbeats, this module says which alerts hold, the store keeps one
row per occurrence, and backoffice/alerting.py tells people. ``backoffice fleet``
and the staff API's ``GET /fleet`` show the same alerts, worked out when read.

One alert is one (kiosk, :class:`AlertKind`, subject); the subject is the device
kind for :attr:`AlertKind.DEVICE_FAILED` and empty for the others. The kinds:

- PAPER_NEAR_END, PAPER_OUT: the printer's paper level. When the paper is out the
  printer also reports itself failed; that failure is the paper-out alert (its
  detail quotes the printer's own), not a second DEVICE_FAILED for one cause.
- DEVICE_FAILED: one per device whose health is ``fail``.
- SILENT: no heartbeat received for more than ``silent_after`` (the back office's
  clock, never the kiosk's), or never one from a kiosk enrolled longer than that.
- QUEUE_OLD: the oldest deposit waiting on the kiosk was sealed more than
  ``queue_older_than`` ago.
- CERTIFICATE_EXPIRING: the kiosk's certificate expires within
  ``certificate_warning`` (or has expired).
- AGENT_CALL_WAITING: a citizen's call for an agent no one has seen.
- OUT_OF_ORDER: a technician set the kiosk out of order; informational (the
  technician knows), kept so the supervision sees why a kiosk takes no deposit.

A silent kiosk's other alerts are still judged on its last heartbeat: it is the
best knowledge there is (paper that was near its end is not known to be refilled),
and clearing them would send "resolved" messages for what nobody resolved.

Revoked kiosks have no alert: the caller leaves them out, so their open alerts clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from deposit.heartbeat import (
    DeviceHealth,
    DeviceKind,
    Heartbeat,
    PaperLevel,
    parse_time,
    utc,
)


class AlertKind(StrEnum):
    """What is wrong with a kiosk. Stored in ``fleet_alerts.kind``, sent in the webhook's
    JSON and ``backoffice fleet --json``: keep the values stable (docs/fleet.md)."""

    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    DEVICE_FAILED = "device_failed"
    SILENT = "silent"
    QUEUE_OLD = "queue_old"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    AGENT_CALL_WAITING = "agent_call_waiting"
    OUT_OF_ORDER = "out_of_order"

    @property
    def informational(self) -> bool:
        """Nothing to repair: someone chose it (the out-of-order switch)."""
        return self is AlertKind.OUT_OF_ORDER


@dataclass(frozen=True)
class Thresholds:
    """The ``[fleet]`` settings that decide when an alert holds."""

    silent_after: timedelta = timedelta(minutes=15)
    queue_older_than: timedelta = timedelta(minutes=60)
    certificate_warning: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Alert:
    """One alert that holds now. ``since``: when the condition began, as well as the
    heartbeat tells (None when it does not)."""

    kiosk_id: str
    kind: AlertKind
    subject: str
    detail: str
    since: datetime | None = None

    @property
    def key(self) -> tuple[str, AlertKind, str]:
        """The identity of an occurrence: one row while it holds."""
        return (self.kiosk_id, self.kind, self.subject)

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``backoffice fleet --json``'s and ``GET /fleet``'s alerts."""
        return {"kiosk": self.kiosk_id, "kind": self.kind.value, "subject": self.subject,
                "detail": self.detail, "since": utc(self.since) if self.since else None}


@dataclass(frozen=True)
class KioskHealth:
    """An enrolled, non-revoked kiosk and its latest heartbeat (None: never received)."""

    kiosk_id: str
    fleet_code: str
    enrolled_at: datetime
    heartbeat: Heartbeat | None = None
    received_at: datetime | None = None     # when the back office received it


@dataclass(frozen=True)
class RatingCount:
    """One row of the ``ratings`` table: a running count per kiosk, procedure, week, rating."""

    kiosk_id: str
    procedure: str
    week: str
    rating: int
    count: int


@dataclass(frozen=True)
class RatingSummary:
    procedure: str
    count: int
    mean: float

    def as_dict(self) -> dict[str, Any]:
        return {"procedure": self.procedure, "count": self.count, "mean": round(self.mean, 2)}


def duration(delta: timedelta) -> str:
    """``2 d 3 h``, ``3 h 12 min``, ``7 min``: an age as a technician reads it."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def _time(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def alerts_of(kiosk: KioskHealth, now: datetime, limits: Thresholds) -> list[Alert]:
    """The alerts that hold for one kiosk at ``now`` (see the module docstring)."""
    k = kiosk.kiosk_id
    hb = kiosk.heartbeat
    out: list[Alert] = []
    if hb is None or kiosk.received_at is None:
        silent_for = now - kiosk.enrolled_at
        if silent_for > limits.silent_after:
            out.append(Alert(k, AlertKind.SILENT, "",
                             f"no heartbeat ever received; enrolled {duration(silent_for)} ago",
                             kiosk.enrolled_at))
        return out
    silent_for = now - kiosk.received_at
    if silent_for > limits.silent_after:
        out.append(Alert(k, AlertKind.SILENT, "",
                         f"no heartbeat for {duration(silent_for)} (last received "
                         f"{utc(kiosk.received_at)})", kiosk.received_at))
    sent = hb.sent()
    printer = hb.device(DeviceKind.PRINTER)
    printer_since = _time(printer.since) if printer else None
    if hb.paper is PaperLevel.OUT:
        said = f" (printer: {printer.detail})" if printer and printer.detail else ""
        out.append(Alert(k, AlertKind.PAPER_OUT, "", f"paper out{said}",
                         printer_since or sent))
    elif hb.paper is PaperLevel.NEAR_END:
        out.append(Alert(k, AlertKind.PAPER_NEAR_END, "", "paper near its end",
                         printer_since or sent))
    for device in hb.devices:
        if device.health is not DeviceHealth.FAIL:
            continue
        if device.kind is DeviceKind.PRINTER and hb.paper is PaperLevel.OUT:
            continue            # the paper-out alert says it
        out.append(Alert(k, AlertKind.DEVICE_FAILED, device.kind.value,
                         f"{device.kind.value} failed: {device.detail or 'no detail given'}",
                         _time(device.since) or sent))
    oldest = _time(hb.queue.oldest_at)
    if hb.queue.depth > 0 and oldest is not None and now - oldest > limits.queue_older_than:
        out.append(Alert(k, AlertKind.QUEUE_OLD, "",
                         f"{hb.queue.depth} deposit(s) waiting, the oldest sealed "
                         f"{duration(now - oldest)} ago", oldest + limits.queue_older_than))
    not_after = _time(hb.certificate_not_after)
    if not_after is not None and not_after - now <= limits.certificate_warning:
        left = not_after - now
        said = (f"expired {duration(-left)} ago" if left.total_seconds() < 0
                else f"expires in {duration(left)}")
        out.append(Alert(k, AlertKind.CERTIFICATE_EXPIRING, "",
                         f"the kiosk certificate {said} ({utc(not_after)}): enroll it again",
                         not_after - limits.certificate_warning))
    call = _time(hb.agent_call_since)
    if call is not None:
        out.append(Alert(k, AlertKind.AGENT_CALL_WAITING, "",
                         f"a citizen has called for an agent for {duration(now - call)}", call))
    if hb.out_of_order:
        out.append(Alert(k, AlertKind.OUT_OF_ORDER, "",
                         "set out of order" + (f": {hb.out_of_order_message}"
                                               if hb.out_of_order_message else ""), sent))
    return out


def fleet_alerts(kiosks: Iterable[KioskHealth], now: datetime,
                 limits: Thresholds) -> list[Alert]:
    """Every alert that holds at ``now``, by kiosk then kind."""
    alerts = [a for kiosk in kiosks for a in alerts_of(kiosk, now, limits)]
    return sorted(alerts, key=lambda a: (a.kiosk_id, list(AlertKind).index(a.kind), a.subject))


def recent_weeks(now: datetime, weeks: int = 4) -> list[str]:
    """The ISO weeks ``YYYY-Www`` of ``now`` and the ``weeks - 1`` before, newest first."""
    out = []
    for n in range(weeks):
        year, week, _day = (now - timedelta(weeks=n)).isocalendar()
        out.append(f"{year:04d}-W{week:02d}")
    return out


def ratings_summary(rows: Iterable[RatingCount], weeks: Iterable[str]) -> list[RatingSummary]:
    """Count and mean rating per procedure over ``weeks`` (rows of other weeks ignored)."""
    wanted = set(weeks)
    count: dict[str, int] = {}
    total: dict[str, int] = {}
    for row in rows:
        if row.week not in wanted or row.count <= 0:
            continue
        count[row.procedure] = count.get(row.procedure, 0) + row.count
        total[row.procedure] = total.get(row.procedure, 0) + row.rating * row.count
    return [RatingSummary(p, count[p], total[p] / count[p]) for p in sorted(count)]


@dataclass(frozen=True)
class KioskView:
    """What the fleet view shows of one kiosk."""

    health: KioskHealth
    alerts: list[Alert] = field(default_factory=list)
    ratings: list[RatingSummary] = field(default_factory=list)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        k = self.health
        hb = k.heartbeat
        data: dict[str, Any] = {
            "kiosk": k.kiosk_id, "fleet_code": k.fleet_code, "enrolled_at": utc(k.enrolled_at),
            "last_heartbeat_at": utc(k.received_at) if k.received_at else None,
            "last_heartbeat_age_seconds": (int((now - k.received_at).total_seconds())
                                           if k.received_at else None),
            "alerts": [a.as_dict() for a in self.alerts],
            "ratings": [r.as_dict() for r in self.ratings],
        }
        if hb is None:
            return data | {"software": None, "devices": [], "paper": None, "queue": None,
                           "disk": None, "certificate_not_after": None,
                           "agent_call_since": None, "out_of_order": False,
                           "out_of_order_message": ""}
        oldest = _time(hb.queue.oldest_at)
        return data | {
            "software": hb.software,
            "devices": [{"kind": d.kind.value, "health": d.health.value, "detail": d.detail,
                         "since": d.since} for d in hb.devices],
            "paper": hb.paper.value,
            "queue": {"depth": hb.queue.depth, "bytes": hb.queue.bytes,
                      "oldest_at": hb.queue.oldest_at,
                      "oldest_age_seconds": (int((now - oldest).total_seconds())
                                             if oldest else None)},
            "disk": {"free_bytes": hb.disk.free_bytes, "total_bytes": hb.disk.total_bytes},
            "certificate_not_after": hb.certificate_not_after,
            "agent_call_since": hb.agent_call_since,
            "out_of_order": hb.out_of_order,
            "out_of_order_message": hb.out_of_order_message,
        }


def fleet_view(kiosks: Iterable[KioskHealth], ratings: Iterable[RatingCount], now: datetime,
               limits: Thresholds, weeks: int = 4) -> dict[str, Any]:
    """``{"kiosks": [...], "alerts": [...]}``: the document ``backoffice fleet --json`` prints
    and ``GET /staff/v1/fleet`` answers; ratings over the last ``weeks`` ISO weeks."""
    kiosks = sorted(kiosks, key=lambda k: k.kiosk_id)
    by_kiosk: dict[str, list[RatingCount]] = {}
    for row in ratings:
        by_kiosk.setdefault(row.kiosk_id, []).append(row)
    window = recent_weeks(now, weeks)
    views = [KioskView(k, fleet_alerts([k], now, limits),
                       ratings_summary(by_kiosk.get(k.kiosk_id, []), window)) for k in kiosks]
    return {"generated_at": utc(now), "weeks": window,
            "kiosks": [v.as_dict(now) for v in views],
            "alerts": [a.as_dict() for v in views for a in v.alerts]}
