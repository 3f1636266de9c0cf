"""The back office as four ASGI applications (Starlette), one per listener.

::

    ingest (kiosks, client certificate required at the handshake)
      OPTIONS, POST       /files/                tus discovery and creation
      HEAD, PATCH, DELETE /files/<upload id>     tus core, checksum, termination
      POST                /kiosk/v1/agent-calls   a citizen calls an agent
      GET                 /kiosk/v1/agent-calls/<id>  whether staff saw it
      POST                /kiosk/v1/complements/lookup  what a receipt's dossier asks for
      GET                 /kiosk/v1/fleet-state   the signed fleet state (revoked badges)
      POST                /kiosk/v1/heartbeats    the kiosk's signed health, every few minutes
    public (citizens' browsers; HSTS on every answer)
      GET                 /suivi/<deposit id>?t=  the citizen's status page
      GET                 /suivi/<deposit id>/accuse-de-reception.pdf?t=  its accusé de réception
      GET                 /health                 {"status": "ok"} or 503 {"status": "failing"}
    admin (loopback)
      GET                 /health                 every check, with details (JSON)
      GET                 /metrics                Prometheus text format (cached gauges)
    staff (a personal client certificate of the staff CA required at the handshake)
      GET, POST           /staff/v1/...           the staff API (backoffice/staffapi.py)
      GET                 /staff/v1/fleet         the fleet view (backoffice/fleetapi.py)

Nothing a listener does not list is served there: the status page is not on
the kiosks' port, the metrics are not on the public one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from backoffice import acknowledgement, docrequests, procedures, statuspage
from backoffice.agentcalls import AgentCallEndpoints
from backoffice.complementapi import ComplementEndpoints
from backoffice.docrequests import DocumentRequest
from backoffice.errors import StoreError
from backoffice.fleetapi import FleetEndpoints
from backoffice.fleetstate import TRUST_LIST_FILE, FleetStateEndpoint
from backoffice.heartbeats import HeartbeatEndpoints
from backoffice.ingest import Ingest
from backoffice.metrics import Metrics
from backoffice.settings import Settings
from backoffice.staffapi import StaffAPI
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore
from backoffice.store.objects import ObjectStore, open_objects
from backoffice.store.staffdb import HistoryEntry, StaffStore
from backoffice.tus import TusEndpoints
from deposit import ack as ackmod

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Listener(StrEnum):
    """The back office's four listeners (backoffice/server.py)."""

    INGEST = "ingest"
    PUBLIC = "public"
    ADMIN = "admin"
    STAFF = "staff"


class Health(StrEnum):
    OK = "ok"
    FAILING = "failing"


@dataclass(frozen=True)
class CheckResult:
    """One check of the administration ``/health``."""

    name: str
    ok: bool
    detail: str
    figure: int | None = None      # the measure behind it, where there is one (free bytes)


#: HSTS on every answer of the public listener: one year (what hstspreload.org asks as a
#: minimum), no includeSubDomains (the status page's host may share a domain with others).
HSTS = "max-age=31536000"


@dataclass
class Backoffice:
    """Everything a running service holds: settings, stores, the ingest rules, cached figures."""

    settings: Settings
    metadata: MetadataStore
    objects: ObjectStore
    ingest: Ingest
    clock: Clock
    sweep_interval: float = 300.0
    # Refreshed in the background (Service), read by /metrics and the public /health:
    # a scrape or a probe never queries the stores.
    gauges: dict[str, int] = field(default_factory=dict)
    health: Health = Health.OK

    @classmethod
    def open(cls, settings: Settings, clock: Clock = utc_now) -> Backoffice:
        metadata = open_metadata(settings.metadata)
        metadata.init_schema()
        objects = open_objects(settings.objects)
        ack_key = ackmod.load_private_key(settings.ack_key.read_bytes())
        ingest = Ingest(metadata, objects, ack_key, max_upload_bytes=settings.max_upload_bytes,
                        upload_expiry=timedelta(hours=settings.upload_expiry_hours), clock=clock,
                        metrics=Metrics(), limits=settings.limits)
        return cls(settings, metadata, objects, ingest, clock)

    def close(self) -> None:
        self.metadata.close()

    def checks(self) -> list[CheckResult]:
        """Every health check, now (the administration ``/health``)."""
        out: list[CheckResult] = []
        try:
            self.metadata.ping()
            out.append(CheckResult("metadata", True, "answers"))
        except StoreError as exc:
            out.append(CheckResult("metadata", False, str(exc)))
        try:
            self.objects.ping()
            out.append(CheckResult("objects", True, f"{self.objects.url.split('?')[0]} answers"))
        except StoreError as exc:
            out.append(CheckResult("objects", False, str(exc)))
        try:
            free = self.objects.free_bytes()
            floor = self.settings.limits.min_free_bytes
            out.append(CheckResult(
                "objects_space", free >= floor,
                f"{free // 2**20} MiB free, minimum {floor // 2**20} MiB", free))
        except StoreError as exc:
            out.append(CheckResult("objects_space", False, str(exc)))
        return out

    def refresh_gauges(self) -> None:
        """Recount the gauges and the health (in the background, every GAUGE_INTERVAL)."""
        checks = self.checks()
        self.health = Health.OK if all(c.ok for c in checks) else Health.FAILING
        gauges: dict[str, int] = {"health:ok": int(self.health is Health.OK)}
        try:
            gauges.update(self.metadata.counts())
        except StoreError:
            log.warning("gauges: the metadata store does not answer", exc_info=True)
        for check in checks:
            if check.name == "objects_space":
                if check.figure is not None:
                    gauges["objects:free_bytes"] = check.figure
                if not check.ok:
                    log.warning("envelope store: %s", check.detail)
        self.gauges = gauges


