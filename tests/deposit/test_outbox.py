"""The outbox: sealing from memory, durable queueing, leases, acknowledgement, recovery, space."""

from __future__ import annotations

import fcntl
import io
import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from deposit import envelope
from deposit import manifest as mf
from deposit.errors import (
    DuplicateDepositError,
    LeaseError,
    ManifestError,
    OutboxError,
    OutboxFullError,
    StateError,
)
from deposit.outbox import Outbox, Sealer
from deposit.status import OutboxState
from tests.deposit.conftest import (
    BACKOFFICE_ID,
    KIOSK_ID,
    KIOSK_KEY,
    deposit_json,
    fake_pdf,
    queue_one,
)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sqlite_runs_in_wal_mode_with_full_sync(outbox: Outbox) -> None:
    assert outbox.sqlite_settings() == {"journal_mode": "wal", "synchronous": "FULL",
                                        "busy_timeout_ms": "5000"}


def test_sealed_deposit_verifies_decrypts_and_unpacks(outbox: Outbox) -> None:
    pdf = fake_pdf(300_000)
    entry = queue_one(outbox, "D3M0-0000-0001", pdf)
    assert entry.state == OutboxState.SEALED
    assert entry.envelope_path.stat().st_mode & 0o777 == 0o600
    found = mf.verify(entry.manifest, KIOSK_KEY.public_key(), kiosk_id=KIOSK_ID,
                      envelope=entry.envelope_path)
    assert found.deposit_id == "D3M0-0000-0001" and found.procedure == "carte-grise"
    plain = io.BytesIO()
    with entry.envelope_path.open("rb") as f:
        envelope.decrypt(f, plain, [BACKOFFICE_ID])
    plain.seek(0)
    with tarfile.open(fileobj=plain) as tar:
        assert tar.extractfile("dossier.pdf").read() == pdf  # type: ignore[union-attr]
    assert outbox.get("D3M0-0000-0001") == entry


def test_the_database_holds_no_personal_data(outbox: Outbox) -> None:
    queue_one(outbox, "D3M0-0000-0001")
    db = sqlite3.connect(outbox.folder / "outbox.sqlite3")
    dump = "\n".join(db.iterdump())
    db.close()
    assert "jeanne" not in dump.lower() and "Pièce" not in dump


def test_deposit_ids_are_never_reused_even_after_purge(outbox: Outbox) -> None:
    queue_one(outbox, "D3M0-0000-0001")
    with pytest.raises(DuplicateDepositError):
        queue_one(outbox, "D3M0-0000-0001")
    outbox.mark_acknowledged("D3M0-0000-0001", b"ack")
    with pytest.raises(DuplicateDepositError):
        queue_one(outbox, "D3M0-0000-0001")
    assert [e.name for e in outbox.envelopes.iterdir()] == []


def test_last_deposit_id_survives_a_restart(tmp_path: Path, sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=0) as box:
        assert box.last_deposit_id() is None
        queue_one(box, "D3M0-0000-0001")
        queue_one(box, "D3M0-0000-0002")
        box.mark_acknowledged("D3M0-0000-0002", b"ack")
    with Outbox(tmp_path, recover=True) as box:
        assert box.last_deposit_id() == "D3M0-0000-0002"
        assert box.recovery.clean


def test_uploader_lifecycle_claim_release_claim_acknowledge(tmp_path: Path,
                                                            sealer: Sealer) -> None:
    clock = Clock()
    kiosk = Outbox(tmp_path, sealer=sealer, reserve_bytes=0, clock=clock)
    uploader = Outbox(tmp_path, clock=clock)          # another connection, as another process
    queue_one(kiosk, "D3M0-0000-0001")
    queue_one(kiosk, "D3M0-0000-0002")

    first = uploader.claim_next("up-1", lease_seconds=60)
    assert first is not None and first.deposit_id == "D3M0-0000-0001"
    assert first.envelope_path.exists() and first.attempts == 1
    uploader.release(first.deposit_id, "up-1", error="connection reset")
    again = uploader.claim_next("up-1", lease_seconds=60)
    assert again is not None and again.deposit_id == "D3M0-0000-0001" and again.attempts == 2
    assert kiosk.get("D3M0-0000-0001").last_error == "connection reset"

    assert uploader.mark_acknowledged(again.deposit_id, b"signed-ack", owner="up-1")
    entry = kiosk.get("D3M0-0000-0001")
    assert entry.state == OutboxState.PURGED and entry.ack == b"signed-ack"
    assert not entry.envelope_path.exists()
    assert uploader.mark_acknowledged(again.deposit_id, b"signed-ack") is False   # replay
    assert [e.deposit_id for e in kiosk.pending()] == ["D3M0-0000-0002"]
    stats = kiosk.stats()
    assert stats.by_state == {"sealed": 1, "uploading": 0, "refused": 0, "acknowledged": 0,
                              "purged": 1}
    assert stats.pending == 1 and stats.last_deposit_id == "D3M0-0000-0002"
    kiosk.close()
    uploader.close()


