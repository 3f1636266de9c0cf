"""nginx's configuration for the kiosks' listener with ``--workers`` (``backoffice proxy-config``).

What it prints is an ``upstream`` and a ``server`` block for nginx's ``http { }``
(Debian: ``/etc/nginx/sites-available/deposit-ingest``), made from the back
office's own settings so that the two never disagree: nginx listens on the
settings' ``listen`` address with the back office's server certificate,
requires a kiosk certificate of the fleet CA, and passes each request to one of
the ingest processes' Unix sockets with the verified certificate in two headers
(:mod:`backoffice.proxyhop`). Reasons for each directive are in the comments it
prints; ``deploy/nginx-ingest.conf`` is its output for the example settings,
kept equal by a test.
"""

from __future__ import annotations

import math
from pathlib import Path

from backoffice.settings import Settings, parse_listen
from backoffice.workers import socket_path

#: Seconds nginx leaves a dead ingest process out before trying it again (a restarted one
#: answers within about 2 s: imports and the schema check).
FAIL_TIMEOUT = 2
#: Idle connections nginx keeps open to the processes, all together: enough for the requests
#: of a busy second without a new connection each (a Unix socket connection costs little).
UPSTREAM_KEEPALIVE = 64

TEMPLATE = """\
# nginx in front of the back office's ingest processes (backoffice serve --workers {count}).
# Made by `backoffice proxy-config --data {data_dir}`; made again after any change of
# listen, the certificates, max_upload_bytes or [limits] in backoffice.toml.
# Include it in nginx's http {{ }} block (Debian: sites-available, then sites-enabled).
# nginx's user must be in the back office's group to open the sockets (mode 0660, folder 0750).

upstream backoffice_ingest {{
    # A process that refuses a connection (ended, being started again by the supervisor) is
    # left out for {fail_timeout} s; its requests go to the others.
{servers}
    keepalive {keepalive};
}}

server {{
    listen {listen} ssl;

    # TLS as the back office would do it: its server certificate, a kiosk certificate of the
    # fleet CA required (no certificate, no connection), kiosk certificates signed by the CA
    # itself (depth 1). Revocation is the back office's: it refuses a revoked kiosk by its
    # certificate's fingerprint after nginx let it through.
    ssl_certificate         {server_cert};
    ssl_certificate_key     {server_key};
    ssl_client_certificate  {ca_cert};
    ssl_verify_client       on;
    ssl_verify_depth        1;
    ssl_protocols           TLSv1.2 TLSv1.3;
    ssl_session_cache       shared:backoffice_ingest:10m;

    # Slow and idle clients are nginx's to bound now ([limits] of backoffice.toml); the
    # header timeout bounds the TLS handshake too.
    client_header_timeout   {header_timeout}s;
    client_body_timeout     {body_timeout}s;
    keepalive_timeout       {header_timeout}s;
    # One PATCH may carry a whole envelope (max_upload_bytes); the tus layer checks the rest.
    client_max_body_size    {max_body};

    location / {{
        proxy_pass              http://backoffice_ingest;
        proxy_http_version      1.1;
        proxy_set_header        Connection "";
        proxy_set_header        Host $host;
        # The verified certificate, and only nginx's word for it: these replace any header of
        # the same name a client sent (backoffice/proxyhop.py).
        proxy_set_header        X-Client-Verify $ssl_client_verify;
        proxy_set_header        X-Client-Cert $ssl_client_escaped_cert;
        proxy_set_header        X-Forwarded-For $remote_addr;
        # tus bodies stream to the process as they arrive: it makes each chunk durable before
        # it acknowledges an offset, and a kiosk resumes from there (no copy in nginx's temp).
        proxy_request_buffering off;
        proxy_buffering         off;
        # A request goes to the next process only when nothing of it was sent yet (nginx never
        # resends a POST or PATCH it began to send): a kiosk resumes the rest itself.
        proxy_next_upstream     error timeout;
        proxy_next_upstream_tries {count};
        proxy_connect_timeout   5s;
        proxy_read_timeout      {read_timeout}s;
        proxy_send_timeout      {body_timeout}s;
    }}
}}
"""


def render(settings: Settings, count: int, socket_dir: Path) -> str:
    """nginx's configuration for ``count`` ingest processes whose sockets are in ``socket_dir``."""
    host, port = parse_listen(settings.listen)
    shown = f"[{host}]" if ":" in host else host
    limits = settings.limits
    servers = "\n".join(f"    server unix:{socket_path(socket_dir, i)} max_fails=1 "
                        f"fail_timeout={FAIL_TIMEOUT}s;" for i in range(count))
    return TEMPLATE.format(
        count=count, data_dir=settings.data_dir, servers=servers, fail_timeout=FAIL_TIMEOUT,
        keepalive=UPSTREAM_KEEPALIVE, listen=f"{shown}:{port}",
        server_cert=settings.server_cert, server_key=settings.server_key,
        ca_cert=settings.ca_cert, header_timeout=_seconds(limits.header_timeout),
        body_timeout=_seconds(limits.body_idle_timeout), max_body=settings.max_upload_bytes,
        # The last PATCH's answer waits for the completion (signatures, publishing the envelope,
        # the metadata commit): longer than a body's idle time, as a client would wait.
        read_timeout=_seconds(limits.body_idle_timeout * 3))


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))
