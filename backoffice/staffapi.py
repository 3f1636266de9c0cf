"""The staff API: JSON over HTTPS on the staff listener, one person per client certificate.

::

    GET  /staff/v1/me                          who the certificate belongs to, and may do
    GET  /staff/v1/facets                      values for the inbox's filters
    GET  /staff/v1/dossiers                    the inbox: filters, sort, pages (JSON)
    GET  /staff/v1/dossiers.csv                the same rows, every page, as CSV
    GET  /staff/v1/dossiers/<id>               facts, manifest, history, annotations
    GET  /staff/v1/dossiers/<id>/envelope      the ciphertext (the staff side decrypts it)
    GET  /staff/v1/dossiers/<id>/manifest      the signed manifest, as the kiosk signed it
    GET  /staff/v1/dossiers/<id>/acknowledgement.pdf  its accusé de réception (PDF)
    POST /staff/v1/dossiers/<id>/assign        {"assignee": NAME | null, "expected": ...}
    POST /staff/v1/dossiers/<id>/annotations   {"text": ...}
    POST /staff/v1/dossiers/<id>/status        {"status": ..., "message": ..., "expected": ...}
    POST /staff/v1/dossiers/<id>/requests      ask for missing documents: {"documents": [codes],
                                               "deadline": "YYYY-MM-DD", "note": ..., "expected"}
    POST /staff/v1/dossiers/<id>/requests/<rq>/withdraw   withdraw it (its requester, a
                                               supervisor); backoffice/docrequests.py
    GET  /staff/v1/dossiers/<id>/complements/<cid>/envelope  documents brought in answer
    GET  /staff/v1/dossiers/<id>/complements/<cid>/manifest  (backoffice/complements.py)

The routes of the legal chain are in backoffice/staffchain.py, the plumbing every
route shares (accounts, roles, audit) in backoffice/staffbase.py.
    GET  /staff/v1/conflicts                   envelopes kept apart (a second one under an id)
    GET  /staff/v1/audit                       the audit trail (?deposit=, ?actor=, ?limit=)
    GET  /staff/v1/agent-calls                 citizens waiting for a person, oldest first
    GET  /staff/v1/agent-calls/<id>            one call (open or seen, by whom)
    POST /staff/v1/agent-calls/<id>/ack        "I saw it" ({"by": NAME}, default the account's
                                               full name; the kiosk tells the citizen)
    GET  /staff/v1/fleet                       the kiosks' health, alerts and ratings
                                               (supervisors, administrators; backoffice/fleetapi.py)

The TLS handshake already required a certificate of the staff CA
(backoffice/server.py); each request then finds the account by the
certificate's SHA-256 fingerprint: unknown or disabled is 403, whatever the
certificate says. The role decides the rest (backoffice/roles.py), and every
request, allowed or refused, leaves an audit entry with its author.

No plaintext of a dossier passes here: envelopes go out as the kiosk sealed
them, and decryption happens on the staff workstation (backoffice/workspace/).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from backoffice import (
    agentcalls,
    decisions,
    procedures,
)
from backoffice.errors import (
    StaffToolError,
)
from backoffice.roles import NAME, PERMISSIONS, Action, Outcome, Permission
from backoffice.staffbase import (
    MAX_ANNOTATION,
    PREFIX,
    Handler,
    _body,
    _deposit_id,
    _error,
    _expected_status,
    _json,
    _text,
)
from backoffice.staffchain import LegalChainEndpoints
from backoffice.staffviews import (
    CSV_COLUMNS,
    csv_cell,
    iso,
    parse_query,
    procedure_name,
    row_dict,
)
from backoffice.status import DossierStatus
from backoffice.store.staffdb import (
    SortKey,
    StaffRecord,
)
from deposit import manifest as manifestmod

log = logging.getLogger(__name__)

class StaffAPI(LegalChainEndpoints):
    """Every route of the staff API (the table in the module docstring)."""

    def routes(self) -> list[Route]:
        get, post = ["GET"], ["POST"]
        table: list[tuple[str, Handler, list[str]]] = [
            ("/me", self.me, get),
            ("/facets", self.facets, get),
            ("/dossiers", self.inbox, get),
            ("/dossiers.csv", self.export, get),
            ("/dossiers/{deposit_id}", self.dossier, get),
            ("/dossiers/{deposit_id}/envelope", self.envelope, get),
            ("/dossiers/{deposit_id}/manifest", self.manifest, get),
            ("/dossiers/{deposit_id}/acknowledgement.pdf", self.acknowledgement, get),
            ("/dossiers/{deposit_id}/assign", self.assign, post),
            ("/dossiers/{deposit_id}/annotations", self.annotate, post),
            ("/dossiers/{deposit_id}/status", self.decide, post),
            ("/dossiers/{deposit_id}/requests", self.request_documents, post),
            ("/dossiers/{deposit_id}/requests/{request_id}/withdraw", self.withdraw_request,
             post),
            ("/dossiers/{deposit_id}/complements/{complement_id}/envelope",
             self.complement_envelope, get),
            ("/dossiers/{deposit_id}/complements/{complement_id}/manifest",
             self.complement_manifest, get),
            ("/conflicts", self.conflicts, get),
            ("/audit", self.audit, get),
            ("/agent-calls", self.agent_calls, get),
            ("/agent-calls/{call_id}", self.agent_call, get),
            ("/agent-calls/{call_id}/ack", self.ack_call, post),
        ]
        return [Route(PREFIX + path, self._wrap(handler), methods=methods)
                for path, handler, methods in table]

    # ------------------------------------------------------------------ reads
    async def me(self, request: Request, actor: StaffRecord) -> Response:
        await self._record(actor, Action.SIGN_IN, Outcome.DONE)
        return _json({"name": actor.name, "full_name": actor.full_name, "role": actor.role.value,
                      "permissions": sorted(p.value for p in PERMISSIONS[actor.role])})

    async def facets(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        facets = await run_in_threadpool(self.staff.facets)
        names = {code: info.name for code, info in procedures.shipped().items()}
        return _json({**facets, "status": [s.value for s in DossierStatus],
                      "procedure_names": {c: names.get(c, c) for c in facets["procedure"]},
                      "sort": [k.value for k in SortKey]})

    async def inbox(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        query = parse_query(request.query_params, actor.name)
        page = await run_in_threadpool(self.staff.inbox, query)
        await self._record(actor, Action.INBOX, Outcome.DONE, None,
                           str(request.query_params) or "everything")
        return _json({"total": page.total, "page": query.page, "per_page": query.per_page,
                      "pages": page.pages, "rows": [row_dict(r) for r in page.rows]})

    async def export(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.EXPORT)
        query = parse_query(request.query_params, actor.name)
        await self._record(actor, Action.EXPORT, Outcome.DONE, None,
                           str(request.query_params) or "everything")

        def lines() -> Iterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            for n, row in enumerate(self.staff.inbox_rows(query)):
                data = row_dict(row)
                writer.writerow([csv_cell(data[c]) for c in CSV_COLUMNS])
                if n % 500 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        return StreamingResponse(iterate_in_threadpool(lines()), media_type="text/csv; "
                                 "charset=utf-8", headers={
                                     "Cache-Control": "no-store",
                                     "Content-Disposition": 'attachment; filename="inbox.csv"'})

    async def dossier(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        record = await self._stored(request)
        deposit_id = record.deposit_id
        kiosk = await run_in_threadpool(self.metadata.kiosk, record.kiosk_id)
        history = await run_in_threadpool(self.staff.history, deposit_id)
        notes = await run_in_threadpool(self.staff.annotations, deposit_id)
        trail = await run_in_threadpool(lambda: self.staff.audit_trail(deposit_id=deposit_id,
                                                                        limit=100))
        manifest, _sig = manifestmod.parse_unverified(record.manifest)
        legal = await run_in_threadpool(self._chain_view, record)
        await self._record(actor, Action.VIEW, Outcome.DONE, deposit_id)
        return _json({
            "deposit_id": deposit_id, "kiosk_id": record.kiosk_id,
            "procedure": record.procedure, "procedure_name": procedure_name(record.procedure),
            "created": iso(record.created_at), "received": iso(record.received_at),
            "due": iso(record.due_at), "status": record.status.value,
            "message": record.status_message, "status_at": iso(record.status_at),
            "assignee": record.assignee, "envelope_size": record.envelope_size,
            "envelope_sha256": record.envelope_sha256,
            "manifest": {k: v for k, v in manifest.to_dict().items()
                         if k != "tracking_token_sha256"},
            "kiosk_signing_key": kiosk.signing_key_pem if kiosk else None,
            "next": [s.value for s in decisions.allowed(record.status)],
            "needs_motive": [s.value for s in decisions.NEEDS_MOTIVE],
            "history": [{"at": iso(h.at), "status": h.status.value, "message": h.message,
                         "actor": h.actor} for h in history],
            "annotations": [{"at": iso(n.at), "author": n.author, "text": n.text}
                            for n in notes],
            "audit": [{"at": iso(e.at), "actor": e.actor, "action": e.action.value,
                       "outcome": e.outcome.value, "detail": e.detail} for e in trail],
            **legal,
        })

    async def envelope(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FETCH)
        record = await self._stored(request)
        await self._record(actor, Action.FETCH, Outcome.DONE, record.deposit_id,
                           f"{record.envelope_size} bytes")
        return await self._send_object(record.object_key, record.envelope_size,
                                       record.envelope_sha256,
                                       f"the envelope of {record.deposit_id}")

    async def manifest(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FETCH)
        record = await self._stored(request)
        return Response(record.manifest, media_type="application/json",
                        headers={"Cache-Control": "no-store"})

    async def conflicts(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        rows = await run_in_threadpool(self.metadata.conflicts)
        return _json({"conflicts": [{
            "deposit_id": c.deposit_id, "kiosk_id": c.kiosk_id, "procedure": c.procedure,
            "received": iso(c.received_at), "envelope_size": c.envelope_size,
            "envelope_sha256": c.envelope_sha256} for c in rows]})

    async def audit(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.AUDIT)
        params = request.query_params
        limit = int(params.get("limit") or 200)
        if not 1 <= limit <= 10_000:
            raise ValueError("limit is from 1 to 10000")
        trail = await run_in_threadpool(lambda: self.staff.audit_trail(
            deposit_id=params.get("deposit") or None, actor=params.get("actor") or None,
            limit=limit))
        await self._record(actor, Action.AUDIT, Outcome.DONE, None, str(params) or "all")
        return _json({"entries": [{
            "at": iso(e.at), "actor": e.actor, "action": e.action.value,
            "outcome": e.outcome.value, "deposit_id": e.deposit_id, "detail": e.detail}
            for e in trail]})

    async def agent_calls(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        calls = await run_in_threadpool(agentcalls.open_calls, self.metadata, self.clock())
        return _json({"calls": [c.as_dict() for c in calls]})

    async def agent_call(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        call_id = request.path_params["call_id"].strip().lower()
        record = await run_in_threadpool(self.metadata.agent_call, call_id)
        if record is None:
            return _error(404, f"no agent call {call_id!r}")
        [call] = await run_in_threadpool(agentcalls.describe, self.metadata, [record],
                                         self.clock())
        return _json(call.as_dict())

    async def ack_call(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.VIEW)
        call_id = request.path_params["call_id"]
        body = await _body(request)
        by = body.get("by") or actor.full_name or actor.name
        if not isinstance(by, str):
            raise ValueError("by must be a name")
        try:
            call = await run_in_threadpool(agentcalls.acknowledge, self.metadata, call_id, by,
                                           self.clock())
        except StaffToolError as exc:
            return _error(404, str(exc))
        await self._record(actor, Action.ACK_CALL, Outcome.DONE, None, f"call {call_id}")
        return _json(call.as_dict())

    # ------------------------------------------------------------------ changes
    async def assign(self, request: Request, actor: StaffRecord) -> Response:
        deposit_id = _deposit_id(request.path_params["deposit_id"])
        body = await _body(request)
        assignee = body.get("assignee")
        if assignee is not None and (not isinstance(assignee, str)
                                     or not NAME.fullmatch(assignee)):
            raise ValueError("assignee must be an account name or null")
        record = await self._stored(request)
        own = assignee == actor.name or (assignee is None and record.assignee == actor.name)
        self.need(actor, Permission.TAKE if own else Permission.ASSIGN)
        expected = body.get("expected")
        if expected is not None and not isinstance(expected, str):
            raise ValueError("expected must be an account name or null")
        await run_in_threadpool(lambda: self.staff.assign(
            deposit_id, assignee, actor.name, self.clock(), check="expected" in body,
            expected=expected))
        return _json({"deposit_id": deposit_id, "assignee": assignee})

    async def annotate(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.ANNOTATE)
        deposit_id = _deposit_id(request.path_params["deposit_id"])
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("an annotation needs a text")
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_ANNOTATION:
            raise ValueError(f"an annotation holds at most {MAX_ANNOTATION} characters")
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise ValueError("an annotation holds no control characters")
        note = await run_in_threadpool(self.staff.annotate, deposit_id, actor.name, text,
                                       self.clock())
        return _json({"at": iso(note.at), "author": note.author, "text": note.text}, 201)

    async def decide(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.DECIDE)
        deposit_id = _deposit_id(request.path_params["deposit_id"])
        body = await _body(request)
        try:
            new = DossierStatus(str(body.get("status")))
        except ValueError:
            raise ValueError(f"status must be one of "
                             f"{', '.join(s.value for s in DossierStatus)}") from None
        message = _text(body, "message")
        expected_status = _expected_status(body)
        await run_in_threadpool(self._no_open_request, deposit_id)
        stored = await run_in_threadpool(
            lambda: self.staff.decide(deposit_id, new, actor.name, self.clock(),
                                      lambda current: decisions.check(current, new, message),
                                      expected=expected_status))
        log.info("deposit %s is now %s (by %s)", deposit_id, new, actor.name)
        return _json({"deposit_id": deposit_id, "status": new.value, "message": stored})

__all__ = ["PREFIX", "StaffAPI"]
