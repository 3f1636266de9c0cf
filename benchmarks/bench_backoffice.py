"""Back-office ingest under load: 50 simulated kiosks delivering 1 MB dossiers at once.

Each kiosk is a thread with its own enrollment (client certificate) looping for
the run's duration (30 s, 5 s with ``ctx.quick``): it seals a fresh 1 MB age
envelope and signs its manifest (:func:`_seal`), then delivers it. The same
loop, the same sealing and the same client certificates serve every
configuration, so that the client's own work (it shares this machine's cores
with the servers) weighs the same on each:

- ``nginx_put`` (the reference): each envelope is one HTTPS PUT to plain
  nginx (WebDAV, ``ssl_verify_client on``, one worker, as the single-machine
  back office has one process). nginx does not fsync what it writes;
- ``backoffice_sqlite``: the single-machine default, ``backoffice serve`` with
  SQLite and a folder: delivery over tus with mutual TLS
  (:class:`deposit.delivery.Uploader`), the signed acknowledgement verified.
  The back office fsyncs every chunk and its metadata commit and verifies two
  signatures per dossier. ``ratio_to_nginx_put`` is its rate over the
  reference's (the issue asks >= 0.8, p99 <= 1 s, nothing lost);
- ``backoffice_postgresql``: the same with PostgreSQL (a private server);
- ``scale_out_1`` and ``scale_out_3``: ``backoffice serve --workers N`` behind
  nginx (``backoffice proxy-config``), PostgreSQL, and the envelopes in
  SeaweedFS (``s3://``, the tus spool on this machine's disk), with the
  machine's ``cores`` beside them: on a machine whose cores are all busy
  with the kiosks' threads and the servers, more processes cannot add speed;
  the figures say what this machine gives, not what a fleet's servers would.

Figures: dossiers per second, p50 and p99 latency of one delivery (create,
PATCHes, acknowledgement; the sealing before it is not counted), and
``lost`` = acknowledged deposits missing from the store (must be 0).

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
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks import backoffice_load
from benchmarks.common import Context
from deposit.bundle import Enrollment

if TYPE_CHECKING:
    from tests.backoffice.harness import FakeKiosk, MadeDeposit

KIOSKS = 50
SIZE = 1_000_000
#: Seconds of each configuration's run: long enough for p99 over ~3000 deliveries.
SECONDS = 30.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: float = 0.0


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


def _seal(kiosk: FakeKiosk, path: Path) -> MadeDeposit:
    """What a kiosk does before it delivers: a genuine age envelope of 1 MB of random
    plaintext (the back office acknowledges nothing that is not one) and its signed manifest."""
    from deposit import envelope
    from deposit import manifest as mf
    from tests.backoffice.harness import MadeDeposit, deposit_number

    sealed = io.BytesIO()
    envelope.encrypt(io.BytesIO(os.urandom(SIZE)), sealed, kiosk.enrollment.recipients())
    raw = sealed.getvalue()
    path.write_bytes(raw)
    kiosk.sequence += 1
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence)
    m = mf.Manifest(
        deposit_id=deposit_id, kiosk_id=kiosk.enrollment.kiosk_id, procedure="bench",
        created=mf.rfc3339(datetime.now(UTC)), envelope_size=len(raw),
        envelope_sha256=hashlib.sha256(raw).hexdigest(),
        tracking_token_sha256=mf.tracking_token_sha256(mf.new_tracking_token()))
    return MadeDeposit(deposit_id, path, mf.sign(m, kiosk.key), "", m.envelope_sha256, len(raw))


def _kiosks(data: Path, root: Path) -> list[FakeKiosk]:
    from tests.backoffice.harness import FakeKiosk, enroll

    return [FakeKiosk(enroll(data, f"BENCH-{i:02d}", root / f"bundle-{i}"), root / f"k-{i}")
            for i in range(KIOSKS)]


def _settle() -> None:
    """Write back what earlier runs left dirty in the page cache (nginx's run alone leaves
    ~4 GB): the next configuration's fsyncs must not wait for another run's bytes."""
    os.sync()


def _deliveries(kiosks: list[FakeKiosk], seconds: float) -> Tally:
    """Every kiosk seals and delivers over tus until the deadline; the tally of deliveries."""
    _settle()
    def body(i: int, deadline: float, tally: Tally) -> None:
        kiosk = kiosks[i]
        uploader = kiosk.uploader()
        path = kiosk.folder / "envelope.bin"
        try:
            while time.monotonic() < deadline:
                item = _seal(kiosk, path)
                start = time.perf_counter()
                result = kiosk.deliver(item, uploader, attempts=3)
                elapsed = time.perf_counter() - start
                with tally.lock:
                    if result.outcome == "delivered":
                        tally.latencies.append(elapsed)
                        tally.acked.append(item.deposit_id)
                    else:
                        tally.failures.append(f"{item.deposit_id}: {result.reason}")
        finally:
            uploader.close()

    tally, elapsed = _run_threads(KIOSKS, seconds, body)
    tally.seconds = elapsed
    return tally


def _lost(tally: Tally, data: Path) -> int:
    from backoffice.settings import load_settings
    from backoffice.store.engines import open_metadata

    store = open_metadata(load_settings(data).metadata)
    try:
        stored = {d.deposit_id for d in store.deposits()}
    finally:
        store.close()
    return len(set(tally.acked) - stored)


def _backoffice_run(ctx: Context, name: str, metadata: str | None, seconds: float
                    ) -> dict[str, Any]:
    """The single-machine back office: one ``backoffice serve`` terminating TLS itself."""
    from tests.backoffice.harness import ServeProcess, free_port, init_backoffice

    root = ctx.scratch / name
    root.mkdir()
    data = init_backoffice(root, free_port(), metadata=metadata)
    kiosks = _kiosks(data, root)
    server = ServeProcess(data)
    try:
        tally = _deliveries(kiosks, seconds)
    finally:
        for kiosk in kiosks:
            kiosk.close()
        server.stop()
    result = _summary(tally, tally.seconds)
    result["lost"] = _lost(tally, data)
    result["metadata"] = "postgresql" if metadata else "sqlite"
    return result


def _scale_out_run(ctx: Context, processes: int, metadata: str, objects: str,
                   seconds: float) -> dict[str, Any]:
    """``serve --workers N`` behind nginx, PostgreSQL, S3 (SeaweedFS)."""
    from tests.backoffice.nginxkit import workers_behind_nginx

    root = ctx.scratch / f"scale-out-{processes}"
    with workers_behind_nginx(root, processes, metadata=metadata, objects=objects) as w:
        kiosks = _kiosks(w.data, root)
        try:
            tally = _deliveries(kiosks, seconds)
        finally:
            for kiosk in kiosks:
                kiosk.close()
        data = w.data
    result = _summary(tally, tally.seconds)
    result["lost"] = _lost(tally, data)
    result.update(processes=processes, metadata="postgresql", objects="s3 (SeaweedFS)")
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
    """The reference: the same kiosks' loop, each envelope one HTTPS PUT to plain nginx."""
    from tests.backoffice.harness import free_port, init_backoffice

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        return {"error": "nginx is not installed (Debian package nginx)"}
    root = ctx.scratch / "nginx"
    root.mkdir()
    (root / "files").mkdir()
    port = free_port()
    data = init_backoffice(root, port)
    kiosks = _kiosks(data, root)
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        user="user root;" if os.geteuid() == 0 else "", root=root, port=port,
        cert=data / "tls" / "server.crt", key=data / "tls" / "server.key",
        ca=data / "ca" / "ca.crt"))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        bundle = kiosks[0].enrollment
        ctx_check = ssl.create_default_context(cafile=str(data / "ca" / "ca.crt"))
        ctx_check.load_cert_chain(bundle.file(Enrollment.CLIENT_CERT),
                                  bundle.file(Enrollment.CLIENT_KEY))
        for _ in range(100):
            try:
                with httpx.Client(verify=ctx_check) as c:
                    c.put(f"https://127.0.0.1:{port}/probe", content=b"x")
                break
            except httpx.TransportError:
                time.sleep(0.05)

        def body(i: int, deadline: float, tally: Tally) -> None:
            kiosk = kiosks[i]
            path = kiosk.folder / "envelope.bin"
            with kiosk.enrollment.http_client() as client:
                while time.monotonic() < deadline:
                    item = _seal(kiosk, path)
                    start = time.perf_counter()
                    r = client.put(f"https://127.0.0.1:{port}/k{i}/{item.sha256}.age",
                                   content=path.read_bytes())
                    elapsed = time.perf_counter() - start
                    with tally.lock:
                        if r.status_code in (201, 204):
                            tally.latencies.append(elapsed)
                        else:
                            tally.failures.append(f"{r.status_code}")

        _settle()
        tally, elapsed = _run_threads(KIOSKS, seconds, body)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(root / "files", ignore_errors=True)
    return _summary(tally, elapsed)


