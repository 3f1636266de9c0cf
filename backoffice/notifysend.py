"""The notifier's channels: e-mail over SMTP, SMS through an HTTP gateway.

Both are blocking (smtplib, httpx) and run on the notifier's worker thread, never in a
request. Each raises :class:`SendError` with ``permanent`` set when trying again cannot
help (the relay refuses the address, the gateway refuses the number), so the notifier
gives up at once rather than after every retry.

**SMS gateway interface** (what a real gateway's adapter must offer; docs/legal-chain.md,
"Notifications")::

    POST <sms_url>
    Authorization: Bearer <the token of sms_token_file>
    Content-Type: application/json
    Idempotency-Key: <notification id>      # the same id again must not send twice
    {"to": "+33612345678", "text": "..."}   # E.164 number, UTF-8 text (one or more SMS)

    2xx: accepted (the body is ignored).
    429 or 5xx: try later (Retry-After is not needed: the notifier backs off itself).
    other 4xx: refused for good (a number the gateway cannot reach, a bad request).

Secrets are read from files named in ``[notify]`` each time a channel is built, never
from the URL or the settings file. No address or number is written to a log or an error:
errors are masked with :func:`mask` first.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from backoffice.errors import SetupError
from backoffice.settings import NotifySettings, Settings, SmtpSecurity

log = logging.getLogger(__name__)


class SendError(Exception):
    """A notification could not be sent; ``permanent``: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One message to one address, as a channel sends it."""

    notification_id: str
    to: str
    subject: str
    text: str
    language: str
    at: datetime


class Sender(Protocol):
    def send(self, message: Outgoing) -> None: ...


_EMAIL = re.compile(r"[^\s<>@,;:\"']+@[^\s<>@,;:\"']+")
_PHONE = re.compile(r"\+?\d[\d .\-]{6,}\d")


def mask(text: str, *secrets: str | None) -> str:
    """``text`` without the given addresses and numbers, nor anything shaped like one: what
    an SMTP server or a gateway says back may quote the recipient."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _PHONE.sub("***", _EMAIL.sub("***@***", text))


def masked_address(address: str) -> str:
    """For a log line that must say which kind of address: ``j***@***``, ``+33***78``."""
    if "@" in address:
        return address[:1] + "***@***"
    return address[:3] + "***" + address[-2:]


def _read_secret(settings: Settings, name: str, what: str) -> str:
    path: Path = settings.notify_file(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"[notify] {what} {path} cannot be read ({exc.strerror})") from None
    if path.stat().st_mode & 0o077:
        log.warning("[notify] %s %s is readable by others than its owner: chmod 600 it",
                    what, path)
    return text


@contextlib.contextmanager
def smtp_session(host: str, port: int, security: SmtpSecurity, tls: ssl.SSLContext,
                 timeout: float, credentials: tuple[str, str] | None
                 ) -> Iterator[smtplib.SMTP]:
    """An SMTP session to the relay, secured as ``security`` says and logged in when there
    are credentials (the citizens' notifications here, the fleet's alerts:
    backoffice/alerting.py). Raises smtplib's errors and OSError."""
    client: smtplib.SMTP
    if security is SmtpSecurity.TLS:
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if security is SmtpSecurity.STARTTLS:
            client.starttls(context=tls)
        if credentials is not None:
            client.login(*credentials)
        yield client


class EmailSender:
    """SMTP with STARTTLS, implicit TLS, or (loopback only) none; AUTH from a file."""

    def __init__(self, settings: Settings) -> None:
        notify: NotifySettings = settings.notify
        assert notify.smtp_url is not None and notify.from_address is not None
        parts = urlsplit(notify.smtp_url)
        assert parts.hostname is not None
        self.host = parts.hostname
        self.security = notify.security
        self.port = parts.port or (465 if self.security is SmtpSecurity.TLS else 587)
        self.from_address = notify.from_address
        self.timeout = notify.timeout_seconds
        self.credentials: tuple[str, str] | None = None
        if notify.smtp_credentials_file:
            lines = _read_secret(settings, notify.smtp_credentials_file,
                                 "smtp_credentials_file").splitlines()
            if len(lines) < 2 or not lines[0].strip():
                raise SetupError("[notify] smtp_credentials_file must hold the user on its "
                                 "first line and the password on its second")
            self.credentials = (lines[0].strip(), lines[1])
        self.tls = ssl.create_default_context(
            cafile=str(settings.notify_file(notify.smtp_ca_file)) if notify.smtp_ca_file
            else None)

    def describe(self) -> str:
        return f"smtp {self.host}:{self.port} ({self.security.value})"

    def message(self, out: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.from_address
        # The address goes in the envelope (RCPT TO) only: the message itself, which relays
        # store and forward, holds nothing that names the citizen.
        mail["To"] = "undisclosed-recipients:;"
        mail["Subject"] = out.subject
        mail["Date"] = format_datetime(out.at)
        mail["Message-ID"] = make_msgid(idstring=out.notification_id[:16],
                                        domain=self.from_address.rpartition("@")[2])
        mail["Auto-Submitted"] = "auto-generated"     # RFC 3834: no auto-replies, please
        mail.set_content(out.text)
        mail["Content-Language"] = out.language      # after: set_content resets Content-*
        return mail

    def send(self, out: Outgoing) -> None:
        mail = self.message(out)
        try:
            with smtp_session(self.host, self.port, self.security, self.tls, self.timeout,
                              self.credentials) as client:
                refused = client.send_message(mail, from_addr=self.from_address,
                                              to_addrs=[out.to])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(f"the relay refused the recipient ({', '.join(map(str, codes))})",
                            permanent=all(500 <= c < 600 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise SendError(mask(f"SMTP {exc.smtp_code} {detail}", out.to),
                            permanent=500 <= exc.smtp_code < 600 and not isinstance(
                                exc, smtplib.SMTPAuthenticationError)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(mask(f"{type(exc).__name__}: {exc}", out.to)) from None
        if refused:
            raise SendError("the relay refused the recipient", permanent=True)


class SmsSender:
    """The HTTP gateway interface of the module docstring."""

    def __init__(self, settings: Settings) -> None:
        notify = settings.notify
        assert notify.sms_url is not None and notify.sms_token_file is not None
        self.url = notify.sms_url
        token = _read_secret(settings, notify.sms_token_file, "sms_token_file").strip()
        if not token or "\n" in token:
            raise SetupError("[notify] sms_token_file must hold the bearer token on one line")
        self._token = token
        self.timeout = notify.timeout_seconds

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"sms gateway {parts.scheme}://{parts.netloc}{parts.path}"

    def send(self, out: Outgoing) -> None:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                answer = client.post(self.url, json={"to": out.to, "text": out.text},
                                     headers={"Authorization": f"Bearer {self._token}",
                                              "Idempotency-Key": out.notification_id})
        except httpx.HTTPError as exc:
            raise SendError(mask(f"{type(exc).__name__}: {exc}", out.to)) from None
        if answer.is_success:
            return
        status = answer.status_code
        with contextlib.suppress(Exception):
            answer.close()
        raise SendError(f"the SMS gateway answered {status}",
                        permanent=400 <= status < 500 and status not in (408, 429))
