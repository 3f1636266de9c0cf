"""Agent calls: a citizen at a kiosk asked for a person; staff see it and say they saw it.

Two sides, kept apart on purpose:

- **kiosks** (the kiosk listener, mutual TLS, the kiosk authenticated by its
  certificate exactly as for tus: unknown or revoked is 403) post a call and
  ask whether someone saw it (:class:`AgentCallEndpoints`; the wire format is
  :mod:`deposit.agentcall`). A kiosk can neither acknowledge a call nor read
  another kiosk's.
- **staff** list the open calls and acknowledge one (:func:`open_calls`,
  :func:`acknowledge`), through the staff API (backoffice/staffapi.py; the
  ``backoffice agents`` command and the workspace use it), signed in with a
  personal certificate: acknowledging is a staff action, not on the kiosk API.

The kiosk's uploader asks about its call about once a second, so an
acknowledgement reaches the citizen's screen within a couple of seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from backoffice.errors import (
    IngestError,
    QuotaExceeded,
    RequestStalled,
    StaffToolError,
    StoreError,
)
from backoffice.ingest import Ingest
from backoffice.leases import ClientGone, Writing
from backoffice.store.metadata import AgentCallRecord, KioskRecord, MetadataStore
from backoffice.tus import body as request_body
from backoffice.tus import client_certificate
from deposit.agentcall import CALLS_PATH, STEP_PATTERN, CallAnswer, CallState, valid_call_id

log = logging.getLogger(__name__)

#: A call's JSON body is three short fields: anything longer is refused unread.
MAX_BODY = 4096
#: New agent calls one kiosk may make in an hour. A kiosk's citizens call a few times an
#: hour at most; the cap keeps a kiosk (or a stolen kiosk key) from filling the table and
#: the staff's screen. Over it: 429, which the kiosk retries.
MAX_CALLS_PER_HOUR = 60
#: Longest staff name kept with an acknowledgement.
MAX_NAME = 80


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(record: AgentCallRecord) -> CallAnswer:
    """What a kiosk is told of its call."""
    return CallAnswer(record.call_id, CallState.SEEN if record.seen else CallState.OPEN,
                      record.seen_by, _rfc3339(record.seen_at) if record.seen_at else None)


def _refused(message: str, status: int) -> IngestError:
    error = IngestError(message)
    error.status = status
    return error


def parse_call(body: bytes, kiosk: KioskRecord, received_at: datetime) -> AgentCallRecord:
    """A call from its JSON body; IngestError (400) saying what is wrong."""
    try:
        data = json.loads(body)
    except ValueError:
        raise IngestError("the body must be JSON: {\"id\", \"step\", \"called_at\"}") from None
    if not isinstance(data, dict):
        raise IngestError("the body must be a JSON object: {\"id\", \"step\", \"called_at\"}")
    call_id, step, called = data.get("id"), data.get("step"), data.get("called_at")
    if not isinstance(call_id, str) or not valid_call_id(call_id):
        raise IngestError("id must be 32 lower-case hexadecimal digits")
    if not isinstance(step, str) or STEP_PATTERN.fullmatch(step) is None:
        raise IngestError("step must be a journey step (1 to 32 of a-z, 0-9, _ or -)")
    try:
        called_at = datetime.fromisoformat(called) if isinstance(called, str) else None
    except ValueError:
        called_at = None
    if called_at is None or called_at.tzinfo is None:
        raise IngestError("called_at must be an RFC 3339 time with its offset")
    return AgentCallRecord(call_id, kiosk.kiosk_id, step, called_at.astimezone(UTC), received_at)


class AgentCallEndpoints:
    """``POST /kiosk/v1/agent-calls`` and ``GET /kiosk/v1/agent-calls/<id>`` (kiosks only)."""

    def __init__(self, ingest: Ingest, metadata: MetadataStore,
                 clock: Callable[[], datetime]) -> None:
        self.ingest = ingest
        self.metadata = metadata
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route(CALLS_PATH, self.post, methods=["POST"]),
                Route(CALLS_PATH + "/{call_id}", self.get, methods=["GET"])]

    async def _kiosk(self, request: Request) -> KioskRecord:
        kiosk: KioskRecord = await run_in_threadpool(self.ingest.authenticate,
                                                     client_certificate(request))
        return kiosk

    def _check_quota(self, call: AgentCallRecord) -> None:
        """:class:`QuotaExceeded` when the kiosk made MAX_CALLS_PER_HOUR calls in the last hour.

        A call sent again (same id) always gets its answer: only new calls count.
        """
        if self.metadata.agent_call(call.call_id) is not None:
            return
        since = call.received_at - timedelta(hours=1)
        if self.metadata.recent_agent_calls(call.kiosk_id, since) >= MAX_CALLS_PER_HOUR:
            log.warning("kiosk %s: more than %d agent calls in an hour; refused one",
                        call.kiosk_id, MAX_CALLS_PER_HOUR)
            raise QuotaExceeded(f"more than {MAX_CALLS_PER_HOUR} agent calls in an hour from "
                                f"this kiosk", retry_after=60)

    async def post(self, request: Request) -> Response:
        try:
            kiosk = await self._kiosk(request)
            body = b""
            try:
                # The body timeout of uploads: a kiosk that stops sending frees its slot.
                async for chunk in request_body(request, Writing(kiosk.kiosk_id),
                                                self.ingest.limits.body_idle_timeout):
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise _refused(f"an agent call is at most {MAX_BODY} bytes", 413)
            except ClientGone:
                raise RequestStalled("the agent call's body stopped coming") from None
            call = parse_call(body, kiosk, self.clock())
            await run_in_threadpool(self._check_quota, call)
            stored, created = await run_in_threadpool(self.metadata.add_agent_call, call)
        except IngestError as exc:
            return _error(request, exc)
        except StoreError:
            log.exception("agent call: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        if stored.kiosk_id != kiosk.kiosk_id:
            return _error(request, _refused("this call id belongs to another kiosk", 409))
        if created:
            log.warning("AGENT CALLED at kiosk %s, step %s (call %s)", kiosk.kiosk_id,
                        stored.step, stored.call_id)
        return _json(answer(stored), 201 if created else 200)

    async def get(self, request: Request) -> Response:
        call_id = request.path_params["call_id"]
        try:
            kiosk = await self._kiosk(request)
            if not valid_call_id(call_id):
                raise _refused("no such call", 404)
            stored = await run_in_threadpool(self.metadata.agent_call, call_id)
            if stored is None or stored.kiosk_id != kiosk.kiosk_id:
                raise _refused("no such call", 404)   # another kiosk's call looks unknown
        except IngestError as exc:
            return _error(request, exc)
        except StoreError:
            log.exception("agent call: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        return _json(answer(stored), 200)


def _json(a: CallAnswer, status: int) -> Response:
    return JSONResponse(a.to_json(), status_code=status, headers={"Cache-Control": "no-store"})


def _error(request: Request, exc: IngestError) -> Response:
    if exc.status in (403, 409, 413):
        log.info("%s %s: %d %s", request.method, request.url.path, exc.status, exc)
    headers = {"Cache-Control": "no-store"}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return PlainTextResponse(f"{exc}\n", status_code=exc.status, headers=headers)


# ---------------------------------------------------------------------- staff side


@dataclass(frozen=True)
class OpenCall:
    """One line of ``backoffice agents``."""

    call_id: str
    kiosk_id: str
    fleet_code: str
    step: str
    called_at: datetime
    received_at: datetime
    waiting_s: float
    state: CallState
    seen_by: str | None = None
    seen_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.call_id, "kiosk_id": self.kiosk_id, "fleet_code": self.fleet_code,
                "step": self.step, "called_at": _rfc3339(self.called_at),
                "received_at": _rfc3339(self.received_at),
                "waiting_s": round(self.waiting_s, 1), "state": self.state.value,
                "seen_by": self.seen_by,
                "seen_at": _rfc3339(self.seen_at) if self.seen_at else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenCall:
        """The call as the staff API sends it (:meth:`as_dict`)."""
        def when(text: str) -> datetime:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

        return cls(str(data["id"]), str(data["kiosk_id"]), str(data["fleet_code"]),
                   str(data["step"]), when(data["called_at"]), when(data["received_at"]),
                   float(data["waiting_s"]), CallState(data["state"]), data.get("seen_by"),
                   when(data["seen_at"]) if data.get("seen_at") else None)

    def line(self) -> str:
        if self.state is CallState.SEEN:
            return (f"{self.call_id}  kiosk {self.kiosk_id}: seen by {self.seen_by} at "
                    f"{self.seen_at:%H:%M:%S}")
        return (f"{self.call_id}  kiosk {self.kiosk_id} (code {self.fleet_code})  step "
                f"{self.step}  {ago(self.waiting_s)}")


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min ago"


def describe(store: MetadataStore, records: list[AgentCallRecord], now: datetime,
             codes: dict[str, str] | None = None) -> list[OpenCall]:
    """Calls as staff read them: with the kiosk's fleet code, and how long they have waited."""
    if codes is None or any(r.kiosk_id not in codes for r in records):
        codes = {k.kiosk_id: k.fleet_code for k in store.kiosks()}
    return [OpenCall(r.call_id, r.kiosk_id, codes.get(r.kiosk_id, "?"), r.step, r.called_at,
                     r.received_at, (now - r.received_at).total_seconds(),
                     CallState.SEEN if r.seen else CallState.OPEN, r.seen_by, r.seen_at)
            for r in records]


def open_calls(store: MetadataStore, now: datetime) -> list[OpenCall]:
    """The calls no one has acknowledged yet, oldest first."""
    return describe(store, store.agent_calls(open_only=True), now)


def acknowledge(store: MetadataStore, call_id: str, by: str, now: datetime) -> OpenCall:
    """Mark a call seen by ``by`` (the first acknowledgement stays); StaffToolError if unknown."""
    by = by.strip()
    if not by or len(by) > MAX_NAME or not by.isprintable():
        raise StaffToolError(f"--by must be a name of 1 to {MAX_NAME} printable characters")
    call_id = call_id.strip().lower()
    record = store.ack_agent_call(call_id, by, now) if valid_call_id(call_id) else None
    if record is None:
        raise StaffToolError(f"no agent call {call_id!r} (see `backoffice agents`)")
    if record.seen_by != by or record.seen_at != now:
        log.info("agent call %s was already acknowledged by %s", call_id, record.seen_by)
    else:
        log.info("agent call %s of kiosk %s acknowledged by %s", call_id, record.kiosk_id, by)
    return describe(store, [record], now)[0]
