"""The technicians' badges of the metadata store (table ``badges`` of schema version 4).

A row is kept for every badge issued (who holds it, when it expires, which OS
user issued it) so that it can be listed and revoked; the badge itself (its PIN
verifier, its signature) lives only on the printed card. Revocations reach
kiosks in the signed fleet state (backoffice/fleetstate.py), which lists the
badges revoked and not yet expired (:meth:`BadgeStore.revoked_unexpired`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backoffice.store.metadata import MetadataStore, iso, parse_iso


class BadgeState(StrEnum):
    """A badge as ``backoffice badge list`` shows it (also in its ``--json``)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class BadgeRecord:
    badge_id: str
    holder: str
    issued_at: datetime
    expires_at: datetime
    issued_by: str                  # the OS user who ran ``backoffice badge issue``
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> BadgeState:
        if self.revoked_at is not None:
            return BadgeState.REVOKED
        return BadgeState.EXPIRED if now >= self.expires_at else BadgeState.VALID


def _record(row: Any) -> BadgeRecord:
    return BadgeRecord(
        badge_id=row["badge_id"], holder=row["holder"], issued_at=parse_iso(row["issued_at"]),
        expires_at=parse_iso(row["expires_at"]), issued_by=row["issued_by"],
        revoked_at=parse_iso(row["revoked_at"]) if row["revoked_at"] else None)


class BadgeStore:
    """Badges on the database of a :class:`MetadataStore` (SQLite and PostgreSQL)."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def add(self, badge: BadgeRecord) -> bool:
        """Record a new badge; False if its id is taken (ids are random: draw again)."""
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO badges (badge_id, holder, issued_at, expires_at, issued_by, "
                "revoked_at) VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                (badge.badge_id, badge.holder, iso(badge.issued_at), iso(badge.expires_at),
                 badge.issued_by))
            return cur.rowcount == 1

    def get(self, badge_id: str) -> BadgeRecord | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT * FROM badges WHERE badge_id = ?", (badge_id,)).one()
        return _record(row) if row else None

    def all(self) -> list[BadgeRecord]:
        """Every badge ever issued, the most recent first."""
        with self.store.read() as cur:
            rows = cur.execute("SELECT * FROM badges ORDER BY issued_at DESC, badge_id").all()
        return [_record(r) for r in rows]

    def revoke(self, badge_id: str, now: datetime) -> BadgeRecord | None:
        """Mark a badge revoked (once: revoking again keeps the first time); None if unknown."""
        with self.store.transaction() as cur:
            cur.execute("UPDATE badges SET revoked_at = ? "
                        "WHERE badge_id = ? AND revoked_at IS NULL", (iso(now), badge_id))
            row = cur.execute("SELECT * FROM badges WHERE badge_id = ?", (badge_id,)).one()
        return _record(row) if row else None

    def revoked_unexpired(self, now: datetime) -> list[str]:
        """Ids of the badges revoked and not yet expired at ``now``: what kiosks must refuse."""
        with self.store.read() as cur:
            rows = cur.execute("SELECT badge_id FROM badges WHERE revoked_at IS NOT NULL AND "
                               "expires_at > ? ORDER BY badge_id", (iso(now),)).all()
        return [r["badge_id"] for r in rows]
