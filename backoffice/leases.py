"""The per-upload lock as a lease: one request writes an upload at a time, and a stalled one
does not keep it.

The lock itself is the object store's (``flock`` on the partial file, across
the processes of one machine). What it lacked: a request whose client went
silent mid-body (a kiosk on 4G losing its link without a reset) held it until
the server restarted, and every retry got 423. Now each writing request is a
:class:`Writing` that its body reader touches on every chunk; a request of
the same kiosk that finds the lock held by a writer idle for ``upload_lease``
seconds tells it to stop (it keeps what it received, tus-style) and waits for
the lock. The body reader ends a silent request by itself too, after
``body_idle_timeout`` (backoffice/tus.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from backoffice.errors import UploadLocked
from backoffice.metrics import Metrics
from backoffice.store.objects import ObjectStore

log = logging.getLogger(__name__)

#: How long a request waits for a stalled writer it ended to let go of the upload.
TAKEOVER_WAIT = 5.0


class ClientGone(Exception):
    """The client closed the connection, or stopped sending, in the middle of a request body.

    ``stalled``: it did not close; its body brought no byte for too long, or a
    newer request of the same kiosk took the upload over.
    """

    def __init__(self, *, stalled: bool = False) -> None:
        super().__init__("stalled" if stalled else "gone")
        self.stalled = stalled


@dataclass
class Writing:
    """One request writing an upload: when it last brought bytes, and how to end it."""

    kiosk_id: str
    last: float = field(default_factory=time.monotonic)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.last = time.monotonic()

    def idle(self) -> float:
        return time.monotonic() - self.last


class Leases:
    """Who writes which upload in this process, and the takeover rule."""

    def __init__(self, objects: ObjectStore, lease_seconds: float, metrics: Metrics) -> None:
        self.objects = objects
        self.lease = lease_seconds
        self.metrics = metrics
        self._writing: dict[str, Writing] = {}   # upload id -> the request writing it

    @contextlib.asynccontextmanager
    async def hold(self, kiosk_id: str, upload_id: str, writing: Writing) -> AsyncIterator[None]:
        """Hold the upload's lock for this request, taking it over from a stalled writer.

        The holder of an upload is in ``_writing``; when it brought no byte for
        ``upload_lease`` seconds and this request comes from the same kiosk,
        the holder is told to stop (it keeps what it received) and this request
        waits for the lock up to TAKEOVER_WAIT seconds. Otherwise
        :class:`UploadLocked` says when to try again.
        """
        deadline = time.monotonic() + TAKEOVER_WAIT
        lease = self.lease
        while True:
            held = self.objects.lock(upload_id)
            try:
                held.__enter__()
                break
            except UploadLocked:
                holder = self._writing.get(upload_id)
                if holder is None or holder.kiosk_id != kiosk_id:
                    raise UploadLocked("another request is writing to this upload",
                                       retry_after=math.ceil(lease)) from None
                idle = holder.idle()
                if idle < lease and not holder.stop.is_set():
                    raise UploadLocked(
                        f"another request is writing to this upload (its last bytes came "
                        f"{idle:.0f} s ago)", retry_after=math.ceil(lease - idle) + 1) from None
                if not holder.stop.is_set():
                    log.warning("upload %s: its writer brought nothing for %.0f s; a newer "
                                "request of kiosk %s takes it over", upload_id, idle,
                                kiosk_id)
                    self.metrics.inc("backoffice_uploads_taken_over_total")
                    holder.stop.set()
                if time.monotonic() > deadline:
                    raise UploadLocked("the stalled request has not let go of this upload yet",
                                       retry_after=1) from None
                await asyncio.sleep(0.05)
        self._writing[upload_id] = writing
        try:
            yield
        finally:
            if self._writing.get(upload_id) is writing:
                del self._writing[upload_id]
            held.__exit__(None, None, None)
