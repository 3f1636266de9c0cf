"""``backoffice import``: dossiers carried on removable media, with the checks of an upload.

A real back office (``init``, ``enroll``), deposits sealed as the kiosk seals
them (age envelope, signed manifest), exports written by deposit/export.py,
the command run as staff run it, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backoffice import fleet, importer, staff
from backoffice.cli import main
from backoffice.settings import load_settings
from backoffice.store.engines import open_metadata
from backoffice.store.objects import open_objects
from deposit import ack as ackmod
from deposit import manifest as mf
from deposit import payload
from deposit.export import INDEX, ExportItem, read_acks, read_export, write_export
from tests.backoffice.harness import (
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    deposit_number,
    stored,
)
from tests.tmpfs import tmpfs

MIB = 1024 * 1024


@pytest.fixture
def data(backoffice_data: tuple[Path, int]) -> Path:
    return backoffice_data[0]


@pytest.fixture
def medium(tmp_path: Path) -> Path:
    path = tmp_path / "usb"
    path.mkdir()
    return path


def copy_out(data: Path, deposit_id: str, out: Path) -> Path:
    """The stored envelope and its manifest, copied as the staff API would hand them out."""
    store = open_metadata(load_settings(data).metadata)
    try:
        record = store.deposit(deposit_id)
    finally:
        store.close()
    assert record is not None
    out.mkdir(parents=True, exist_ok=True)
    with open_objects(load_settings(data).objects).open(record.object_key) as src:
        (out / f"{deposit_id}.age").write_bytes(src.read())
    (out / f"{deposit_id}.manifest.json").write_bytes(record.manifest)
    return out / f"{deposit_id}.age"


def export(kiosk: FakeKiosk, made: list[MadeDeposit], medium: Path,
           now: datetime | None = None) -> Path:
    items = [ExportItem(m.deposit_id, m.manifest, m.envelope_path, m.sha256, m.size)
             for m in made]
    return write_export(medium, kiosk.enrollment.kiosk_id, items,
                        now=now or datetime.now(UTC))


def run_import(data: Path, source: Path, capsys: pytest.CaptureFixture[str]
               ) -> tuple[int, dict[str, Any]]:
    status = main(["import", "--data", str(data), str(source), "--json"])
    return status, json.loads(capsys.readouterr().out)


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {d["deposit_id"]: d["outcome"] for e in report["exports"] for d in e["deposits"]}


def stored_nothing(data: Path) -> bool:
    store = open_metadata(load_settings(data).metadata)
    try:
        empty = store.deposits() == [] and store.conflicts() == []
    finally:
        store.close()
    objects = data / "objects"
    return empty and not [p for p in objects.rglob("*") if p.is_file()]


def sealed_dossier(kiosk: FakeKiosk, n: int, **kwargs: Any) -> tuple[MadeDeposit, bytes]:
    """A deposit whose envelope holds a real payload (deposit.json + dossier.pdf)."""
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence + 1)
    pdf = b"%PDF-1.7\n" + os.urandom(50_000 + n)
    deposit_json = {"version": 1, "deposit_id": deposit_id, "kiosk_id": "MAIRIE-01",
                    "procedure": {"code": "caf-apl", "title": "Aide au logement"}}
    archive = b"".join(bytes(c) for c in payload.pack(deposit_json, pdf))
    return kiosk.make(payload=archive, deposit_id=deposit_id, **kwargs), pdf


# ------------------------------------------------------------------ the journey

def test_an_export_of_three_deposits_becomes_three_dossiers_staff_fetch_and_decrypt(
        data: Path, kiosk: FakeKiosk, medium: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    dossiers = [sealed_dossier(kiosk, n) for n in range(3)]
    folder = export(kiosk, [m for m, _pdf in dossiers], medium)

    status, report = run_import(data, medium, capsys)

    assert status == 0
    [one] = report["exports"]
    assert one["status"] == "imported" and one["folder"] == str(folder)
    assert outcomes(report) == {m.deposit_id: "stored" for m, _pdf in dossiers}
    assert report["summary"]["stored"] == 3 and one["acks"]["written"] == 3
    inbox = stored(data)
    assert sorted(d.deposit_id for d in inbox["deposits"]) == sorted(
        m.deposit_id for m, _pdf in dossiers)
    for made, pdf in dossiers:
        envelope = copy_out(data, made.deposit_id, tmp_path / "fetched")
        opened = staff.decrypt(tmp_path / "staff-identity.txt", envelope,
                               tmp_path / "opened" / made.deposit_id)
        assert opened.verified == "size and SHA-256 verified against the manifest (no kiosk key)"
        assert (opened.folder / "dossier.pdf").read_bytes() == pdf
        assert json.loads((opened.folder / "deposit.json").read_text())["deposit_id"] == \
            made.deposit_id


def test_acknowledgements_written_back_verify_with_the_back_office_key(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = [kiosk.make(size=30_000) for _ in range(3)]
    folder = export(kiosk, made, medium)

    assert run_import(data, medium, capsys)[0] == 0

    acks = read_acks(folder)
    assert sorted(acks) == sorted(m.deposit_id for m in made)
    ack_key = ackmod.load_public_key(load_settings(data).ack_public.read_bytes())
    assert ack_key.public_bytes_raw() == kiosk.enrollment.ack_key().public_bytes_raw()
    for m in made:
        ack = ackmod.verify(acks[m.deposit_id], kiosk.enrollment.ack_key(),
                            deposit_id=m.deposit_id, kiosk_id="MAIRIE-01",
                            envelope_sha256=m.sha256, envelope_size=m.size)
        assert ack.disposition == "stored"
    read_export(folder)        # the acknowledgements do not spoil the export


def test_importing_the_same_export_twice_keeps_one_dossier_each_with_the_same_acks(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = [kiosk.make(size=30_000) for _ in range(3)]
    folder = export(kiosk, made, medium)
    assert run_import(data, medium, capsys)[0] == 0
    first = read_acks(folder)

    status, report = run_import(data, folder, capsys)

    assert status == 0
    assert set(outcomes(report).values()) == {"already_stored"}
    assert read_acks(folder) == first
    assert len(stored(data)["deposits"]) == 3
    assert stored(data)["conflicts"] == []


def test_a_deposit_uploaded_then_imported_is_already_stored_with_the_upload_ack(
        server: RunningServer, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = kiosk.make(size=40_000)
    delivered = kiosk.deliver(made)
    assert delivered.outcome == "delivered"
    folder = export(kiosk, [made], medium)

    status, report = run_import(server.data, medium, capsys)

    assert status == 0 and outcomes(report) == {made.deposit_id: "already_stored"}
    assert read_acks(folder) == {made.deposit_id: delivered.ack}
    assert len(server.bo.metadata.deposits()) == 1


def test_a_different_envelope_under_a_stored_number_follows_the_conflict_rule(
        data: Path, kiosk: FakeKiosk, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first = kiosk.make(size=30_000)
    other = kiosk.make(size=30_000, deposit_id=first.deposit_id)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    export(kiosk, [first], tmp_path / "a")
    folder = export(kiosk, [other], tmp_path / "b")
    assert run_import(data, tmp_path / "a", capsys)[0] == 0

    status, report = run_import(data, tmp_path / "b", capsys)

    assert status == 0
    assert outcomes(report) == {first.deposit_id: "conflict"}
    inbox = stored(data)
    [kept] = inbox["deposits"]
    [conflict] = inbox["conflicts"]
    assert kept.envelope_sha256 == first.sha256
    assert conflict.envelope_sha256 == other.sha256
    ack = ackmod.verify(read_acks(folder)[first.deposit_id], kiosk.enrollment.ack_key(),
                        envelope_sha256=other.sha256)
    assert ack.disposition == "conflict"
    # The same conflicting envelope again: still one conflict, its first acknowledgement.
    before = read_acks(folder)
    status, report = run_import(data, tmp_path / "b", capsys)
    assert outcomes(report) == {first.deposit_id: "conflict"}
    assert read_acks(folder) == before and len(stored(data)["conflicts"]) == 1


# ------------------------------------------------------------------ refusals

def test_one_flipped_byte_in_one_envelope_refuses_the_whole_export_and_stores_nothing(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = [kiosk.make(size=30_000) for _ in range(3)]
    folder = export(kiosk, made, medium)
    tampered = folder / f"{made[1].deposit_id.replace('*', '+')}.age"
    raw = bytearray(tampered.read_bytes())
    raw[12_345] ^= 0x40
    tampered.write_bytes(raw)

    status, report = run_import(data, medium, capsys)

    assert status == 1
    [one] = report["exports"]
    assert one["status"] == "refused"
    assert one["problems"] == [{"file": str(tampered), "check": "digest",
                                "message": "manifest digest check failed: the envelope's "
                                           "SHA-256 differs from the manifest's"}]
    assert set(outcomes(report).values()) == {"refused"}
    assert stored_nothing(data)
    assert read_acks(folder) == {}


def test_a_manifest_signed_with_another_key_refuses_the_whole_export(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = [kiosk.make(size=30_000) for _ in range(3)]
    folder = export(kiosk, made, medium)
    forged = folder / f"{made[0].deposit_id.replace('*', '+')}.manifest"
    manifest, _signature = mf.parse_unverified(forged.read_bytes())
    forged.write_bytes(mf.sign(manifest, mf.generate_signing_key()))

    status, report = run_import(data, medium, capsys)

    assert status == 1
    [one] = report["exports"]
    assert one["status"] == "refused"
    [problem] = one["problems"]
    assert problem["file"] == str(forged) and problem["check"] == "signature"
    assert stored_nothing(data)


def test_a_revoked_kiosks_dossiers_created_before_the_revocation_are_imported_later_ones_not(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    revoked_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    before = [kiosk.make(size=30_000, created=revoked_at - timedelta(hours=h)) for h in (2, 1)]
    after = kiosk.make(size=30_000, created=revoked_at + timedelta(hours=1))
    fleet.revoke(data, "MAIRIE-01", now=revoked_at)
    folder = export(kiosk, [*before, after], medium)

    status, report = run_import(data, medium, capsys)

    assert status == 1
    [one] = report["exports"]
    assert one["status"] == "imported"
    assert one["kiosk_revoked_at"] == revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    by_id = {d["deposit_id"]: d for d in one["deposits"]}
    for m in before:
        assert by_id[m.deposit_id]["outcome"] == "stored"
        assert "before the kiosk's revocation" in by_id[m.deposit_id]["reason"]
    assert by_id[after.deposit_id]["outcome"] == "refused"
    assert by_id[after.deposit_id]["check"] == "revoked"
    assert "after the revocation" in by_id[after.deposit_id]["reason"]
    assert sorted(d.deposit_id for d in stored(data)["deposits"]) == sorted(
        m.deposit_id for m in before)
    assert sorted(read_acks(folder)) == sorted(m.deposit_id for m in before)


def test_an_export_from_a_kiosk_not_enrolled_here_is_refused(
        kiosk: FakeKiosk, medium: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    export(kiosk, [kiosk.make(size=10_000)], medium)
    elsewhere = tmp_path / "elsewhere"
    fleet.init(elsewhere, url="https://127.0.0.1:9", key_type="x25519",
               staff_identity=tmp_path / "elsewhere-identity.txt", now=datetime.now(UTC))

    status, report = run_import(elsewhere, medium, capsys)

    assert status == 1
    [problem] = report["exports"][0]["problems"]
    assert problem["check"] == "kiosk" and "MAIRIE-01 is not enrolled" in problem["message"]
    assert stored_nothing(elsewhere)


def test_a_hostile_export_is_refused_saying_which_file_failed(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = export(kiosk, [kiosk.make(size=10_000)], medium)
    index = json.loads((folder / INDEX).read_text())
    index["deposits"][0]["envelope"] = "../../backoffice/backoffice.toml"
    (folder / INDEX).write_text(json.dumps(index))

    status, report = run_import(data, medium, capsys)

    assert status == 1
    [problem] = report["exports"][0]["problems"]
    assert problem["file"] == str(folder / INDEX) and problem["check"] == "structure"
    assert problem["message"].startswith("name:")
    assert stored_nothing(data)


def test_one_tampered_export_does_not_hold_back_another_on_the_same_medium(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC)
    good = export(kiosk, [kiosk.make(size=10_000)], medium, now)
    bad_made = kiosk.make(size=10_000)
    bad = export(kiosk, [bad_made], medium, now + timedelta(seconds=1))
    envelope = bad / f"{bad_made.deposit_id.replace('*', '+')}.age"
    raw = envelope.read_bytes()
    envelope.write_bytes(raw[:-1] + bytes([raw[-1] ^ 0xFF]))   # the last byte, changed for sure

    status, report = run_import(data, medium, capsys)

    assert status == 1
    assert [(e["folder"], e["status"]) for e in report["exports"]] == [
        (str(good), "imported"), (str(bad), "refused")]
    assert report["summary"] == {"stored": 1, "already_stored": 0, "conflict": 0,
                                 "refused": 1, "exports_refused": 1}


def test_a_folder_without_exports_is_a_clear_error(
        data: Path, medium: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--data", str(data), str(medium)]) == 2
    assert "no export found" in capsys.readouterr().err


def test_the_text_report_says_what_became_of_each_deposit(
        data: Path, kiosk: FakeKiosk, medium: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = kiosk.make(size=10_000)
    folder = export(kiosk, [made], medium)

    assert main(["import", "--data", str(data), str(medium)]) == 0

    text = capsys.readouterr().out
    assert f"{folder} (kiosk MAIRIE-01): imported" in text
    assert f"{made.deposit_id}  stored" in text
    assert "1 stored, 0 already stored, 0 conflict(s), 0 refused" in text


# ------------------------------------------------------------------ the medium

@pytest.fixture
def remountable(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs this test can remount read-only (as a write-protected stick); needs root."""
    with tmpfs(tmp_path / "stick", 4096) as point:
        yield point


def test_a_read_only_medium_still_gets_its_dossiers_stored_and_says_acks_were_not_written(
        data: Path, kiosk: FakeKiosk, remountable: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    made = kiosk.make(size=10_000)
    export(kiosk, [made], remountable)
    subprocess.run(["mount", "-o", "remount,ro", str(remountable)], check=True)

    status, report = run_import(data, remountable, capsys)

    assert status == 1
    [one] = report["exports"]
    assert outcomes(report) == {made.deposit_id: "stored"}
    assert "could not be written back" in one["acks"]["error"]
    assert "import again from a writable medium" in one["acks"]["error"]


@pytest.mark.parametrize("metadata_url", ["sqlite"], indirect=True)
def test_a_large_envelope_is_streamed_not_held_in_memory(
        data: Path, kiosk: FakeKiosk, medium: Path) -> None:
    made = kiosk.make(size=24 * MIB)
    export(kiosk, [made], medium)

    tracemalloc.start()
    try:
        report = importer.import_dir(data, medium)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.ok
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB for a {made.size / MIB:.0f} MiB envelope"
    [record] = stored(data)["deposits"]
    assert record.envelope_sha256 == made.sha256 == hashlib.sha256(
        made.envelope_path.read_bytes()).hexdigest()
