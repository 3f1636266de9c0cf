"""Receiving a citizen's sealed contact with a deposit (tus ``Upload-Metadata`` key ``contact``).

The ingest calls :func:`from_metadata` when an upload is created (the sealed card is kept
in the upload's metadata, ciphertext, until the deposit is stored) and :func:`arrived`
once the deposit is stored: the card goes to the ``contacts`` table as received, and
leaves the upload's record. The ingest never opens it and never refuses a deposit for it:
a card that is not the shape of one is dropped (logged), the dossier is what matters.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime

from backoffice.store.metadata import DepositRecord, MetadataStore, UploadRecord
from backoffice.store.notifydb import NotifyStore
from deposit import age_format, age_keys
from deposit.contact import MAX_SEALED_BYTES
from deposit.errors import HeaderError

log = logging.getLogger(__name__)

KEY = "contact"
_STANZAS = frozenset({age_keys.PQ_STANZA, age_keys.X25519_STANZA})


def shape_problem(sealed: bytes) -> str | None:
    """Why ``sealed`` cannot be a sealed contact card (checked without the key), or None."""
    if len(sealed) > MAX_SEALED_BYTES:
        return f"{len(sealed)} bytes, more than the {MAX_SEALED_BYTES} of a contact card"
    try:
        age_format.check_shape(sealed, len(sealed), _STANZAS)
    except HeaderError as exc:
        return f"not an age file for the notifier ({exc})"
    return None


def from_metadata(meta: dict[str, bytes]) -> dict[str, bytes]:
    """The ``contact`` entry of decoded upload metadata, to keep with the upload; nothing when
    absent or not the shape of a sealed card (logged)."""
    sealed = meta.get(KEY)
    if sealed is None:
        return {}
    problem = shape_problem(sealed)
    if problem is not None:
        log.warning("an upload's contact was dropped: %s", problem)
        return {}
    return {KEY: sealed}


def _contact_in(header: str) -> tuple[bytes | None, str]:
    """The sealed contact in a stored ``Upload-Metadata`` header, and the header without it."""
    found: bytes | None = None
    kept: list[str] = []
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if key == KEY:
            try:
                found = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                found = None
        elif key:
            kept.append(pair.strip())
    return found, ",".join(kept)


def arrived(store: MetadataStore, record: DepositRecord, upload: UploadRecord,
            now: datetime) -> None:
    """Keep the contact that came with a newly stored deposit (called once per deposit)."""
    sealed, rest = _contact_in(upload.metadata)
    if sealed is None:
        return
    NotifyStore(store).keep_contact(record.deposit_id, sealed, now)
    with store.transaction() as cur:   # the contacts table is now its only place
        cur.execute("UPDATE uploads SET metadata = ? WHERE upload_id = ?",
                    (rest, upload.upload_id))
    log.info("deposit %s came with a contact for notifications (sealed)", record.deposit_id)
