"""Kiosks' heartbeats in the metadata store: their history, each kiosk's latest, the ratings.

Tables of schema version 4 (backoffice/store/schema.py, ``FLEET``), used as
they are, on both engines (SQLite, PostgreSQL) through
:class:`~backoffice.store.metadata.MetadataStore`'s transactions:

- ``heartbeats``: one row per (kiosk, sent_at), the heartbeat's ``to_dict`` as
  JSON in ``body``. The key makes a replay (the same heartbeat posted again,
  its answer lost) a no-op. Rows received more than ``heartbeat_history_days``
  ago are deleted (:func:`prune`, called now and then by the endpoint).
- ``kiosk_health``: each kiosk's newest heartbeat *by sent_at*: one sent
  earlier and arriving late (a retry through a slow proxy) goes to the history
  and never replaces it.
- ``ratings``: a heartbeat carries the kiosk's running totals per (procedure,
  ISO week, rating) for its last weeks; each replaces the stored count of its
  key. Only the newest heartbeat's totals are applied (a late one's are older,
  hence smaller).

Every function commits before it returns. :func:`record` is what the kiosk
listener calls (backoffice/heartbeats.py); :func:`latest_health`,
:func:`history` and :func:`ratings` are what the fleet's view and alerts read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from backoffice.store.metadata import MetadataStore, iso, parse_iso
from deposit.heartbeat import Heartbeat, HeartbeatError, from_json

log = logging.getLogger(__name__)


class Recorded(StrEnum):
    """What :func:`record` made of a heartbeat (logged by the endpoint; the kiosk gets 204)."""

    LATEST = "latest"        # stored, and now the kiosk's latest
    LATE = "late"            # stored in the history; a newer one is the kiosk's latest
    REPLAY = "replay"        # already stored: nothing written


class LatestHeartbeat(NamedTuple):
    """A kiosk's latest heartbeat and when the back office received it (a named triple)."""

    kiosk_id: str
    heartbeat: Heartbeat
    received_at: datetime


@dataclass(frozen=True)
class StoredRating:
    """One count of the ``ratings`` table: how many citizens gave ``rating`` for ``procedure``
    at ``kiosk_id`` during ISO ``week``."""

    kiosk_id: str
    procedure: str           # catalog code, or "-" when none was chosen
    week: str                # "2026-W49"
    rating: int
    count: int


def _sent(heartbeat: Heartbeat) -> str:
    return iso(heartbeat.sent())


