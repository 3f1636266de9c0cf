"""The outbox's storage: its drain reserve, and the disk's and SQLite's errors in its own words.

A full disk is tested on a real filesystem in tests/security/test_kiosk_disk_full.py
(it needs root to mount one); what needs no mount is here: the reserve's size and
life, a damaged database, a database another process keeps locked.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from deposit.errors import OutboxStorageError, StorageProblem
from deposit.outbox import DB_NAME, Outbox, Sealer
from deposit.outbox_storage import DRAIN_RESERVE, storage_problem
from deposit.status import OutboxState
from tests.deposit.conftest import queue_one

MiB = 1024 * 1024


def test_the_drain_reserve_is_made_with_the_outbox_and_really_takes_its_blocks(
        tmp_path: Path) -> None:
    with Outbox(tmp_path, reserve_bytes=100 * MiB, drain_reserve_bytes=3 * MiB) as box:
        reserve = tmp_path / DRAIN_RESERVE
        assert reserve.stat().st_size == 3 * MiB
        assert reserve.stat().st_blocks * 512 == 3 * MiB       # allocated, not sparse
        assert box.drain_reserve_held() == 3 * MiB == box.stats().drain_reserve_bytes
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_drain_reserve_is_part_of_the_reserve_and_off_without_one(tmp_path: Path) -> None:
    with Outbox(tmp_path / "a", reserve_bytes=1 * MiB, drain_reserve_bytes=8 * MiB) as box:
        assert box.drain_reserve_held() == 1 * MiB
    with Outbox(tmp_path / "b", reserve_bytes=0) as box:
        assert box.drain_reserve_held() == 0
        assert not (tmp_path / "b" / DRAIN_RESERVE).exists()


def test_a_released_drain_reserve_comes_back_at_the_next_acknowledgement(
        tmp_path: Path, sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=2 * MiB, dossier_estimate_bytes=MiB,
                drain_reserve_bytes=2 * MiB) as box:
        queue_one(box, "D3M0-0000-0001")
        assert box.drain_reserve.release() == 2 * MiB
        assert box.drain_reserve_held() == 0 and box.drain_reserve.release() == 0
        box.mark_acknowledged("D3M0-0000-0001", b"ack")
        assert box.drain_reserve_held() == 2 * MiB


def test_a_damaged_database_is_a_storage_error_that_says_so(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database, " * 200)

    with pytest.raises(OutboxStorageError) as caught:
        Outbox(tmp_path)

    assert caught.value.problem is StorageProblem.DAMAGED
    assert "cannot open the outbox database: the outbox database is damaged" in str(
        caught.value)
    assert "copy the whole outbox folder before anything else" in str(caught.value)


def test_a_database_locked_by_another_process_is_reported_busy_then_works_again(
        tmp_path: Path, sealer: Sealer) -> None:
    with Outbox(tmp_path, sealer=sealer, reserve_bytes=0, dossier_estimate_bytes=MiB,
                busy_timeout_ms=100) as box:
        queue_one(box, "D3M0-0000-0001")
        other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")          # a stuck process holding the write lock

        with pytest.raises(OutboxStorageError) as caught:
            box.claim_next("up")

        assert caught.value.problem is StorageProblem.BUSY
        assert "cannot claim the next deposit to upload: another process kept the outbox " \
            "database locked" in str(caught.value)
        other.execute("ROLLBACK")
        other.close()
        claim = box.claim_next("up")                # no transaction was left open
        assert claim is not None and box.get(claim.deposit_id).state is OutboxState.UPLOADING


@pytest.mark.parametrize(("error", "problem"), [
    (OSError(errno.ENOSPC, "No space left on device"), StorageProblem.DISK_FULL),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), StorageProblem.DISK_FULL),
    (OSError(errno.EROFS, "Read-only file system"), StorageProblem.READ_ONLY),
    (OSError(errno.EACCES, "Permission denied"), StorageProblem.PERMISSION),
    (OSError(errno.EIO, "Input/output error"), StorageProblem.IO),
])
def test_disk_errors_are_named_for_a_technician(error: OSError,
                                                 problem: StorageProblem) -> None:
    assert storage_problem(error, free_bytes=None) is problem


def test_an_sqlite_io_error_with_almost_no_space_left_is_a_full_disk() -> None:
    # SQLite reports a -shm index it cannot grow as an I/O error, not as SQLITE_FULL.
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = 4874        # SQLITE_IOERR_SHMSIZE
    assert storage_problem(error, free_bytes=0) is StorageProblem.DISK_FULL
    assert storage_problem(error, free_bytes=500 * MiB) is StorageProblem.IO
