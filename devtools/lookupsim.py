"""A back office's complement lookup, simulated on 127.0.0.1: for tests, the demo and screenshots.

It speaks the contract of deposit/complements.py (``POST
/kiosk/v1/complements/lookup``) from a table the caller fills: a dossier with
documents requested answers ``open``, one past its deadline ``expired``, and
anything else (unknown number, wrong token, nothing requested) ``none``, as the
real route must. It can also misbehave the ways a network and a server do
(:class:`Fault`). Plain HTTP, or HTTPS with a server context (that may ask for
the kiosk's certificate, as the real kiosk listener does).

This is a simulator of the other side of the wire, not a stand-in for the
kiosk's own code: the kiosk's real client talks to it over a real socket.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deposit.complements import LOOKUP_PATH


class Fault(StrEnum):
    """Ways the simulated back office can fail."""

    BUSY = "busy"            # 503 to every lookup
    NOT_JSON = "not_json"    # 200 with an HTML page (a captive portal, a proxy)
    WRONG_SHAPE = "wrong_shape"  # 200 with JSON that is not the contract's
    HANG = "hang"            # accepts, reads, never answers (until closed)
    FORBIDDEN = "forbidden"  # 403 (this kiosk is revoked)


@dataclass
class LookupSimulator:
    """``LookupSimulator().start()``; :attr:`base_url` is what a bundle's upload URL would be."""

    context: ssl.SSLContext | None = None
    fault: Fault | None = None
    delay: float = 0.0       # seconds each answer waits (a slow link; the "checking" screen)
    answers: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> LookupSimulator:
        sim = self
        self._closing = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                sim.requests.append(body)
                if sim.delay > 0:
                    sim._closing.wait(sim.delay)
                if self.path != LOOKUP_PATH:
                    self._send(404, b'{"error": "not found"}')
                elif sim.fault is Fault.HANG:
                    sim._closing.wait()
                elif sim.fault is Fault.BUSY:
                    self._send(503, b'{"error": "busy"}')
                elif sim.fault is Fault.FORBIDDEN:
                    self._send(403, b'{"error": "kiosk revoked"}')
                elif sim.fault is Fault.NOT_JSON:
                    self._send(200, b"<html>Wi-Fi login</html>", "text/html")
                elif sim.fault is Fault.WRONG_SHAPE:
                    self._send(200, b'{"state": "open", "documents": "identity"}')
                else:
                    key = (str(body.get("deposit_id")), str(body.get("token")))
                    answer = sim.answers.get(key, {"state": "none"})
                    self._send(200, json.dumps(answer).encode())

            def _send(self, status: int, data: bytes,
                      content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass        # the client gave up waiting (its timeout): nothing to tell

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.context is not None:
            server.socket = self.context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="lookup-sim",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        scheme = "https" if self.context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/files/"

    def request_documents(self, deposit_id: str, token: str, documents: list[str], *,
                          procedure: str, deadline: date, note: str = "",
                          request_id: str = "rq_0123456789abcdef") -> None:
        """Staff asked for ``documents`` of this dossier before ``deadline``."""
        self.answers[(deposit_id, token)] = {
            "state": "open", "request_id": request_id, "procedure": procedure,
            "documents": documents, "deadline": deadline.isoformat(), "note": note}

    def expire(self, deposit_id: str, token: str, deadline: date) -> None:
        """The request of this dossier is past its deadline."""
        self.answers[(deposit_id, token)] = {"state": "expired",
                                             "deadline": deadline.isoformat()}

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LookupSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
