"""A citizen's "call an agent", carried from the kiosk to the back office's staff and back.

The kiosk's uploader (the process that holds the kiosk's client certificate)
speaks to the back office's kiosk listener, mutual TLS as for the tus uploads:

::

    POST /kiosk/v1/agent-calls            {"id", "step", "called_at"}  -> 201 new, 200 known
    GET  /kiosk/v1/agent-calls/<id>                                     -> 200, 404 unknown

Both answer the call as the back office holds it: ``{"id", "state", "seen_by",
"seen_at"}`` with ``state`` a :class:`CallState`. The call id, random and made
on the kiosk, is the idempotency key: the same call posted twice is one call.
Staff acknowledge calls on the staff side (``backoffice agents ack``); the
kiosk can only ask. Nothing here identifies the citizen: which kiosk (from its
certificate), at which step of the journey, when.

This module is the wire format (shared with backoffice/agentcalls.py, which
answers it) and :class:`AgentCallClient`, which speaks it over an
``httpx.Client``; HTTP and network failures become deposit's errors as in
:mod:`deposit.tus`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin

import httpx

from deposit.errors import TransientError, UploadError
from deposit.tus import kiosk_request

#: The collection of calls on the back office's kiosk listener.
CALLS_PATH = "/kiosk/v1/agent-calls"
#: A step is a journey step's value (kiosk/journey.py ``Step``): short, lower case.
STEP_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class CallState(StrEnum):
    """A call as the back office holds it.

    Crosses the network: written by backoffice/agentcalls.py, read by the
    kiosk's uploader (kiosk/agentcall.py); printed by ``backoffice agents --json``.
    """

    OPEN = "open"        # received, no one has said they saw it yet
    SEEN = "seen"        # a member of staff acknowledged it: someone is coming


class CallNotFoundError(UploadError):
    """404 on a call: the back office does not hold it (post it again)."""


def new_call_id() -> str:
    """128 random bits in hex: unguessable, and unique across the fleet."""
    return secrets.token_hex(16)


def valid_call_id(text: str) -> bool:
    return _ID_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True)
class CallAnswer:
    """What the back office says of one call."""

    call_id: str
    state: CallState
    seen_by: str | None = None
    seen_at: str | None = None        # RFC 3339 UTC

    def to_json(self) -> dict[str, Any]:
        return {"id": self.call_id, "state": self.state.value, "seen_by": self.seen_by,
                "seen_at": self.seen_at}

    @classmethod
    def from_json(cls, data: object) -> CallAnswer:
        """Parse an answer; TransientError when it is not one (a proxy's page, a bug)."""
        if not isinstance(data, dict):
            raise TransientError(f"an agent-call answer must be a JSON object, not {data!r:.80}")
        try:
            state = CallState(str(data.get("state")))
        except ValueError:
            raise TransientError(f"unknown agent-call state {data.get('state')!r:.40}") from None
        call_id, seen_by, seen_at = data.get("id"), data.get("seen_by"), data.get("seen_at")
        if not isinstance(call_id, str) or not all(
                v is None or isinstance(v, str) for v in (seen_by, seen_at)):
            raise TransientError(f"malformed agent-call answer {data!r:.120}")
        return cls(call_id, state, seen_by, seen_at)


class AgentCallClient:
    """Posts calls and asks about them (see the module docstring).

    Raises :class:`UnreachableError` when no connection could be made,
    :class:`TransientError` for 5xx, 408, 429 and broken connections,
    :class:`CallNotFoundError` for 404, :class:`RefusedError` for other 4xx
    (status 0: the TLS handshake refused this kiosk's certificate).
    """

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        """``base_url``: any URL of the back office's kiosk listener (a bundle's upload URL)."""
        self.client = client
        self.endpoint = urljoin(base_url, CALLS_PATH)

    def close(self) -> None:
        self.client.close()

    def send(self, call_id: str, step: str, called_at: str) -> CallAnswer:
        """Post a call (again: posting is idempotent on the id)."""
        return self._answer("POST", self.endpoint,
                            json={"id": call_id, "step": step, "called_at": called_at})

    def status(self, call_id: str) -> CallAnswer:
        return self._answer("GET", f"{self.endpoint}/{call_id}")

    def _answer(self, method: str, url: str, **kwargs: Any) -> CallAnswer:
        response = kiosk_request(self.client, method, url, expected=(404,), **kwargs)
        if response.status_code == 404:
            raise CallNotFoundError(f"{url}: the back office holds no such call")
        try:
            data = response.json()
        except ValueError:
            raise TransientError(f"{method} {url}: the answer is not JSON") from None
        return CallAnswer.from_json(data)
