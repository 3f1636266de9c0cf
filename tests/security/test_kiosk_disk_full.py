"""Issue #13: on a kiosk whose data disk another program filled, the queue still drains.

The finding: with no free byte left, ``Outbox.claim_next`` raised a raw
``sqlite3.OperationalError`` ("database or disk is full") and the uploader
died, so the queue, the one thing that gives space back by deleting
acknowledged envelopes, could not drain. (Opening the outbox failed the same
way, as "disk I/O error", when the uploader restarted: a fresh connection must
create the WAL's ``-shm`` index.)

Here the disk is real: a small tmpfs (the tests run as root; they skip, saying
why, where mounting is impossible), filled to the last byte by ``dd``, another
program, after the kiosk queued its dossiers. Then the uploader still opens the
outbox, claims, releases, refuses and acknowledges through the outbox's drain
reserve; the envelopes of acknowledged deposits are deleted and the free space
comes back (figures printed); sealing a new dossier is refused cleanly
(OutboxFullError) meanwhile; and once the reserve is used up and the disk
filled again, every storage error is an OutboxStorageError that names the
problem in a technician's words, and the outbox works again as soon as space
comes back. The last test runs ``kiosk uploader`` against a real back office.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deposit.errors import OutboxFullError, OutboxStorageError, StorageProblem
from deposit.outbox import Outbox, Sealer
from deposit.outbox_storage import DRAIN_RESERVE
from deposit.status import DeliveryOutcome, OutboxState, Standing
from tests.conftest import run_cli
from tests.deposit.conftest import BACKOFFICE_RCPT, KIOSK_ID, KIOSK_KEY, fake_pdf, queue_one
from tests.tmpfs import mount_tmpfs, unmount

MiB = 1024 * 1024


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(recipients=(BACKOFFICE_RCPT,), kiosk_id=KIOSK_ID, signing_key=KIOSK_KEY)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mount a tmpfs of the size asked (MiB): the kiosk's data disk, small enough to fill."""
    mounted: list[Path] = []

    def mount(size_mib: int) -> Path:
        point = mount_tmpfs(tmp_path / f"disk{len(mounted)}", size_mib * 1024)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        unmount(point)


def free(disk: Path) -> int:
    st = os.statvfs(disk)
    return st.f_bavail * st.f_frsize


def fill_by_another_program(disk: Path, name: str = "other-program.bin") -> Path:
    """Take every free byte of ``disk`` with dd, as a runaway log writer would."""
    target = disk / name
    result = subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=64k", "oflag=append",
                             "conv=notrunc"], capture_output=True, text=True)
    assert "No space left on device" in result.stderr, result.stderr
    assert free(disk) == 0
    return target


