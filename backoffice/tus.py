"""The tus 1.0 endpoints (core, creation, checksum, termination, expiration) over :mod:`ingest`.

Routes: ``OPTIONS /files/`` (discovery, no certificate needed), ``POST
/files/`` (creation), and ``HEAD``, ``PATCH``, ``DELETE`` on
``/files/<upload id>``. ``X-HTTP-Method-Override`` is honoured as the spec
asks. Every answer but OPTIONS carries ``Tus-Resumable: 1.0.0``; HEAD answers
``Cache-Control: no-store``. An upload that completes carries the signed
acknowledgement in a ``Deposit-Ack`` header (on the last PATCH, on HEAD, and on
a POST that found the deposit already stored).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from email.utils import format_datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.errors import IngestError, TooLarge
from backoffice.ingest import CHECKSUMS, Checksum, ClientGone, Ingest, Received
from backoffice.store.metadata import KioskRecord
from deposit import ack as ackmod

log = logging.getLogger(__name__)

VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination,expiration"
ACK_HEADER = ackmod.HEADER


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **extra}


def _error(exc: IngestError) -> Response:
    headers = _tus_headers()
    if exc.status == 412:
        headers["Tus-Version"] = VERSION
    return Response(f"{exc}\n", status_code=exc.status, headers=headers,
                    media_type="text/plain; charset=utf-8")


def client_certificate(request: Request) -> str | None:
    """The client's leaf certificate (PEM) from the ASGI TLS extension, if any."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return chain[0] if chain else None


def _int_header(request: Request, name: str) -> int:
    value = request.headers.get(name)
    if value is None or not value.isdigit():
        raise IngestError(f"{name} must be a non-negative integer")
    return int(value)


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
    def __init__(self, ingest: Ingest, max_upload_bytes: int) -> None:
        self.ingest = ingest
        self.max_upload_bytes = max_upload_bytes

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
            if exc.status >= 500 or exc.status in (403, 413, 422, 460):
                log.info("%s %s: %d %s", method, request.url.path, exc.status, exc)
            return _error(exc)

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
        base = str(request.base_url).rstrip("/")
        headers["Location"] = f"{base}/files/{received.upload.upload_id}"
        return Response(status_code=201, headers=headers)

    async def patch(self, request: Request, kiosk: KioskRecord, upload_id: str) -> Response:
        if request.headers.get("Content-Type", "").split(";")[0].strip() != \
                "application/offset+octet-stream":
            error = IngestError("PATCH needs Content-Type: application/offset+octet-stream")
            error.status = 415
            raise error
        offset = _int_header(request, "Upload-Offset")
        content_length = request.headers.get("Content-Length")
        if content_length is not None and not content_length.isdigit():
            raise IngestError("Content-Length must be a non-negative integer")
        checksum_header = request.headers.get("Upload-Checksum")
        checksum = Checksum.parse(checksum_header) if checksum_header else None
        try:
            received = await self.ingest.append(
                kiosk, upload_id, offset, int(content_length) if content_length else None,
                checksum, _body(request))
        except ClientGone:
            return Response(status_code=400, headers=_tus_headers())
        except TooLarge as exc:
            # The rest of the body is not read: close the connection after answering.
            response = _error(exc)
            response.headers["Connection"] = "close"
            return response
        return Response(status_code=204, headers=_upload_headers(received))


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise ClientGone() from None
