"""The notifier's side of the metadata store: sealed contacts, events, notifications to send.

Tables of schema version 3 (backoffice/store/schema.py), used as they are:

- ``contacts``: a deposit's contact card as the kiosk sealed it for the notifier
  (ciphertext, deposit/contact.py); erased when no longer needed (:meth:`NotifyStore.erase`);
- ``notifications``: one row per (deposit, event, channel), its id deterministic
  (:func:`notification_id`), so planning the same event twice inserts nothing.

Events are read from the tables where other parts of the back office write them,
never pushed by them: a row of ``status_history`` after the first (the first is
the deposit's arrival), and a row of ``document_requests``. Only deposits that
have a contact are looked at.

Every method commits before it returns, like :class:`~backoffice.store.metadata.MetadataStore`'s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backoffice.status import DossierStatus
from backoffice.store.metadata import MetadataStore, iso, parse_iso


class EventKind(StrEnum):
    """What happened to a dossier that the citizen is told. Stored as the prefix of
    ``notifications.event``; chooses the message (backoffice/notifytext.py)."""

    STATUS = "status"            # a new status after the first (the text never says which)
    DOCUMENTS = "documents"      # a request for missing documents


class Channel(StrEnum):
    """How a notification goes out; stored in ``notifications.channel``."""

    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class Event:
    """One event of one deposit: ``ref`` is the status's time, or the request's id."""

    deposit_id: str
    kind: EventKind
    ref: str

    @property
    def key(self) -> str:
        """``notifications.event``: ``status:<time>`` or ``documents:<request id>``."""
        return f"{self.kind.value}:{self.ref}"

    @classmethod
    def parse(cls, deposit_id: str, key: str) -> Event:
        kind, _, ref = key.partition(":")
        return cls(deposit_id, EventKind(kind), ref)


def notification_id(deposit_id: str, event_key: str, channel: Channel) -> str:
    """Deterministic: the same event on the same channel is one notification, ever."""
    return hashlib.sha256(f"{deposit_id}|{event_key}|{channel.value}".encode()).hexdigest()


@dataclass(frozen=True)
class Notification:
    notification_id: str
    deposit_id: str
    event: Event
    channel: Channel
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    sent_at: datetime | None = None
    given_up_at: datetime | None = None
    last_error: str | None = None

    @property
    def settled(self) -> bool:
        return self.sent_at is not None or self.given_up_at is not None


def _notification(row: Any) -> Notification:
    def when(name: str) -> datetime | None:
        return parse_iso(row[name]) if row[name] else None

    return Notification(
        notification_id=row["notification_id"], deposit_id=row["deposit_id"],
        event=Event.parse(row["deposit_id"], row["event"]), channel=Channel(row["channel"]),
        created_at=parse_iso(row["created_at"]), next_attempt_at=parse_iso(row["next_attempt_at"]),
        attempts=int(row["attempts"]), sent_at=when("sent_at"), given_up_at=when("given_up_at"),
        last_error=row["last_error"])


#: Status events not planned yet, of deposits with a contact. The arrival is the first row
#: of a deposit's history (at = received_at): not an event. Nor are the statuses a request
#: for documents moves the dossier through (in review, incomplete: written by the request's
#: author in the request's own second, backoffice/store/requestsdb.py): the request's own
#: message tells the citizen, once, rather than three messages at the same moment.
_NEW_STATUS_EVENTS = """
SELECT h.deposit_id AS deposit_id, h.at AS ref FROM status_history h
JOIN contacts c ON c.deposit_id = h.deposit_id
JOIN deposits d ON d.deposit_id = h.deposit_id
WHERE h.at > d.received_at AND NOT EXISTS (
    SELECT 1 FROM notifications n WHERE n.deposit_id = h.deposit_id
    AND n.event = 'status:' || h.at)
AND NOT EXISTS (
    SELECT 1 FROM document_requests r WHERE r.deposit_id = h.deposit_id
    AND r.requested_by = h.actor AND substr(r.requested_at, 1, 19) = substr(h.at, 1, 19))
ORDER BY h.at LIMIT ?
"""
_NEW_REQUEST_EVENTS = """
SELECT r.deposit_id AS deposit_id, r.request_id AS ref FROM document_requests r
JOIN contacts c ON c.deposit_id = r.deposit_id
WHERE NOT EXISTS (
    SELECT 1 FROM notifications n WHERE n.deposit_id = r.deposit_id
    AND n.event = 'documents:' || r.request_id)
