"""The back office as one ASGI application (Starlette): tus ingest, status page, health, metrics.

::

    OPTIONS, POST       /files/                tus discovery and creation (kiosks, mTLS)
    HEAD, PATCH, DELETE /files/<upload id>     tus core, checksum, termination (kiosks, mTLS)
    POST                /kiosk/v1/agent-calls   a citizen calls an agent (kiosks, mTLS)
    GET                 /kiosk/v1/agent-calls/<id>  whether staff saw it (kiosks, mTLS)
    GET                 /suivi/<deposit id>?t=  the citizen's status page (public)
    GET                 /health                 200 when the stores answer, else 503 (JSON)
    GET                 /metrics                Prometheus text format
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from backoffice import statuspage
from backoffice.agentcalls import AgentCallEndpoints
from backoffice.errors import StoreError
from backoffice.ingest import Ingest
from backoffice.metrics import Metrics
from backoffice.settings import Settings
from backoffice.store.metadata import MetadataStore, open_metadata
from backoffice.store.objects import ObjectStore, open_objects
from backoffice.tus import TusEndpoints
from deposit import ack as ackmod

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Backoffice:
    """Everything a running service holds: settings, stores, the ingest rules."""

    settings: Settings
    metadata: MetadataStore
    objects: ObjectStore
    ingest: Ingest
    clock: Clock
    sweep_interval: float = 300.0

    @classmethod
    def open(cls, settings: Settings, clock: Clock = utc_now) -> Backoffice:
        metadata = open_metadata(settings.metadata)
        metadata.init_schema()
        objects = open_objects(settings.objects)
        ack_key = ackmod.load_private_key(settings.ack_key.read_bytes())
        ingest = Ingest(metadata, objects, ack_key, max_upload_bytes=settings.max_upload_bytes,
                        upload_expiry=timedelta(hours=settings.upload_expiry_hours), clock=clock,
                        metrics=Metrics())
        return cls(settings, metadata, objects, ingest, clock)

    def close(self) -> None:
        self.metadata.close()


def create_app(bo: Backoffice) -> Starlette:
    tus = TusEndpoints(bo.ingest, bo.settings.max_upload_bytes)
    calls = AgentCallEndpoints(bo.ingest, bo.metadata, bo.clock)

    async def status_page(request: Request) -> Response:
        raw_id = request.path_params["deposit_id"]
        token = request.query_params.get("t")
        lang = statuspage.choose_language(request.query_params.get("lang"),
                                          request.headers.get("Accept-Language"))
        try:
            record = await run_in_threadpool(statuspage.lookup, bo.metadata.deposit, raw_id,
                                             token)
        except StoreError:
            log.exception("status page: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        page = statuspage.render(record, raw_id, token, lang)
        return HTMLResponse(page.body, status_code=page.status_code,
                            headers=statuspage.headers(lang))

    async def health(request: Request) -> Response:
        checks: dict[str, str] = {}
        ok = True
        try:
            await run_in_threadpool(bo.metadata.ping)
            checks["metadata"] = "ok"
        except StoreError as exc:
            checks["metadata"] = str(exc)
            ok = False
        return JSONResponse({"status": "ok" if ok else "failing", "checks": checks},
                            status_code=200 if ok else 503,
                            headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        try:
            gauges = await run_in_threadpool(bo.metadata.counts)
        except StoreError:
            gauges = {}
        return PlainTextResponse(bo.ingest.metrics.render(gauges),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def sweep() -> None:
            while True:
                try:
                    await run_in_threadpool(bo.ingest.sweep_expired)
                except Exception:  # the sweep must survive a store hiccup
                    log.exception("sweeping expired uploads failed")
                await asyncio.sleep(bo.sweep_interval)

        task = asyncio.create_task(sweep())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    routes = [
        *tus.routes(),
        *calls.routes(),
        Route("/suivi/{deposit_id}", status_page, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
