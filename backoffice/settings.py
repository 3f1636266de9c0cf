"""The back office's data folder and its settings file, ``DIR/backoffice.toml``.

``backoffice init`` writes both; every other command reads them::

    DIR/backoffice.toml        settings (below)
    DIR/ca/ca.crt, ca.key      the fleet CA (the key signs kiosk certificates: guard it)
    DIR/tls/server.crt, .key   the kiosks' listener's TLS certificate (fleet CA)
    DIR/public/public.crt, .key  the status page's certificate chain (a placeholder from
                               ``init``: replace it with a publicly trusted chain)
    DIR/staff-ca/ca.crt, .key  the staff CA (signs staff members' client certificates)
    DIR/ack/ack.key, ack.pub   the Ed25519 key signing acknowledgements
    DIR/recipients.txt         the staff's age recipients (public): what kiosks encrypt to
    DIR/notifier/notifier.key  the notifier's age identity (0600): opens citizens' contact
                               cards only, never a dossier (backoffice/notifykeys.py)
    DIR/notifier/notifier.txt  its recipient, copied into kiosks' enrollment bundles
    DIR/backoffice.sqlite3     metadata (default store)
    DIR/objects/               envelopes (default store)

The staff identity (the age private key) is written once by ``init`` for the
staff workstation and does not belong here.

**Four listeners** (docs/backoffice.md, "Listeners"), each with its own
address and rules: ``listen`` for the kiosks (mutual TLS, fleet CA),
``public_listen`` for citizens' browsers (``public_cert``/``public_key``, no
client certificate asked, HSTS; plain HTTP only on a loopback address, behind
a reverse proxy), ``admin_listen`` for metrics and detailed health (loopback
only: it authenticates no one) and ``staff_listen`` for the staff API (mutual
TLS, a personal certificate from the staff CA; docs/workspace.md). The ``[limits]`` table holds
the timeouts and quotas that keep one client from starving the others. The
``[notify]`` table configures the notifications to citizens (:class:`NotifySettings`;
off when absent). The ``[fleet]`` table sets when a kiosk's health raises an alert and
where alerts are sent (:class:`FleetSettings`; docs/fleet.md).
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backoffice.errors import SetupError

SETTINGS_FILE = "backoffice.toml"
GiB = 1024 ** 3


@dataclass(frozen=True)
class Limits:
    """Timeouts and quotas (``[limits]``). Defaults and where each comes from."""

    # A client has this long to send a request's headers, from its connection
    # (or its previous response) on: an idle or slowloris connection is closed.
    # 15 s: a kiosk on a poor 4G link sends 1 KB of headers in well under 2 s.
    header_timeout: float = 15.0
    # A request body that brings no byte for this long is over: what arrived is
    # kept (tus), the upload's lock is released, the connection closed. 20 s is
    # below the kiosk's own timeout (30 s: [upload] timeout_s, deposit/bundle.py), so the
    # kiosk's retry finds the upload free.
    body_idle_timeout: float = 20.0
    # An upload whose writer brought no byte for this long may be taken over by
    # a newer request of the same kiosk (the lease of the per-upload lock).
    upload_lease: float = 20.0
    # Open connections per listener; at the cap the longest-idle connection is
    # closed to make room, a new one refused only when every one is busy. Must
    # stay under LimitNOFILE (65536 in systemd/backoffice.service) with room for
    # files and the database.
    max_connections: int = 16384
    # Per kiosk: unfinished uploads, and bytes declared by them and not yet
    # received. A kiosk sends one dossier at a time (about 2 MB); 16 and 2 GiB
    # leave room for a week's queue resumed on a flaky link.
    max_open_uploads: int = 16
    max_bytes_in_flight: int = 2 * GiB
    # Free space kept on the envelope store: bytes are refused (507) rather than
    # let the disk fill; /health (admin) fails below it.
    min_free_bytes: int = 1 * GiB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value <= 0:
                raise SetupError(f"[limits] {f.name} = {value!r} must be positive")


class SmtpSecurity(StrEnum):
    """How the notifier's SMTP connection is protected (``[notify] smtp_security``)."""

    STARTTLS = "starttls"    # smtp://host:587, STARTTLS required (the default for smtp://)
    TLS = "tls"              # smtps://host:465, implicit TLS (the default for smtps://)
    NONE = "none"            # plain SMTP: only to a relay on a loopback address


