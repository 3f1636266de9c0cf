"""The back office under hostile load (issue #13): a delivery beside scrapers and idle sockets.

Part of the ``backoffice`` benchmark (``python -m benchmarks --only backoffice``,
see :mod:`benchmarks.bench_backoffice`). One ``backoffice serve`` subprocess,
SQLite, one enrolled kiosk delivering genuine ~500 KB envelopes (age
envelope, signed manifest, tus over mutual TLS, acknowledgement verified).
Every figure is a ratio against the same delivery measured in the same run
without the load:

- ``metrics_flood``: the delivery alone, then while 32 threads scrape the
  administration listener's ``/metrics`` in a loop (in a child process, so
  that their client-side work does not take this process's GIL from the
  delivering thread); ``ratio_median`` / ``ratio_p95`` = during / alone
  (the issue wants <= 1.5), and the scrapes per second the flood got.
- ``idle_tcp`` and ``idle_tls``: 1100 idle connections to the kiosks'
  listener, held while the delivery is measured again: plain TCP
  connections that never start TLS, then TLS connections that finished the
  handshake with the kiosk's certificate and send nothing. Then how many of
  them the server closed, and when. The server's ``[limits] header_timeout``
  is set to :data:`HEADER_TIMEOUT` in its ``backoffice.toml`` for this run.
  The header deadline starts when the application protocol gets the
  connection, that is after the TLS handshake: a connection that never
  starts TLS is closed by asyncio's TLS handshake timeout (60 s, which
  uvicorn does not expose) instead, and that is what ``idle_tcp`` reports.

The delivering thread's own connection stays open (keep-alive) through a
series; idle sockets are opened from this process, whose ``RLIMIT_NOFILE``
soft limit is raised to the hard limit first (the server inherits it).
"""

from __future__ import annotations

import re
import resource
import select
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Context

SIZE = 500_000
SCRAPERS = 32
IDLE = 1100
#: The benchmark server's header deadline (seconds). Long enough for this process to
#: finish 1100 TLS handshakes and measure deliveries while all of them are held (the
#: handshakes take a few seconds on a small machine), short enough to watch them go.
HEADER_TIMEOUT = 10.0
#: asyncio's default TLS handshake timeout (loop.create_server), which closes sockets
#: that never start TLS.
TLS_HANDSHAKE_TIMEOUT = 60.0


