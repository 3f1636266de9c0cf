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
    GET  /staff/v1/conflicts                   envelopes kept apart (a second one under an id)
    GET  /staff/v1/audit                       the audit trail (?deposit=, ?actor=, ?limit=)
    GET  /staff/v1/agent-calls                 citizens waiting for a person, oldest first
    GET  /staff/v1/agent-calls/<id>            one call (open or seen, by whom)
    POST /staff/v1/agent-calls/<id>/ack        "I saw it" ({"by": NAME}, default the account's
                                               full name; the kiosk tells the citizen)

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
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from backoffice import (
    acknowledgement,
    agentcalls,
    deadlines,
    decisions,
    docrequests,
    pki,
    procedures,
)
from backoffice.errors import (
    NotAllowed,
    Refusal,
    StaffError,
    StaffToolError,
    StoreError,
    UnknownDepositError,
)
from backoffice.roles import NAME, PERMISSIONS, Action, Outcome, Permission
from backoffice.staffviews import (
    CSV_COLUMNS,
    csv_cell,
    iso,
    parse_query,
    procedure_name,
    row_dict,
)
from backoffice.status import DossierStatus
from backoffice.store.metadata import DepositRecord, MetadataStore
from backoffice.store.objects import ObjectStore
from backoffice.store.requestsdb import RequestStore
from backoffice.store.staffdb import (
    SortKey,
    StaffRecord,
    StaffStore,
)
from backoffice.tus import client_certificate
from deposit import ids
from deposit import manifest as manifestmod
from deposit.legal import add

log = logging.getLogger(__name__)

PREFIX = "/staff/v1"
#: A staff request's JSON body: a decision's message (2000 characters, backoffice/
#: personaldata.py) or an annotation fits well within it.
MAX_BODY = 64 * 1024
#: The longest private annotation.
MAX_ANNOTATION = 4000
#: Chunks of the envelope sent to the staff workstation.
CHUNK = 1 << 20


