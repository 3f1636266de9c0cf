"""Values of deposit/ that cross a process, disk or network boundary. Keep them stable.

Each enum says who else depends on its values; renaming one is a migration.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxState(StrEnum):
    """Where a deposit is in the kiosk's outbox.

    Stored in ``outbox.sqlite3`` (deposit/outbox.py; a CHECK constraint lists
    the values), shared by the kiosk application and ``kiosk uploader`` (two
    processes), printed by ``kiosk uploader --json`` and ``kiosk export``.
    """

    SEALED = "sealed"              # waiting for upload (possibly not before its retry_at)
    UPLOADING = "uploading"        # an uploader holds a lease on it
    REFUSED = "refused"            # the back office refused this dossier as it is: kept, reported
    ACKNOWLEDGED = "acknowledged"  # the back office's signed acknowledgement is stored
    PURGED = "purged"              # envelope deleted after the acknowledgement; the row stays


class AckDisposition(StrEnum):
    """What the back office did with an envelope, as its signed acknowledgement says.

    Signed by backoffice/ingest.py, verified by deposit/ack.py on the kiosk;
    part of the acknowledgement's wire format (docs/contracts.md).
    """

    STORED = "stored"              # the dossier of this deposit id
    CONFLICT = "conflict"          # another envelope already holds this id: kept apart for staff


class DeliveryOutcome(StrEnum):
    """What became of one delivery attempt of one deposit.

    Stored as ``last_outcome`` in ``outbox.sqlite3``, printed by ``kiosk uploader
    --json`` and the demo's report (docs/contracts.md).
    """

    DELIVERED = "delivered"          # acknowledged as stored: the envelope is deleted
    CONFLICT = "conflict"            # acknowledged, kept apart by the back office (see above)
    RETRY = "retry"                  # not delivered this time (network, busy server, an
    #                                  acknowledgement that does not verify): retried later
    REFUSED = "refused"              # the back office refused this dossier (422, 413...): kept
    #                                  on the kiosk, reported, not sent again until asked
    KIOSK_REFUSED = "kiosk_refused"  # the back office refused this kiosk (revoked, unknown or
    #                                  expired certificate): nothing goes until it accepts it

    @property
    def acknowledged(self) -> bool:
        return self in (DeliveryOutcome.DELIVERED, DeliveryOutcome.CONFLICT)


class Standing(StrEnum):
    """How the back office treated this kiosk the last time the uploader spoke to it.

    Written by ``kiosk uploader`` into the outbox (``meta``), read by the kiosk
    application: REFUSED makes the welcome screen refuse new deposits,
    UNREACHABLE makes the receipt say the dossier waits for the network.
    """

    UNKNOWN = "unknown"            # never tried since the outbox was created
    ONLINE = "online"              # the back office answered
    UNREACHABLE = "unreachable"    # no answer, or not the answers of a working back office
    REFUSED = "refused"            # the back office refuses this kiosk (or its certificate expired)
