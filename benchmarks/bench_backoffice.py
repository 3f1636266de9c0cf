"""Back-office ingest under load: 50 simulated kiosks uploading 1 MB dossiers at once.

Each kiosk is a thread with its own enrollment (client certificate), its own
:class:`deposit.upload.Uploader` and state file, looping for the run's
duration (60 s, 5 s with ``ctx.quick``): a fresh 1 MB envelope, a signed
manifest, delivery over tus with mutual TLS, the acknowledgement verified. The
back office is ``backoffice serve`` in its own process, with SQLite and then
with PostgreSQL (a private server), on this machine.

Figures: dossiers per second, p50 and p99 latency of one delivery (create,
PATCH, acknowledgement), and ``lost`` = acknowledged deposits missing from the
store (must be 0). The reference, measured in the same run with the same
client threads and certificates: plain HTTPS PUTs of the same bytes to nginx
(WebDAV, ``ssl_verify_client on``, one worker, as the back office has one
process). nginx does not fsync what it writes; the back office fsyncs every
chunk and its metadata commit, and verifies two signatures per dossier.

``hostile_load``: one kiosk's 500 KB delivery alone, beside a flood of
``/metrics`` scrapers and beside 1100 idle connections
(:mod:`benchmarks.backoffice_load`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import ssl
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks import backoffice_load
from benchmarks.common import Context

KIOSKS = 50
SIZE = 1_000_000


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _summary(tally: Tally, seconds: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    if not ordered:
        return {"dossiers": 0, "failures": tally.failures[:5]}
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"dossiers": len(ordered), "dossiers_per_s": round(len(ordered) / seconds, 2),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1), "failures": len(tally.failures),
            "first_failures": tally.failures[:3]}


def _run_threads(n: int, seconds: float, body: Callable[[int, float, Tally], None]
                 ) -> tuple[Tally, float]:
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=body, args=(i, deadline, tally), daemon=True)
               for i in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return tally, time.monotonic() - start


def _backoffice_run(ctx: Context, name: str, metadata: str | None, seconds: float
                    ) -> dict[str, Any]:
    from backoffice.settings import load_settings
    from backoffice.store.engines import open_metadata
    from deposit import envelope
    from deposit import manifest as mf
    from tests.backoffice.harness import (
        FakeKiosk,
        MadeDeposit,
        ServeProcess,
        deposit_number,
        enroll,
        free_port,
        init_backoffice,
    )

    root = ctx.scratch / name
    root.mkdir()
    port = free_port()
    data = init_backoffice(root, port, metadata=metadata)
    kiosks = [FakeKiosk(enroll(data, f"BENCH-{i:02d}", root / f"bundle-{i}"), root / f"k-{i}")
              for i in range(KIOSKS)]
    server = ServeProcess(data)
    try:
        def body(i: int, deadline: float, tally: Tally) -> None:
            kiosk = kiosks[i]
            uploader = kiosk.uploader()
            recipients = kiosk.enrollment.recipients()
            path = kiosk.folder / "envelope.bin"
            try:
                while time.monotonic() < deadline:
                    # A genuine age envelope of 1 MB of random plaintext: the back office
                    # acknowledges nothing that is not one.
                    sealed = io.BytesIO()
                    envelope.encrypt(io.BytesIO(os.urandom(SIZE)), sealed, recipients)
                    raw = sealed.getvalue()
                    path.write_bytes(raw)
                    kiosk.sequence += 1
                    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence)
                    m = mf.Manifest(
                        deposit_id=deposit_id, kiosk_id=kiosk.enrollment.kiosk_id,
                        procedure="bench", created=mf.rfc3339(datetime.now(UTC)),
                        envelope_size=len(raw), envelope_sha256=hashlib.sha256(raw).hexdigest(),
                        tracking_token_sha256=mf.tracking_token_sha256(mf.new_tracking_token()))
                    item = MadeDeposit(deposit_id, path, mf.sign(m, kiosk.key), "",
                                       m.envelope_sha256, len(raw))
                    start = time.perf_counter()
                    result = kiosk.deliver(item, uploader, attempts=3)
                    elapsed = time.perf_counter() - start
                    with tally.lock:
                        if result.outcome == "delivered":
                            tally.latencies.append(elapsed)
                            tally.acked.append(deposit_id)
                        else:
                            tally.failures.append(f"{deposit_id}: {result.reason}")
            finally:
                uploader.close()

        tally, elapsed = _run_threads(KIOSKS, seconds, body)
    finally:
        for kiosk in kiosks:
            kiosk.close()
        server.stop()
    store = open_metadata(load_settings(data).metadata)
    try:
        stored = {d.deposit_id for d in store.deposits()}
    finally:
        store.close()
    result = _summary(tally, elapsed)
    result["lost"] = len(set(tally.acked) - stored)
    result["metadata"] = "postgresql" if metadata else "sqlite"
    return result


NGINX_CONF = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        client_max_body_size 64m;
        location / {{
            root {root}/files;
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


def _nginx_run(ctx: Context, seconds: float) -> dict[str, Any]:
    from deposit.bundle import Enrollment
    from tests.backoffice.harness import enroll, free_port, init_backoffice

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        return {"error": "nginx is not installed (Debian package nginx)"}
    root = ctx.scratch / "nginx"
    root.mkdir()
    (root / "files").mkdir()
    port = free_port()
    data = init_backoffice(root, port)
    bundles = [Enrollment.load(enroll(data, f"BENCH-{i:02d}", root / f"bundle-{i}"))
               for i in range(KIOSKS)]
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        user="user root;" if os.geteuid() == 0 else "", root=root, port=port,
        cert=data / "tls" / "server.crt", key=data / "tls" / "server.key",
        ca=data / "ca" / "ca.crt"))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ctx_check = ssl.create_default_context(cafile=str(data / "ca" / "ca.crt"))
        ctx_check.load_cert_chain(bundles[0].file(Enrollment.CLIENT_CERT),
                                  bundles[0].file(Enrollment.CLIENT_KEY))
        for _ in range(100):
            try:
                with httpx.Client(verify=ctx_check) as c:
                    c.put(f"https://127.0.0.1:{port}/probe", content=b"x")
                break
            except httpx.TransportError:
                time.sleep(0.05)

        def body(i: int, deadline: float, tally: Tally) -> None:
            n = 0
            with bundles[i].http_client() as client:
                while time.monotonic() < deadline:
                    raw = os.urandom(SIZE)
                    n += 1
                    start = time.perf_counter()
                    r = client.put(f"https://127.0.0.1:{port}/k{i}/{n}.age", content=raw)
                    elapsed = time.perf_counter() - start
                    with tally.lock:
                        if r.status_code in (201, 204):
                            tally.latencies.append(elapsed)
                        else:
                            tally.failures.append(f"{r.status_code}")

        tally, elapsed = _run_threads(KIOSKS, seconds, body)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()
    return _summary(tally, elapsed)


def run(ctx: Context) -> dict[str, Any]:
    from tests.backoffice.postgres import private_postgres

    seconds = 5.0 if ctx.quick else 60.0
    out: dict[str, Any] = {"kiosks": KIOSKS, "dossier_bytes": SIZE, "seconds_per_run": seconds}
    out["nginx_put"] = _nginx_run(ctx, seconds)
    out["backoffice_sqlite"] = _backoffice_run(ctx, "sqlite", None, seconds)
    try:
        with private_postgres() as pg:
            out["backoffice_postgresql"] = _backoffice_run(ctx, "postgresql",
                                                           pg.new_database("bench"), seconds)
    except RuntimeError as exc:
        out["backoffice_postgresql"] = {"error": str(exc)}
    reference = out["nginx_put"].get("dossiers_per_s")
    for key in ("backoffice_sqlite", "backoffice_postgresql"):
        rate = out[key].get("dossiers_per_s")
        if reference and rate:
            out[key]["ratio_to_nginx_put"] = round(rate / reference, 3)
    out["note"] = ("ratio = back-office dossiers/s over nginx HTTPS PUTs/s of the same bytes, "
                   "same client threads, same machine, same run")
    try:
        out["hostile_load"] = backoffice_load.run(ctx)
    except Exception as exc:  # the throughput figures above stand on their own
        out["hostile_load"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
