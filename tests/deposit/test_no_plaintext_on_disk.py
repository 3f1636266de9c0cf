"""No byte of a citizen's papers reaches the kiosk's disk in clear.

A real kiosk-like process (its own TMPDIR, a fresh data folder) seals and
queues a deposit whose scanned pages and deposit.json carry a sentinel
pattern, then plays the uploader (claim, release, acknowledge another one);
afterwards every file under the data folder and the temporary folder,
SQLite's database, WAL and shared-memory files included, is searched for the
pattern.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO

SENTINEL = b"SENTINEL-9f4c2e-DUPONT-JEANNE-1957"

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from deposit import envelope, manifest as mf
    from deposit.outbox import Outbox, Sealer

    data_dir, sentinel = Path(sys.argv[1]), sys.argv[2]
    _, recipient = envelope.generate_identity()
    sealer = Sealer(recipients=(recipient,), kiosk_id="DEMO-01",
                    signing_key=mf.generate_signing_key())
    box = Outbox(data_dir / "outbox", sealer=sealer, reserve_bytes=0, recover=True)
    page = b"%PDF-1.7\\n" + (b"scan " * 20000 + sentinel.encode() + b"\\n") * 40
    for n in (1, 2):
        box.seal_and_queue(
            deposit_id=f"D3M0-0000-000{n}", procedure="carte-grise",
            deposit_json={"version": 1, "contact": {"email": sentinel + "@example.org"},
                          "fields": {"name": sentinel}, "documents": [{"title": sentinel}]},
            pdf=page, tracking_token=mf.new_tracking_token())
    claim = box.claim_next("uploader")
    box.release(claim.deposit_id, "uploader", error="network down")
    box.mark_acknowledged("D3M0-0000-0002", b"ack")
    print(box.stats().by_state, flush=True)
    sys.stdin.readline()        # the test scans the folders now, the database still open
""")


def files_containing(folder: Path, pattern: bytes) -> tuple[list[Path], list[Path]]:
    """(every file scanned, those holding ``pattern``)."""
    scanned, found = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            scanned.append(path)
            if pattern in path.read_bytes():
                found.append(path)
    return scanned, found


def test_the_scanner_finds_a_sentinel_written_in_clear(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "leak.bin").write_bytes(b"xx" + SENTINEL + b"yy")
    assert files_containing(tmp_path, SENTINEL)[1] == [tmp_path / "a" / "leak.bin"]


def test_sentinel_of_the_scanned_pages_is_in_no_file_of_the_data_or_temp_folder(tmp_path: Path
                                                                                ) -> None:
    data_dir, tmpdir = tmp_path / "data", tmp_path / "tmp"
    data_dir.mkdir()
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), SQLITE_TMPDIR=str(tmpdir),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(data_dir), SENTINEL.decode()],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    try:
        assert proc.stdout is not None
        states = proc.stdout.readline()
        assert "'purged': 1" in states and "'sealed': 1" in states, proc.stderr
        scanned, found = [], []
        for folder in (data_dir, tmpdir):
            s, f = files_containing(folder, SENTINEL)
            scanned += s
            found += f
    finally:
        proc.kill()             # no clean shutdown, as in a power cut
        proc.communicate(timeout=30)
    names = {p.name for p in scanned}
    assert {"outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm",
            "D3M0-0000-0001.age"} <= names
    assert found == []
    lowered = [p for p in scanned if SENTINEL.lower() in p.read_bytes().lower()]
    assert lowered == []
    assert files_containing(data_dir, SENTINEL)[1] == []    # and after the kill