@dataclass(frozen=True)
class NotifySettings:
    """``[notify]``: messages to citizens who left a contact and consented (docs/legal-chain.md,
    "Notifications"). E-mail needs ``smtp_url`` and ``from_address``; SMS needs ``sms_url``
    and ``sms_token_file``; either may be left out. Secrets are read from files (relative to
    the data folder), never written in the URL or in this file."""

    smtp_url: str | None = None            # smtp://HOST:PORT or smtps://HOST:PORT, no user info
    smtp_security: SmtpSecurity | None = None   # None: from the URL's scheme
    smtp_credentials_file: str | None = None    # "USER" newline "PASSWORD"; none: no AUTH
    smtp_ca_file: str | None = None        # a private CA for the relay; none: the system's
    from_address: str | None = None        # the From: of every mail (a no-reply address)
    sms_url: str | None = None             # the SMS gateway's endpoint (POST JSON, see notifysms)
    sms_token_file: str | None = None      # its bearer token, one line
    status_url_base: str | None = None     # links must start with it; default public_url/suivi/
    # A notification is tried this many times, then given up (its last error kept). 8 tries
    # with the backoff below span about 4 hours: an SMTP relay's usual maintenance window.
    max_attempts: int = 8
    retry_seconds: float = 60.0            # the first retry's delay; doubled each time (<= 1 h)
    interval_seconds: float = 10.0         # how often the background loop looks for work
    timeout_seconds: float = 20.0          # one SMTP session or gateway request
    # A contact is erased when its dossier reached a final status and its last notification
    # was settled; at the latest this many days after it arrived (a year covers every
    # shipped procedure's delay with its requests for documents; docs/legal-chain.md).
    contact_retention_days: int = 365

    @property
    def email(self) -> bool:
        return self.smtp_url is not None

    @property
    def sms(self) -> bool:
        return self.sms_url is not None

    @property
    def enabled(self) -> bool:
        return self.email or self.sms

    @property
    def security(self) -> SmtpSecurity:
        if self.smtp_security is not None:
            return self.smtp_security
        scheme = urlsplit(self.smtp_url or "").scheme
        return SmtpSecurity.TLS if scheme == "smtps" else SmtpSecurity.STARTTLS

    def check(self) -> None:
        """:class:`SetupError` for a setting that cannot work or would leak a secret."""
        if self.max_attempts < 1 or self.retry_seconds <= 0 or self.interval_seconds <= 0 \
                or self.timeout_seconds <= 0 or self.contact_retention_days < 1:
            raise SetupError("[notify] max_attempts, retry_seconds, interval_seconds, "
                             "timeout_seconds and contact_retention_days must be positive")
        if self.smtp_url is not None:
            parts = urlsplit(self.smtp_url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise SetupError(f"[notify] smtp_url {self.smtp_url!r} is not "
                                 f"smtp://HOST:PORT or smtps://HOST:PORT")
            if parts.username or parts.password:
                raise SetupError("[notify] smtp_url must not hold a user or password: put them "
                                 "in the file named by smtp_credentials_file (mode 0600)")
            if self.security is SmtpSecurity.NONE and not is_loopback(parts.hostname):
                raise SetupError("[notify] smtp_security = \"none\" sends mail in clear: it is "
                                 "allowed only to a relay on a loopback address")
            if not self.from_address or "@" not in self.from_address:
                raise SetupError("[notify] from_address (e.g. ne-pas-repondre@example.org) is "
                                 "needed to send e-mail")
        if self.sms_url is not None:
            parts = urlsplit(self.sms_url)
            if parts.scheme not in ("https", "http") or not parts.hostname or (
                    parts.scheme == "http" and not is_loopback(parts.hostname)):
                raise SetupError(f"[notify] sms_url {self.sms_url!r} must be https:// (http:// "
                                 f"only on a loopback address)")
            if parts.username or parts.password:
                raise SetupError("[notify] sms_url must not hold credentials: the bearer token "
                                 "goes in the file named by sms_token_file")
            if not self.sms_token_file:
                raise SetupError("[notify] sms_token_file is needed with sms_url")


@dataclass(frozen=True)
class FleetSettings:
    """``[fleet]``: when a kiosk's heartbeats raise an alert, and who is told (docs/fleet.md).

    Alerts are always worked out and kept (``backoffice fleet`` shows them); they are sent
    by e-mail when ``smtp_host``, ``smtp_from`` and ``smtp_to`` are set, and posted to
    ``webhook_url`` when it is set. Secrets are read from files, never written here.
    """

    # A kiosk beats every few minutes; at a 5-minute interval, 15 minutes is three missed
    # beats: a reboot or a short network cut pages no one, a dead kiosk is known
    # within a quarter of an hour.
    silent_after_minutes: float = 15.0
    # The uploader sends a sealed deposit within a minute when the link works; one still
    # waiting after an hour means the kiosk cannot deliver while citizens keep depositing.
    queue_older_than_minutes: float = 60.0
    # A kiosk certificate expiring within this many days: re-enrolling takes a visit, and a
    # month leaves time to plan one (the issue's own figure).
    certificate_warning_days: int = 30
    # How often ``backoffice serve`` runs a round (reconcile, then deliver): a minute is
    # small beside silent_after, and a failed send is tried again a minute later. 0: this
    # process runs no round (several processes behind a load balancer: one of them, or
    # ``backoffice fleet --notify`` from a timer, does).
    interval_seconds: float = 60.0
    # One SMTP session or one webhook request, at most.
    timeout_seconds: float = 10.0
    smtp_host: str | None = None
    smtp_port: int | None = None          # None: 465 for "tls", 587 for "starttls", 25 "none"
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_credentials_file: str | None = None   # "USER" newline "PASSWORD"; none: no AUTH
    smtp_from: str | None = None          # the From: of alert mails
    smtp_to: tuple[str, ...] = ()         # the technicians' addresses (a list)
    webhook_url: str | None = None        # POST JSON per alert opened or cleared

    @property
    def email(self) -> bool:
        return self.smtp_host is not None

    @property
    def webhook(self) -> bool:
        return self.webhook_url is not None

    @property
    def port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {SmtpSecurity.TLS: 465, SmtpSecurity.STARTTLS: 587}.get(self.smtp_security, 25)

    def check(self) -> None:
        """:class:`SetupError` for a setting that cannot work or would leak a secret."""
        if self.silent_after_minutes <= 0 or self.queue_older_than_minutes <= 0 \
                or self.certificate_warning_days < 0 or self.interval_seconds < 0 \
                or self.timeout_seconds <= 0:
            raise SetupError("[fleet] silent_after_minutes, queue_older_than_minutes and "
                             "timeout_seconds must be positive, certificate_warning_days and "
                             "interval_seconds zero or more")
        if self.smtp_host is not None:
            if not self.smtp_host or "/" in self.smtp_host or "@" in self.smtp_host:
                raise SetupError(f"[fleet] smtp_host {self.smtp_host!r} is not a host name "
                                 f"(the user and password go in smtp_credentials_file)")
            if self.smtp_port is not None and not 0 < self.smtp_port < 65536:
                raise SetupError(f"[fleet] smtp_port {self.smtp_port} is not a port")
            if self.smtp_security is SmtpSecurity.NONE and not is_loopback(self.smtp_host):
                raise SetupError("[fleet] smtp_security = \"none\" sends mail in clear: it is "
                                 "allowed only to a relay on a loopback address")
            if not self.smtp_from or "@" not in self.smtp_from:
                raise SetupError("[fleet] smtp_from (e.g. bornes@example.org) is needed with "
                                 "smtp_host")
            if not self.smtp_to or any("@" not in a for a in self.smtp_to):
                raise SetupError("[fleet] smtp_to must list at least one address with "
                                 "smtp_host")
        elif self.smtp_to:
            raise SetupError("[fleet] smtp_to is set but smtp_host is not: no mail could go")
        if self.webhook_url is not None:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in ("https", "http") or not parts.hostname or (
                    parts.scheme == "http" and not is_loopback(parts.hostname)):
                raise SetupError(f"[fleet] webhook_url {self.webhook_url!r} must be https:// "
                                 f"(http:// only on a loopback address)")
            if parts.username or parts.password:
                raise SetupError("[fleet] webhook_url must not hold credentials")


@dataclass(frozen=True)
class Settings:
    """What ``DIR/backoffice.toml`` holds, with the folder it came from."""

    data_dir: Path
    url: str                    # what kiosks upload to (https://host:port)
    public_url: str             # what receipts' QR codes point to (status page)
    listen: str                 # host:port of the kiosks' listener (mutual TLS)
    public_listen: str          # host:port of the status page's listener
    admin_listen: str           # host:port of the administration listener (loopback)
    staff_listen: str           # host:port of the staff API (mutual TLS, staff CA)
    metadata: str               # sqlite:///... or postgresql://...
    objects: str                # file:///... or s3://... (backoffice/store/objects.py)
    max_upload_bytes: int = 512 * 1024 * 1024
    upload_expiry_hours: float = 168.0
    heartbeat_history_days: int = 30         # heartbeats kept (each kiosk's latest: always)
    public_cert: str = "public/public.crt"   # chain (leaf first), relative to data_dir
    public_key: str = "public/public.key"
    public_tls: bool = True     # False: plain HTTP on a loopback address, behind a proxy
    limits: Limits = field(default_factory=Limits)
    notify: NotifySettings = field(default_factory=NotifySettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)

    # ------------------------------------------------------------ files
    @property
    def ca_cert(self) -> Path:
        return self.data_dir / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.data_dir / "ca" / "ca.key"

    @property
    def staff_ca_cert(self) -> Path:
        return self.data_dir / "staff-ca" / "ca.crt"

    @property
    def staff_ca_key(self) -> Path:
        return self.data_dir / "staff-ca" / "ca.key"

    @property
    def staff_url(self) -> str:
        """The staff API's base URL: the kiosks' host name (what the server certificate
        names) and the staff listener's port."""
        host, _port = url_host_port(self.url)
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{parse_listen(self.staff_listen)[1]}"

    @property
    def server_cert(self) -> Path:
        return self.data_dir / "tls" / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.data_dir / "tls" / "server.key"

    @property
    def public_cert_path(self) -> Path:
        return self.data_dir / self.public_cert

    @property
    def public_key_path(self) -> Path:
        return self.data_dir / self.public_key

    @property
    def ack_key(self) -> Path:
        return self.data_dir / "ack" / "ack.key"

    @property
    def ack_public(self) -> Path:
        return self.data_dir / "ack" / "ack.pub"

    @property
    def recipients(self) -> Path:
        return self.data_dir / "recipients.txt"

    @property
    def notifier_identity(self) -> Path:
        return self.data_dir / "notifier" / "notifier.key"

    @property
    def notifier_recipient(self) -> Path:
        return self.data_dir / "notifier" / "notifier.txt"

    @property
    def status_url_base(self) -> str:
        """What every link a notification carries must start with: the status page."""
        return self.notify.status_url_base or self.public_url.rstrip("/") + "/suivi/"

    def notify_file(self, name: str) -> Path:
        """A ``[notify]`` secret file: relative to the data folder unless absolute."""
        return self.data_dir / name

    @property
    def upload_endpoint(self) -> str:
        """The tus creation URL kiosks POST to."""
        return self.url.rstrip("/") + "/files/"

    def recipient_lines(self) -> list[str]:
        return [line.strip() for line in self.recipients.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]

    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    def upload_location(self, upload_id: str) -> str:
        """The ``Location`` of an upload: the configured URL's path, never the Host header.

        A relative reference (tus 1.0 allows one; clients resolve it against the
        creation URL): a kiosk that reached us through a proxy or another name
        keeps going the way it came.
        """
        return urlsplit(self.upload_endpoint).path + upload_id

    def to_toml(self) -> str:
        def q(value: str) -> str:
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

        return (
            "# Settings of the deposit back office (written by `backoffice init`).\n"
            "# Base URL kiosks upload to (mutual TLS, tus 1.0 under /files/).\n"
            f"url = {q(self.url)}\n"
            "# Base URL of the public status page printed on receipts (/suivi/...).\n"
            f"public_url = {q(self.public_url)}\n"
            "# The kiosks' listener (host:port): client certificate required (fleet CA).\n"
            f"listen = {q(self.listen)}\n"
            "# The status page's listener (host:port): citizens' browsers, no client\n"
            "# certificate asked, HSTS. public_tls = false only on a loopback address\n"
            "# behind a reverse proxy (docs/backoffice.md, nginx).\n"
            f"public_listen = {q(self.public_listen)}\n"
            f"public_tls = {'true' if self.public_tls else 'false'}\n"
            "# Its certificate chain (leaf first) and key, relative to this folder: `init`\n"
            "# writes a placeholder that phones do not trust; put a publicly trusted\n"
            "# chain here (ACME) or terminate TLS at a reverse proxy.\n"
            f"public_cert = {q(self.public_cert)}\n"
            f"public_key = {q(self.public_key)}\n"
            "# The administration listener (/metrics, detailed /health): loopback only.\n"
            f"admin_listen = {q(self.admin_listen)}\n"
            "# The staff API's listener (host:port): a personal client certificate from\n"
            "# the staff CA required (backoffice staff add; docs/workspace.md).\n"
            f"staff_listen = {q(self.staff_listen)}\n"
            "# Metadata store: sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST:PORT/DB\n"
            f"metadata = {q(self.metadata)}\n"
            "# Envelope store (ciphertext only): file:///ABSOLUTE/DIR, or\n"
            "# s3://BUCKET/PREFIX?endpoint=URL&spool=/ABSOLUTE/DIR (docs/backoffice.md)\n"
            f"objects = {q(self.objects)}\n"
            "# Largest envelope accepted, in bytes (advertised as Tus-Max-Size).\n"
            f"max_upload_bytes = {self.max_upload_bytes}\n"
            "# An unfinished upload is dropped after this many hours without progress.\n"
            f"upload_expiry_hours = {self.upload_expiry_hours:g}\n"
            "# Kiosks' heartbeats are kept this many days (each kiosk's latest: always).\n"
            f"heartbeat_history_days = {self.heartbeat_history_days}\n"
            "\n"
            "# Timeouts (seconds) and quotas; see backoffice/settings.py (Limits) for\n"
            "# what each guards against and where its default comes from.\n"
            "[limits]\n"
            + "".join(f"{f.name} = {getattr(self.limits, f.name)!r}\n"
                      for f in fields(self.limits))
            + NOTIFY_EXAMPLE
        )


#: Written by ``init`` after the settings, commented out: notifications are off until set.
NOTIFY_EXAMPLE = """
# Notifications to citizens who left a contact and consented (docs/legal-chain.md,
# "Notifications"): off while this table is absent. Secrets live in files (0600).
# [notify]
# smtp_url = "smtp://mail.example.org:587"      # STARTTLS; smtps://HOST:465 for implicit TLS
# smtp_credentials_file = "notifier/smtp.txt"   # user, then password, one per line
# from_address = "ne-pas-repondre@example.org"
# sms_url = "https://sms-gateway.example.org/v1/messages"
# sms_token_file = "notifier/sms-token.txt"
# max_attempts = 8

# The fleet's alerts (docs/fleet.md): always worked out and shown by `backoffice fleet`;
# sent only where this table says. Defaults shown; secrets live in files (0600).
# [fleet]
# silent_after_minutes = 15         # no heartbeat for this long: the kiosk is silent
# queue_older_than_minutes = 60     # a deposit waiting this long on a kiosk
# certificate_warning_days = 30     # a kiosk certificate expiring this soon
# smtp_host = "mail.example.org"
# smtp_security = "starttls"        # or "tls" (port 465), "none" (loopback relay only)
# smtp_from = "bornes@example.org"
# smtp_to = ["technique@example.org"]
# webhook_url = "https://supervision.example.org/hooks/bornes"
"""


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise SetupError(f"listen address {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SetupError(f"URL {url!r} must be https://HOST[:PORT]")
    return parts.hostname, parts.port or 443


_KEYS: dict[str, type] = {"url": str, "public_url": str, "listen": str, "public_listen": str,
                          "admin_listen": str, "staff_listen": str, "metadata": str, "objects": str,
                          "max_upload_bytes": int, "upload_expiry_hours": float,
                          "heartbeat_history_days": int,
                          "public_cert": str, "public_key": str, "public_tls": bool,
                          "limits": dict, "notify": dict, "fleet": dict}
_REQUIRED = ("url", "public_url", "listen", "public_listen", "admin_listen", "staff_listen",
             "metadata", "objects")
_LIMIT_KEYS: dict[str, type] = {f.name: type(f.default) for f in fields(Limits)}
_NOTIFY_KEYS: dict[str, type] = {
    "smtp_url": str, "smtp_security": str, "smtp_credentials_file": str, "smtp_ca_file": str,
    "from_address": str, "sms_url": str, "sms_token_file": str, "status_url_base": str,
    "max_attempts": int, "retry_seconds": float, "interval_seconds": float,
    "timeout_seconds": float, "contact_retention_days": int}


def _notify_settings(path: Path, raw: dict[str, Any]) -> NotifySettings:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _NOTIFY_KEYS.get(key)
        if kind is None:
            raise SetupError(f"{path}: unknown key {key!r} in [notify] (valid: "
                             f"{', '.join(sorted(_NOTIFY_KEYS))})")
        values[key] = _typed(path, f"[notify] {key}", value, kind)
    if "smtp_security" in values:
        try:
            values["smtp_security"] = SmtpSecurity(values["smtp_security"])
        except ValueError:
            raise SetupError(f"{path}: [notify] smtp_security must be one of "
                             f"{', '.join(s.value for s in SmtpSecurity)}") from None
    notify = NotifySettings(**values)
    try:
        notify.check()
    except SetupError as exc:
        raise SetupError(f"{path}: {exc}") from None
    return notify


_FLEET_KEYS: dict[str, type] = {
    "silent_after_minutes": float, "queue_older_than_minutes": float,
    "certificate_warning_days": int, "interval_seconds": float, "timeout_seconds": float,
    "smtp_host": str, "smtp_port": int, "smtp_security": str, "smtp_credentials_file": str,
    "smtp_from": str, "smtp_to": list, "webhook_url": str}


def _fleet_settings(path: Path, raw: dict[str, Any]) -> FleetSettings:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _FLEET_KEYS.get(key)
        if kind is None:
            raise SetupError(f"{path}: unknown key {key!r} in [fleet] (valid: "
                             f"{', '.join(sorted(_FLEET_KEYS))})")
        values[key] = _typed(path, f"[fleet] {key}", value, kind)
    if "smtp_to" in values:
        if not all(isinstance(a, str) for a in values["smtp_to"]):
            raise SetupError(f"{path}: [fleet] smtp_to must be a list of addresses")
        values["smtp_to"] = tuple(values["smtp_to"])
    if "smtp_security" in values:
        try:
            values["smtp_security"] = SmtpSecurity(values["smtp_security"])
        except ValueError:
            raise SetupError(f"{path}: [fleet] smtp_security must be one of "
                             f"{', '.join(s.value for s in SmtpSecurity)}") from None
    fleet = FleetSettings(**values)
    try:
        fleet.check()
    except SetupError as exc:
        raise SetupError(f"{path}: {exc}") from None
    return fleet


def _typed(path: Path, where: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise SetupError(f"{path}: {where} = {value!r} is not a {kind.__name__}")
    return value


def load_settings(data_dir: Path) -> Settings:
    """Read ``DIR/backoffice.toml``; :class:`SetupError` naming the problem otherwise."""
    path = data_dir / SETTINGS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(f"{data_dir} is not a back-office data folder (no {SETTINGS_FILE}; "
                         f"run `backoffice init --data {data_dir}` first)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"{path}: cannot be read ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise SetupError(f"{path}: unknown key {key!r} (valid: {', '.join(sorted(_KEYS))})")
        values[key] = _typed(path, key, value, kind)
    limits: dict[str, Any] = {}
    for key, value in values.pop("limits", {}).items():
        kind = _LIMIT_KEYS.get(key)
        if kind is None:
            raise SetupError(f"{path}: unknown key {key!r} in [limits] (valid: "
                             f"{', '.join(sorted(_LIMIT_KEYS))})")
        limits[key] = _typed(path, f"[limits] {key}", value, kind)
    notify = _notify_settings(path, values.pop("notify", {}))
    fleet = _fleet_settings(path, values.pop("fleet", {}))
    missing = [key for key in _REQUIRED if key not in values]
    if missing:
        hint = ""
        if set(missing) <= {"public_listen", "admin_listen", "staff_listen"}:
            hint = (" (the status page, the administration side and the staff API have "
                    "listeners of their own: add e.g. public_listen = \"0.0.0.0:443\", "
                    "admin_listen = \"127.0.0.1:8445\" and staff_listen = \"0.0.0.0:8446\"; "
                    "docs/backoffice.md, \"Listeners\")")
        raise SetupError(f"{path}: missing {', '.join(missing)}{hint}")
    try:
        settings = Settings(data_dir=data_dir.resolve(), limits=Limits(**limits),
                            notify=notify, fleet=fleet, **values)
    except SetupError as exc:
        raise SetupError(f"{path}: {exc}") from None
    if settings.heartbeat_history_days < 1:
        raise SetupError(f"{path}: heartbeat_history_days = {settings.heartbeat_history_days} "
                         f"must be at least 1")
    url_host_port(settings.url)
    url_host_port(settings.public_url)
    addresses = [parse_listen(a) for a in (settings.listen, settings.public_listen,
                                           settings.admin_listen, settings.staff_listen)]
    if len(set(addresses)) != len(addresses):
        raise SetupError(f"{path}: listen, public_listen, admin_listen and staff_listen must be "
                         f"four different addresses")
    admin_host = addresses[2][0]
    if not is_loopback(admin_host):
        raise SetupError(f"{path}: admin_listen {settings.admin_listen!r} must be a loopback "
                         f"address (127.0.0.1 or ::1): it authenticates no one (the staff "
                         f"API, which does, is on staff_listen)")
    if not settings.public_tls and not is_loopback(addresses[1][0]):
        raise SetupError(f"{path}: public_tls = false serves plain HTTP; it is allowed only on "
                         f"a loopback public_listen, behind a reverse proxy that does TLS")
    return settings
