"""Kiosks' heartbeats: ``POST /kiosk/v1/heartbeats`` on the kiosks' listener, into the store.

A kiosk's uploader posts a signed heartbeat (deposit/heartbeat.py) every few
minutes over mutual TLS. It is taken only when every one of these holds,
checked in this order:

====================================================  ======================================
the TLS certificate is an enrolled kiosk's, not        403 (as for tus: backoffice/ingest.py)
revoked
the body is at most ``MAX_BLOB`` bytes                 413
it is a well-formed, canonical heartbeat               400, the reason in the body
it names the kiosk of the certificate                  403
it is signed with that kiosk's manifest-signing key    403
(``kiosks.signing_key_pem``)
it was not sent more than :data:`MAX_AHEAD` after      400 (a kiosk clock far ahead would pin
the back office's clock                                its "latest" in the future)
====================================================  ======================================

Then it is stored (backoffice/store/healthdb.py) and answered 204; the same
heartbeat posted again (same kiosk, same ``sent_at``: its answer was lost) is
204 too and stores nothing twice; one sent before the kiosk's latest goes to
the history only. Now and then (at most every :data:`PRUNE_EVERY`) the history
received more than ``heartbeat_history_days`` ago is deleted.

What a heartbeat holds is the machine's state, never a citizen's: the fleet's
view and alerts (backoffice/fleethealth.py) read it from the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from backoffice.errors import IngestError, RequestStalled, StoreError
from backoffice.ingest import Ingest
from backoffice.leases import ClientGone, Writing
from backoffice.store import healthdb
from backoffice.store.metadata import KioskRecord, MetadataStore
from backoffice.tus import body as request_body
from backoffice.tus import client_certificate
from deposit import manifest as manifestmod
from deposit.errors import DepositError
from deposit.heartbeat import (
    HEARTBEATS_PATH,
    MAX_BLOB,
    Heartbeat,
    HeartbeatError,
    parse_unverified,
    verify,
)

log = logging.getLogger(__name__)

#: How far ahead of the back office's clock a heartbeat may have been sent.
MAX_AHEAD = timedelta(minutes=10)
#: At most this often (per process) the old history is deleted.
PRUNE_EVERY = timedelta(hours=1)


def _refused(message: str, status: int) -> IngestError:
    error = IngestError(message)
    error.status = status
    return error


def check(blob: bytes, kiosk: KioskRecord, now: datetime) -> Heartbeat:
    """The heartbeat of ``blob`` if ``kiosk`` may send it now; IngestError (400, 403) saying
    why not."""
    try:
        claimed, _signature = parse_unverified(blob)
    except HeartbeatError as exc:
        raise IngestError(f"malformed heartbeat: {exc}") from None
    if claimed.kiosk_id != kiosk.kiosk_id:
        raise _refused(f"the heartbeat names kiosk {claimed.kiosk_id!r}, the certificate "
                       f"kiosk {kiosk.kiosk_id!r}", 403)
    try:
        key = manifestmod.load_public_key(kiosk.signing_key_pem.encode())
        heartbeat = verify(blob, key, kiosk_id=kiosk.kiosk_id)
    except DepositError as exc:       # HeartbeatError, or a key the store holds badly
        raise _refused(f"the heartbeat is not signed by kiosk {kiosk.kiosk_id}: {exc}",
                       403) from None
    ahead = heartbeat.sent() - now
    if ahead > MAX_AHEAD:
        raise IngestError(f"sent_at {heartbeat.sent_at} is {int(ahead.total_seconds())} s "
                          f"ahead of the back office's clock (at most "
                          f"{int(MAX_AHEAD.total_seconds())} s): set the kiosk's clock")
    return heartbeat


class HeartbeatEndpoints:
    """``POST /kiosk/v1/heartbeats`` (kiosks only; see the module docstring)."""

    def __init__(self, ingest: Ingest, metadata: MetadataStore,
                 clock: Callable[[], datetime], history_days: int = 30) -> None:
        self.ingest = ingest
        self.metadata = metadata
        self.clock = clock
        self.history = timedelta(days=history_days)
        self._pruned_at: datetime | None = None
        self._prune_lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [Route(HEARTBEATS_PATH, self.post, methods=["POST"])]

    async def post(self, request: Request) -> Response:
        try:
            kiosk: KioskRecord = await run_in_threadpool(self.ingest.authenticate,
                                                         client_certificate(request))
            blob = b""
            try:
                async for chunk in request_body(request, Writing(kiosk.kiosk_id),
                                                self.ingest.limits.body_idle_timeout):
                    blob += chunk
                    if len(blob) > MAX_BLOB:
                        raise _refused(f"a heartbeat is at most {MAX_BLOB} bytes", 413)
            except ClientGone:
                raise RequestStalled("the heartbeat's body stopped coming") from None
            now = self.clock()
            heartbeat = check(blob, kiosk, now)
            outcome = await run_in_threadpool(healthdb.record, self.metadata, heartbeat, now)
            await run_in_threadpool(self._prune_now_and_then, now)
        except IngestError as exc:
            log.log(logging.INFO if exc.status == 400 else logging.WARNING,
                    "heartbeat refused (%d): %s", exc.status, exc)
            headers = {"Cache-Control": "no-store"}
            if exc.retry_after is not None:
                headers["Retry-After"] = str(exc.retry_after)
            return PlainTextResponse(f"{exc}\n", status_code=exc.status, headers=headers)
        except StoreError:
            log.exception("heartbeat: the metadata store does not answer")
            return PlainTextResponse("service unavailable\n", status_code=503)
        if outcome is healthdb.Recorded.LATE:
            log.info("kiosk %s: heartbeat of %s arrived after a newer one (history only)",
                     kiosk.kiosk_id, heartbeat.sent_at)
        elif outcome is healthdb.Recorded.REPLAY:
            log.debug("kiosk %s: heartbeat of %s already stored", kiosk.kiosk_id,
                      heartbeat.sent_at)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    def _prune_now_and_then(self, now: datetime) -> None:
        """Delete the history older than ``heartbeat_history_days``, at most every
        :data:`PRUNE_EVERY` (a failure is logged: the heartbeat itself is stored)."""
        with self._prune_lock:
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = now
        try:
            removed = healthdb.prune(self.metadata, now - self.history)
        except StoreError:
            log.exception("heartbeats: the old history could not be deleted")
            return
        if removed:
            log.info("heartbeats: %d received before %s deleted", removed,
                     f"{now - self.history:%Y-%m-%d %H:%M}")
