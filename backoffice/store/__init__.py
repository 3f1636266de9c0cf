"""Storage of the back office, chosen by URL: metadata (SQL) and envelopes (objects)."""

from backoffice.store.engines import open_metadata
from backoffice.store.metadata import (
    ConflictRecord,
    DepositRecord,
    KioskRecord,
    MetadataStore,
    UploadRecord,
)
from backoffice.store.objects import ObjectStore, open_objects

__all__ = ["ConflictRecord", "DepositRecord", "KioskRecord", "MetadataStore",
           "ObjectStore", "UploadRecord", "open_metadata", "open_objects"]
