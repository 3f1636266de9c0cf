"""The back office at scale: nginx, 3 ingest processes, PostgreSQL and SeaweedFS, 50 kiosks.

Everything is real and started here on 127.0.0.1: nginx terminating the
kiosks' mutual TLS (``backoffice proxy-config``), ``backoffice serve --workers
3``, a private PostgreSQL for the metadata and tus state, SeaweedFS for the
envelopes (``s3://``, the tus spool shared by the processes). 50 kiosks (threads,
each with its own enrollment and :class:`deposit.delivery.Uploader`) deliver
envelopes of two tus chunks while one ingest process is killed (SIGKILL) and,
later, SeaweedFS is restarted. Then:

- every deposit was acknowledged to its kiosk, and is stored exactly once
  (no conflict, no other deposit);
- every upload a killed process was serving finished on another process
  (nginx's access log names the process of each request);
- every envelope in the bucket has the SHA-256 its manifest states, and there
  is one object per deposit.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from backoffice.store.metadata import DepositRecord
from backoffice.workers import socket_path
from deposit.delivery import Delivery
from deposit.status import DeliveryOutcome
from tests.backoffice.harness import FakeKiosk, MadeDeposit, enroll, stored
from tests.backoffice.nginxkit import nginx_binary, upstreams_by_upload, workers_behind_nginx
from tests.backoffice.postgres import PrivatePostgres
from tests.backoffice.seaweed import SeaweedFS

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(nginx_binary() is None,
                                 reason="nginx is not installed (Debian package nginx)")]

KIOSKS = 50
PER_KIOSK = 2
#: Envelopes of two tus chunks (the uploader's chunks are 1 MiB at least): a process can die
#: between the two, and the kiosk must resume from the stored offset.
SIZE = 1_300_000
PROCESSES = 3
#: Deposits acknowledged before the kill, and before the restart of SeaweedFS.
KILL_AFTER = 15
RESTART_AFTER = 45


def _deliver_all(kiosk: FakeKiosk, made: list[MadeDeposit], done: list[Delivery],
                 lock: threading.Lock) -> None:
    uploader = kiosk.uploader(chunk_size=1024 * 1024)
    for item in made:
        # The outbox retries without end; two minutes of retries is more than any outage here.
        result = kiosk.deliver(item, uploader, attempts=600, pause=0.2)
        with lock:
            done.append(result)


def test_fifty_kiosks_through_a_killed_process_and_a_restarted_store_lose_nothing(
        tmp_path: Path, postgres_server: PrivatePostgres, seaweed: SeaweedFS) -> None:
    bucket = seaweed.new_bucket("scale")
    objects = seaweed.objects_url(bucket, tmp_path / "spool")
    with postgres_server.database("scale") as metadata, \
            workers_behind_nginx(tmp_path, PROCESSES, metadata=metadata,
                                 objects=objects) as w:
        kiosks = [FakeKiosk(enroll(w.data, f"SCALE-{i:02d}", tmp_path / f"b{i}"),
                            tmp_path / f"k{i}") for i in range(KIOSKS)]
        made = {k.enrollment.kiosk_id: [k.make(SIZE) for _ in range(PER_KIOSK)]
                for k in kiosks}
        done: list[Delivery] = []
        lock = threading.Lock()
        threads = [threading.Thread(target=_deliver_all,
                                    args=(k, made[k.enrollment.kiosk_id], done, lock),
                                    daemon=True) for k in kiosks]
        killed = socket_path(w.socket_dir, 1)
        try:
            for t in threads:
                t.start()
            _wait_for(lambda: len(done) >= KILL_AFTER, "the first deliveries")
            os.kill(w.pid_on(1), signal.SIGKILL)
            _wait_for(lambda: len(done) >= RESTART_AFTER, "deliveries after the kill")
            before_restart = len(done)
            seaweed.restart()
            for t in threads:
                t.join(timeout=300)
            assert not any(t.is_alive() for t in threads), "kiosks still delivering"
        finally:
            for k in kiosks:
                k.close()
        by_upload = upstreams_by_upload(w.nginx_root / "access.log")
        held = stored(w.data)

    everything = [m for items in made.values() for m in items]
    # Both faults came while deliveries were still under way.
    assert before_restart < len(everything)
    # Every deposit acknowledged to its kiosk.
    assert [r.outcome for r in done].count(DeliveryOutcome.DELIVERED) == len(everything), \
        [str(r.reason) for r in done if r.outcome is not DeliveryOutcome.DELIVERED][:5]
    # Stored exactly once: the same deposits, no second copy under another id, no conflict.
    deposits = held["deposits"]
    assert all(isinstance(d, DepositRecord) for d in deposits)
    assert sorted(d.deposit_id for d in deposits) == sorted(m.deposit_id for m in everything)
    assert held["conflicts"] == []
    # Uploads the killed process was serving finished on another one.
    cut = {upload for upload, requests in by_upload.items()
           if any(str(killed) in up.split(",")[-1] and status >= 500
                  for _, status, up in requests)}
    assert cut, "no upload was being served by the process when it was killed"
    for upload in cut:
        requests = by_upload[upload]
        last = requests[-1]
        assert str(killed) not in last[2].split(",")[-1] or last[1] < 500, requests
        assert last[1] in (200, 204), requests
    # Every envelope in the bucket is what its manifest says, once.
    client = seaweed.client()
    digests = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            digests.append(hashlib.sha256(body).hexdigest())
    assert sorted(digests) == sorted(m.sha256 for m in everything)


def _wait_for(condition: object, what: str, timeout: float = 180.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)
