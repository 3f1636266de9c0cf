"""Running the app on uvicorn over TLS, with the kiosk's client certificate in the ASGI scope.

Neither uvicorn (0.54) nor hypercorn puts the TLS peer certificate in the ASGI
scope yet (the ASGI TLS extension is open as uvicorn PRs #3132/#3133 and
hypercorn issue #62). uvicorn takes an HTTP protocol class in its
configuration, so :class:`TLSH11Protocol` (uvicorn's own h11 protocol, plus
ten lines) reads the verified peer certificate once per connection from the
``ssl_object`` and hands it to the app as ``scope["extensions"]["tls"]`` in the
shape of that extension (``client_cert_chain[0]`` is the leaf, PEM). When
uvicorn ships the extension, the subclass goes and the app does not change.

TLS asks for a client certificate but does not require one
(``CERT_OPTIONAL``): citizens' browsers have none and open the status page on
the same port. A certificate that is presented must chain to the fleet CA or
the handshake fails; the upload routes refuse requests without one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from backoffice.app import Backoffice, create_app
from backoffice.settings import Settings

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


class TLSH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that exposes the verified client certificate (ASGI TLS shape)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        cipher = ssl_object.cipher()
        self.app = _WithTLS(self.app, {
            "server_cert": None,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": ssl_object.version(),
            "cipher_suite": cipher[0] if cipher else None,
        })


def sd_notify(message: str) -> None:
    """Tell systemd (Type=notify) something, if it is listening; a no-op otherwise."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, host: str, port: int) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status."""
    bo = Backoffice.open(settings)
    app = create_app(bo)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app, http=TLSH11Protocol, ws="none", lifespan="on", log_config=None,
        access_log=False, server_header=False, proxy_headers=False,
        timeout_keep_alive=30, timeout_graceful_shutdown=10,
        # TLS >= 1.2 (Python's default for servers); a client certificate is asked
        # for and, when sent, must chain to the fleet CA.
        ssl_certfile=str(settings.server_cert), ssl_keyfile=str(settings.server_key),
        ssl_ca_certs=str(settings.ca_cert), ssl_cert_reqs=ssl.CERT_OPTIONAL,
    )

    def ready() -> None:
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        log.info("listening on https://%s:%d (metadata %s, objects %s)", shown, bound_port,
                    bo.metadata.describe(), bo.objects.url)
        sd_notify("READY=1")

    server = _Server(config, ready)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then restores the handlers it
    # found and raises the signal again; with these, the process then exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: None)
    try:
        server.run(sockets=[sock])
    finally:
        sd_notify("STOPPING=1")
        bo.close()
        sock.close()
    log.info("stopped")
    return 0 if server.started else 1