def test_two_uploaders_never_hold_the_same_deposit(tmp_path: Path, sealer: Sealer) -> None:
    clock = Clock()
    kiosk = Outbox(tmp_path, sealer=sealer, reserve_bytes=0, clock=clock)
    a, b = Outbox(tmp_path, clock=clock), Outbox(tmp_path, clock=clock)
    queue_one(kiosk, "D3M0-0000-0001")
    assert a.claim_next("A", lease_seconds=30) is not None
    assert b.claim_next("B", lease_seconds=30) is None
    with pytest.raises(LeaseError):
        b.claim("D3M0-0000-0001", "B")
    with pytest.raises(LeaseError):
        b.release("D3M0-0000-0001", "B")
    clock.now += 10
    a.renew_lease("D3M0-0000-0001", "A", lease_seconds=30)
    clock.now += 25
    assert b.claim_next("B") is None            # renewed: still A's
    clock.now += 10                             # A's lease expired (A crashed)
    taken = b.claim_next("B", lease_seconds=30)
    assert taken is not None and taken.owner == "B"
    with pytest.raises(LeaseError):
        a.renew_lease("D3M0-0000-0001", "A")
    for box in (kiosk, a, b):
        box.close()


def test_acknowledged_deposits_cannot_be_claimed(outbox: Outbox) -> None:
    queue_one(outbox, "D3M0-0000-0001")
    outbox.mark_acknowledged("D3M0-0000-0001", b"ack")
    with pytest.raises(StateError):
        outbox.claim("D3M0-0000-0001", "up")
    assert outbox.claim_next("up") is None


def test_full_disk_refuses_new_deposits_and_keeps_the_queue(tmp_path: Path,
                                                             sealer: Sealer) -> None:
    box = Outbox(tmp_path, sealer=sealer, reserve_bytes=0)
    queue_one(box, "D3M0-0000-0001")
    full = Outbox(tmp_path, sealer=sealer, reserve_bytes=box.free_bytes() * 2)
    assert not full.space_ok() and not full.stats().accepting
    with pytest.raises(OutboxFullError) as info:
        queue_one(full, "D3M0-0000-0002")
    assert "MiB free" in info.value.technician and "1 dossier(s) wait" in info.value.technician
    assert "try again later" in info.value.citizen
    assert info.value.needed_bytes > info.value.free_bytes
    assert [e.deposit_id for e in box.pending()] == ["D3M0-0000-0001"]
    assert sorted(p.name for p in box.envelopes.iterdir()) == ["D3M0-0000-0001.age"]
    box.close()
    full.close()


def test_a_pdf_larger_than_the_estimate_needs_its_own_size(outbox: Outbox) -> None:
    assert outbox.needed_bytes(50 * 1024 * 1024) > outbox.needed_bytes()


def test_recovery_removes_leftovers_of_an_interrupted_write(tmp_path: Path,
                                                             sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=0) as box:
        queue_one(box, "D3M0-0000-0001")
    envelopes = tmp_path / "envelopes"
    (envelopes / ".D3M0-0000-0002.abc.tmp").write_bytes(b"half an envelope")
    (envelopes / "D3M0-0000-0003.age").write_bytes(b"renamed, row never committed")
    (envelopes / "notes.txt").write_text("left by a technician")
    live = envelopes / ".D3M0-0000-0004.def.tmp"
    live.write_bytes(b"being written by a live process")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with Outbox(tmp_path, recover=True) as box:
            report = box.recovery
    finally:
        os.close(fd)
    assert report.removed_temp_files == (".D3M0-0000-0002.abc.tmp",)
    assert report.removed_orphan_envelopes == ("D3M0-0000-0003",)
    assert report.stray_files == ("notes.txt",)
    assert not report.clean and any("D3M0-0000-0003" in line for line in report.lines())
    assert sorted(p.name for p in envelopes.iterdir()) == [
        ".D3M0-0000-0004.def.tmp", "D3M0-0000-0001.age", "notes.txt"]