class _HSTS:
    """Adds Strict-Transport-Security and nosniff to every answer of an ASGI app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"strict-transport-security"]
                headers.append((b"strict-transport-security", HSTS.encode()))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with)


def create_apps(bo: Backoffice) -> dict[Listener, Any]:
    """The ASGI application of each listener."""
    tus = TusEndpoints(bo.ingest, bo.settings)
    staff_store = StaffStore(bo.metadata)
    calls = AgentCallEndpoints(bo.ingest, bo.metadata, bo.clock)
    lookups = ComplementEndpoints(bo.ingest, bo.metadata, bo.clock)
    fleet_state = FleetStateEndpoint(bo.ingest, bo.metadata, bo.ingest.ack_key, bo.clock,
                                     bo.settings.data_dir / TRUST_LIST_FILE)
    heartbeats = HeartbeatEndpoints(bo.ingest, bo.metadata, bo.clock,
                                    bo.settings.heartbeat_history_days)

    async def status_page(request: Request) -> Response:
        raw_id = request.path_params["deposit_id"]
        token = request.query_params.get("t")
        lang = statuspage.choose_language(request.query_params.get("lang"),
                                          request.headers.get("Accept-Language"))
        history: list[HistoryEntry] = []
        requests: list[DocumentRequest] = []
        try:
            record = await run_in_threadpool(statuspage.lookup, bo.metadata.deposit, raw_id,
                                             token)
            if record is not None:
                history = await run_in_threadpool(staff_store.history, record.deposit_id)
                requests = await run_in_threadpool(docrequests.requests_of, bo.metadata,
                                                   record.deposit_id)
        except StoreError:
            log.exception("status page: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        procedure = procedures.shipped().get(record.procedure) if record else None
        page = statuspage.render(record, raw_id, token, lang, history=history,
                                 procedure=procedure, requests=requests, now=bo.clock())
        return HTMLResponse(page.body, status_code=page.status_code,
                            headers=statuspage.headers(lang))

    async def acknowledgement_pdf(request: Request) -> Response:
        # The token is checked as the page checks it; an unknown number or a wrong token
        # get the page's own "on its way" answer: no PDF, and nothing told.
        raw_id = request.path_params["deposit_id"]
        token = request.query_params.get("t")
        lang = statuspage.choose_language(request.query_params.get("lang"),
                                          request.headers.get("Accept-Language"))
        try:
            record = await run_in_threadpool(statuspage.lookup, bo.metadata.deposit, raw_id,
                                             token)
            if record is None:
                page = statuspage.render(None, raw_id, token, lang)
                return HTMLResponse(page.body, status_code=page.status_code,
                                    headers=statuspage.headers(lang))
            pdf = await run_in_threadpool(acknowledgement.pdf_for, bo.metadata, record,
                                          bo.clock(), bo.settings.public_url)
        except StoreError:
            log.exception("accusé de réception: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        except acknowledgement.AcknowledgementError as exc:
            log.warning("accusé de réception: %s", exc)
            return PlainTextResponse("no accusé de réception for this dossier: the service "
                                     "sends it\n", status_code=404,
                                     headers=statuspage.headers(lang))
        return Response(pdf, media_type="application/pdf", headers={
            **statuspage.headers(lang), **acknowledgement.headers(record.deposit_id)})

    async def public_health(request: Request) -> Response:
        # The cached verdict only: a probe from anywhere never reaches the stores, and
        # says nothing of what failed.
        ok = bo.health is Health.OK
        return JSONResponse({"status": bo.health.value}, status_code=200 if ok else 503,
                            headers={"Cache-Control": "no-store"})

    async def admin_health(request: Request) -> Response:
        checks = await run_in_threadpool(bo.checks)
        ok = all(c.ok for c in checks)
        return JSONResponse(
            {"status": (Health.OK if ok else Health.FAILING).value,
             "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}},
            status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(bo.ingest.metrics.render(bo.gauges),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    # No slash redirects: Starlette builds their Location from the Host header.
    ingest = Starlette(routes=[*tus.routes(), *calls.routes(), *lookups.routes(),
                               *fleet_state.routes(), *heartbeats.routes()])
    ingest.router.redirect_slashes = False
    public = Starlette(routes=[
        Route("/suivi/{deposit_id}", status_page, methods=["GET"]),
        Route("/suivi/{deposit_id}/accuse-de-reception.pdf", acknowledgement_pdf,
              methods=["GET"]),
        Route("/health", public_health, methods=["GET"]),
    ])
    admin = Starlette(routes=[
        Route("/health", admin_health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ])
    public.router.redirect_slashes = False
    admin.router.redirect_slashes = False
    staff = Starlette(routes=[
        *StaffAPI(bo.metadata, bo.objects, bo.clock, public_url=bo.settings.public_url).routes(),
        *FleetEndpoints(bo.metadata, bo.objects, bo.clock, bo.settings.fleet).routes()])
    staff.router.redirect_slashes = False
    return {Listener.INGEST: ingest, Listener.PUBLIC: _HSTS(public), Listener.ADMIN: admin,
            Listener.STAFF: staff}
