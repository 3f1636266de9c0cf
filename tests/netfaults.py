"""Network faults on 127.0.0.1 for delivery tests: a proxy that cuts, a silent server."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that can drop the connection after N bytes from the client.

    ``cut_after`` bytes (client to server, counted over all connections): when
    that many have passed, every open connection is closed at once, mid-request.
    ``cut_each_after``: every connection is closed once it has carried that
    many bytes from the client (a link that cannot carry a large request: small
    uploads pass, large ones never do). ``delay`` slows each forwarded block (to
    leave time for a kill).
    """

    def __init__(self, target_port: int, cut_after: int | None = None,
                 delay: float = 0.0, cut_each_after: int | None = None) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.cut_each_after = cut_each_after
        self.delay = delay
        self.up_bytes = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False),
                             daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        carried = 0
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if self.delay:
                    time.sleep(self.delay)
                if upstream and self.cut_each_after is not None:
                    carried += len(data)
                    if carried > self.cut_each_after:
                        with self._lock:
                            self.cuts += 1
                        return
                if upstream:
                    with self._lock:
                        if self.cut_after is not None and \
                                self.up_bytes + len(data) > self.cut_after:
                            keep = self.cut_after - self.up_bytes
                            dst.sendall(data[:keep])
                            self.up_bytes += keep
                            self.cut_after = None
                            self.cuts += 1
                            self._close_all()
                            return
                        self.up_bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _close_all(self) -> None:
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop = True
        self.listener.close()
        with self._lock:
            for s in self._sockets:
                s.close()


class BlackHole:
    """A server on 127.0.0.1 that accepts connections and never answers (a back office whose
    process hangs, or a link that swallows everything): clients wait for their timeouts."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)          # held open, never read, never answered

    def close(self) -> None:
        self._stop = True
        self.listener.close()
        for conn in self.accepted:
            with contextlib.suppress(OSError):
                conn.close()


class DripServer:
    """An HTTPS server on 127.0.0.1 that answers every request one byte a second, forever: a
    status line, then a header that never ends. Each byte resets a client's per-read
    timeout, so a client that bounds only the wait for the next byte never gives up (a
    slow-drip attack, or a broken middlebox): its loop is stuck for good."""

    def __init__(self, context: ssl.SSLContext, every: float = 1.0) -> None:
        self.context = context
        self.every = every
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        #: When the first connection was accepted (time.monotonic()), None before.
        self.first_accepted: float | None = None
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.first_accepted is None:
                self.first_accepted = time.monotonic()
            self.accepted.append(conn)
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(10)
            conn = self.context.wrap_socket(raw, server_side=True)
            self.accepted.append(conn)
            conn.recv(65536)                                  # the request (its start)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            while not self._stop.wait(self.every):
                conn.sendall(b"a")
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for conn in self.accepted:
            with contextlib.suppress(OSError):
                conn.close()
