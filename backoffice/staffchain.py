"""The staff API's routes of the legal chain (docs/legal-chain.md): the accusé de réception,
requests for missing documents, and the complements that answer them.

::

    GET  /staff/v1/dossiers/<id>/acknowledgement.pdf           its accusé de réception
    POST /staff/v1/dossiers/<id>/requests                      ask for missing documents
    POST /staff/v1/dossiers/<id>/requests/<rq>/withdraw        withdraw that request
    GET  /staff/v1/dossiers/<id>/complements/<cid>/envelope    a complement's ciphertext
    GET  /staff/v1/dossiers/<id>/complements/<cid>/manifest    its signed manifest

The dossier view (backoffice/staffapi.py) takes its ``documents``, ``requests``,
``deemed`` and ``complements`` from :meth:`LegalChainEndpoints._chain_view`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backoffice import acknowledgement, deadlines, docrequests, procedures
from backoffice.errors import NotAllowed, Refusal, UnknownDepositError
from backoffice.roles import PERMISSIONS, Action, Outcome, Permission
from backoffice.staffbase import (
    StaffBase,
    _body,
    _deposit_id,
    _error,
    _expected_status,
    _json,
    _text,
)
from backoffice.staffviews import iso
from backoffice.store.complementsdb import ComplementRecord, ComplementStore
from backoffice.store.metadata import DepositRecord
from backoffice.store.staffdb import StaffRecord
from deposit.legal import add

log = logging.getLogger("backoffice.staffapi")


class LegalChainEndpoints(StaffBase):
    """Routes of the accusé de réception, requests for documents and complements."""

    async def acknowledgement(self, request: Request, actor: StaffRecord) -> Response:
        """The accusé de réception the citizen was given (issued now for a dossier stored
        before they were issued on arrival)."""
        self.need(actor, Permission.VIEW)
        record = await self._stored(request)
        try:
            pdf = await run_in_threadpool(acknowledgement.pdf_for, self.metadata, record,
                                          self.clock(), self.public_url)
        except acknowledgement.AcknowledgementError as exc:
            await self._record(actor, Action.VIEW, Outcome.REFUSED, record.deposit_id,
                               f"accusé de réception: {exc}")
            return _error(404, f"no accusé de réception can be issued ({exc}): the service "
                          "must send one itself")
        await self._record(actor, Action.VIEW, Outcome.DONE, record.deposit_id,
                           "accusé de réception")
        return Response(pdf, media_type="application/pdf",
                        headers=acknowledgement.headers(record.deposit_id))

    # ------------------------------------------------------------------ requests for documents
    def _chain_view(self, record: DepositRecord) -> dict[str, Any]:
        """The dossier view's part on the legal chain: the procedure's documents, the
        requests, the deemed decision as it stands today, and the complements received."""
        info = procedures.shipped().get(record.procedure)
        requests = docrequests.requests_of(self.metadata, record.deposit_id)
        now = self.clock()
        try:
            outcome = docrequests.deemed(info, record.received_at, requests,
                                         deadlines.receipt_date(now))
        except deadlines.TimelineError:
            log.exception("deposit %s: its requests cannot be counted", record.deposit_id)
            outcome = None                 # no date rather than a wrong one
        names = _french_names(info)
        return {
            "documents": [{"code": c, "name": n} for c, n in names.items()],
            "requests": [request_view(r, names, now) for r in reversed(requests)],
            "deemed": None if outcome is None else {
                "state": outcome.state.value, "silence": outcome.silence.value,
                "deemed_on": outcome.deemed_on.isoformat() if outcome.deemed_on else None},
            "max_deadline": add(deadlines.receipt_date(now),
                                docrequests.MAX_DEADLINE).isoformat(),
            "complements": [self._complement_view(c)
                            for c in ComplementStore(self.metadata).of_deposit(
                                record.deposit_id)],
        }

    def _complement_view(self, c: ComplementRecord) -> dict[str, Any]:
        """A complement as staff fetch and check it: its kiosk may not be the dossier's, so
        its kiosk's signing key comes with it."""
        kiosk = self.metadata.kiosk(c.kiosk_id)
        return {"complement_id": c.complement_id, "request_id": c.request_id,
                "kiosk_id": c.kiosk_id, "created": iso(c.created_at),
                "received": iso(c.received_at), "envelope_size": c.envelope_size,
                "envelope_sha256": c.envelope_sha256,
                "kiosk_signing_key": kiosk.signing_key_pem if kiosk else None}

    async def _complement(self, request: Request) -> ComplementRecord:
        """The complement the path names, of the dossier it names; 404 otherwise."""
        record = await self._stored(request)
        complement_id = _deposit_id(request.path_params["complement_id"])
        found = await run_in_threadpool(ComplementStore(self.metadata).get, complement_id)
        if found is None or found.deposit_id != record.deposit_id:
            raise UnknownDepositError(f"dossier {record.deposit_id} has no complement "
                                      f"{complement_id}")
        return found

    async def complement_envelope(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FETCH)
        c = await self._complement(request)
        await self._record(actor, Action.FETCH, Outcome.DONE, c.deposit_id,
                           f"complement {c.complement_id}: {c.envelope_size} bytes")
        return await self._send_object(c.object_key, c.envelope_size, c.envelope_sha256,
                                       f"the complement {c.complement_id}")

    async def complement_manifest(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FETCH)
        c = await self._complement(request)
        return Response(c.manifest, media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    def _no_open_request(self, deposit_id: str) -> None:
        """A dossier waiting for documents leaves ``incomplete`` by its request (withdrawn or
        answered), not by a plain status change that would leave the request open."""
        request = docrequests.open_request(self.metadata, deposit_id)
        if request is not None:
            raise docrequests.RequestConflict(
                f"deposit {deposit_id} waits for the documents of request "
                f"{request.request_id}: withdraw it first, or wait for the documents",
                Refusal.OPEN_REQUEST, {"request": [request.request_id]})

    async def request_documents(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.DECIDE)
        record = await self._stored(request)
        body = await _body(request)
        documents = body.get("documents")
        if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
            raise ValueError("documents must be a list of document codes")
        try:
            deadline = date.fromisoformat(str(body.get("deadline")))
        except ValueError:
            raise ValueError("deadline must be a date YYYY-MM-DD") from None
        note = _text(body, "note")
        expected_status = _expected_status(body)
        now = self.clock()
        info = procedures.shipped().get(record.procedure)
        asked = docrequests.check_request(info, documents, deadline, note,
                                          deadlines.receipt_date(now))
        made = await run_in_threadpool(lambda: self.requests.create(
            record.deposit_id, documents=asked.documents, deadline=asked.deadline,
            note=asked.note, actor=actor.name, at=now,
            moves=docrequests.request_moves(asked.message), expected=expected_status))
        log.info("deposit %s: documents requested (%s, by %s)", record.deposit_id,
                 made.request_id, actor.name)
        return _json(request_view(made, _french_names(info), now), 201)

    async def withdraw_request(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.DECIDE)
        record = await self._stored(request)
        request_id = request.path_params["request_id"]
        found = await run_in_threadpool(self.requests.request, request_id) \
            if docrequests.is_request_id(request_id) else None
        if found is None or found.deposit_id != record.deposit_id:
            raise docrequests.RequestConflict(
                f"deposit {record.deposit_id} has no request {request_id}",
                Refusal.REQUEST_STATE, {"state": []})
        if found.requested_by != actor.name and Permission.ASSIGN not in PERMISSIONS[actor.role]:
            raise NotAllowed(f"only {found.requested_by}, who made the request, or a supervisor "
                             f"may withdraw it", Refusal.ROLE, {"requester": [found.requested_by]})
        now = self.clock()
        done = await run_in_threadpool(
            self.requests.withdraw, record.deposit_id, request_id, actor.name, now,
            docrequests.back_in_review(docrequests.WITHDRAWN_MESSAGE))
        return _json(request_view(done, _french_names(
            procedures.shipped().get(record.procedure)), now))


def _french_names(info: procedures.ProcedureInfo | None) -> dict[str, str]:
    """The procedure's documents by code, named in French as staff read them."""
    return {d.code: d.name("fr") for d in info.documents} if info else {}


def request_view(r: docrequests.DocumentRequest, names: dict[str, str],
                 now: datetime) -> dict[str, Any]:
    """A request as the staff API sends it (document names in French, as staff read them)."""
    return {"request_id": r.request_id, "deposit_id": r.deposit_id,
            "requested_at": iso(r.requested_at), "requested_by": r.requested_by,
            "deadline": r.deadline.isoformat(),
            "documents": [{"code": c, "name": names.get(c, c)} for c in r.documents],
            "note": r.note, "state": r.state.value, "expired": r.expired(now),
            "answered_at": iso(r.answered_at), "complement_id": r.complement_id}


