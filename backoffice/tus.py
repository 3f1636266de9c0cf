"""The tus 1.0 endpoints (core, creation, checksum, termination, expiration) over :mod:`ingest`.

Routes: ``OPTIONS /files/`` (discovery, no certificate needed), ``POST
/files/`` (creation), and ``HEAD``, ``PATCH``, ``DELETE`` on
``/files/<upload id>``. ``X-HTTP-Method-Override`` is honoured as the spec
asks. Every answer but OPTIONS carries ``Tus-Resumable: 1.0.0``; HEAD answers
``Cache-Control: no-store``. An upload that completes carries the signed
acknowledgement in a ``Deposit-Ack`` header (on the last PATCH, on HEAD, and on
a POST that found the deposit already stored).

Strict on what it reads: integers are ASCII digits only (``Upload-Length: ²``
is a 400, not a crash), ``Location`` is a path built from the configured URL
(never from the Host header). A request body that brings no byte for ``body_idle_timeout``
seconds ends (408, connection closed); what it brought is kept. Refusals that
pass with time (423, 429, 507, 503) carry ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from email.utils import format_datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.errors import IngestError, RequestStalled, StoreError, TooLarge
from backoffice.ingest import Ingest, Received
from backoffice.leases import ClientGone, Writing
from backoffice.settings import Settings
from backoffice.store.metadata import KioskRecord
from backoffice.tusheaders import CHECKSUMS, Checksum
from deposit import ack as ackmod

log = logging.getLogger(__name__)

VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
ACK_HEADER = ackmod.HEADER


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **extra}


#: Longest integer header accepted: 2**63 has 19 digits.
_MAX_DIGITS = 19


def _error(exc: IngestError) -> Response:
    headers = _tus_headers()
    if exc.status == 412:
        headers["Tus-Version"] = VERSION
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return Response(f"{exc}\n", status_code=exc.status, headers=headers,
                    media_type="text/plain; charset=utf-8")


def client_certificate(request: Request) -> str | None:
    """The client's leaf certificate (PEM) from the ASGI TLS extension, if any."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return chain[0] if chain else None


def ascii_int(value: str) -> int | None:
    """``value`` as a non-negative integer when it is 1 to 19 ASCII digits, else None.

    ``str.isdigit`` alone accepts "²" and other Unicode digits that ``int`` refuses.
    """
    if not value or len(value) > _MAX_DIGITS or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def _int_header(request: Request, name: str) -> int:
    value = ascii_int(request.headers.get(name, ""))
    if value is None:
        raise IngestError(f"{name} must be a non-negative integer (ASCII digits)")
    return value


