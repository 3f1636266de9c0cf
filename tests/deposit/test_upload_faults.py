"""The uploader against a real back office when things go wrong: down, cut, killed, throttled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from deposit.delivery import Backoff, deliver_pass
from deposit.outbox import Outbox, Sealer
from deposit.status import DeliveryOutcome, Standing
from deposit.tus import MIB
from tests.backoffice.harness import (
    FakeKiosk,
    RunningServer,
    ServeProcess,
    enroll,
    free_port,
    init_backoffice,
)
from tests.conftest import REPO
from tests.e2e import fleet
from tests.netfaults import CuttingProxy


@pytest.fixture
def setup(tmp_path: Path):
    port = free_port()
    data = init_backoffice(tmp_path, port)
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    yield data, port, kiosk
    kiosk.close()


def outbox_for(kiosk: FakeKiosk, folder: Path) -> Outbox:
    e = kiosk.enrollment
    return Outbox(folder, sealer=Sealer(recipients=tuple(e.recipients()), kiosk_id=e.kiosk_id,
                                        signing_key=e.signing_key()),
                  reserve_bytes=0, dossier_estimate_bytes=MIB)


def queue(box: Outbox, kiosk: FakeKiosk, n: int, size: int = 200_000) -> list[str]:
    """``n`` deposits sealed into ``box``, numbered after the kiosk's last."""
    ids = fleet.queue(box, kiosk.enrollment.fleet_code, [size] * n, first=kiosk.sequence + 1)
    kiosk.sequence += n
    return ids


def test_back_office_down_during_the_whole_deposit_then_up_delivers_everything(setup,
                                                                             tmp_path) -> None:
    data, port, kiosk = setup
    box = outbox_for(kiosk, tmp_path / "outbox")
    ids = queue(box, kiosk, 3)
    backoff = Backoff(base=0.05, cap=0.2)
    report = deliver_pass(box, kiosk.uploader(), owner="test", backoff=backoff)
    # Unreachable: the first is tried and released with a delay, the pass ends there.
    assert [d.outcome for d in report.deliveries] == [DeliveryOutcome.RETRY]
    assert "cannot reach" in report.deliveries[0].reason and report.deliveries[0].unreachable
    assert report.standing is Standing.UNREACHABLE and report.global_failure
    assert [e.deposit_id for e in box.pending()] == ids        # nothing lost, nothing sent
    first = box.get(ids[0])
    assert first.retry_at is not None and first.last_outcome is DeliveryOutcome.RETRY

    server = RunningServer(data, port).start()
    try:
        delivered: list[str] = []
        for _ in range(5):                       # the first waits out its short backoff
            report = deliver_pass(box, kiosk.uploader(), owner="test", backoff=backoff)
            delivered += [d.deposit_id for d in report.deliveries if d.acknowledged]
            if not box.pending():
                break
            time.sleep(0.25)
        assert sorted(delivered) == sorted(ids)
        assert box.pending() == []
        assert sorted(d.deposit_id for d in server.bo.metadata.deposits()) == sorted(ids)
    finally:
        server.stop()
        box.close()


def test_a_connection_cut_in_the_middle_of_a_chunk_resumes_and_resends_at_most_one_chunk(
        setup) -> None:
    data, port, kiosk = setup
    server = RunningServer(data, port).start()
    made = kiosk.make(size=5 * MIB)
    # Cut 2.5 MiB into the stream: in the middle of the third 1 MiB chunk.
    proxy = CuttingProxy(port, cut_after=int(2.5 * MIB))
    try:
        endpoint = f"https://127.0.0.1:{proxy.port}/files/"
        uploader = kiosk.uploader(chunk_size=1 * MIB, endpoint=endpoint)
        result = kiosk.deliver(made, uploader, attempts=3)
        assert result.outcome == "delivered", result.reason
        assert proxy.cuts == 1
        assert made.attempts == 2                                # one retry, after a HEAD
        overhead = 64 * 1024                                     # TLS records, headers, OPTIONS
        assert proxy.up_bytes <= made.size + 1 * MIB + overhead
        assert proxy.up_bytes > made.size                        # the cut chunk was sent again
        [record] = server.bo.metadata.deposits()
        assert server.bo.objects.sha256(record.object_key) == made.sha256
    finally:
        proxy.close()
        server.stop()


def test_the_uploader_holds_one_chunk_in_memory_not_the_envelope(setup) -> None:
    data, _port, kiosk = setup
    server = ServeProcess(data)              # in another process: only the kiosk is measured
    try:
        made = kiosk.make(size=16 * MIB)
        uploader = kiosk.uploader(chunk_size=4 * MIB)
        uploader.caps()                                  # connection set up before measuring
        tracemalloc.start()
        try:
            result = kiosk.deliver(made, uploader)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        uploader.close()
        assert result.outcome == "delivered"
        # Chunks are streamed from the file in 256 KiB blocks: less than one chunk in memory.
        assert peak < 1 * MIB, f"peak {peak / MIB:.1f} MiB for a 16 MiB envelope"
    finally:
        server.stop()


def test_sigkill_at_any_instant_loses_nothing_and_makes_one_dossier(setup, tmp_path) -> None:
    data, port, kiosk = setup
    server = RunningServer(data, port).start()
    proxy = CuttingProxy(port, delay=0.002)                  # slow enough to be caught mid-way
    box = outbox_for(kiosk, tmp_path / "kiosk-data" / "outbox")
    ids = queue(box, kiosk, 2, size=3 * MIB)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "MAIRIE-01"\ncode = "{kiosk.enrollment.fleet_code}"\n'
        f'data_dir = "{tmp_path / "kiosk-data"}"\n'
        f'[upload]\nbundle = "{kiosk.enrollment.folder}"\nchunk_mib = 1\n'
        f'[outbox]\nlease_seconds = 10\n')
    # The bundle's URL goes through the slow proxy.
    bundle_json = kiosk.enrollment.folder / "bundle.json"
    bundle_json.write_text(bundle_json.read_text().replace(f":{port}/", f":{proxy.port}/"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "kiosk", "uploader", "--once", "--config", str(config)]
    try:
        for delay in (1.2, 2.0, 2.7):
            proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # Leases of killed uploaders expire; then one clean pass finishes the work.
        time.sleep(10.5)
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        assert box.pending() == []
        stored = server.bo.metadata.deposits()
        assert sorted(d.deposit_id for d in stored) == sorted(ids)
        for d in stored:
            assert server.bo.objects.sha256(d.object_key) == d.envelope_sha256
    finally:
        box.close()
        proxy.close()
        server.stop()
