"""The fleet's side of the metadata store: kiosks' latest health, ratings, alert occurrences.

Tables of schema version 4 (backoffice/store/schema.py), used as they are:

- ``kiosk_health`` and ``ratings`` are written by the heartbeat endpoint
  (backoffice/heartbeats.py) and only *read* here, with small queries of our own:
  the latest heartbeat of every enrolled, non-revoked kiosk (``body`` is the
  heartbeat's ``to_dict`` as JSON, read back with :func:`deposit.heartbeat.from_json`),
  and the running rating counts.
- ``fleet_alerts``: one row per *occurrence* of an alert, identified while open by
  (kiosk_id, kind, subject). :meth:`AlertStore.reconcile` opens a row for an alert
  that holds and has none open, leaves an open one alone while it holds, and sets
  ``cleared_at`` on one that no longer holds. ``opened_notified_at`` and
  ``cleared_notified_at`` say the occurrence's opening and clearing were delivered
  (backoffice/alerting.py).

**Two reconciliations at once** never open one alert twice: the schema has no unique
index on the open triple (SQL has no portable partial index), so reconciling reads the
open rows and writes the changes in one transaction that is serialised with every
other reconciliation: SQLite's ``BEGIN IMMEDIATE`` holds the database's write lock
from the start; on PostgreSQL the transaction first takes a transaction-level advisory
lock (:data:`RECONCILE_LOCK`), released at its end.

**Delivery** runs in one process at a time (:meth:`AlertStore.delivery_lock`): a file
lock beside an SQLite database (``serve`` and ``backoffice fleet --notify`` on the same
machine), a session-level advisory lock on PostgreSQL (several ``serve`` processes).
The process that does not get it skips delivery for that round.

Every method commits before it returns, like :class:`~backoffice.store.metadata.MetadataStore`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from backoffice.fleethealth import Alert, AlertKind, KioskHealth, RatingCount
from backoffice.store.engines import PostgresStore, SQLiteStore
from backoffice.store.metadata import MetadataStore, iso, parse_iso
from deposit.heartbeat import HeartbeatError, from_json, parse_time

log = logging.getLogger(__name__)

#: PostgreSQL advisory lock keys (arbitrary, fixed, taken only by this program; the schema's
#: own is 7270014).
RECONCILE_LOCK = 7270015
DELIVERY_LOCK = 7270016


class AlertState(StrEnum):
    """What is told of an occurrence: it opened, or it cleared. Sent in the webhook's
    ``state``: keep the values stable (docs/fleet.md)."""

    OPENED = "opened"
    CLEARED = "cleared"


@dataclass(frozen=True)
class Occurrence:
    """One row of ``fleet_alerts``."""

    alert_id: str
    kiosk_id: str
    kind: AlertKind
    subject: str
    detail: str
    opened_at: datetime
    cleared_at: datetime | None = None
    opened_notified_at: datetime | None = None
    cleared_notified_at: datetime | None = None

    @property
    def key(self) -> tuple[str, AlertKind, str]:
        return (self.kiosk_id, self.kind, self.subject)

    @property
    def state(self) -> AlertState:
        return AlertState.OPENED if self.cleared_at is None else AlertState.CLEARED


@dataclass(frozen=True)
class Reconciled:
    """What one reconciliation changed."""

    opened: list[Occurrence]
    cleared: list[Occurrence]


def _when(text: str | None) -> datetime | None:
    """A stored time: the store's own format, the heartbeat's (to the second), or any
    RFC 3339 UTC time (another writer of ``kiosk_health`` may choose another)."""
    if not text:
        return None
    for parse in (parse_iso, parse_time):
        try:
            return parse(text)
        except ValueError:
            pass
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone")
    return moment.astimezone(UTC)


def _occurrence(row: Any) -> Occurrence:
    opened = _when(row["opened_at"])
    assert opened is not None
    return Occurrence(
        alert_id=row["alert_id"], kiosk_id=row["kiosk_id"], kind=AlertKind(row["kind"]),
        subject=row["subject"], detail=row["detail"], opened_at=opened,
        cleared_at=_when(row["cleared_at"]), opened_notified_at=_when(row["opened_notified_at"]),
        cleared_notified_at=_when(row["cleared_notified_at"]))


class AlertStore:
    """Queries of the fleet's health and alerts over the metadata store (both engines)."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading health
    def fleet(self) -> list[KioskHealth]:
        """Every enrolled, non-revoked kiosk with its latest heartbeat (or none), by id.

        A stored heartbeat that no longer parses is logged and counted as none: the kiosk
        then shows as silent, which sends someone to look.
        """
        with self.store.read() as cur:
            rows = cur.execute(
                "SELECT k.kiosk_id AS kiosk_id, k.fleet_code AS fleet_code, "
                "k.enrolled_at AS enrolled_at, h.received_at AS received_at, h.body AS body "
                "FROM kiosks k LEFT JOIN kiosk_health h ON h.kiosk_id = k.kiosk_id "
                "WHERE k.revoked_at IS NULL ORDER BY k.kiosk_id").all()
        out = []
        for row in rows:
            enrolled = _when(row["enrolled_at"])
            assert enrolled is not None
            heartbeat, received = None, None
            if row["body"] is not None:
                try:
                    heartbeat = from_json(row["body"])
                    received = _when(row["received_at"])
                except (HeartbeatError, ValueError) as exc:
                    log.error("kiosk %s: its stored heartbeat cannot be read (%s); shown as "
                              "none", row["kiosk_id"], exc)
            out.append(KioskHealth(row["kiosk_id"], row["fleet_code"], enrolled, heartbeat,
                                   received))
        return out

    def ratings(self, weeks: Iterable[str]) -> list[RatingCount]:
        """The running rating counts of ``weeks`` (ISO weeks ``YYYY-Www``), every kiosk."""
        weeks = list(weeks)
        if not weeks:
            return []
        marks = ", ".join("?" for _ in weeks)
        with self.store.read() as cur:
            rows = cur.execute(
                f"SELECT kiosk_id, procedure, week, rating, count FROM ratings "  # noqa: S608 - only placeholders are interpolated
                f"WHERE week IN ({marks}) ORDER BY kiosk_id, procedure, week, rating",
                weeks).all()
        return [RatingCount(r["kiosk_id"], r["procedure"], r["week"], int(r["rating"]),
                            int(r["count"])) for r in rows]

    # ------------------------------------------------------------------ occurrences
    def open_alerts(self) -> list[Occurrence]:
        with self.store.read() as cur:
            return [_occurrence(r) for r in cur.execute(
                "SELECT * FROM fleet_alerts WHERE cleared_at IS NULL "
                "ORDER BY kiosk_id, kind, subject").all()]

    def occurrences(self, kiosk_id: str | None = None) -> list[Occurrence]:
        """Every occurrence (open and cleared), oldest first; of one kiosk when named."""
        sql, params = "SELECT * FROM fleet_alerts", []
        if kiosk_id is not None:
            sql += " WHERE kiosk_id = ?"
            params.append(kiosk_id)
        with self.store.read() as cur:
            return [_occurrence(r) for r in cur.execute(
                sql + " ORDER BY opened_at, alert_id", params).all()]

    def reconcile(self, alerts: Iterable[Alert], now: datetime) -> Reconciled:
        """Make the open rows match ``alerts`` (every alert that holds now), in one
        serialised transaction: new ones opened, gone ones cleared, the others untouched."""
        holding = {a.key: a for a in alerts}
        opened: list[Occurrence] = []
        cleared: list[Occurrence] = []
        with self.store.transaction() as cur:
            if isinstance(self.store, PostgresStore):
                cur.execute("SELECT pg_advisory_xact_lock(?) AS locked",
                            (RECONCILE_LOCK,)).one()
            rows = [_occurrence(r) for r in cur.execute(
                "SELECT * FROM fleet_alerts WHERE cleared_at IS NULL").all()]
            open_keys = set()
            for row in rows:
                if row.key in holding and row.key not in open_keys:
                    open_keys.add(row.key)
                    continue
                # No longer holds (or, from a database written without this lock, a
                # duplicate of an open one): cleared.
                cur.execute("UPDATE fleet_alerts SET cleared_at = ? WHERE alert_id = ? "
                            "AND cleared_at IS NULL", (iso(now), row.alert_id))
                cleared.append(dataclasses.replace(row, cleared_at=now))
            for key, alert in holding.items():
                if key in open_keys:
                    continue
                occurrence = Occurrence(secrets.token_hex(16), alert.kiosk_id, alert.kind,
                                        alert.subject, alert.detail, now)
                cur.execute(
                    "INSERT INTO fleet_alerts (alert_id, kiosk_id, kind, subject, detail, "
                    "opened_at, cleared_at, opened_notified_at, cleared_notified_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
                    (occurrence.alert_id, alert.kiosk_id, alert.kind.value, alert.subject,
                     alert.detail, iso(now)))
                opened.append(occurrence)
        return Reconciled(opened, cleared)

    # ------------------------------------------------------------------ delivery
    def to_notify(self, state: AlertState, limit: int = 500) -> list[Occurrence]:
        """Occurrences whose opening (or clearing) is still to be told, oldest first. A
        clearing waits until its opening was told: "resolved" never comes first."""
        if state is AlertState.OPENED:
            where = "opened_notified_at IS NULL"
        else:
            where = ("cleared_at IS NOT NULL AND cleared_notified_at IS NULL "
                     "AND opened_notified_at IS NOT NULL")
        with self.store.read() as cur:
            return [_occurrence(r) for r in cur.execute(
                f"SELECT * FROM fleet_alerts WHERE {where} "  # noqa: S608 - a fixed clause
                f"ORDER BY opened_at, alert_id LIMIT ?", (limit,)).all()]

    def notified(self, alert_id: str, state: AlertState, at: datetime) -> bool:
        """Record that ``state`` of the occurrence was delivered; False if it already was."""
        column = "opened_notified_at" if state is AlertState.OPENED else "cleared_notified_at"
        with self.store.transaction() as cur:
            cur.execute(f"UPDATE fleet_alerts SET {column} = ? "  # noqa: S608 - a fixed column
                        f"WHERE alert_id = ? AND {column} IS NULL", (iso(at), alert_id))
            return cur.rowcount == 1

    @contextlib.contextmanager
    def delivery_lock(self) -> Iterator[bool]:
        """Whether this process may deliver now (see the module docstring); held until the
        block ends. Never waits: another process delivering means this one skips a round."""
        if isinstance(self.store, SQLiteStore):
            path = self.store.path.with_name(self.store.path.name + ".fleet-alerts.lock")
            with path.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    yield False
                    return
                try:
                    yield True
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        if isinstance(self.store, PostgresStore):
            with self.store.transaction() as cur:
                row = cur.execute("SELECT pg_try_advisory_xact_lock(?) AS locked",
                                  (DELIVERY_LOCK,)).one()
                # Held by this open transaction (one pooled connection) until the block ends.
                yield bool(row["locked"]) if row is not None else False
            return
        yield True
