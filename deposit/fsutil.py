"""Durable file operations: the one place deposit/ creates, renames and removes files.

Power can be cut at any instant. A file is durable once its data and the
directory entry naming it have reached the disk, so every helper here fsyncs
the file, renames it into place, then fsyncs the folder.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: Files holding keys or dossiers: owner only.
PRIVATE = 0o600


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make the folder's entries (creations, renames, removals) durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(path: str | os.PathLike[str], data: bytes, mode: int = PRIVATE) -> None:
    """Create ``path`` with ``data`` durably; FileExistsError if it exists (never overwrites).

    The data goes to a temporary name first, so a crash never leaves a
    half-written ``path``; the final name appears by ``link`` (which refuses
    to replace an existing file).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed it; never widen beyond ``mode``
            _write_synced(fd, data)
        finally:
            os.close(fd)
        os.link(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(target.parent)


def make_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create the folder (and parents) if needed, mode 0700 for the last level."""
    folder = Path(path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def remove_durably(path: str | os.PathLike[str]) -> bool:
    """Remove a file and fsync its folder; False when it was already gone."""
    target = Path(path)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    fsync_dir(target.parent)
    return True


def replace_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically and durably: a reader (or a power cut) sees the old file
    or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        _write_synced(fd, data)
    finally:
        os.close(fd)
    tmp.replace(path)
    fsync_dir(path.parent)


def _write_synced(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd`` (``os.write`` may write less than asked), then fsync."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)
