"""``GET /kiosk/v1/fleet-state`` on the kiosks' listener: the signed fleet state.

The wire format is deposit/fleetstate.py's.

The kiosk is authenticated by its client certificate exactly as for tus
(unknown or revoked: 403). The state is built on each request from the
metadata store (the badges revoked and not yet expired) and signed with the
acknowledgement key; ``issued_at`` is the back office's clock, so a later
answer never sorts before an earlier one (a kiosk refuses an older state).
Several ingest processes behind a load balancer answer alike to the second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from backoffice.errors import IngestError, StoreError
from backoffice.ingest import Ingest
from backoffice.store.badgesdb import BadgeStore
from backoffice.store.metadata import MetadataStore
from backoffice.tus import client_certificate
from deposit import fleetstate
from deposit.fleetstate import FLEET_STATE_PATH, FleetState

log = logging.getLogger(__name__)


def build(metadata: MetadataStore, now: datetime) -> FleetState:
    """The fleet state as of ``now``."""
    return FleetState(issued_at=fleetstate.utc(now),
                      revoked_badges=frozenset(BadgeStore(metadata).revoked_unexpired(now)))


class FleetStateEndpoint:
    """The kiosks' ``GET`` of the fleet state (ingest listener, kiosk certificate required)."""

    def __init__(self, ingest: Ingest, metadata: MetadataStore, key: Ed25519PrivateKey,
                 clock: Callable[[], datetime]) -> None:
        self.ingest = ingest
        self.metadata = metadata
        self.key = key
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route(FLEET_STATE_PATH, self.get, methods=["GET"])]

    def signed(self) -> bytes:
        return fleetstate.sign(build(self.metadata, self.clock()), self.key)

    async def get(self, request: Request) -> Response:
        try:
            kiosk = await run_in_threadpool(self.ingest.authenticate, client_certificate(request))
            blob = await run_in_threadpool(self.signed)
        except IngestError as exc:
            log.info("%s %s: %d %s", request.method, request.url.path, exc.status, exc)
            return PlainTextResponse(f"{exc}\n", status_code=exc.status,
                                     headers={"Cache-Control": "no-store"})
        except StoreError:
            log.exception("fleet state: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        log.debug("kiosk %s fetched the fleet state", kiosk.kiosk_id)
        return Response(blob, media_type="application/json",
                        headers={"Cache-Control": "no-store"})
