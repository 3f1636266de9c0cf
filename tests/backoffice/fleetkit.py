"""What the fleet's tests need: heartbeats as a kiosk would send them, stored the way the
heartbeat endpoint stores them (``kiosk_health``, ``ratings``), and a webhook receiver.

The rows are written here directly: the heartbeat endpoint is another piece of work
(backoffice/heartbeats.py); the stored form is fixed by deposit/heartbeat.py (the
heartbeat's ``to_dict`` as JSON in ``body``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from backoffice.settings import load_settings
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore, iso
from deposit.heartbeat import (
    DeviceHealth,
    DeviceKind,
    DeviceState,
    Disk,
    Heartbeat,
    PaperLevel,
    Queue,
    Rating,
    utc,
)


def healthy(kiosk_id: str, at: datetime, **changes: Any) -> Heartbeat:
    """A heartbeat of a kiosk with nothing wrong, sent at ``at``; ``changes`` replace fields."""
    beat = Heartbeat(
        kiosk_id=kiosk_id, sent_at=utc(at), software="1.4.0",
        devices=(DeviceState(DeviceKind.PRINTER, DeviceHealth.OK),
                 DeviceState(DeviceKind.CAMERA, DeviceHealth.OK),
                 DeviceState(DeviceKind.CODE_READER, DeviceHealth.OK)),
        paper=PaperLevel.OK, queue=Queue(), disk=Disk(40 * 2**30, 64 * 2**30),
        certificate_not_after=utc(at + timedelta(days=700)))
    return dataclasses.replace(beat, **changes)


def device(beat: Heartbeat, kind: DeviceKind, health: DeviceHealth, detail: str = "",
           since: datetime | None = None) -> Heartbeat:
    """``beat`` with one device's state replaced."""
    states = tuple(DeviceState(kind, health, detail, utc(since) if since else None)
                   if d.kind is kind else d for d in beat.devices)
    return dataclasses.replace(beat, devices=states)


def store_heartbeat(store: MetadataStore, beat: Heartbeat, received: datetime) -> None:
    """``beat`` as the kiosk's latest, received at ``received`` (its ratings counted too)."""
    with store.transaction() as cur:
        cur.execute("DELETE FROM kiosk_health WHERE kiosk_id = ?", (beat.kiosk_id,))
        cur.execute("INSERT INTO kiosk_health (kiosk_id, sent_at, received_at, body) "
                    "VALUES (?, ?, ?, ?)", (beat.kiosk_id, beat.sent_at, iso(received),
                                            json.dumps(beat.to_dict())))
        for r in beat.ratings:
            cur.execute("DELETE FROM ratings WHERE kiosk_id = ? AND procedure = ? AND week = ? "
                        "AND rating = ?", (beat.kiosk_id, r.procedure, r.week, r.rating))
            cur.execute("INSERT INTO ratings (kiosk_id, procedure, week, rating, count) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (beat.kiosk_id, r.procedure, r.week, r.rating, r.count))


def store_heartbeats(data: Path, beats: Sequence[tuple[Heartbeat, datetime]]) -> None:
    """The same, into the back office of the data folder ``data``."""
    store = open_metadata(load_settings(data).metadata)
    try:
        store.init_schema()
        for beat, received in beats:
            store_heartbeat(store, beat, received)
    finally:
        store.close()


def ratings(procedure: str, week: str, **counts: int) -> tuple[Rating, ...]:
    """``ratings("rsa", "2026-W49", r1=2, r3=5)``: two 1s and five 3s."""
    return tuple(Rating(procedure, week, int(k[1:]), n) for k, n in counts.items())


@dataclass(frozen=True)
class Hook:
    idempotency_key: str
    body: dict[str, Any]


class WebhookReceiver:
    """A small HTTP server on 127.0.0.1 recording the alerts posted to it; ``status`` is what
    it answers (change it to make it fail)."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[Hook] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                if receiver.status < 300:
                    receiver.received.append(Hook(self.headers.get("Idempotency-Key", ""),
                                                  body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bornes"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def fleet_settings(data: Path, *, smtp_port: int | None = None, webhook: str | None = None,
                   extra: str = "") -> None:
    """Append a ``[fleet]`` table to ``data``'s settings: the local receivers."""
    lines = ["", "[fleet]"]
    if smtp_port is not None:
        lines += ['smtp_host = "127.0.0.1"', f"smtp_port = {smtp_port}",
                  'smtp_security = "none"', 'smtp_from = "bornes@mairie.example"',
                  'smtp_to = ["technique@mairie.example", "astreinte@mairie.example"]',
                  "timeout_seconds = 5"]
    if webhook is not None:
        lines.append(f'webhook_url = "{webhook}"')
    lines.append(extra)
    with (data / "backoffice.toml").open("a") as f:
        f.write("\n".join(lines) + "\n")
