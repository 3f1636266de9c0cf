"""What the law attaches to a deposit when it arrives, and as its dossier moves on.

A deposit received by the back office has been received by the administration
on the day the kiosk recorded it (its accusé d'enregistrement, CRPA L112-11). From
then on (CRPA L112-3, R112-5, L114-5; docs/legal-chain.md):

- its deemed-decision date is computed from its procedure's silence rule and delay
  (:func:`deemed_on_arrival`; backoffice/deadlines.py counts);
- its accusé de réception is issued, its facts frozen at that moment
  (:func:`arrived`; backoffice/acknowledgement.py). The PDF is rendered from those
  facts when the citizen or the staff ask for it.

The ingest calls both for every new deposit; neither ever refuses a deposit: a
procedure the catalog does not know, or whose legal facts are missing, gets no
date rather than a wrong one (logged).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from backoffice import acknowledgement, deadlines, procedures
from backoffice.errors import StoreError
from backoffice.store.metadata import DepositRecord, MetadataStore
from deposit.legal import Silence

log = logging.getLogger(__name__)


def deemed_on_arrival(procedure: str, received_at: datetime) -> date | None:
    """The deemed-decision date of a deposit of ``procedure`` received at ``received_at``
    (no request for documents yet); None when its silence means nothing or is not known."""
    info = procedures.shipped().get(procedure)
    if info is None or info.silence in (None, Silence.NONE) or info.decision_delay is None:
        return None
    received = deadlines.receipt_date(received_at)
    return deadlines.deemed_decision(received, info.decision_delay, info.silence,
                                     today=received).deemed_on


def arrived(store: MetadataStore, record: DepositRecord, now: datetime) -> None:
    """Everything the law attaches to a deposit once it is stored (called once per deposit):
    its accusé de réception is issued. Never raises: the deposit is stored already."""
    try:
        facts = acknowledgement.issue(store, record, now)
    except acknowledgement.AcknowledgementError as exc:
        log.warning("deposit %s: no accusé de réception can be issued (%s): the service must "
                  "send one itself", record.deposit_id, exc)
        return
    except StoreError:
        log.exception("deposit %s: the accusé de réception could not be stored now; it will "
                      "be issued when first asked for", record.deposit_id)
        return
    log.info("deposit %s: accusé de réception issued (silence means %s, deemed decision on "
             "%s)", record.deposit_id, facts.silence, facts.deemed_on or "no date")
