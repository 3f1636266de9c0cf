"""The complements of the metadata store: envelopes a citizen brought in answer to a request
for missing documents, each kept beside the dossier it completes (table ``complements``).

A complement is an envelope like a deposit (its own number, manifest, acknowledgement and
object), but it is not a dossier of its own: the staff's inbox never lists it, the
dossier it names shows it. Storing one completes its upload in the same transaction,
as :meth:`MetadataStore.store_deposit` does for a deposit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from backoffice.errors import StoreError
from backoffice.store.metadata import MetadataStore, iso, parse_iso


@dataclass(frozen=True)
class ComplementRecord:
    complement_id: str        # the complement's own deposit number
    deposit_id: str           # the dossier it completes
    request_id: str           # the request for documents it answers
    kiosk_id: str
    created_at: datetime      # on the kiosk, from the manifest
    received_at: datetime     # here
    envelope_sha256: str
    envelope_size: int
    manifest: bytes
    object_key: str
    ack: bytes


def _record(row: Any) -> ComplementRecord:
    return ComplementRecord(
        complement_id=row["complement_id"], deposit_id=row["deposit_id"],
        request_id=row["request_id"], kiosk_id=row["kiosk_id"],
        created_at=parse_iso(row["created_at"]), received_at=parse_iso(row["received_at"]),
        envelope_sha256=row["envelope_sha256"], envelope_size=int(row["envelope_size"]),
        manifest=bytes(row["manifest"]), object_key=row["object_key"], ack=bytes(row["ack"]))


class ComplementStore:
    """Complements on the database of a :class:`MetadataStore` (both engines)."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def add(self, c: ComplementRecord, upload_id: str | None) -> ComplementRecord:
        """Record a complement (and complete its upload); returns the one stored under its
        number: ``c`` itself, or the one another request stored first."""
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO complements (complement_id, deposit_id, request_id, kiosk_id, "
                "created_at, received_at, envelope_sha256, envelope_size, manifest, object_key, "
                "ack) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (c.complement_id, c.deposit_id, c.request_id, c.kiosk_id, iso(c.created_at),
                 iso(c.received_at), c.envelope_sha256, c.envelope_size, c.manifest,
                 c.object_key, c.ack))
            if cur.rowcount == 1:
                if upload_id is not None:
                    cur.execute("UPDATE uploads SET state = 'complete', ack = ? "
                                "WHERE upload_id = ?", (c.ack, upload_id))
                return c
            row = cur.execute("SELECT * FROM complements WHERE complement_id = ?",
                              (c.complement_id,)).one()
        if row is None:  # pragma: no cover - a complement is never deleted
            raise StoreError(f"complement {c.complement_id} vanished while being stored")
        return _record(row)

    def get(self, complement_id: str) -> ComplementRecord | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT * FROM complements WHERE complement_id = ?",
                              (complement_id,)).one()
        return _record(row) if row else None

    def of_deposit(self, deposit_id: str) -> list[ComplementRecord]:
        """The complements of one dossier, in the order they arrived."""
        with self.store.read() as cur:
            rows = cur.execute("SELECT * FROM complements WHERE deposit_id = ? "
                               "ORDER BY received_at, complement_id", (deposit_id,)).all()
        return [_record(r) for r in rows]
