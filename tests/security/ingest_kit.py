"""What the ingest attack tests share: a back office with chosen limits, raw TLS requests.

A raw socket is how an attacker (or a kiosk losing its link) behaves: it can
send headers and half a body, then nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deposit import manifest as mf
from tests.backoffice.harness import (
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    deposit_number,
    enroll,
    free_port,
    init_backoffice,
)

TUS = {"Tus-Resumable": "1.0.0"}


def set_limits(data: Path, **limits: float | int) -> None:
    """Rewrite keys of the ``[limits]`` table of ``data``'s backoffice.toml."""
    path = data / "backoffice.toml"
    text = path.read_text()
    for key, value in limits.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value!r}", text)
        assert n == 1, key
    path.write_text(text)


def set_setting(data: Path, key: str, value: str) -> None:
    path = data / "backoffice.toml"
    text, n = re.subn(rf'(?m)^{key} = .*$', f'{key} = "{value}"', path.read_text())
    assert n == 1, key
    path.write_text(text)


@dataclass
class Office:
    data: Path
    port: int
    server: RunningServer
    kiosk: FakeKiosk

    def stop(self) -> None:
        self.kiosk.close()
        self.server.stop()


def start_office(tmp_path: Path, **limits: float | int) -> Office:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    if limits:
        set_limits(data, **limits)
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    server = RunningServer(data, port).start()
    return Office(data, port, server, kiosk)


def metadata_header(made: MadeDeposit) -> str:
    return (f"deposit_id {base64.b64encode(made.deposit_id.encode()).decode()},"
            f"manifest {base64.b64encode(made.manifest).decode()}")


def signed_claim(kiosk: FakeKiosk, size: int, sha256: str = "0" * 64) -> MadeDeposit:
    """A manifest the kiosk signed for an envelope of ``size`` bytes that it never sends."""
    kiosk.sequence += 1
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence)
    m = mf.Manifest(deposit_id=deposit_id, kiosk_id=kiosk.enrollment.kiosk_id,
                    procedure="caf-apl", created=mf.rfc3339(datetime.now(UTC)),
                    envelope_size=size, envelope_sha256=sha256,
                    tracking_token_sha256=mf.tracking_token_sha256(mf.new_tracking_token()))
    return MadeDeposit(deposit_id, kiosk.folder / "never-sent", mf.sign(m, kiosk.key), "",
                       sha256, size)


def made_from(kiosk: FakeKiosk, raw: bytes) -> MadeDeposit:
    """A genuinely signed deposit over ``raw``, whatever those bytes are."""
    kiosk.sequence += 1
    path = kiosk.folder / f"raw-{kiosk.sequence}.bin"
    path.write_bytes(raw)
    made = signed_claim(kiosk, len(raw), hashlib.sha256(raw).hexdigest())
    return MadeDeposit(made.deposit_id, path, made.manifest, "", made.sha256, len(raw))


def tls_socket(kiosk: FakeKiosk, port: int, *, timeout: float = 30.0) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return kiosk.enrollment.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in TUS.items()),
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def read_response(sock: ssl.SSLSocket, timeout: float = 30.0) -> tuple[int, dict[str, str]]:
    """Status and headers of the next response on ``sock`` (the body is not read)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
        if time.monotonic() > deadline:
            raise TimeoutError(data)
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def upload_path(location: str) -> str:
    return location if location.startswith("/") else "/" + location.split("/", 3)[3]
