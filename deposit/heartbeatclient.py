"""Posting a signed heartbeat (deposit/heartbeat.py) to the back office's kiosk listener.

::

    POST /kiosk/v1/heartbeats   the signed blob   -> 204 stored (a replay of the same one too)

It speaks over the ``httpx.Client`` of the kiosk's enrollment bundle (mutual
TLS: the back office knows the kiosk by its certificate). A heartbeat is
small and sent every few minutes; a lost one is simply replaced by the next,
so the client never retries by itself: it says what happened, as
:mod:`deposit.agentcall` does, with deposit's errors.
"""

from __future__ import annotations

from urllib.parse import urljoin

import httpx

from deposit.errors import TransientError
from deposit.heartbeat import HEARTBEATS_PATH
from deposit.tus import kiosk_request

#: The media type of the blob (canonical JSON).
CONTENT_TYPE = "application/json"


class HeartbeatClient:
    """Sends heartbeats (see the module docstring).

    :meth:`send` raises :class:`UnreachableError` when no connection could be
    made, :class:`TransientError` for 5xx, 408, 429 and broken connections,
    :class:`RefusedError` for other 4xx (status 0: the TLS handshake refused
    this kiosk's certificate; 403: revoked or unknown; 400: the heartbeat
    itself, with the back office's reason).
    """

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        """``base_url``: any URL of the back office's kiosk listener (a bundle's upload URL)."""
        self.client = client
        self.endpoint = urljoin(base_url, HEARTBEATS_PATH)

    def close(self) -> None:
        self.client.close()

    def send(self, blob: bytes) -> None:
        url = self.endpoint
        response = kiosk_request(self.client, "POST", url, content=blob,
                                 headers={"Content-Type": CONTENT_TYPE})
        status = response.status_code
        if status != 204:
            raise TransientError(f"POST {url}: unexpected answer {status}")
