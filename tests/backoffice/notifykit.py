"""Real receivers for the notifier's tests: an SMTP server (aiosmtpd) and an SMS gateway (HTTP),
both on 127.0.0.1, recording what they receive; and the ``[notify]`` settings pointing at them.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SMS_TOKEN = "test-gateway-token-5b1e"


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


@dataclass
class _Handler:
    mails: list[Mail] = field(default_factory=list)
    refuse_rcpt: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(Mail(envelope.mail_from, tuple(envelope.rcpt_tos),
                               bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:``port``: plain SMTP (the notifier's ``smtp_security = "none"``),
    or with ``tls`` STARTTLS required and AUTH (``login``) required after it."""

    def __init__(self, port: int, *, refuse_rcpt: bool = False,
                 tls: ssl.SSLContext | None = None, login: tuple[str, str] | None = None
                 ) -> None:
        self.port = port
        self.handler = _Handler(refuse_rcpt=refuse_rcpt)
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if login is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             data: Any) -> AuthResult:
                user, password = data.login.decode(), data.password.decode()
                self.logins.append(user)
                return AuthResult(success=(user, password) == login)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port, **kwargs)

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class Sms:
    authorization: str
    idempotency_key: str
    body: dict[str, Any]


class SmsGateway:
    """A tiny HTTP server speaking the gateway interface of backoffice/notifysend.py."""

    def __init__(self, *, status: int = 200) -> None:
        received: list[Sms] = []
        self.received = received
        self.status = status
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(Sms(self.headers.get("Authorization", ""),
                                    self.headers.get("Idempotency-Key", ""),
                                    json.loads(self.rfile.read(length))))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/messages"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SmsGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def notify_settings(data: Path, *, smtp_port: int | None, sms_url: str | None,
                    extra: str = "") -> None:
    """Append a ``[notify]`` table to ``data``'s settings: the local receivers, fast retries."""
    lines = ["", "[notify]"]
    if smtp_port is not None:
        lines += [f'smtp_url = "smtp://127.0.0.1:{smtp_port}"',
                  'from_address = "ne-pas-repondre@mairie.example"']
        if "smtp_security" not in extra:
            lines.append('smtp_security = "none"')
    if sms_url is not None:
        token = data / "notifier" / "sms-token.txt"
        token.write_text(SMS_TOKEN + "\n")
        token.chmod(0o600)
        lines += [f'sms_url = "{sms_url}"', 'sms_token_file = "notifier/sms-token.txt"']
    lines += [line for line in ("interval_seconds = 0.1", "retry_seconds = 0.2",
                                "timeout_seconds = 5")
              if line.split(" = ")[0] not in extra]     # ``extra`` may set them otherwise
    lines.append(extra)
    with (data / "backoffice.toml").open("a") as f:
        f.write("\n".join(lines) + "\n")
