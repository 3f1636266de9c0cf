"""Dossiers on removable media (deposit/export.py): round trip, atomicity, hostile exports, acks.

Deposits are sealed by a real outbox (age envelope, signed manifest). Media
failures are real too: a tmpfs that is too small, fills up mid-way or is
mounted read-only (when this user may mount one), a file-size limit that
makes the kernel refuse a write mid-copy, a child process that dies mid-export
as a pulled-out stick would leave it.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deposit import manifest as mf
from deposit.errors import (
    DepositError,
    ExportError,
    ExportFormatError,
    ExportProblem,
    MediumFullError,
    MediumReadOnlyError,
)
from deposit.export import (
    INDEX,
    MAX_DEPOSITS,
    MAX_INDEX_BYTES,
    Export,
    ExportItem,
    ExportProgress,
    ItemOutcome,
    deposit_id_of_stem,
    file_stem,
    find_exports,
    read_acks,
    read_export,
    write_acks,
    write_export,
)
from deposit.ids import DepositId
from deposit.outbox import Outbox
from tests.conftest import REPO
from tests.deposit.conftest import KIOSK_ID, KIOSK_KEY, fake_pdf, queue_one
from tests.tmpfs import mount_tmpfs, unmount

NOW = datetime(2025, 11, 22, 15, 4, 5, tzinfo=UTC)


def number(n: int) -> str:
    return str(DepositId("D3M0", n))


def queue(box: Outbox, n: int, size: int = 60_000) -> ExportItem:
    return ExportItem.of(queue_one(box, number(n), fake_pdf(size)))


@pytest.fixture
def items(outbox: Outbox) -> list[ExportItem]:
    return [queue(outbox, n) for n in (1, 2, 3)]


@pytest.fixture
def medium(tmp_path: Path) -> Path:
    path = tmp_path / "medium"
    path.mkdir()
    return path


@pytest.fixture
def exported(medium: Path, items: list[ExportItem]) -> Path:
    return write_export(medium, KIOSK_ID, items, now=NOW)


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


# ------------------------------------------------------------------ round trip

def test_an_export_holds_each_envelope_and_manifest_byte_for_byte_and_reads_back(
        medium: Path, items: list[ExportItem]) -> None:
    heard: list[ExportProgress] = []

    folder = write_export(medium, KIOSK_ID, items, now=NOW, progress=heard.append)

    assert folder == medium / "DEMO-01-20251122T150405Z"
    assert os.listdir(medium) == [folder.name]          # no temporary folder left behind
    export = read_export(folder)
    assert export.kiosk_id == KIOSK_ID and export.created == "2025-11-22T15:04:05Z"
    assert [d.deposit_id for d in export.deposits] == [i.deposit_id for i in items]
    for item, entry in zip(items, export.deposits, strict=True):
        assert entry.envelope.read_bytes() == item.envelope_path.read_bytes()
        assert entry.manifest == item.manifest == entry.manifest_path.read_bytes()
        mf.verify(entry.manifest, KIOSK_KEY.public_key(), kiosk_id=KIOSK_ID,
                  envelope=entry.envelope)
        with entry.open_envelope() as f:
            assert f.read() == item.envelope_path.read_bytes()
    # Ciphertext and signed manifests only, and the index.
    assert visible(folder) == sorted([INDEX] + [f"{i.deposit_id}.age" for i in items]
                                     + [f"{i.deposit_id}.manifest" for i in items])
    index = json.loads((folder / INDEX).read_text())
    assert index["format"] == "deposit-kiosk-export" and index["version"] == 1
    assert index["deposits"][0] == {
        "deposit_id": items[0].deposit_id, "envelope": f"{items[0].deposit_id}.age",
        "manifest": f"{items[0].deposit_id}.manifest",
        "envelope_sha256": items[0].envelope_sha256, "envelope_size": items[0].envelope_size}
    assert [(h.outcome, h.done, h.total) for h in heard] == [
        (ItemOutcome.EXPORTED, 1, 3), (ItemOutcome.EXPORTED, 2, 3), (ItemOutcome.EXPORTED, 3, 3)]
    assert heard[-1].bytes_done == heard[-1].bytes_total == sum(i.envelope_size for i in items)


def test_an_envelope_that_no_longer_matches_its_manifest_is_not_exported_and_is_reported(
        medium: Path, items: list[ExportItem]) -> None:
    raw = bytearray(items[1].envelope_path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    items[1].envelope_path.write_bytes(raw)
    heard: list[ExportProgress] = []

    folder = write_export(medium, KIOSK_ID, items, now=NOW, progress=heard.append)

    assert [d.deposit_id for d in read_export(folder).deposits] == [items[0].deposit_id,
                                                                    items[2].deposit_id]
    skipped = [h for h in heard if h.outcome is ItemOutcome.SKIPPED]
    assert [h.deposit_id for h in skipped] == [items[1].deposit_id]
    assert "does not match its manifest" in skipped[0].reason
    assert not (folder / f"{items[1].deposit_id}.age").exists()


def test_an_export_with_nothing_exportable_is_refused_and_leaves_nothing(
        medium: Path, items: list[ExportItem]) -> None:
    for item in items:
        item.envelope_path.unlink()

    with pytest.raises(ExportError, match="no deposit could be exported"):
        write_export(medium, KIOSK_ID, items, now=NOW)

    assert os.listdir(medium) == []


def test_a_medium_that_is_not_mounted_is_not_created_on_the_kiosk_disk(
        tmp_path: Path, items: list[ExportItem]) -> None:
    with pytest.raises(ExportError, match="is the medium mounted"):
        write_export(tmp_path / "usb", KIOSK_ID, items, now=NOW)
    assert not (tmp_path / "usb").exists()


def test_an_export_is_never_written_over_another(exported: Path, items: list[ExportItem]) -> None:
    with pytest.raises(ExportError, match="never overwritten"):
        write_export(exported.parent, KIOSK_ID, items, now=NOW)


def test_a_deposit_number_ending_in_star_gets_file_names_fat_accepts(
        medium: Path, outbox: Outbox) -> None:
    star = next(n for n in range(1, 200) if number(n).endswith("*"))
    item = queue(outbox, star)

    folder = write_export(medium, KIOSK_ID, [item], now=NOW)

    stem = item.deposit_id.replace("*", "+")
    assert visible(folder) == sorted([INDEX, f"{stem}.age", f"{stem}.manifest"])
    [entry] = read_export(folder).deposits
    assert entry.deposit_id == item.deposit_id
    assert file_stem(item.deposit_id) == stem and deposit_id_of_stem(stem) == item.deposit_id
    assert deposit_id_of_stem(item.deposit_id) is None


def test_an_item_is_made_from_an_outbox_entry(outbox: Outbox) -> None:
    entry = queue_one(outbox, number(7))
    item = ExportItem.of(entry)
    assert (item.deposit_id, item.manifest, item.envelope_path, item.envelope_sha256,
            item.envelope_size) == (entry.deposit_id, entry.manifest, entry.envelope_path,
                                    entry.envelope_sha256, entry.envelope_size)


# ------------------------------------------------------------------ failing media

@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount a small tmpfs (a stand-in for a USB stick); skips when this user cannot."""
    mounted: list[Path] = []

    def mount(size_kib: int, *, readonly: bool = False) -> Path:
        point = mount_tmpfs(tmp_path / f"tmpfs{len(mounted)}", size_kib, readonly=readonly)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        unmount(point)


