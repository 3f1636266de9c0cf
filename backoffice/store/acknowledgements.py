"""The ``acknowledgements`` table: one accusé de réception per deposit, its facts frozen.

An accusé de réception is a document the citizen keeps; what it states must not change
after it was issued, even when a request for documents later moves the deposit's
deemed-decision date (``deposits.deemed_on``). So the facts it states are stored once,
as JSON, when it is issued (backoffice/legalchain.py), and the PDF is rendered from
them on demand (backoffice/acknowledgement.py). Issuing twice keeps the first: the
row is never updated.

Same database and transactions as :class:`~backoffice.store.metadata.MetadataStore`
(both engines), like backoffice/store/staffdb.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backoffice.errors import UnknownDepositError
from backoffice.store.metadata import MetadataStore, iso, parse_iso


@dataclass(frozen=True)
class AcknowledgementRow:
    deposit_id: str
    issued_at: datetime
    facts: str            # JSON, as backoffice/acknowledgement.py wrote it


class AcknowledgementStore:
    """Accusés de réception on the metadata store's database."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store

    def issue(self, deposit_id: str, issued_at: datetime, facts: str) -> AcknowledgementRow:
        """Store the accusé de réception of ``deposit_id`` unless one exists; the one stored
        (the first, when two are issued at once). UnknownDepositError when no such deposit."""
        with self.store.transaction() as cur:
            if cur.execute("SELECT deposit_id FROM deposits WHERE deposit_id = ?",
                           (deposit_id,)).one() is None:
                raise UnknownDepositError(f"no deposit {deposit_id} is stored")
            cur.execute("INSERT INTO acknowledgements (deposit_id, issued_at, facts) "
                        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (deposit_id, iso(issued_at), facts))
            row = cur.execute("SELECT deposit_id, issued_at, facts FROM acknowledgements "
                              "WHERE deposit_id = ?", (deposit_id,)).one()
        assert row is not None   # inserted or already there, in this transaction
        return AcknowledgementRow(row["deposit_id"], parse_iso(row["issued_at"]), row["facts"])

    def get(self, deposit_id: str) -> AcknowledgementRow | None:
        with self.store.read() as cur:
            row = cur.execute("SELECT deposit_id, issued_at, facts FROM acknowledgements "
                              "WHERE deposit_id = ?", (deposit_id,)).one()
        if row is None:
            return None
        return AcknowledgementRow(row["deposit_id"], parse_iso(row["issued_at"]), row["facts"])
