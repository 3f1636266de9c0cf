"""Sealing from memory: the digest matches the file written, with or without the hashing thread."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from deposit import envelope, seal
from tests.deposit.conftest import BACKOFFICE_ID, BACKOFFICE_RCPT, deposit_json


@pytest.mark.parametrize("pipelined", [False, True])
@pytest.mark.parametrize("size", [10, 5 * 1024 * 1024 + 7])
def test_sealed_digest_and_size_are_those_of_the_file(tmp_path: Path, pipelined: bool,
                                                      size: int) -> None:
    pdf = os.urandom(size)
    path = tmp_path / "e.age"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        sealed = seal.seal_to_fd(fd, deposit_json("D3M0-0000-0001"), pdf, [BACKOFFICE_RCPT],
                                 pipelined=pipelined)
    finally:
        os.close(fd)
    blob = path.read_bytes()
    assert sealed.size == len(blob)
    assert sealed.sha256 == hashlib.sha256(blob).hexdigest()
    plain = io.BytesIO()
    envelope.decrypt(io.BytesIO(blob), plain, [BACKOFFICE_ID])
    plain.seek(0)
    with tarfile.open(fileobj=plain) as tar:
        assert tar.extractfile("dossier.pdf").read() == pdf  # type: ignore[union-attr]


def test_a_write_error_in_the_pipeline_reaches_the_caller(tmp_path: Path) -> None:
    read_only = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)   # writes fail with EBADF
    try:
        with pytest.raises(OSError):
            seal.seal_to_fd(read_only, {"a": 1}, os.urandom(6 * 1024 * 1024),
                            [BACKOFFICE_RCPT], pipelined=True)
    finally:
        os.close(read_only)


def test_a_full_disk_is_reported_as_enospc() -> None:
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        for pipelined in (False, True):
            with pytest.raises(OSError) as info:
                seal.seal_to_fd(fd, {"a": 1}, os.urandom(5 * 1024 * 1024), [BACKOFFICE_RCPT],
                                pipelined=pipelined)
            assert info.value.errno == 28
    finally:
        os.close(fd)
