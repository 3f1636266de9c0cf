"""Power-cut safety of sealing and queuing, shown by killing a real process (see crash_harness)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deposit import crash_harness


def test_sigkill_at_random_instants_loses_doubles_and_half_writes_nothing(tmp_path: Path
                                                                         ) -> None:
    report = crash_harness.run(20, tmp_path / "run", seed=20)
    print(report.summary())
    assert report.kills == 20
    assert len(report.reported) > 0         # kills landed among deposits, not only at start-up
    assert report.decrypted == report.sealed > 0
    assert report.ok, report.summary()


@pytest.mark.soak
@pytest.mark.timeout(1800)      # about 5 minutes on a quiet machine, far more on a busy one
def test_five_hundred_kills_lose_double_and_half_write_nothing(tmp_path: Path) -> None:
    report = crash_harness.run(500, tmp_path / "run", seed=500, progress=True)
    print(report.summary())
    assert report.kills == 500
    assert report.ok, report.summary()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_system_calls_are_ordered_fsync_rename_fsync_folder_commit_then_report(tmp_path: Path
                                                                             ) -> None:
    report = crash_harness.run(3, tmp_path / "run", seed=3, max_delay=0.4, strace=True)
    assert len(report.reported) > 0
    assert report.ok, report.summary()


def test_the_syscall_check_catches_a_report_before_the_wal_is_synced(tmp_path: Path) -> None:
    log = tmp_path / "strace.log"
    log.write_text(
        '7 openat(AT_FDCWD, "/o/envelopes/.CRSH-000000001.ab.tmp", O_WRONLY|O_CREAT) = 6\n'
        "7 fsync(6) = 0\n"
        '7 link("/o/envelopes/.CRSH-000000001.ab.tmp", "/o/envelopes/CRSH-000000001.age") = 0\n'
        '7 openat(AT_FDCWD, "/o/envelopes", O_RDONLY|O_DIRECTORY) = 8\n'
        "7 fsync(8) = 0\n"
        '7 write(1, "CRSH-000000001\\n", 15) = 15\n'
        '7 openat(AT_FDCWD, "/o/outbox.sqlite3-wal", O_RDWR) = 4\n'
        "7 fdatasync(4) = 0\n")
    problems = crash_harness.check_syscall_order(log, ["CRSH-000000001"])
    assert problems == ["CRSH-000000001: WAL not fsynced after the rename, before the report"]
    lines = log.read_text().splitlines()
    fixed = lines[:5] + lines[6:] + lines[5:6]     # the report moved after the WAL's fdatasync
    log.write_text("\n".join(fixed) + "\n")
    assert crash_harness.check_syscall_order(log, ["CRSH-000000001"]) == []
