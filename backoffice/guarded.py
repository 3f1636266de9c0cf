"""uvicorn's h11 protocol for one back-office process: bounded connections, the peer certificate.

**Connections are bounded** by :class:`GuardedH11Protocol`, uvicorn's own h11
protocol plus: a deadline for a request's headers (``header_timeout``,
counted from the connection or the previous response and not pushed back by
trickled bytes, so idle and slowloris connections are closed), and a cap on
open connections per listener at which the longest-idle connection is closed
to make room. Request bodies have their own inactivity timeout in the tus
layer (backoffice/tus.py). A TLS handshake must finish within the same
``header_timeout``: the event loop (:class:`backoffice.server.BoundedHandshakeLoop`) gives every
TLS server it creates that ``ssl_handshake_timeout`` (asyncio's default, 60 s,
let a connection that never says hello hold a file descriptor for a minute;
uvicorn does not pass one).

**The client certificate.** Neither uvicorn (0.55) nor hypercorn puts the TLS
peer certificate in the ASGI scope yet (the ASGI TLS extension is open as
uvicorn PRs #3132/#3133), so the protocol reads the verified certificate once
per connection from the ``ssl_object`` and hands it to the app as
``scope["extensions"]["tls"]`` in the shape of that extension. When uvicorn
ships it, this part goes and the app does not change.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from backoffice.proxyhop import tls_scope
from backoffice.settings import Limits

log = logging.getLogger(__name__)


class _WithTLS:
    """Wraps the app for one connection: adds the TLS extension to every HTTP scope."""

    def __init__(self, app: Any, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": self.tls}}
        await self.app(scope, receive, send)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a connection cap and the peer certificate.

    Subclasses made by :func:`guarded_protocol` set the two limits.
    """

    header_timeout: float = Limits.header_timeout
    max_connections: int = Limits.max_connections
    _deadline: asyncio.TimerHandle | None = None
    _idle_since: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        if len(self.connections) > self.max_connections and not self._make_room():
            log.warning("%s: %d connections open, every one busy: refused a new one",
                        self._where(), len(self.connections) - 1)
            transport.abort()
            return
        self._arm()
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        cipher = ssl_object.cipher()
        self.app = _WithTLS(self.app, tls_scope(
            [ssl.DER_cert_to_PEM_cert(der)] if der else [], ssl_object.version(),
            cipher[0] if cipher else None))

    def _where(self) -> str:
        host, port = self.server if self.server else ("?", 0)
        return f"{host}:{port}"

    def _waiting(self) -> bool:
        """True between requests: no request under way on this connection."""
        return self.cycle is None or self.cycle.response_complete

    def _make_room(self) -> bool:
        idle = [c for c in self.connections
                if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting()]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._idle_since)
        oldest.transport.abort()
        return True

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self._waiting() and not self.transport.is_closing():
            # abort, not close: a TLS close would wait for a peer that sends nothing.
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._idle_since = self.loop.time()
            if self._waiting():
                self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def guarded_protocol(limits: Limits) -> type[GuardedH11Protocol]:
    """The protocol class for one listener, with ``limits``' header deadline and cap."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {
        "header_timeout": limits.header_timeout, "max_connections": limits.max_connections})
