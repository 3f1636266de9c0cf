"""``GET /kiosk/v1/fleet-state`` on the kiosks' listener: the signed fleet state.

The wire format is deposit/fleetstate.py's.

The 2D-Doc trust list it carries is the file ``{data}/twoddoc/trust-list.xml``
(ETSI TS 119 612 XML, as ANTS publishes it; docs/2ddoc.md says how to put it
there), read at each request so that a new list reaches the fleet with the
next heartbeats; a file that is not such a list is logged and not sent (the
kiosks keep the list they have). No file: no list in the state, and the
kiosks use the one they shipped with.

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
from pathlib import Path

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
from twoddoc.trustlist import TrustList, TrustListError

log = logging.getLogger(__name__)

#: Where, in the back office's data folder, the 2D-Doc trust list sent to kiosks lies.
TRUST_LIST_FILE = Path("twoddoc") / "trust-list.xml"


def trust_list_text(path: Path | None) -> str | None:
    """The trust list at ``path`` if it is one (test authorities included: the kiosk's
    configuration decides whether to trust them), else None (logged)."""
    if path is None:
        return None
    try:
        text = path.read_text("utf-8")
        TrustList.from_xml(text, include_test=True)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, TrustListError) as exc:
        log.error("2D-Doc trust list %s not sent to the kiosks: %s", path, exc)
        return None
    return text


def build(metadata: MetadataStore, now: datetime, trust_list: Path | None = None
          ) -> FleetState:
    """The fleet state as of ``now``, with the trust list at ``trust_list`` if any."""
    return FleetState(issued_at=fleetstate.utc(now),
                      revoked_badges=frozenset(BadgeStore(metadata).revoked_unexpired(now)),
                      twoddoc_trust_list=trust_list_text(trust_list))


class FleetStateEndpoint:
    """The kiosks' ``GET`` of the fleet state (ingest listener, kiosk certificate required)."""

    def __init__(self, ingest: Ingest, metadata: MetadataStore, key: Ed25519PrivateKey,
                 clock: Callable[[], datetime], trust_list: Path | None = None) -> None:
        self.ingest = ingest
        self.metadata = metadata
        self.key = key
        self.clock = clock
        self.trust_list = trust_list

    def routes(self) -> list[Route]:
        return [Route(FLEET_STATE_PATH, self.get, methods=["GET"])]

    def signed(self) -> bytes:
        return fleetstate.sign(build(self.metadata, self.clock(), self.trust_list), self.key)

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