def run(ctx: Context) -> dict[str, Any]:
    from tests.backoffice.postgres import private_postgres
    from tests.backoffice.seaweed import private_seaweed

    seconds = 5.0 if ctx.quick else SECONDS
    out: dict[str, Any] = {"kiosks": KIOSKS, "dossier_bytes": SIZE, "seconds_per_run": seconds,
                           "cores": os.cpu_count()}
    out["nginx_put"] = _nginx_run(ctx, seconds)
    out["backoffice_sqlite"] = _backoffice_run(ctx, "sqlite", None, seconds)
    try:
        with private_postgres() as pg:
            out["backoffice_postgresql"] = _backoffice_run(ctx, "postgresql",
                                                           pg.new_database("bench"), seconds)
            try:
                with private_seaweed(ctx.scratch / "seaweed") as s3:
                    for processes in (1, 3):
                        bucket = s3.new_bucket(f"bench{processes}")
                        out[f"scale_out_{processes}"] = _scale_out_run(
                            ctx, processes, pg.new_database(f"scale{processes}"),
                            s3.objects_url(bucket, ctx.scratch / f"spool-{processes}"), seconds)
            except RuntimeError as exc:      # weed absent or not starting: said, not fatal
                out["scale_out_1"] = out["scale_out_3"] = {"error": str(exc)}
    except RuntimeError as exc:
        out["backoffice_postgresql"] = {"error": str(exc)}
    reference = out["nginx_put"].get("dossiers_per_s")
    for key in ("backoffice_sqlite", "backoffice_postgresql", "scale_out_1", "scale_out_3"):
        rate = out[key].get("dossiers_per_s")
        if reference and rate:
            out[key]["ratio_to_nginx_put"] = round(rate / reference, 3)
    single = out["backoffice_sqlite"]
    out["acceptance"] = {
        "single_machine_ratio": single.get("ratio_to_nginx_put"),
        "single_machine_p99_ms": single.get("p99_ms"),
        "meets": bool((single.get("ratio_to_nginx_put") or 0) >= 0.8
                      and (single.get("p99_ms") or 1e9) <= 1000 and single.get("lost") == 0)}
    out["note"] = ("ratio = dossiers/s over nginx HTTPS PUTs/s of the same envelopes, the same "
                   "kiosk threads sealing them, same machine, same run")
    try:
        out["hostile_load"] = backoffice_load.run(ctx)
    except Exception as exc:  # the throughput figures above stand on their own
        out["hostile_load"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