def fill(folder: Path) -> None:
    """Take every free byte of the medium, as another program writing there would."""
    with (folder / "other-files.bin").open("wb", buffering=0) as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_medium_too_small_is_refused_before_anything_is_written(
        tmpfs: Callable[..., Path], items: list[ExportItem]) -> None:
    medium = tmpfs(128)

    with pytest.raises(MediumFullError) as caught:
        write_export(medium, KIOSK_ID, items, now=NOW)

    assert caught.value.needed_bytes > caught.value.free_bytes
    assert "use a larger medium" in str(caught.value)
    assert os.listdir(medium) == []


def test_a_medium_filling_up_mid_export_leaves_no_export_that_looks_complete(
        tmpfs: Callable[..., Path], items: list[ExportItem]) -> None:
    medium = tmpfs(1024)

    def after_each(progress: ExportProgress) -> None:
        if progress.done == 1:
            fill(medium)

    with pytest.raises(MediumFullError, match="full"):
        write_export(medium, KIOSK_ID, items, now=NOW, progress=after_each)

    assert find_exports(medium) == []
    assert os.listdir(medium) == ["other-files.bin"]      # the half export was removed


def test_a_read_only_medium_gives_a_clear_error(
        tmpfs: Callable[..., Path], tmp_path: Path, items: list[ExportItem]) -> None:
    if os.geteuid() == 0:
        medium = tmpfs(1024, readonly=True)      # root writes anywhere a mode allows nothing
    else:
        medium = tmp_path / "write-protected"
        medium.mkdir(mode=0o555)

    with pytest.raises(MediumReadOnlyError, match="write-protected or mounted read-only"):
        write_export(medium, KIOSK_ID, items, now=NOW)

    assert os.listdir(medium) == []


