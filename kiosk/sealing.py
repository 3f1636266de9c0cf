"""Sealing a deposit: ``deposit.json`` and the dossier PDF built in memory, encrypted and queued.

Sealing ends when the envelope is durable in the outbox; it never waits for the
network. Delivery belongs to the uploader (``kiosk uploader``, its own
process), which :class:`DepositService` only nudges (:mod:`kiosk.nudge`), so a
receipt appears as soon as the dossier is safe, however long the upload
backlog and however slow the back office.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from deposit import contact as contactmod
from deposit.errors import OutboxError, OutboxFullError
from deposit.ids import DepositId
from deposit.manifest import new_tracking_token, rfc3339
from deposit.outbox import Entry, StandingRecord
from deposit.status import Standing
from kiosk.catalog import Catalog, Procedure
from kiosk.complement import Complement
from kiosk.events import Clock
from kiosk.journey import PRIVACY_NOTICE_VERSION, DepositResult, Seal
from kiosk.reasons import SealFailure
from kiosk.session import Session
from kiosk.twoddocs import META_KEY as TWODDOC_META
from printer.dossier import DossierDocument, DossierInfo, dossier_pdf
from printer.receipt import tracking_url

log = logging.getLogger(__name__)


class SealError(Exception):
    """Sealing failed; ``reason`` is what the citizen is told."""

    def __init__(self, reason: SealFailure, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class DepositQueue(Protocol):
    """What sealing needs of the outbox (``deposit.outbox.Outbox`` opened with a sealer)."""

    def seal_and_queue(self, *, deposit_id: str, procedure: str,
                       deposit_json: dict[str, Any], pdf: bytes | bytearray | memoryview,
                       tracking_token: str, created: datetime | None = None,
                       language: str = "fr", complement_of: str | None = None,
                       request_id: str | None = None,
                       sealed_contact: bytes | None = None) -> Entry: ...

    def standing(self) -> StandingRecord: ...


class DepositNumbers(Protocol):
    """``deposit.ids.DepositIdGenerator``: the next deposit number of this kiosk."""

    def next(self) -> DepositId: ...


class Sealer(Protocol):
    """What the controller calls on its job thread (:class:`DepositService`)."""

    def seal(self, request: Seal, session: Session) -> SealedDeposit: ...


@dataclass(frozen=True)
class SealedDeposit:
    result: DepositResult
    created: datetime
    token: str


#: Standings in which the receipt says the dossier waits for the network.
_OFFLINE = (Standing.UNREACHABLE, Standing.REFUSED)


class DepositService:
    """Builds the dossier of a :class:`~kiosk.journey.Seal` request and queues it, encrypted.

    ``ids`` resumes from the outbox's last id; ``public_url`` is the back
    office's public address for tracking links; ``nudge`` tells the uploader
    there is something to send (it must not block: the receipt waits for it).
    ``notifier``: the back office notifier's age recipient (enrollment bundle), to which
    the contact of a citizen who consented is sealed; None (an older bundle): no contact
    leaves the envelope, and notifications are not sent (logged once).
    """

    def __init__(self, outbox: DepositQueue, ids: DepositNumbers, catalog: Catalog, *,
                 kiosk_id: str, kiosk_place: str, public_url: str,
                 timezone: str = "Europe/Paris", nudge: Callable[[], object] = lambda: None,
                 wall_clock: Clock = time.time, notifier: str | None = None) -> None:
        self.outbox = outbox
        self.ids = ids
        self.catalog = catalog
        self.kiosk_id = kiosk_id
        self.kiosk_place = kiosk_place
        self.public_url = public_url
        self.timezone = timezone
        self.nudge = nudge
        self._wall = wall_clock
        self.notifier = notifier
        self._told_no_notifier = False

    def deposit_json(self, request: Seal, deposit_id: str, created: datetime,
                     procedure: Procedure, pages: Sequence[tuple[str, int]],
                     codes: Mapping[str, list[dict[str, Any]]] | None = None
                     ) -> dict[str, Any]:
        """The ``deposit.json`` of docs/contracts.md (inside the envelope only).

        ``codes``: per document code, the 2D-Doc read on its pages (kiosk/twoddocs.py,
        each record with its 1-based ``page`` in the document): a document's ``twoddoc``
        list, present only when a code was read, so that a deposit without any is what
        it always was."""
        codes = codes or {}
        contact: Mapping[str, str] | None = None
        if request.contact is not None:
            contact = {k: v for k, v in (("email", request.contact.email),
                                         ("phone", request.contact.phone)) if v}
        return {
            "version": 1, "deposit_id": deposit_id, "kiosk_id": self.kiosk_id,
            "kiosk_place": self.kiosk_place,
            "procedure": {"code": procedure.code, "title": procedure.name.get("fr")},
            "case_reference": request.case_reference, "language": request.language,
            "created": rfc3339(created),
            "documents": [{"code": code, "title": document_title(procedure, code, "fr"),
                           "pages": count, **({"twoddoc": codes[code]} if codes.get(code)
                                              else {})} for code, count in pages],
            "contact": contact or None,
            "consent": {"notice_version": PRIVACY_NOTICE_VERSION, "accepted": request.consent,
                        "at": rfc3339(created) if request.consent else None},
        }

    def sealed_contact(self, request: Seal, deposit_id: str, status_url: str) -> bytes | None:
        """The contact card sealed to the notifier, or None: no contact, no consent, or no
        notifier recipient in the enrollment (logged once). Sealed in memory only."""
        if request.contact is None or request.contact.empty or not request.consent:
            return None
        if self.notifier is None:
            if not self._told_no_notifier:
                self._told_no_notifier = True
                log.warning("the enrollment bundle has no notifier recipient (made before "
                            "notifications): citizens' contacts stay in the envelope only and "
                            "no notification is sent; enroll the kiosk again to enable them")
            return None
        try:
            card = _contact_card(request, deposit_id, status_url)
            return None if card is None else contactmod.seal(card, self.notifier)
        except contactmod.ContactError as exc:   # the dossier matters more than the notice
            log.error("deposit %s: the contact could not be sealed for notifications (%s); "
                      "it stays in the envelope only", deposit_id, exc)
            return None

    def seal(self, request: Seal, session: Session) -> SealedDeposit:
        """Seal and queue; :class:`SealError` saying why not (nothing is queued then)."""
        procedure = self.catalog.get(request.procedure)
        if procedure is None:
            raise SealError(SealFailure.ERROR,
                            f"procedure {request.procedure!r} is not in the catalog")
        created = datetime.fromtimestamp(self._wall(), UTC)
        try:
            documents = [DossierDocument(title=document_title(procedure, doc.code, "fr"),
                                         pages=[p.encoded for p in session.pages(doc.page_ids)],
                                         code=doc.code)
                         for doc in request.documents]
            codes = {doc.code: [{"page": number, **record}
                                for number, page in enumerate(session.pages(doc.page_ids), 1)
                                for record in page.meta.get(TWODDOC_META, [])]
                     for doc in request.documents}
        except KeyError as exc:
            raise SealError(SealFailure.ERROR, f"page {exc} is no longer in the session"
                            ) from None
        deposit_id = self.ids.next()
        info = DossierInfo(deposit_id=deposit_id, procedure_code=procedure.code,
                           procedure_title=procedure.name.get("fr"), created=created,
                           kiosk_id=self.kiosk_id, kiosk_place=self.kiosk_place,
                           case_reference=request.case_reference,
                           citizen_language=request.language, timezone=self.timezone)
        pdf = dossier_pdf(info, documents)
        complement = request.complement
        # A complement keeps the original's token (read from the receipt): the back office
        # checks it, and the citizen follows both with the one receipt they already hold.
        token = complement.token if complement is not None else new_tracking_token()
        body = self.deposit_json(request, str(deposit_id), created, procedure,
                                 [(d.code, len(d.page_ids)) for d in request.documents], codes)
        # A complement's receipt follows the dossier it adds to.
        followed = DepositId.parse(complement.of) if complement is not None else deposit_id
        url = tracking_url(self.public_url, followed, token)
        sealed_contact = self.sealed_contact(request, str(deposit_id), url)
        try:
            self.outbox.seal_and_queue(deposit_id=str(deposit_id), procedure=procedure.code,
                                       deposit_json=body, pdf=pdf, tracking_token=token,
                                       created=created, language=request.language,
                                       sealed_contact=sealed_contact,
                                       **_complement_fields(complement))
        except OutboxFullError as exc:
            raise SealError(SealFailure.DISK_FULL, str(exc)) from None
        except OutboxError as exc:
            raise SealError(SealFailure.ERROR, str(exc)) from None
        finally:
            del pdf, body
        self.nudge()
        try:
            offline = self.outbox.standing().standing in _OFFLINE
        except OutboxError as exc:   # the dossier is queued: that is all the receipt needs
            log.warning("the uploader's last standing is unreadable: %s", exc)
            offline = True
        return SealedDeposit(DepositResult(str(deposit_id), url, queued_offline=offline,
                                           complement_of=str(followed) if complement else None),
                             created, token)


def _complement_fields(complement: Complement | None) -> dict[str, str]:
    """The manifest's complement_of and request_id for a complement, nothing otherwise."""
    if complement is None:
        return {}
    if complement.request_id is None:
        raise SealError(SealFailure.ERROR, "a complement without the request it answers")
    return {"complement_of": complement.of, "request_id": complement.request_id}


def _contact_card(request: Seal, deposit_id: str, status_url: str
                  ) -> contactmod.ContactCard | None:
    """The card for the notifier: only a contact the citizen gave *and* consented to."""
    if request.contact is None or request.contact.empty or not request.consent:
        return None
    return contactmod.ContactCard(
        deposit_id=deposit_id, email=request.contact.email or None,
        phone=request.contact.phone or None, language=request.language,
        status_url=status_url, notice_version=PRIVACY_NOTICE_VERSION)


def document_title(procedure: Procedure, code: str, language: str) -> str:
    spec = procedure.document(code)
    return spec.name.get(language) if spec else code
