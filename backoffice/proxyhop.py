"""The kiosk's certificate as nginx verified it, read over the one hop nobody else can use.

When the back office runs as several ingest processes behind nginx
(``backoffice serve --workers N``, :mod:`backoffice.workers`), nginx
terminates TLS, requires a client certificate of the fleet CA
(``ssl_verify_client on``) and passes the request to one of the processes
over a **Unix socket** that only nginx's group may open
(:data:`SOCKET_MODE`). It sets two headers on every request, replacing any a
client sent under the same names (``proxy_set_header``):

- ``X-Client-Verify``: nginx's ``$ssl_client_verify``, ``SUCCESS`` when the
  certificate chained to the fleet CA;
- ``X-Client-Cert``: ``$ssl_client_escaped_cert``, the leaf certificate in
  PEM, URL-encoded.

:class:`FromProxy` turns them into the ASGI TLS extension
(``scope["extensions"]["tls"]``) that the application already reads
(:func:`backoffice.tus.client_certificate`), so the application is the same
behind nginx and when it terminates TLS itself; both headers are removed from
the scope before the application sees it. A request without ``SUCCESS`` gets
no certificate (the application answers as to a connection without one).
The kiosk is then still looked up by the certificate's fingerprint among the
enrolled kiosks and refused if revoked (:meth:`backoffice.ingest.Ingest.authenticate`):
nginx's check is the first of two, as the TLS handshake's is in one process.

Nothing here is trusted on a TCP listener: :class:`FromProxy` is only ever put
on the ingest processes' Unix sockets (:mod:`backoffice.workers`).
"""

from __future__ import annotations

import stat
from typing import Any
from urllib.parse import unquote

#: The headers nginx sets (lower case, as ASGI gives them).
VERIFY_HEADER = b"x-client-verify"
CERT_HEADER = b"x-client-cert"
#: What ``$ssl_client_verify`` says of a certificate that chained to the CA.
VERIFIED = "SUCCESS"
#: The ingest sockets: owner (the back office) and group (nginx's) may connect, nobody else.
SOCKET_MODE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP
#: Longest header value read (a PEM certificate URL-encoded is about 3x its size; an RSA-4096
#: leaf with extensions is under 3 KB of PEM): a larger one is not a certificate nginx sent.
MAX_CERT_HEADER = 32 * 1024


def tls_extension(headers: list[tuple[bytes, bytes]]) -> dict[str, Any] | None:
    """The ASGI TLS extension nginx's two headers describe, or None without a verified one."""
    verify = cert = b""
    for name, value in headers:
        if name == VERIFY_HEADER:
            verify = value
        elif name == CERT_HEADER:
            cert = value
    if verify.decode("latin-1") != VERIFIED or not cert or len(cert) > MAX_CERT_HEADER:
        return None
    pem = unquote(cert.decode("latin-1"))
    if not pem.startswith("-----BEGIN CERTIFICATE-----"):
        return None
    return tls_scope([pem])


def tls_scope(chain: list[str], tls_version: str | None = None,
              cipher_suite: str | None = None) -> dict[str, Any]:
    """The ASGI TLS extension (``scope["extensions"]["tls"]``) for a client certificate chain
    (PEM, leaf first): what the application reads, whoever terminated TLS."""
    return {"server_cert": None, "client_cert_chain": chain, "client_cert_name": None,
            "client_cert_error": None, "tls_version": tls_version, "cipher_suite": cipher_suite}


class FromProxy:
    """ASGI middleware: nginx's verified certificate as the TLS extension; its headers dropped."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = list(scope.get("headers") or [])
            tls = tls_extension(headers)
            extensions = {k: v for k, v in (scope.get("extensions") or {}).items()
                          if k != "tls"}
            if tls is not None:
                extensions["tls"] = tls
            scope = {**scope, "extensions": extensions,
                     "headers": [(n, v) for n, v in headers
                                 if n not in (VERIFY_HEADER, CERT_HEADER)]}
        await self.app(scope, receive, send)