ORDER BY r.requested_at LIMIT ?
"""


class NotifyStore:
    """Queries of the notifier over the back office's metadata store (both engines)."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ contacts
    def keep_contact(self, deposit_id: str, sealed: bytes, at: datetime) -> bool:
        """Store a deposit's sealed contact as received; False if it had one already."""
        with self.store.transaction() as cur:
            cur.execute("INSERT INTO contacts (deposit_id, sealed, stored_at) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING", (deposit_id, sealed, iso(at)))
            return cur.rowcount == 1

    def contact(self, deposit_id: str) -> bytes | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT sealed FROM contacts WHERE deposit_id = ?",
                              (deposit_id,)).one()
        return bytes(row["sealed"]) if row else None

    def erase(self, deposit_id: str) -> bool:
        """Forget a deposit's contact (its notifications' rows stay: they hold no address)."""
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM contacts WHERE deposit_id = ?", (deposit_id,))
            return cur.rowcount == 1

    def erasable(self, stored_before: datetime, limit: int = 500) -> list[str]:
        """Deposits whose contact has done its work: the dossier has a final status, that
        status was planned, and none of its notifications waits; or the contact was stored
        before ``stored_before`` (the retention)."""
        finals = [s.value for s in DossierStatus if s.final]
        marks = ", ".join("?" for _ in finals)
        with self.store.read() as cur:
            rows = cur.execute(
                f"SELECT c.deposit_id AS deposit_id FROM contacts c "  # noqa: S608 - only placeholders are interpolated
                f"JOIN deposits d ON d.deposit_id = c.deposit_id "
                f"WHERE c.stored_at < ? OR (d.status IN ({marks}) "
                f"AND EXISTS (SELECT 1 FROM notifications n WHERE n.deposit_id = c.deposit_id "
                f"AND n.event = 'status:' || d.status_at) "
                f"AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.deposit_id = c.deposit_id "
                f"AND n.sent_at IS NULL AND n.given_up_at IS NULL)) "
                f"ORDER BY c.deposit_id LIMIT ?",
                (iso(stored_before), *finals, limit)).all()
        return [row["deposit_id"] for row in rows]

    # ------------------------------------------------------------------ events
    def new_events(self, limit: int = 500) -> list[Event]:
        """Events of deposits with a contact that have no notification yet, oldest first."""
        with self.store.read() as cur:
            statuses = cur.execute(_NEW_STATUS_EVENTS, (limit,)).all()
            requests = cur.execute(_NEW_REQUEST_EVENTS, (limit,)).all()
        return ([Event(r["deposit_id"], EventKind.STATUS, r["ref"]) for r in statuses]
                + [Event(r["deposit_id"], EventKind.DOCUMENTS, r["ref"]) for r in requests])

    def plan(self, event: Event, channels: list[Channel], now: datetime) -> int:
        """One notification per channel for ``event``, due now; how many were new."""
        made = 0
        with self.store.transaction() as cur:
            for channel in channels:
                cur.execute(
                    "INSERT INTO notifications (notification_id, deposit_id, event, channel, "
                    "created_at, next_attempt_at, attempts, sent_at, given_up_at, last_error) "
                    "VALUES (?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL) ON CONFLICT DO NOTHING",
                    (notification_id(event.deposit_id, event.key, channel), event.deposit_id,
                     event.key, channel.value, iso(now), iso(now)))
                made += cur.rowcount
        return made

    # ------------------------------------------------------------------ sending
    def due(self, now: datetime, limit: int = 100) -> list[Notification]:
        with self.store.read() as cur:
            return [_notification(r) for r in cur.execute(
                "SELECT * FROM notifications WHERE sent_at IS NULL AND given_up_at IS NULL "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, notification_id LIMIT ?",
                (iso(now), limit)).all()]

    def claim(self, nid: str, due_at: datetime, until: datetime) -> bool:
        """Take a due notification for one send: its next attempt moved to ``until`` only if
        it was still ``due_at`` (so of two processes, one sends it); False if taken."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE notifications SET next_attempt_at = ? WHERE notification_id = ? "
                        "AND next_attempt_at = ? AND sent_at IS NULL AND given_up_at IS NULL",
                        (iso(until), nid, iso(due_at)))
            return cur.rowcount == 1

    def sent(self, nid: str, at: datetime) -> None:
        with self.store.transaction() as cur:
            cur.execute("UPDATE notifications SET sent_at = ?, attempts = attempts + 1, "
                        "last_error = NULL WHERE notification_id = ? AND sent_at IS NULL",
                        (iso(at), nid))

    def failed(self, nid: str, at: datetime, error: str, *, retry_at: datetime | None) -> None:
        """One more failed attempt: tried again at ``retry_at``, or given up when None."""
        with self.store.transaction() as cur:
            if retry_at is None:
                cur.execute("UPDATE notifications SET attempts = attempts + 1, last_error = ?, "
                            "given_up_at = ? WHERE notification_id = ?", (error, iso(at), nid))
            else:
                cur.execute("UPDATE notifications SET attempts = attempts + 1, last_error = ?, "
                            "next_attempt_at = ? WHERE notification_id = ?",
                            (error, iso(retry_at), nid))

    def notifications(self, deposit_id: str) -> list[Notification]:
        with self.store.read() as cur:
            return [_notification(r) for r in cur.execute(
                "SELECT * FROM notifications WHERE deposit_id = ? "
                "ORDER BY created_at, notification_id", (deposit_id,)).all()]