def _body(heartbeat: Heartbeat) -> str:
    return json.dumps(heartbeat.to_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def record(store: MetadataStore, heartbeat: Heartbeat, received_at: datetime) -> Recorded:
    """Store a verified heartbeat of an enrolled kiosk (see the module docstring)."""
    sent, body = _sent(heartbeat), _body(heartbeat)
    with store.transaction() as cur:
        # Two heartbeats of one kiosk at once (two ingest processes): one after the other.
        store.lock_kiosk(cur, heartbeat.kiosk_id)
        cur.execute("INSERT INTO heartbeats (kiosk_id, sent_at, received_at, body) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (heartbeat.kiosk_id, sent, iso(received_at), body))
        if cur.rowcount != 1:
            return Recorded.REPLAY
        # The kiosk's row of ``kiosks`` is locked above: no FOR UPDATE needed here.
        row = cur.execute("SELECT sent_at FROM kiosk_health WHERE kiosk_id = ?",
                          (heartbeat.kiosk_id,)).one()
        if row is not None and row["sent_at"] >= sent:
            return Recorded.LATE
        if row is None:
            cur.execute("INSERT INTO kiosk_health (kiosk_id, sent_at, received_at, body) "
                        "VALUES (?, ?, ?, ?)", (heartbeat.kiosk_id, sent, iso(received_at), body))
        else:
            cur.execute("UPDATE kiosk_health SET sent_at = ?, received_at = ?, body = ? "
                        "WHERE kiosk_id = ?", (sent, iso(received_at), body, heartbeat.kiosk_id))
        # Only the counts that moved are written: a heartbeat carries up to 8 weeks of them,
        # of which usually a handful changed since the last one.
        stored: dict[tuple[str, str, int], int] = {}
        if heartbeat.ratings:
            stored = {(row["procedure"], row["week"], int(row["rating"])): int(row["count"])
                      for row in cur.execute(
                          "SELECT procedure, week, rating, count FROM ratings WHERE kiosk_id = ? "
                          "AND week >= ?", (heartbeat.kiosk_id,
                                            min(r.week for r in heartbeat.ratings))).all()}
        for r in heartbeat.ratings:
            if stored.get((r.procedure, r.week, r.rating)) == r.count:
                continue
            cur.execute("INSERT INTO ratings (kiosk_id, procedure, week, rating, count) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kiosk_id, procedure, week, rating) "
                        "DO UPDATE SET count = excluded.count",
                        (heartbeat.kiosk_id, r.procedure, r.week, r.rating, r.count))
    return Recorded.LATEST


def prune(store: MetadataStore, received_before: datetime) -> int:
    """Delete the history received before ``received_before`` (each kiosk's latest stays, in
    ``kiosk_health``); how many rows went."""
    with store.transaction() as cur:
        cur.execute("DELETE FROM heartbeats WHERE received_at < ?", (iso(received_before),))
        return int(cur.rowcount)


def _parsed(kiosk_id: str, row: Any) -> Heartbeat | None:
    try:
        return from_json(row["body"])
    except HeartbeatError as exc:      # a body this version cannot read: skipped, said
        log.error("kiosk %s: stored heartbeat of %s unreadable: %s", kiosk_id, row["sent_at"],
                  exc)
        return None


def latest_health(store: MetadataStore, *, include_revoked: bool = False
                  ) -> list[LatestHeartbeat]:
    """The latest heartbeat of every enrolled kiosk that ever sent one (revoked kiosks left
    out unless asked for), by kiosk id."""
    sql = ("SELECT h.kiosk_id AS kiosk_id, h.sent_at AS sent_at, h.received_at AS "
           "received_at, h.body AS body FROM kiosk_health h JOIN kiosks k "
           "ON k.kiosk_id = h.kiosk_id")
    if not include_revoked:
        sql += " WHERE k.revoked_at IS NULL"
    with store.read() as cur:
        rows = cur.execute(sql + " ORDER BY h.kiosk_id").all()
    out = []
    for row in rows:
        heartbeat = _parsed(row["kiosk_id"], row)
        if heartbeat is not None:
            out.append(LatestHeartbeat(row["kiosk_id"], heartbeat, parse_iso(row["received_at"])))
    return out


def history(store: MetadataStore, kiosk_id: str, since: datetime
            ) -> list[tuple[Heartbeat, datetime]]:
    """A kiosk's heartbeats sent since ``since``, oldest first, each with its reception."""
    with store.read() as cur:
        rows = cur.execute("SELECT sent_at, received_at, body FROM heartbeats "
                           "WHERE kiosk_id = ? AND sent_at >= ? ORDER BY sent_at",
                           (kiosk_id, iso(since))).all()
    out = []
    for row in rows:
        heartbeat = _parsed(kiosk_id, row)
        if heartbeat is not None:
            out.append((heartbeat, parse_iso(row["received_at"])))
    return out


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def ratings(store: MetadataStore, kiosk_id: str | None = None, *, weeks: int | None = 8,
            today: date | None = None) -> list[StoredRating]:
    """The rating counts of one kiosk (or all), for the ISO week of ``today`` (default: now)
    and the ``weeks - 1`` before it (None: every week kept), by kiosk, week, procedure and
    rating."""
    sql = "SELECT kiosk_id, procedure, week, rating, count FROM ratings WHERE 1 = 1"
    params: list[Any] = []
    if kiosk_id is not None:
        sql += " AND kiosk_id = ?"
        params.append(kiosk_id)
    if weeks is not None:
        day = today or datetime.now(UTC).date()
        monday = day - timedelta(days=day.isoweekday() - 1)
        sql += " AND week >= ? AND week <= ?"
        # ISO week strings ("2026-W09") sort as the weeks do.
        params += [iso_week(monday - timedelta(weeks=max(weeks, 1) - 1)), iso_week(day)]
    with store.read() as cur:
        rows = cur.execute(sql + " ORDER BY kiosk_id, week, procedure, rating", params).all()
    return [StoredRating(r["kiosk_id"], r["procedure"], r["week"], int(r["rating"]),
                         int(r["count"])) for r in rows]
