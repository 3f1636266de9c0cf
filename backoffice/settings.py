"""The back office's data folder and its settings file, ``DIR/backoffice.toml``.

``backoffice init`` writes both; every other command reads them::

    DIR/backoffice.toml        settings (below)
    DIR/ca/ca.crt, ca.key      the fleet CA (the key signs kiosk certificates: guard it)
    DIR/tls/server.crt, .key   the service's TLS certificate
    DIR/ack/ack.key, ack.pub   the Ed25519 key signing acknowledgements
    DIR/recipients.txt         the staff's age recipients (public): what kiosks encrypt to
    DIR/backoffice.sqlite3     metadata (default store)
    DIR/objects/               envelopes (default store)

The staff identity (the age private key) is written once by ``init`` for the
staff workstation and does not belong here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backoffice.errors import SetupError

SETTINGS_FILE = "backoffice.toml"


@dataclass(frozen=True)
class Settings:
    """What ``DIR/backoffice.toml`` holds, with the folder it came from."""

    data_dir: Path
    url: str                    # what kiosks upload to (https://host:port)
    public_url: str             # what receipts' QR codes point to (status page)
    listen: str                 # host:port the service binds
    metadata: str               # sqlite:///... or postgresql://...
    objects: str                # file:///...
    max_upload_bytes: int = 512 * 1024 * 1024
    upload_expiry_hours: float = 168.0

    # ------------------------------------------------------------ files
    @property
    def ca_cert(self) -> Path:
        return self.data_dir / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.data_dir / "ca" / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.data_dir / "tls" / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.data_dir / "tls" / "server.key"

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
    def upload_endpoint(self) -> str:
        """The tus creation URL kiosks POST to."""
        return self.url.rstrip("/") + "/files/"

    def recipient_lines(self) -> list[str]:
        return [line.strip() for line in self.recipients.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]

    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    def to_toml(self) -> str:
        def q(value: str) -> str:
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

        return (
            "# Settings of the deposit back office (written by `backoffice init`).\n"
            "# Base URL kiosks upload to (mutual TLS, tus 1.0 under /files/).\n"
            f"url = {q(self.url)}\n"
            "# Base URL of the public status page printed on receipts (/suivi/...).\n"
            f"public_url = {q(self.public_url)}\n"
            "# Address `backoffice serve` binds (host:port).\n"
            f"listen = {q(self.listen)}\n"
            "# Metadata store: sqlite:///ABSOLUTE/PATH or postgresql://USER@HOST:PORT/DB\n"
            f"metadata = {q(self.metadata)}\n"
            "# Envelope store (ciphertext only): file:///ABSOLUTE/DIR\n"
            f"objects = {q(self.objects)}\n"
            "# Largest envelope accepted, in bytes (advertised as Tus-Max-Size).\n"
            f"max_upload_bytes = {self.max_upload_bytes}\n"
            "# An unfinished upload is dropped after this many hours without progress.\n"
            f"upload_expiry_hours = {self.upload_expiry_hours:g}\n"
        )


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise SetupError(f"listen address {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def url_host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SetupError(f"URL {url!r} must be https://HOST[:PORT]")
    return parts.hostname, parts.port or 443


_KEYS: dict[str, type] = {"url": str, "public_url": str, "listen": str, "metadata": str,
                          "objects": str, "max_upload_bytes": int, "upload_expiry_hours": float}


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
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SetupError(f"{path}: {key} = {value!r} is not a {kind.__name__}")
        values[key] = value
    missing = {"url", "public_url", "listen", "metadata", "objects"} - set(values)
    if missing:
        raise SetupError(f"{path}: missing {', '.join(sorted(missing))}")
    settings = Settings(data_dir=data_dir.resolve(), **values)
    url_host_port(settings.url)
    parse_listen(settings.listen)
    return settings