def test_a_disk_filled_by_another_program_still_drains_and_gives_the_space_back(
        small_disk: Callable[[int], Path], sealer: Sealer) -> None:
    disk = small_disk(16)
    folder = disk / "outbox"

    def open_outbox(sealer: Sealer | None = None) -> Outbox:
        return Outbox(folder, sealer=sealer, reserve_bytes=4 * MiB,
                      dossier_estimate_bytes=1 * MiB, drain_reserve_bytes=2 * MiB, recover=True)

    kiosk = open_outbox(sealer)
    assert kiosk.drain_reserve_held() == 2 * MiB
    ids = [f"D3M0-0000-000{n}" for n in range(1, 5)]
    queued = sum(queue_one(kiosk, i, fake_pdf(1 * MiB)).envelope_size for i in ids)
    kiosk.close()          # the last connection: SQLite deletes the WAL, the next opening
    filler = fill_by_another_program(disk)     # needs new space for it and its index
    full = free(disk)

    uploader = open_outbox()                    # the uploader (re)starting on the full disk
    assert uploader.drain_reserve_held() == 0   # released to open the database
    kiosk = open_outbox(sealer)

    # A citizen is turned away cleanly; nothing of the refused deposit stays on the disk.
    with pytest.raises(OutboxFullError) as refused:
        queue_one(kiosk, "D3M0-0000-0005", fake_pdf(100_000))
    assert "try again later" in refused.value.citizen
    assert "free space on the data disk" in refused.value.technician
    assert sorted(p.name for p in uploader.envelopes.iterdir()) == [f"{i}.age" for i in ids]

    # The uploader's whole cycle: claim, remember the upload, renew, release, claim again,
    # refuse, acknowledge (a refused deposit too: an export imported by staff ends it).
    first = uploader.claim_next("up")
    assert first is not None and first.deposit_id == ids[0]
    uploader.set_upload_url(first.deposit_id, "up", "https://bo.example/files/1")
    uploader.renew_lease(first.deposit_id, "up")
    uploader.release(first.deposit_id, "up", "network down", outcome=DeliveryOutcome.RETRY)
    again = uploader.claim(first.deposit_id, "up")
    assert again.upload_url == "https://bo.example/files/1" and again.attempts == 2
    assert uploader.mark_acknowledged(first.deposit_id, b"ack-1", owner="up")
    second = uploader.claim_next("up")
    assert second is not None and second.deposit_id == ids[1]
    uploader.refuse(second.deposit_id, "up", "does not verify")
    assert uploader.mark_acknowledged(second.deposit_id, b"ack-2")
    while (claim := uploader.claim_next("up")) is not None:
        assert uploader.mark_acknowledged(claim.deposit_id, b"ack", owner="up")
    uploader.set_standing(Standing.ONLINE)

    assert [e.state for e in uploader.list()] == [OutboxState.PURGED] * 4
    assert list(uploader.envelopes.iterdir()) == []
    drained = free(disk)
    held = uploader.drain_reserve_held()
    print(f"full disk: {full} bytes free; after draining 4 deposits ({queued} bytes of "
          f"envelopes): {drained} bytes free, drain reserve {held} bytes held again")
    assert drained + held > queued            # the envelopes' space came back...
    assert held == 2 * MiB                    # ...and the margin with it
    assert drained > full + 1 * MiB
    assert uploader.stats().pending == 0
    filler.unlink()                           # the other program's file removed: the kiosk seals
    queue_one(kiosk, "D3M0-0000-0006", fake_pdf(100_000))
    kiosk.close()
    uploader.close()


def test_with_its_reserve_used_up_a_full_disk_is_reported_in_words_and_passes_when_space_returns(
        small_disk: Callable[[int], Path], sealer: Sealer) -> None:
    disk = small_disk(8)
    folder = disk / "outbox"
    box = Outbox(folder, sealer=sealer, reserve_bytes=1 * MiB,
                 dossier_estimate_bytes=1 * MiB, drain_reserve_bytes=1 * MiB)
    ids = ["D3M0-0000-0001", "D3M0-0000-0002"]
    for deposit_id in ids:
        queue_one(box, deposit_id, fake_pdf(200_000))
    first = fill_by_another_program(disk)
    claim = box.claim_next("up")              # through the reserve
    assert claim is not None and box.drain_reserve_held() == 0
    second = fill_by_another_program(disk, "more-of-it.bin")     # and it takes that too

    writes: dict[str, Callable[[], object]] = {
        "claim_next": lambda: box.claim_next("up2"),
        "claim": lambda: box.claim(ids[1], "up2"),
        "renew_lease": lambda: box.renew_lease(claim.deposit_id, "up"),
        "set_upload_url": lambda: box.set_upload_url(claim.deposit_id, "up", "https://x/1"),
        "release": lambda: box.release(claim.deposit_id, "up", "retry"),
        "refuse": lambda: box.refuse(claim.deposit_id, "up", "refused"),
        "mark_acknowledged": lambda: box.mark_acknowledged(claim.deposit_id, b"ack",
                                                           owner="up"),
        "set_standing": lambda: box.set_standing(Standing.UNREACHABLE, "down"),
        "requeue_refused": lambda: box.requeue_refused(),
    }
    for name, call in writes.items():
        try:
            call()
        except OutboxStorageError as exc:
            assert exc.problem is StorageProblem.DISK_FULL, name
            assert "the data disk is full; free space on it" in str(exc), name
            assert "no drain reserve left to release" in str(exc), name
        except BaseException as exc:       # any other type is the finding
            pytest.fail(f"{name} raised {type(exc).__name__}: {exc}")
        else:
            assert name == "requeue_refused", f"{name} wrote on a full disk"  # nothing to write
    # Reading still works, and says where the disk stands.
    stats = box.stats()
    assert stats.pending == 2 and stats.free_bytes == 0 and stats.drain_reserve_bytes == 0
    print(f"{len(writes)} writes on a full disk with the reserve used: each an "
          "OutboxStorageError (disk_full), none a raw sqlite3 or OS error")

    first.unlink()                  # the technician removes the runaway files
    second.unlink()
    assert box.mark_acknowledged(claim.deposit_id, b"ack", owner="up")   # same connection
    assert box.drain_reserve_held() == 1 * MiB                           # margin made again
    assert box.get(claim.deposit_id).state is OutboxState.PURGED
    box.close()