@dataclass
class Series:
    """Latencies (seconds) of one series of deliveries."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {"n": len(self.times), "median_ms": round(self.median * 1000, 1),
                "p95_ms": round(self.p95 * 1000, 1), "max_ms": round(max(self.times) * 1000, 1)}


def ratios(during: Series, alone: Series) -> dict[str, float]:
    return {"ratio_median": round(during.median / alone.median, 3),
            "ratio_p95": round(during.p95 / alone.p95, 3)}


# ---------------------------------------------------------------- the flood

def _scrape(url: str, stop: threading.Event, counts: list[int]) -> None:
    """One scraper thread: GET ``url`` on one keep-alive connection until ``stop``."""
    import httpx

    done = 0
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            try:
                if client.get(url).status_code == 200:
                    done += 1
            except httpx.TransportError:
                time.sleep(0.05)
    counts.append(done)


def flood(url: str, threads: int) -> None:
    """The flood's child process: ``threads`` scrapers of ``url`` until stdin closes.

    Prints ``ready`` once they run, and the number of scrapes that succeeded at the end.
    """
    stop = threading.Event()
    counts: list[int] = []
    workers = [threading.Thread(target=_scrape, args=(url, stop, counts), daemon=True)
               for _ in range(threads)]
    for worker in workers:
        worker.start()
    print("ready", flush=True)
    sys.stdin.read()
    stop.set()
    for worker in workers:
        worker.join(60)
    print(sum(counts), flush=True)


# ---------------------------------------------------------------- idle sockets

def raise_nofile() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def closed_by_peer(socks: list[socket.socket]) -> set[int]:
    """The file descriptors of ``socks`` the other side has closed (FIN or RST), unread.

    ``POLLRDHUP`` says the peer shut its side down even when unread bytes (a TLS
    session ticket) wait in the buffer, where a peek would see data.
    """
    poller = select.poll()
    gone = select.POLLRDHUP | select.POLLHUP | select.POLLERR
    for sock in socks:
        poller.register(sock.fileno(), gone)
    return {fd for fd, events in poller.poll(0) if events & gone}


def open_idle(host: str, port: int, n: int, tls: ssl.SSLContext | None
              ) -> tuple[list[socket.socket], dict[int, float]]:
    """``n`` connections that send nothing (TLS ones after their handshake), and when each
    was ready (monotonic, by file descriptor)."""
    socks: list[socket.socket] = []
    ready: dict[int, float] = {}
    for _ in range(n):
        sock = socket.create_connection((host, port), timeout=30)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)   # handshake done here
        socks.append(sock)
        ready[sock.fileno()] = time.monotonic()
    return socks, ready


def watch_closing(socks: list[socket.socket], ready: dict[int, float], until: float,
                  step: float = 0.25) -> dict[str, Any]:
    """Poll ``socks`` until all are closed or ``until`` (monotonic): how many the server
    closed, and after how long each had been idle (to ``step``)."""
    idle_for: dict[int, float] = {}
    while time.monotonic() < until and len(idle_for) < len(socks):
        now = time.monotonic()
        for fd in closed_by_peer(socks) - idle_for.keys():
            idle_for[fd] = now - ready[fd]
        time.sleep(step)
    out: dict[str, Any] = {"closed": len(idle_for), "of": len(socks),
                           "watched_s": round(time.monotonic() - min(ready.values()), 1)}
    if idle_for:
        ordered = sorted(idle_for.values())
        out["closed_after_idle_s"] = {"min": round(ordered[0], 2),
                                      "median": round(statistics.median(ordered), 2),
                                      "max": round(ordered[-1], 2)}
    return out


# ---------------------------------------------------------------- the run

def run(ctx: Context) -> dict[str, Any]:
    from backoffice.settings import load_settings
    from deposit.status import DeliveryOutcome
    from tests.backoffice.harness import (
        FakeKiosk,
        ServeProcess,
        enroll,
        free_port,
        init_backoffice,
    )

    repeats = 6 if ctx.quick else 20
    soft, hard = raise_nofile()
    root = ctx.scratch / "hostile-load"
    root.mkdir()
    port = free_port()
    data = init_backoffice(root, port)
    set_limit(data / "backoffice.toml", "header_timeout", HEADER_TIMEOUT)
    settings = load_settings(data)
    kiosk = FakeKiosk(enroll(data, "LOAD-01", root / "bundle"), root / "kiosk")
    server = ServeProcess(data)
    out: dict[str, Any] = {"envelope_bytes": None, "repeats": repeats,
                           "rlimit_nofile": [soft, hard], "header_timeout_s": HEADER_TIMEOUT}
    uploader = kiosk.uploader()

    def series(n: int) -> Series:
        times = []
        for _ in range(n):
            made = kiosk.make(size=SIZE)
            out["envelope_bytes"] = made.size
            start = time.perf_counter()
            result = kiosk.deliver(made, uploader)
            elapsed = time.perf_counter() - start
            if result.outcome is not DeliveryOutcome.DELIVERED:
                raise RuntimeError(f"delivery {made.deposit_id}: {result.outcome} "
                                   f"{result.reason}")
            times.append(elapsed)
        return Series(times)

    try:
        series(2)   # warm-up: connection, first SQLite pages, imports in the server
        out["metrics_flood"] = _flood_run(series, repeats,
                                          "http://" + settings.admin_listen + "/metrics")
        host, iport = settings.listen_address()
        out["idle_tcp"] = _idle_run(series, repeats, host, iport, None,
                                    watch=0.0 if ctx.quick else TLS_HANDSHAKE_TIMEOUT + 10)
        out["idle_tls"] = _idle_run(series, max(4, repeats // 2), host, iport,
                                    kiosk.enrollment.ssl_context(), watch=HEADER_TIMEOUT + 10)
    finally:
        uploader.close()
        kiosk.close()
        server.stop()
    log = "".join(server.log)
    out["server_tracebacks"] = log.count("Traceback")
    out["note"] = ("ratios = delivery latency under the load / the same delivery without it, "
                   "same server, same run; the issue wants ratio_median <= 1.5 under the "
                   "/metrics flood")
    return out


def set_limit(toml: Path, name: str, value: float) -> None:
    """Set ``[limits] name`` in a ``backoffice.toml`` written by ``backoffice init``."""
    text, n = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value!r}", toml.read_text())
    if n != 1:
        raise RuntimeError(f"{toml}: no [limits] {name} line to change")
    toml.write_text(text)


def _flood_run(series: Callable[[int], Series], repeats: int, url: str) -> dict[str, Any]:
    alone = series(repeats)
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.backoffice_load", "flood", url,
                              str(SCRAPERS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the /metrics flood did not start")
        time.sleep(1.0)   # let every scraper reach its loop
        start = time.monotonic()
        during = series(repeats)
        seconds = time.monotonic() - start
        child.stdin.close()
        scrapes = int(child.stdout.readline().strip() or 0)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    # The scrapes of the warm-up second count too: the rate is over the whole flood.
    return {"scrapers": SCRAPERS, "alone": alone.summary(), "during": during.summary(),
            "scrapes_per_s": round(scrapes / (seconds + 1.0), 1), **ratios(during, alone)}


def _idle_run(series: Callable[[int], Series], repeats: int, host: str, port: int,
              tls: ssl.SSLContext | None, *, watch: float) -> dict[str, Any]:
    without = series(repeats)
    start = time.monotonic()
    socks, ready = open_idle(host, port, IDLE, tls)
    opened_at = time.monotonic()
    try:
        out: dict[str, Any] = {"connections": IDLE,
                               "open_seconds": round(opened_at - start, 2),
                               "closed_before_measuring": len(closed_by_peer(socks))}
        held = series(repeats)
        out["closed_after_measuring"] = len(closed_by_peer(socks))
        out["measured_within_s"] = round(time.monotonic() - opened_at, 1)
        out["without"] = without.summary()
        out["held"] = held.summary()
        out.update(ratios(held, without))
        if watch:
            out["closing"] = watch_closing(socks, ready, opened_at + watch)
    finally:
        for sock in socks:
            sock.close()
    return out

if __name__ == "__main__":   # the flood's child process (see _flood_run)
    if sys.argv[1:2] != ["flood"] or len(sys.argv) != 4:
        sys.exit("usage: python -m benchmarks.backoffice_load flood URL THREADS")
    flood(sys.argv[2], int(sys.argv[3]))
