"""The kiosks' lookup of a receipt (``POST /kiosk/v1/complements/lookup``), on the ingest
listener with the kiosk's client certificate: what documents, if any, the dossier of a
receipt shown to the kiosk asks for (backoffice/complements.py says what is answered).

Request ``{"deposit_id": "...", "token": "<the receipt's tracking token>"}``; answer 200
``{"state": "open", "request_id", "procedure", "documents": [...], "deadline", "note"}``,
``{"state": "none"}`` or ``{"state": "expired", "deadline"}``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from backoffice.complements import lookup
from backoffice.errors import IngestError, RequestStalled, StoreError
from backoffice.ingest import Ingest
from backoffice.leases import ClientGone, Writing
from backoffice.store.metadata import MetadataStore
from backoffice.tus import body as request_body
from backoffice.tus import client_certificate

log = logging.getLogger(__name__)

LOOKUP_PATH = "/kiosk/v1/complements/lookup"
MAX_LOOKUP_BODY = 1024


class ComplementEndpoints:
    """The kiosks' lookup (on the ingest listener, kiosk certificate required)."""

    def __init__(self, ingest: Ingest, metadata: MetadataStore,
                 clock: Callable[[], datetime]) -> None:
        self.ingest = ingest
        self.metadata = metadata
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route(LOOKUP_PATH, self.post_lookup, methods=["POST"])]

    async def post_lookup(self, request: Request) -> Response:
        try:
            kiosk = await run_in_threadpool(self.ingest.authenticate,
                                            client_certificate(request))
            body = b""
            try:
                # The body timeout of uploads: a kiosk that stops sending frees its slot.
                async for chunk in request_body(request, Writing(kiosk.kiosk_id),
                                                self.ingest.limits.body_idle_timeout):
                    body += chunk
                    if len(body) > MAX_LOOKUP_BODY:
                        raise IngestError(f"a lookup is at most {MAX_LOOKUP_BODY} bytes")
            except ClientGone:
                raise RequestStalled("the lookup's body stopped coming") from None
            deposit_id, token = _parse_lookup(body)
            answer = await run_in_threadpool(lookup, self.metadata, deposit_id, token,
                                             self.clock())
        except IngestError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=exc.status,
                                     headers={"Cache-Control": "no-store"})
        except StoreError:
            log.exception("complement lookup: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        log.info("kiosk %s looked up a receipt: %s", kiosk.kiosk_id, answer.state)
        return JSONResponse(answer.to_json(), headers={"Cache-Control": "no-store"})


def _parse_lookup(body: bytes) -> tuple[str, str]:
    """``{"deposit_id": str, "token": str}`` and nothing else; IngestError (400) otherwise."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise IngestError("a lookup is a JSON object {deposit_id, token}") from None
    if not isinstance(data, dict) or sorted(data) != ["deposit_id", "token"] or not all(
            isinstance(v, str) and 0 < len(v) <= 128 for v in data.values()):
        raise IngestError("a lookup is a JSON object {deposit_id, token} of two strings")
    return data["deposit_id"], data["token"]