def _error(status: int, message: str, exc: StaffError | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if exc is not None and exc.code is not None:
        body["code"] = exc.code.value
        body["details"] = exc.details
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise ValueError(f"the body is larger than {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ValueError(f"the body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _deposit_id(raw: str) -> str:
    deposit_id = ids.canonical(raw)
    if deposit_id is None:
        raise UnknownDepositError(f"{raw!r} is not a deposit number (XXXX-XXXX-XXXX)")
    return deposit_id


Handler = Callable[[Request, StaffRecord], Any]


class StaffAPI:
    def __init__(self, metadata: MetadataStore, objects: ObjectStore,
                 clock: Callable[[], datetime], *, public_url: str = "") -> None:
        self.public_url = public_url       # the status page's, printed on accusés de réception
        self.metadata = metadata
        self.objects = objects
        self.staff = StaffStore(metadata)
        self.requests = RequestStore(metadata)
        self.clock = clock

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
            ("/conflicts", self.conflicts, get),
            ("/audit", self.audit, get),
            ("/agent-calls", self.agent_calls, get),
            ("/agent-calls/{call_id}", self.agent_call, get),
            ("/agent-calls/{call_id}/ack", self.ack_call, post),
        ]
        return [Route(PREFIX + path, self._wrap(handler), methods=methods)
                for path, handler, methods in table]

    # ------------------------------------------------------------------ plumbing
    def _wrap(self, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                actor = await run_in_threadpool(self._actor, request, self._action_of(handler))
            except NotAllowed as exc:
                log.warning("staff API: %s (%s %s)", exc, request.method, request.url.path)
                return _error(exc.status, str(exc), exc)
            except StoreError:
                log.exception("staff API: the metadata store does not answer")
                return _error(503, "the metadata store does not answer; try again")
            try:
                response: Response = await handler(request, actor)
                return response
            except (StaffError, UnknownDepositError, ValueError) as exc:
                # A refusal, whatever its reason, is in the trail with its author.
                status = exc.status if isinstance(exc, StaffError) else \
                    404 if isinstance(exc, UnknownDepositError) else 400
                await self._record(actor, self._action_of(handler), Outcome.REFUSED,
                                   request.path_params.get("deposit_id"), str(exc))
                return _error(status, str(exc), exc if isinstance(exc, StaffError) else None)
            except StoreError:
                log.exception("staff API: the metadata store does not answer")
                return _error(503, "the metadata store does not answer; try again")
        return endpoint

    def _action_of(self, handler: Handler) -> Action:
        name = getattr(handler, "__name__", "")
        return {"decide": Action.DECIDE, "assign": Action.ASSIGN, "annotate": Action.ANNOTATE,
                "envelope": Action.FETCH, "manifest": Action.FETCH, "export": Action.EXPORT,
                "audit": Action.AUDIT, "ack_call": Action.ACK_CALL,
                "agent_calls": Action.AGENT_CALLS,
                "request_documents": Action.REQUEST_DOCUMENTS,
                "withdraw_request": Action.WITHDRAW_REQUEST}.get(name, Action.VIEW)

    def _actor(self, request: Request, action: Action) -> StaffRecord:
        pem = client_certificate(request)
        if pem is None:
            raise NotAllowed("no client certificate")
        account = self.staff.by_fingerprint(pki.fingerprint(pem.encode()))
        if account is None:
            raise NotAllowed("this certificate belongs to no account (re-issued or never "
                             "issued here)", Refusal.ACCOUNT)
        if not account.active:
            # Who tried is known: the attempt goes into the trail like any refusal.
            self.staff.audit(self.clock(), account.name, action, Outcome.REFUSED,
                             request.path_params.get("deposit_id"), "the account is disabled")
            raise NotAllowed(f"the account {account.name} is disabled", Refusal.ACCOUNT,
                             {"disabled": [account.name]})
        return account

    async def _stored(self, request: Request) -> DepositRecord:
        """The dossier the path names; UnknownDepositError (404) when there is none."""
        deposit_id = _deposit_id(request.path_params["deposit_id"])
        record = await run_in_threadpool(self.metadata.deposit, deposit_id)
        if record is None:
            raise UnknownDepositError(f"no deposit {deposit_id} is stored")
        return record

    @staticmethod
    def need(actor: StaffRecord, permission: Permission) -> None:
        if permission not in PERMISSIONS[actor.role]:
            raise NotAllowed(f"the role {actor.role} of {actor.name} does not allow this "
                             f"({permission})", Refusal.ROLE, {"permission": [permission.value]})

    async def _record(self, actor: StaffRecord, action: Action, outcome: Outcome,
                      deposit_id: str | None = None, detail: str = "") -> None:
        try:
            await run_in_threadpool(self.staff.audit, self.clock(), actor.name, action,
                                    outcome, deposit_id, detail)
        except StoreError:
            log.exception("staff API: an audit entry could not be written")

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
        legal = await run_in_threadpool(self._requests_view, record)
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
        deposit_id = record.deposit_id
        try:
            source = await run_in_threadpool(self.objects.open, record.object_key)
        except (OSError, StoreError) as exc:
            log.error("staff API: envelope of %s cannot be read: %s", deposit_id, exc)
            return _error(503, f"the envelope of {deposit_id} cannot be read now")
        await self._record(actor, Action.FETCH, Outcome.DONE, deposit_id,
                           f"{record.envelope_size} bytes")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    chunk = await run_in_threadpool(source.read, CHUNK)
                    if not chunk:
                        return
                    yield chunk
            finally:
                source.close()

        return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
            "Content-Length": str(record.envelope_size), "Cache-Control": "no-store",
            "X-Envelope-SHA256": record.envelope_sha256})

    async def manifest(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FETCH)
        record = await self._stored(request)
        return Response(record.manifest, media_type="application/json",
                        headers={"Cache-Control": "no-store"})

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
        message = body.get("message") or ""
        if not isinstance(message, str):
            raise ValueError("message must be text")
        expected = body.get("expected")
        try:
            expected_status = DossierStatus(expected) if expected else None
        except ValueError:
            raise ValueError("expected must be a status") from None
        await run_in_threadpool(self._no_open_request, deposit_id)
        stored = await run_in_threadpool(
            lambda: self.staff.decide(deposit_id, new, actor.name, self.clock(),
                                      lambda current: decisions.check(current, new, message),
                                      expected=expected_status))
        log.info("deposit %s is now %s (by %s)", deposit_id, new, actor.name)
        return _json({"deposit_id": deposit_id, "status": new.value, "message": stored})

    # ------------------------------------------------------------------ requests for documents
    def _requests_view(self, record: DepositRecord) -> dict[str, Any]:
        """The dossier view's part on requests for documents: the procedure's documents,
        the requests, and the deemed decision as it stands today."""
        info = procedures.shipped().get(record.procedure)
        requests = docrequests.requests_of(self.metadata, record.deposit_id)
        now = self.clock()
        try:
            outcome = docrequests.deemed(info, record.received_at, requests,
                                         deadlines.receipt_date(now))
        except deadlines.TimelineError:
            log.exception("deposit %s: its requests cannot be counted", record.deposit_id)
            outcome = None                 # no date rather than a wrong one
        names = {d.code: d.name("fr") for d in info.documents} if info else {}
        return {
            "documents": [{"code": c, "name": n} for c, n in names.items()],
            "requests": [request_view(r, names, now) for r in reversed(requests)],
            "deemed": None if outcome is None else {
                "state": outcome.state.value, "silence": outcome.silence.value,
                "deemed_on": outcome.deemed_on.isoformat() if outcome.deemed_on else None},
            "max_deadline": add(deadlines.receipt_date(now),
                                docrequests.MAX_DEADLINE).isoformat(),
        }

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
        note = body.get("note") or ""
        if not isinstance(note, str):
            raise ValueError("note must be text")
        expected = body.get("expected")
        try:
            expected_status = DossierStatus(expected) if expected else None
        except ValueError:
            raise ValueError("expected must be a status") from None
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
        names = {d.code: d.name("fr") for d in info.documents} if info else {}
        return _json(request_view(made, names, now), 201)

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
        info = procedures.shipped().get(record.procedure)
        names = {d.code: d.name("fr") for d in info.documents} if info else {}
        return _json(request_view(done, names, now))


def request_view(r: docrequests.DocumentRequest, names: dict[str, str],
                 now: datetime) -> dict[str, Any]:
    """A request as the staff API sends it (document names in French, as staff read them)."""
    return {"request_id": r.request_id, "deposit_id": r.deposit_id,
            "requested_at": iso(r.requested_at), "requested_by": r.requested_by,
            "deadline": r.deadline.isoformat(),
            "documents": [{"code": c, "name": names.get(c, c)} for c in r.documents],
            "note": r.note, "state": r.state.value, "expired": r.expired(now),
            "answered_at": iso(r.answered_at), "complement_id": r.complement_id}


__all__ = ["PREFIX", "StaffAPI"]