@pytest.mark.slow
def test_kiosk_uploader_drains_a_full_disk_to_a_real_back_office(
        small_disk: Callable[[int], Path], tmp_path: Path) -> None:
    from tests.backoffice.harness import RunningServer
    from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, queue

    office = enrolled(tmp_path, "MAIRIE-13")
    server = RunningServer(office.data, office.port).start()
    disk = small_disk(32)
    config = kiosk_config(disk / "kiosk", office.bundle, upload="timeout_s = 10")
    try:
        with kiosk_outbox(config, office.bundle) as box:
            ids = queue(box, office.fleet_code, [2 * MiB, 2 * MiB, 500_000])
            queued = sum(box.get(i).envelope_size for i in ids)
        # The kiosk application opens its outbox with the default reserve: the margin is made.
        with Outbox(config.parent / "data" / "outbox") as kiosk:
            assert kiosk.drain_reserve_held() == 8 * MiB
        fill_by_another_program(disk)

        done = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config)])

        assert done.returncode == 0, done.stderr            # nothing left on the kiosk
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["delivered"] == 3 and report["outbox_fault"] == ""
        assert sorted(d.deposit_id for d in server.bo.metadata.deposits()) == sorted(ids)
        assert "released the 8.0 MiB drain reserve" in done.stderr
        outbox = config.parent / "data" / "outbox"
        assert list((outbox / "envelopes").iterdir()) == []
        assert not (outbox / DRAIN_RESERVE).exists()     # not room for it twice over yet
        print(f"kiosk uploader on a full disk: 3 dossiers delivered to the back office, "
              f"{free(disk)} bytes free after ({queued} bytes of envelopes deleted)")
        assert free(disk) > queued
    finally:
        server.stop()


@pytest.mark.slow
def test_the_uploader_loop_outlives_a_full_disk_and_delivers_once_space_is_back(
        small_disk: Callable[[int], Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    from kiosk.config import load_config
    from kiosk.uploading import UploaderService
    from tests.backoffice.harness import RunningServer
    from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, queue

    office = enrolled(tmp_path, "MAIRIE-14")
    server = RunningServer(office.data, office.port).start()
    disk = small_disk(12)           # too small for an 8 MiB drain reserve twice over: none made
    config = kiosk_config(disk / "kiosk", office.bundle,
                          upload="timeout_s = 10\npoll_s = 1\nmax_backoff_s = 1")
    with kiosk_outbox(config, office.bundle) as box:
        ids = queue(box, office.fleet_code, [300_000, 300_000])
    stop = threading.Event()
    died: list[BaseException] = []
    with UploaderService(load_config(config), stop=stop) as service:
        assert service.outbox.drain_reserve_held() == 0
        filler = fill_by_another_program(disk)

        def loop() -> None:
            try:
                service.run()
            except BaseException as exc:       # the finding: the loop died
                died.append(exc)

        thread = threading.Thread(target=loop, name="uploader-loop")
        try:
            thread.start()
            deadline = time.monotonic() + 30
            while not any("the outbox failed (disk_full)" in r.getMessage()
                          for r in caplog.records):
                assert thread.is_alive() and time.monotonic() < deadline, died
                time.sleep(0.1)
            time.sleep(2.5)                         # a few more passes on the full disk
            assert thread.is_alive(), died
            assert server.bo.metadata.deposits() == []
            faults = sum("the outbox failed (disk_full)" in r.getMessage()
                         for r in caplog.records)

            filler.unlink()                          # space is back
            while len(server.bo.metadata.deposits()) < len(ids):
                assert thread.is_alive() and time.monotonic() < deadline + 30, died
                time.sleep(0.1)
            while service.outbox.stats().pending:    # acknowledged and purged on the kiosk
                assert time.monotonic() < deadline + 30
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(30)
            server.stop()
    assert not died and not thread.is_alive()
    print(f"the uploader loop logged {faults} full-disk fault(s), lived on, and delivered "
          f"{len(ids)} dossiers once space was back")
    assert faults >= 2