def test_recovery_finishes_deleting_an_acknowledged_envelope(tmp_path: Path,
                                                             sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=0) as box:
        queue_one(box, "D3M0-0000-0001")
    # A power cut between the acknowledgement's commit and the envelope's removal:
    db = sqlite3.connect(tmp_path / "outbox.sqlite3")
    db.execute("UPDATE deposits SET state = 'acknowledged', ack = x'00'")
    db.commit()
    db.close()
    with Outbox(tmp_path, recover=True) as box:
        assert box.recovery.purged_acknowledged == ("D3M0-0000-0001",)
        assert box.get("D3M0-0000-0001").state == OutboxState.PURGED
    assert list((tmp_path / "envelopes").iterdir()) == []


def test_recovery_reports_a_queued_deposit_whose_envelope_vanished(tmp_path: Path,
                                                                   sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=0) as box:
        entry = queue_one(box, "D3M0-0000-0001")
    entry.envelope_path.unlink()
    with Outbox(tmp_path, recover=True) as box:
        assert box.recovery.missing_envelopes == ("D3M0-0000-0001",)
        assert box.recovery.lines()[0].startswith("ERROR")


def test_an_uploader_cannot_seal(tmp_path: Path) -> None:
    with Outbox(tmp_path) as box, pytest.raises(OutboxError, match="without a sealer"):
        queue_one(box, "D3M0-0000-0001")


def test_bad_recipients_fail_at_start_up_not_at_the_first_citizen() -> None:
    with pytest.raises(Exception, match="cannot be mixed"):
        Sealer(recipients=(envelope.generate_identity()[1],
                           envelope.generate_identity("x25519")[1]),
               kiosk_id=KIOSK_ID, signing_key=KIOSK_KEY)


def test_a_failed_seal_leaves_nothing_on_disk(outbox: Outbox) -> None:
    with pytest.raises(ValueError):
        outbox.seal_and_queue(deposit_id="D3M0-0000-0001", procedure="carte-grise",
                              deposit_json={"bad": float("nan")}, pdf=fake_pdf(),
                              tracking_token="t")
    assert list(outbox.envelopes.iterdir()) == []
    assert outbox.list() == []
    queue_one(outbox, "D3M0-0000-0001")
    assert deposit_json("x")["version"] == 1


def test_a_bad_procedure_code_is_refused_before_anything_is_written(outbox: Outbox) -> None:
    with pytest.raises(ManifestError, match="procedure"):
        outbox.seal_and_queue(deposit_id="D3M0-0000-0001", procedure="Carte grise (Mme X)",
                              deposit_json=deposit_json("D3M0-0000-0001"), pdf=fake_pdf(),
                              tracking_token="t")
    assert list(outbox.envelopes.iterdir()) == [] and outbox.list() == []


def test_a_bad_kiosk_id_fails_at_start_up() -> None:
    with pytest.raises(ManifestError, match="kiosk_id"):
        Sealer(recipients=(envelope.generate_identity()[1],), kiosk_id="kiosk 1",
               signing_key=KIOSK_KEY)


def test_a_deposit_released_with_a_delay_lets_the_ones_behind_it_go_first(
        tmp_path: Path, sealer: Sealer) -> None:
    clock = Clock()
    box = Outbox(tmp_path, sealer=sealer, reserve_bytes=0, clock=clock)
    assert box.next_claimable_at() is None
    queue_one(box, "D3M0-0000-0001")
    queue_one(box, "D3M0-0000-0002")
    first = box.claim_next("up", lease_seconds=60)
    assert first is not None and first.deposit_id == "D3M0-0000-0001"
    box.release(first.deposit_id, "up", error="HTTP 500", retry_after=120)
    second = box.claim_next("up", lease_seconds=60)
    assert second is not None and second.deposit_id == "D3M0-0000-0002"
    assert box.claim_next("up") is None
    assert box.next_claimable_at() == clock.now + 60      # the lease on the second
    box.mark_acknowledged(second.deposit_id, b"ack", owner="up")
    assert box.next_claimable_at() == clock.now + 120
    clock.now += 121
    again = box.claim_next("up")
    assert again is not None and again.deposit_id == "D3M0-0000-0001" and again.attempts == 2
    box.close()