CHILD = """
import base64, json, os, resource, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from deposit.export import ExportItem, write_export

spec = json.loads(sys.stdin.read())
items = [ExportItem(i["deposit_id"], base64.b64decode(i["manifest"]), Path(i["path"]),
                    i["sha256"], i["size"]) for i in spec["items"]]
progress = None
{prelude}
try:
    write_export(Path(spec["dest"]), spec["kiosk_id"], items,
                 now=datetime(2025, 11, 22, 15, 4, 5, tzinfo=UTC), progress=progress)
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
print("written")
"""


def export_in_child(dest: Path, items: list[ExportItem], prelude: str
                    ) -> subprocess.CompletedProcess[str]:
    spec = {"dest": str(dest), "kiosk_id": KIOSK_ID, "items": [
        {"deposit_id": i.deposit_id, "manifest": base64.b64encode(i.manifest).decode(),
         "path": str(i.envelope_path), "sha256": i.envelope_sha256, "size": i.envelope_size}
        for i in items]}
    script = CHILD.format(prelude=textwrap.dedent(prelude))
    return subprocess.run([sys.executable, "-c", script], input=json.dumps(spec),
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_a_write_refused_by_the_kernel_mid_export_leaves_no_export_that_looks_complete(
        medium: Path, outbox: Outbox) -> None:
    # A small first envelope, then one larger than the file-size limit the child
    # sets itself: the kernel refuses the write in the middle of the second copy.
    items = [queue(outbox, 1, size=20_000), queue(outbox, 2, size=400_000)]
    result = export_in_child(medium, items, """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    """)

    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("ExportError") and "too large" in result.stdout
    assert find_exports(medium) == []
    assert os.listdir(medium) == []


def test_a_medium_pulled_out_mid_export_holds_only_a_hidden_folder_readers_pass_over(
        medium: Path, items: list[ExportItem], caplog: pytest.LogCaptureFixture) -> None:
    result = export_in_child(medium, items, """
        def progress(p):
            if p.done == 2:
                os._exit(9)          # the process dies as a pulled-out stick leaves things
    """)

    assert result.returncode == 9
    [leftover] = os.listdir(medium)
    assert leftover.startswith(".DEMO-01-20251122T150405Z.") and leftover.endswith(".partial")
    assert find_exports(medium) == []
    assert "interrupted" in caplog.text


# ------------------------------------------------------------------ finding exports

def test_find_exports_takes_one_export_or_a_folder_of_several(
        medium: Path, outbox: Outbox) -> None:
    first = write_export(medium, KIOSK_ID, [queue(outbox, 1)], now=NOW)
    second = write_export(medium, KIOSK_ID, [queue(outbox, 2)],
                          now=NOW.replace(minute=5))
    (medium / "System Volume Information").mkdir()
    (medium / "link").symlink_to(first)

    assert find_exports(medium) == [first, second]
    assert find_exports(first) == [first]
    with pytest.raises(ExportError, match="does not exist"):
        find_exports(medium / "nope")


# ------------------------------------------------------------------ hostile exports

def edit_index(folder: Path, change: Callable[[dict[str, Any]], object]) -> None:
    index = json.loads((folder / INDEX).read_text())
    change(index)
    (folder / INDEX).write_text(json.dumps(index))


def refused(folder: Path) -> ExportFormatError:
    with pytest.raises(ExportFormatError) as caught:
        read_export(folder)
    assert isinstance(caught.value, DepositError)
    return caught.value


def test_an_index_naming_a_file_outside_the_folder_is_refused(exported: Path) -> None:
    def traverse(index: dict[str, Any]) -> None:
        index["deposits"][0]["envelope"] = "../../../etc/passwd"

    edit_index(exported, traverse)
    error = refused(exported)
    assert error.problem is ExportProblem.NAME and error.path.endswith(INDEX)
    assert "etc/passwd" in str(error)


@pytest.mark.parametrize("deposit_id", ["../D3M0-0000-001V", "D3M0-0000-001W",
                                        "d3m0-0000-001v", "D3M0/0000/001V", ""])
def test_a_deposit_id_that_is_not_a_canonical_deposit_number_is_refused(
        exported: Path, deposit_id: str) -> None:
    def rename(index: dict[str, Any]) -> None:
        index["deposits"][0]["deposit_id"] = deposit_id

    edit_index(exported, rename)
    assert refused(exported).problem is ExportProblem.NAME


def test_an_envelope_replaced_by_a_symbolic_link_is_not_followed(
        exported: Path, tmp_path: Path) -> None:
    entry = read_export(exported).deposits[0]
    outside = tmp_path / "secret"
    outside.write_bytes(b"x" * entry.envelope_size)
    entry.envelope.unlink()
    entry.envelope.symlink_to(outside)

    error = refused(exported)
    assert error.problem is ExportProblem.LINK and error.path == str(entry.envelope)
    with pytest.raises(ExportFormatError, match="symbolic link"):
        entry.open_envelope()


def test_an_index_or_an_export_folder_that_is_a_symbolic_link_is_refused(
        exported: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(exported)
    assert refused(link).problem is ExportProblem.LINK

    real = tmp_path / "index.json"
    (exported / INDEX).rename(real)
    (exported / INDEX).symlink_to(real)
    assert refused(exported).problem is ExportProblem.LINK


def test_a_fifo_in_place_of_an_envelope_is_refused_without_blocking(exported: Path) -> None:
    entry = read_export(exported).deposits[0]
    entry.envelope.unlink()
    os.mkfifo(entry.envelope)
    assert refused(exported).problem is ExportProblem.LINK


def test_an_oversized_index_is_refused_without_being_parsed(exported: Path) -> None:
    with (exported / INDEX).open("ab") as f:
        f.write(b" " * MAX_INDEX_BYTES)
    error = refused(exported)
    assert error.problem is ExportProblem.SIZE


def test_an_index_with_too_many_deposits_is_refused(exported: Path) -> None:
    def crowd(index: dict[str, Any]) -> None:
        index["deposits"] = [{}] * (MAX_DEPOSITS + 1)

    edit_index(exported, crowd)
    assert refused(exported).problem is ExportProblem.SIZE


@pytest.mark.parametrize("text", [
    b"{not json", b'{"format": "deposit-kiosk-export", "format": "x"}', b"\xff\xfe{}",
    b'{"version": 1.0}', b"[" * 100_000 + b"]" * 100_000, b'{"n": NaN}',
], ids=["malformed", "duplicate-key", "not-utf8", "float", "deep", "nan"])
def test_an_index_that_is_not_strict_json_is_refused(exported: Path, text: bytes) -> None:
    (exported / INDEX).write_bytes(text)
    assert refused(exported).problem is ExportProblem.INDEX


@pytest.mark.parametrize(("change", "problem"), [
    (lambda i: i.update(format="something-else"), ExportProblem.FORMAT),
    (lambda i: i.update(version=2), ExportProblem.VERSION),
    (lambda i: i.update(extra=1), ExportProblem.FORMAT),
    (lambda i: i.update(kiosk_id="../x"), ExportProblem.FORMAT),
    (lambda i: i.update(created="yesterday"), ExportProblem.FORMAT),
    (lambda i: i["deposits"][0].update(envelope_size=-1), ExportProblem.FORMAT),
    (lambda i: i["deposits"][0].update(envelope_size=True), ExportProblem.FORMAT),
    (lambda i: i["deposits"][0].update(envelope_size=2**40), ExportProblem.SIZE),
    (lambda i: i["deposits"][0].update(envelope_sha256="ab"), ExportProblem.FORMAT),
    (lambda i: i["deposits"][0].pop("manifest"), ExportProblem.FORMAT),
    (lambda i: i["deposits"].append(i["deposits"][0]), ExportProblem.DUPLICATE),
    (lambda i: i["deposits"].pop(), ExportProblem.UNEXPECTED),
    (lambda i: i["deposits"][0].update(envelope_size=i["deposits"][0]["envelope_size"] - 1),
     ExportProblem.SIZE),
    (lambda i: i["deposits"][0].update(envelope_sha256="0" * 64), ExportProblem.MANIFEST),
    (lambda i: i.update(kiosk_id="OTHER-KIOSK"), ExportProblem.MANIFEST),
], ids=["format", "version", "extra-key", "kiosk-id", "created", "negative-size", "bool-size",
        "huge-size", "sha", "missing-key", "duplicate", "unlisted-file", "size-mismatch",
        "sha-mismatch", "other-kiosk"])
def test_an_index_that_breaks_a_rule_is_refused_naming_the_rule(
        exported: Path, change: Callable[[dict[str, Any]], object],
        problem: ExportProblem) -> None:
    edit_index(exported, change)
    assert refused(exported).problem is problem


def test_files_missing_or_not_listed_are_refused(exported: Path) -> None:
    entry = read_export(exported).deposits[0]
    (exported / "notes.txt").write_text("hello")
    assert refused(exported).problem is ExportProblem.UNEXPECTED
    (exported / "notes.txt").unlink()
    (exported / "._notes.txt").write_text("a file a Mac adds")      # hidden: passed over
    read_export(exported)

    entry.envelope.unlink()
    error = refused(exported)
    assert error.problem is ExportProblem.MISSING and error.path == str(entry.envelope)


def test_manifests_swapped_between_deposits_or_oversized_are_refused(exported: Path) -> None:
    first, second = read_export(exported).deposits[:2]
    a, b = first.manifest_path.read_bytes(), second.manifest_path.read_bytes()
    first.manifest_path.write_bytes(b)
    second.manifest_path.write_bytes(a)
    error = refused(exported)
    assert error.problem is ExportProblem.MANIFEST and error.path == str(first.manifest_path)

    first.manifest_path.write_bytes(b" " * (mf.MAX_BLOB + 1))
    assert refused(exported).problem is ExportProblem.SIZE


# ------------------------------------------------------------------ acknowledgements

def test_acknowledgements_written_into_an_export_read_back(exported: Path) -> None:
    export: Export = read_export(exported)
    acks = {d.deposit_id: f"ack of {d.deposit_id}".encode() for d in export.deposits}

    written = write_acks(exported, acks)
    assert read_acks(exported) == acks
    assert [p.parent.name for p in written] == ["acks"] * 3
    read_export(exported)                         # acks/ belongs to the export

    again = {export.deposits[0].deposit_id: b"the same, once more"}
    write_acks(exported, again)                   # replaced atomically
    assert read_acks(exported)[export.deposits[0].deposit_id] == b"the same, once more"
    assert not [p for p in (exported / "acks").iterdir() if p.name.startswith(".")]


def test_an_export_without_acknowledgements_reads_as_none(exported: Path) -> None:
    assert read_acks(exported) == {}


def test_acknowledgements_go_only_into_an_export_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not an export folder"):
        write_acks(tmp_path, {number(1): b"ack"})
    with pytest.raises(ValueError, match="canonical"):
        write_acks(tmp_path, {"../../x": b"ack"})


def test_hostile_acknowledgement_files_are_refused(exported: Path, tmp_path: Path) -> None:
    acks = exported / "acks"
    acks.mkdir()
    for name in ("passwd.ack", "D3M0-0000-006*.ack", f"{number(1)}.txt"):
        (acks / name).write_bytes(b"ack")
        assert_problem(exported, ExportProblem.NAME)
        (acks / name).unlink()

    outside = tmp_path / "ack"
    outside.write_bytes(b"ack")
    (acks / f"{number(1)}.ack").symlink_to(outside)
    assert_problem(exported, ExportProblem.LINK)
    (acks / f"{number(1)}.ack").unlink()

    (acks / f"{number(1)}.ack").write_bytes(b"x" * 5000)
    assert_problem(exported, ExportProblem.SIZE)


def assert_problem(folder: Path, problem: ExportProblem) -> None:
    with pytest.raises(ExportFormatError) as caught:
        read_acks(folder)
    assert caught.value.problem is problem
