"""A real small filesystem for the tests that fill a disk: a tmpfs, mounted as root.

Tests of full disks (a USB stick, the kiosk's data disk, the envelope store)
need a filesystem that really runs out of space; a tmpfs of a few MiB does,
in memory. Mounting needs root: the test is skipped, saying why, otherwise.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount_tmpfs(point: Path, size_kib: int, *, mode: str = "0755",
                readonly: bool = False) -> Path:
    """Mount a tmpfs of ``size_kib`` at ``point`` (made if absent); skips when it cannot."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs (a real disk to fill) needs root")
    point.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kib}k,mode={mode}" + (",ro" if readonly else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return point


def unmount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], check=False)


@contextlib.contextmanager
def tmpfs(point: Path, size_kib: int, *, mode: str = "0755") -> Iterator[Path]:
    """A tmpfs at ``point`` for the length of the block."""
    mount_tmpfs(point, size_kib, mode=mode)
    try:
        yield point
    finally:
        unmount(point)
