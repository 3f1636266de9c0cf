"""Payload archives: streamed ustar packing, and unpacking that refuses anything unsafe."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deposit import payload
from deposit.errors import ArchiveError
from tests.deposit.conftest import deposit_json, fake_pdf
from tests.security import hostile_tar


def packed(data: dict[str, Any], pdf: bytes) -> bytes:
    return b"".join(bytes(piece) for piece in payload.pack(data, pdf))


def test_pack_is_a_ustar_archive_any_tar_reads(tmp_path: Path) -> None:
    pdf = fake_pdf(70_001)
    blob = packed(deposit_json("D3M0-0000-0001"), pdf)
    assert len(blob) == payload.packed_size(deposit_json("D3M0-0000-0001"), len(pdf))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["deposit.json", "dossier.pdf"]
        assert all(m.isreg() and m.mode == 0o600 for m in members)
        assert tar.extractfile("dossier.pdf").read() == pdf  # type: ignore[union-attr]
    assert blob[257:263] == b"ustar\x00"


def test_pack_passes_the_pdf_buffer_without_copying_it() -> None:
    pdf = bytearray(fake_pdf(5000))
    pieces = list(payload.pack({"a": 1}, pdf))
    views = [p for p in pieces if isinstance(p, memoryview)]
    assert len(views) == 1 and views[0].obj is pdf


def test_unpack_round_trip(tmp_path: Path) -> None:
    pdf = fake_pdf(10_000)
    data = deposit_json("D3M0-0000-0002")
    files = payload.unpack_safely(io.BytesIO(packed(data, pdf)), tmp_path / "out")
    assert files["dossier.pdf"].read_bytes() == pdf
    assert payload.read_deposit_json(files["deposit.json"]) == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def evil_archive(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def reg(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def special(name: str, kind: bytes, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(("members", "reason"), [
    ([(reg("/etc/passwd"), b"x")], "absolute"),
    ([(reg("../escape"), b"x")], "leaves the folder"),
    ([(reg("a/../../b"), b"x")], "leaves the folder"),
    ([(special("deposit.json", tarfile.SYMTYPE, "/etc/shadow"), b"")], "not a regular file"),
    ([(special("deposit.json", tarfile.LNKTYPE, "dossier.pdf"), b"")], "not a regular file"),
    ([(special("dev", tarfile.CHRTYPE), b"")], "not a regular file"),
    ([(special("fifo", tarfile.FIFOTYPE), b"")], "not a regular file"),
    ([(reg("deposit.json"), b"{}"), (reg("deposit.json"), b"{}")], "twice"),
    ([(reg("deposit.json"), b"{}")], "lacks dossier.pdf"),
])
def test_unpack_refuses_unsafe_members_and_leaves_nothing(
        tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]], reason: str) -> None:
    with pytest.raises(ArchiveError, match=reason):
        payload.unpack_safely(io.BytesIO(evil_archive(*members)), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_unpack_refuses_members_over_the_size_limits(tmp_path: Path) -> None:
    blob = packed({"a": 1}, fake_pdf(20_000))
    with pytest.raises(ArchiveError, match="over the limit"):
        payload.unpack_safely(io.BytesIO(blob), tmp_path / "a", max_member_bytes=10_000)
    with pytest.raises(ArchiveError, match="add up"):
        payload.unpack_safely(io.BytesIO(blob), tmp_path / "b", max_total_bytes=20_000)
    assert list(tmp_path.iterdir()) == []


def test_unpack_refuses_a_truncated_or_garbage_archive(tmp_path: Path) -> None:
    blob = packed({"a": 1}, fake_pdf(20_000))
    with pytest.raises(ArchiveError):
        payload.unpack_safely(io.BytesIO(blob[:5000]), tmp_path / "a")
    with pytest.raises(ArchiveError):
        payload.unpack_safely(io.BytesIO(os.urandom(4096)), tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


def test_unpack_never_replaces_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        payload.unpack_safely(io.BytesIO(packed({"a": 1}, b"%PDF")), tmp_path / "out")


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_archives_give_archive_error_or_a_clean_result(tmp_path: Path,
                                                               data: st.DataObject) -> None:
    blob = packed({"a": 1}, fake_pdf(3000))
    start = data.draw(st.integers(0, len(blob)))
    end = data.draw(st.integers(start, min(len(blob), start + 600)))
    damaged = blob[:start] + data.draw(st.binary(max_size=64)) + blob[end:]
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        files = payload.unpack_safely(io.BytesIO(damaged), work / "out")
    except ArchiveError:
        assert list(work.iterdir()) == []
    else:
        assert sorted(files) == ["deposit.json", "dossier.pdf"]
        assert [p.name for p in work.iterdir()] == ["out"]


def test_unpack_caps_deposit_json_on_its_own(tmp_path: Path) -> None:
    data = {"a": "x" * 80}
    size = len(payload.encode_deposit_json(data))
    blob = packed(data, fake_pdf(20_000))
    files = payload.unpack_safely(io.BytesIO(blob), tmp_path / "a", max_json_bytes=size)
    assert payload.read_deposit_json(files["deposit.json"]) == data
    with pytest.raises(ArchiveError, match=f"'deposit.json' is {size} bytes, over the limit"):
        payload.unpack_safely(io.BytesIO(blob), tmp_path / "b", max_json_bytes=size - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


@pytest.mark.parametrize("records", [
    {"GNU.sparse.size": "4096", "GNU.sparse.map": "0,x"},          # 0.1: not a number
    {"GNU.sparse.size": "many", "GNU.sparse.numblocks": "1"},      # 0.0: size not a number
], ids=["pax-0.1-map", "pax-0.0-size"])
def test_garbage_in_sparse_records_is_an_archive_error(
        tmp_path: Path, records: dict[str, str]) -> None:
    blob = hostile_tar.archive(hostile_tar.pax_member("dossier.pdf", records, b"%PDF"))
    with pytest.raises(ArchiveError):
        payload.unpack_safely(io.BytesIO(blob), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_pax_1_0_sparse_map_without_its_numbers_is_an_archive_error(tmp_path: Path) -> None:
    records = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
               "GNU.sparse.name": "dossier.pdf", "GNU.sparse.realsize": "4096"}
    blob = hostile_tar.archive(hostile_tar.pax_member(
        "dossier.pdf", records, b"9" * 512, header_name="./GNUSparseFile.0/dossier.pdf"))
    with pytest.raises(ArchiveError, match="not a tar archive"):
        payload.unpack_safely(io.BytesIO(blob), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("text", "shown"), [
    ("dossier.pdf", "dossier.pdf"),
    ("Pièce d'identité ٢ 身份证", "Pièce d'identité ٢ 身份证"),
    ("\x1b[2J\x07", "\\x1b[2J\\x07"),
    ("a\u009bb\x7fc\r\n", "a\\x9bb\\x7fc\\x0d\\x0a"),
    ("\u202eevil\u2028", "\\u202eevil\\u2028"),
    ("\udc9b", "\\udc9b"),
    ("\U000e0001", "\\U000e0001"),
])
def test_printable_escapes_control_characters_only(text: str, shown: str) -> None:
    assert payload.printable(text) == shown
    assert payload.printable(shown) == shown        # escaping twice changes nothing