def _upload_headers(received: Received) -> dict[str, str]:
    upload = received.upload
    headers = _tus_headers(**{"Upload-Offset": str(upload.offset),
                              "Upload-Length": str(upload.length)})
    if upload.metadata:
        headers["Upload-Metadata"] = upload.metadata
    if upload.state == "open":
        headers["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
    if received.ack is not None:
        headers[ACK_HEADER] = ackmod.to_header(received.ack)
    return headers


class TusEndpoints:
    def __init__(self, ingest: Ingest, settings: Settings) -> None:
        self.ingest = ingest
        self.settings = settings
        self.max_upload_bytes = settings.max_upload_bytes
        self.body_idle_timeout = settings.limits.body_idle_timeout

    def routes(self) -> list[Route]:
        methods = ["OPTIONS", "POST", "HEAD", "PATCH", "DELETE"]
        return [Route("/files/", self.dispatch, methods=methods),
                Route("/files/{upload_id}", self.dispatch, methods=methods)]

    async def dispatch(self, request: Request) -> Response:
        method = request.method
        override = request.headers.get("X-HTTP-Method-Override")
        if override and method == "POST":
            method = override.upper()
        upload_id = request.path_params.get("upload_id")
        if method == "OPTIONS":
            return self.options()
        try:
            if request.headers.get("Tus-Resumable") != VERSION:
                error = IngestError(f"Tus-Resumable must be {VERSION}")
                error.status = 412
                raise error
            kiosk = await run_in_threadpool(self.ingest.authenticate,
                                            client_certificate(request))
            if upload_id is None:
                if method != "POST":
                    return Response(status_code=405, headers=_tus_headers(Allow="POST, OPTIONS"))
                return await self.create(request, kiosk)
            if method == "HEAD":
                received = await run_in_threadpool(self.ingest.head, kiosk, upload_id)
                return Response(status_code=200, headers=_upload_headers(received))
            if method == "PATCH":
                return await self.patch(request, kiosk, upload_id)
            if method == "DELETE":
                await run_in_threadpool(self.ingest.terminate, kiosk, upload_id)
                return Response(status_code=204, headers=_tus_headers())
            return Response(status_code=405,
                            headers=_tus_headers(Allow="HEAD, PATCH, DELETE, OPTIONS"))
        except IngestError as exc:
            if exc.status >= 500 or exc.status in (403, 413, 422, 429, 460):
                log.info("%s %s: %d %s", method, request.url.path, exc.status, exc)
            return _error(exc)
        except StoreError as exc:
            log.error("%s %s: a store failed: %s", method, request.url.path, exc)
            return Response("the back office cannot store this now; try later\n",
                            status_code=503, headers=_tus_headers(**{"Retry-After": "60"}),
                            media_type="text/plain; charset=utf-8")

    def options(self) -> Response:
        return Response(status_code=204, headers={
            "Tus-Resumable": VERSION, "Tus-Version": VERSION, "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(self.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)})

    async def create(self, request: Request, kiosk: KioskRecord) -> Response:
        if "Upload-Defer-Length" in request.headers:
            raise IngestError("Upload-Defer-Length is not supported: the manifest states "
                              "the length")
        length = _int_header(request, "Upload-Length")
        if request.headers.get("Content-Length", "0") not in ("", "0"):
            raise IngestError("creation-with-upload is not supported: POST an empty body")
        received = await run_in_threadpool(self.ingest.create, kiosk, length,
                                           request.headers.get("Upload-Metadata", ""))
        headers = _upload_headers(received)
        headers["Location"] = self.settings.upload_location(received.upload.upload_id)
        return Response(status_code=201, headers=headers)

    async def patch(self, request: Request, kiosk: KioskRecord, upload_id: str) -> Response:
        if request.headers.get("Content-Type", "").split(";")[0].strip() != \
                "application/offset+octet-stream":
            error = IngestError("PATCH needs Content-Type: application/offset+octet-stream")
            error.status = 415
            raise error
        offset = _int_header(request, "Upload-Offset")
        content_length = None
        if "Content-Length" in request.headers:
            content_length = _int_header(request, "Content-Length")
        checksum_header = request.headers.get("Upload-Checksum")
        checksum = Checksum.parse(checksum_header) if checksum_header else None
        writing = Writing(kiosk.kiosk_id)
        try:
            received = await self.ingest.append(
                kiosk, upload_id, offset, content_length, checksum,
                body(request, writing, self.body_idle_timeout), writing)
        except ClientGone as gone:
            if gone.stalled:
                self.ingest.metrics.inc("backoffice_requests_stalled_total")
                response = _error(RequestStalled("the request body stopped coming"))
                response.headers["Connection"] = "close"
                return response
            return Response(status_code=400, headers=_tus_headers())
        except TooLarge as exc:
            # The rest of the body is not read: close the connection after answering.
            response = _error(exc)
            response.headers["Connection"] = "close"
            return response
        return Response(status_code=204, headers=_upload_headers(received))


#: How often a waiting body reader looks at its stop flag, seconds.
_POLL = 0.5


async def body(request: Request, writing: Writing, idle_timeout: float) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk, as long as it keeps coming.

    Touches ``writing`` on every chunk; raises :class:`ClientGone` when the client
    disconnects, and ``ClientGone(stalled=True)`` when no byte came for
    ``idle_timeout`` seconds or ``writing.stop`` was set (a newer request took
    the upload over). Reads the ASGI ``receive`` directly: cancelling a wait on
    it loses nothing, unlike cancelling a stream generator.
    """
    while True:
        try:
            message = await asyncio.wait_for(request.receive(), timeout=_POLL)
        except TimeoutError:
            if writing.stop.is_set() or writing.idle() >= idle_timeout:
                raise ClientGone(stalled=True) from None
            continue
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            writing.touch()
            yield chunk
        if writing.stop.is_set():
            raise ClientGone(stalled=True)
        if not message.get("more_body", False):
            return
