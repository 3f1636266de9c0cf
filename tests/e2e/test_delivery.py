"""Delivery never stalls on one dossier: ``kiosk uploader`` against a real back office.

A dossier the back office refuses (its envelope no longer matches its signed
manifest: 422) and one whose upload keeps failing (a link that cuts every
connection after 1.5 MiB, and this dossier needs one request of 3 MiB) sit at
the head of the queue; the ten small dossiers behind them go in the same pass.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from deposit.status import DeliveryOutcome, OutboxState
from tests.backoffice.harness import RunningServer
from tests.conftest import run_cli
from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, point_bundle_at, queue
from tests.netfaults import CuttingProxy

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def test_a_refused_dossier_and_one_that_keeps_failing_do_not_delay_ten_others(
        tmp_path: Path) -> None:
    office = enrolled(tmp_path, "MAIRIE-11")
    server = RunningServer(office.data, office.port).start()
    proxy = CuttingProxy(office.port, cut_each_after=int(1.5 * MIB))
    # The kiosk reaches the back office through the link that cannot carry large requests.
    point_bundle_at(office.bundle, proxy.port)
    config = kiosk_config(tmp_path / "kiosk", office.bundle,
                          upload="chunk_mib = 4\ntimeout_s = 10")
    try:
        with kiosk_outbox(config, office.bundle) as box:
            refused, failing, *others = queue(box, office.fleet_code,
                                              [100_000, 3 * MIB] + [40_000] * 10)
            envelope = box.get(refused).envelope_path
            raw = bytearray(envelope.read_bytes())
            raw[len(raw) // 2] ^= 0x01                      # a disk fault on the kiosk
            envelope.write_bytes(bytes(raw))

        started = time.monotonic()
        done = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config)])
        seconds = time.monotonic() - started
        assert done.returncode == 1, done.stderr      # something stays on the kiosk
        report = json.loads(done.stdout.splitlines()[-1])
        outcomes = {d["deposit_id"]: d["outcome"] for d in report["deposits"]}
        assert outcomes[refused] == DeliveryOutcome.REFUSED
        assert outcomes[failing] == DeliveryOutcome.RETRY
        assert all(outcomes[i] == DeliveryOutcome.DELIVERED for i in others)
        assert report["delivered"] == 10 and report["kept_refused"] == 1
        assert report["pending"] == 1                  # the failing one, waiting its turn
        assert proxy.cuts >= 1

        stored = sorted(d.deposit_id for d in server.bo.metadata.deposits())
        assert stored == sorted(others)
        with kiosk_outbox(config, office.bundle) as box:
            kept = box.get(refused)
            assert kept.state is OutboxState.REFUSED and kept.envelope_path.exists()
            assert "SHA-256" in (kept.last_error or "") and "422" in (kept.last_error or "")
            waiting = box.get(failing)
            assert waiting.state is OutboxState.SEALED and waiting.envelope_path.exists()
            assert waiting.last_outcome is DeliveryOutcome.RETRY and waiting.attempts == 1
            assert waiting.retry_at is not None and waiting.retry_at > time.time()
            assert all(box.get(i).state is OutboxState.PURGED for i in others)
        # Reported where a technician looks: the log and the status file.
        assert f"deposit {refused} refused by the back office" in done.stderr
        status = json.loads((config.parent / "data" / "status" / "delivery.json").read_text())
        assert status["refused"] == 1 and status["pending"] == 1
        print(f"one pass: 10 delivered behind a refused and a failing dossier in {seconds:.1f} s")
    finally:
        proxy.close()
        server.stop()
