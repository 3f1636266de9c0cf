"""The staff API's plumbing: who is asking (the account behind the client certificate),
what their role allows, the audit entry of every request, allowed or refused, and the
JSON answers and bodies every route shares. The routes are in backoffice/staffapi.py and
backoffice/staffchain.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from backoffice import pki
from backoffice.errors import (
    NotAllowed,
    Refusal,
    StaffError,
    StoreError,
    UnknownDepositError,
)
from backoffice.roles import PERMISSIONS, Action, Outcome, Permission
from backoffice.status import DossierStatus
from backoffice.store.metadata import DepositRecord, MetadataStore
from backoffice.store.objects import ObjectStore
from backoffice.store.requestsdb import RequestStore
from backoffice.store.staffdb import StaffRecord, StaffStore
from backoffice.tus import client_certificate
from deposit import ids

log = logging.getLogger("backoffice.staffapi")

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


def _text(body: dict[str, Any], key: str) -> str:
    """An optional text field of a body ("" when absent); ValueError when not text."""
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return value


def _expected_status(body: dict[str, Any]) -> DossierStatus | None:
    """The status the staff member saw (``expected``), when the body gives one."""
    expected = body.get("expected")
    try:
        return DossierStatus(expected) if expected else None
    except ValueError:
        raise ValueError("expected must be a status") from None


def _deposit_id(raw: str) -> str:
    deposit_id = ids.canonical(raw)
    if deposit_id is None:
        raise UnknownDepositError(f"{raw!r} is not a deposit number (XXXX-XXXX-XXXX)")
    return deposit_id


Handler = Callable[[Request, StaffRecord], Any]


#: The action each route is audited as (by its handler's name); reads are VIEW.
ACTIONS = {"decide": Action.DECIDE, "assign": Action.ASSIGN, "annotate": Action.ANNOTATE,
           "envelope": Action.FETCH, "manifest": Action.FETCH, "export": Action.EXPORT,
           "complement_envelope": Action.FETCH, "complement_manifest": Action.FETCH,
           "audit": Action.AUDIT, "ack_call": Action.ACK_CALL,
           "agent_calls": Action.AGENT_CALLS, "request_documents": Action.REQUEST_DOCUMENTS,
           "withdraw_request": Action.WITHDRAW_REQUEST}


class StaffBase:
    """The stores, the clock, and the plumbing of every route."""

    def __init__(self, metadata: MetadataStore, objects: ObjectStore,
                 clock: Callable[[], datetime], *, public_url: str = "") -> None:
        self.public_url = public_url       # the status page's, printed on accusés de réception
        self.metadata = metadata
        self.objects = objects
        self.staff = StaffStore(metadata)
        self.requests = RequestStore(metadata)
        self.clock = clock

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
        return ACTIONS.get(getattr(handler, "__name__", ""), Action.VIEW)

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

    async def _send_object(self, key: str, size: int, sha256: str, what: str) -> Response:
        """Stream an envelope of the object store (``what`` names it in errors)."""
        try:
            source: BinaryIO = await run_in_threadpool(self.objects.open, key)
        except (OSError, StoreError) as exc:
            log.error("staff API: %s cannot be read: %s", what, exc)
            return _error(503, f"{what} cannot be read now")

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
            "Content-Length": str(size), "Cache-Control": "no-store",
            "X-Envelope-SHA256": sha256})
