"""Values of the back office that cross a boundary. Keep them stable.

:class:`DossierStatus` is stored in the metadata store (``deposits.status``,
``status_history.status``), typed by staff on the command line (``backoffice
status``), printed by ``backoffice inbox --json``, counted in ``/metrics``
(``deposits:<status>``), and shown to the citizen on the status page (whose
labels are keyed by it: backoffice/statuspage.py).
"""

from __future__ import annotations

from enum import StrEnum


class DossierStatus(StrEnum):
    """Where a dossier stands at the service, as staff set it and the citizen sees it."""

    RECEIVED = "received"        # stored: what every dossier is when it arrives
    IN_REVIEW = "in_review"      # an agent is examining it
    INCOMPLETE = "incomplete"    # documents are missing (the message says which)
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CLOSED = "closed"            # closed without follow-up (classé sans suite)

    @property
    def words(self) -> str:
        """The status as staff type and read it (``in review``)."""
        return self.value.replace("_", " ")

    @property
    def final(self) -> bool:
        """A decision: nothing follows it (backoffice/decisions.py)."""
        return self in (DossierStatus.ACCEPTED, DossierStatus.REJECTED, DossierStatus.CLOSED)
