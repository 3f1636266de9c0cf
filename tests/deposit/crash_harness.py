"""Crash harness: SIGKILL the sealing-and-queuing process at random instants, then audit the outbox.

A real child process (``python -m tests.deposit.crash_harness child FOLDER``)
opens the outbox (start-up recovery included), then seals and queues
deposits in a loop, printing each deposit id on standard output only after
:meth:`Outbox.seal_and_queue` returned (the moment the kiosk would print the
receipt). Now and then it also plays the uploader: claims the oldest deposit
and acknowledges it, so the deletion of envelopes is killed mid-way too.

Every twelfth dossier is large enough (> 4 MiB) to be sealed through the
hashing thread, so that path is killed too. The parent starts the child,
waits a random time (sometimes not even until the child is ready, so
recovery itself gets killed), sends SIGKILL, records
the ids the child had reported, and starts it again. At the end it opens the
outbox as the kiosk does and checks:

- every reported deposit is present, its manifest verifies against its
  envelope (size and SHA-256) and the kiosk's key, and it decrypts to exactly
  the dossier that was sealed (or it is an acknowledged tombstone);
- nothing is half-present: no temporary file, no envelope without its row, no
  queued row without its envelope;
- nothing is doubled: ids run 1, 2, 3… without gap or repetition (the
  sequence resumes from the outbox's last id), no two envelopes are the same.

SIGKILL is not a power cut: the kernel's page cache survives it, so this
proves the ordering of the code's steps and its recovery, not that the disk
honours fsync. ``--strace`` additionally records the child's system calls and
checks, for each reported deposit, that the envelope was fsynced before its
rename, the folder fsynced after it, and the SQLite WAL fsynced before the id
was reported.

    python -m tests.deposit.crash_harness run --kills 500 [--seed N] [--folder DIR] [--strace]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREFIX = "CRSH-"


def deposit_id(n: int) -> str:
    return f"{PREFIX}{n:09d}"


def number(deposit: str) -> int:
    return int(deposit.removeprefix(PREFIX))


def dossier(n: int) -> tuple[dict[str, object], bytes]:
    """The deterministic content of deposit ``n``: what the audit expects to decrypt."""
    rng = random.Random(n)
    # Mostly scanned-page sizes; one in twelve above the threshold of the hashing thread.
    size = rng.randrange(4_300_000, 6_000_000) if n % 12 == 0 else rng.randrange(20_000, 400_000)
    pdf = b"%PDF-1.7\n" + rng.randbytes(size)
    return {"deposit_id": deposit_id(n), "version": 1, "pages": size // 50_000 + 1}, pdf


# ---------------------------------------------------------------- child

def child(folder: Path) -> None:
    from deposit import manifest as mf
    from deposit.outbox import Outbox, Sealer

    keys = json.loads((folder / "keys.json").read_text())
    sealer = Sealer(recipients=(keys["recipient"],), kiosk_id="CRASH-01",
                    signing_key=mf.load_signing_key(folder / "kiosk.key"))
    box = Outbox(folder / "outbox", sealer=sealer, reserve_bytes=0,
                 dossier_estimate_bytes=1024 * 1024, recover=True)
    cleaned = box.recovery
    print(f"cleaned {len(cleaned.removed_temp_files)} {len(cleaned.removed_orphan_envelopes)}",
          flush=True)
    print("ready", flush=True)
    last = box.last_deposit_id()
    n = number(last) if last else 0
    rng = random.Random()
    while True:
        n += 1
        data, pdf = dossier(n)
        box.seal_and_queue(deposit_id=deposit_id(n), procedure="crash-test", deposit_json=data,
                           pdf=pdf, tracking_token=f"token-{n}")
        print(deposit_id(n), flush=True)
        if rng.random() < 0.3:
            claim = box.claim_next("harness-uploader", lease_seconds=1)
            if claim is not None:
                box.mark_acknowledged(claim.deposit_id, b"ack:" + claim.deposit_id.encode(),
                                      owner="harness-uploader")


# ---------------------------------------------------------------- parent

@dataclass
class Report:
    kills: int = 0
    killed_before_ready: int = 0
    reported: set[str] = field(default_factory=set)
    rows: int = 0
    sealed: int = 0
    purged: int = 0
    decrypted: int = 0
    cleaned_temp_files: int = 0
    cleaned_orphan_envelopes: int = 0
    lost: list[str] = field(default_factory=list)
    half_present: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    order_violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.half_present or self.doubled or self.corrupt
                    or self.order_violations)

    def summary(self) -> str:
        return "\n".join([
            f"crash harness: {self.kills} SIGKILLs ({self.killed_before_ready} before the child "
            f"was ready) in {self.seconds:.1f} s",
            f"  deposits reported queued by the child: {len(self.reported)}",
            f"  rows in the outbox: {self.rows} ({self.sealed} waiting, {self.purged} "
            "acknowledged tombstones; rows beyond the reported ones were committed when the kill "
            "landed, before the id was printed)",
            f"  decrypted and compared with what was sealed: {self.decrypted}",
            f"  leftovers of interrupted writes cleaned at start-up: {self.cleaned_temp_files} "
            f"temporary files, {self.cleaned_orphan_envelopes} envelopes without row",
            f"  lost: {len(self.lost)}  half-present: {len(self.half_present)}  "
            f"doubled: {len(self.doubled)}  corrupt: {len(self.corrupt)}  "
            f"fsync-order violations: {len(self.order_violations)}",
            f"  verdict: {'OK' if self.ok else 'FAILED'}",
            *(f"  ! {p}" for p in (self.lost + self.half_present + self.doubled + self.corrupt
                                   + self.order_violations)[:20]),
        ])


def setup(folder: Path) -> str:
    from deposit import envelope
    from deposit import manifest as mf

    folder.mkdir(parents=True, exist_ok=True)
    identity, recipient = envelope.generate_identity()
    (folder / "keys.json").write_text(json.dumps({"identity": identity, "recipient": recipient}))
    mf.save_signing_key(mf.generate_signing_key(), folder / "kiosk.key")
    return identity


def _child_command(folder: Path, strace_log: Path | None) -> list[str]:
    command = [sys.executable, "-m", "tests.deposit.crash_harness", "child", str(folder)]
    if strace_log is None:
        return command
    return ["strace", "-f", "-qq", "-o", str(strace_log), "-e",
            "trace=openat,fsync,fdatasync,link,linkat,rename,renameat,renameat2,write,pwrite64,"
            "close", "-s", "64", *command]


def run(kills: int, folder: Path, *, seed: int = 0, max_delay: float = 0.25,
        strace: bool = False, progress: bool = False) -> Report:
    """Kill the child ``kills`` times, then audit; see the module docstring."""
    rng = random.Random(seed)
    identity = setup(folder)
    report = Report()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.monotonic()
    for i in range(kills):
        log = folder / f"strace-{i}.log" if strace else None
        errors = folder / "child-stderr.log"
        with errors.open("w") as stderr:
            proc = subprocess.Popen(_child_command(folder, log), stdout=subprocess.PIPE,
                                    stderr=stderr, env=env, cwd=REPO, text=True,
                                    start_new_session=True)
        assert proc.stdout is not None
        lines: list[str] = []
        if rng.random() < 0.1:
            time.sleep(rng.uniform(0.0, 0.6))   # often lands in start-up or recovery
            report.killed_before_ready += 1
        else:
            while (line := proc.stdout.readline()) and line.strip() != "ready":
                lines.append(line)
            if not line:
                os.killpg(proc.pid, signal.SIGKILL)
                raise RuntimeError(f"the child did not start (exit {proc.wait()}): "
                                   f"{errors.read_text()[-2000:]}")
            time.sleep(rng.uniform(0.0, max_delay))
        os.killpg(proc.pid, signal.SIGKILL)   # the child (and strace with it) at once
        lines += proc.stdout.readlines()
        ids = [line.strip() for line in lines if line.startswith(PREFIX)]
        for line in lines:
            if line.startswith("cleaned "):
                temp, orphans = line.split()[1:3]
                report.cleaned_temp_files += int(temp)
                report.cleaned_orphan_envelopes += int(orphans)
        proc.stdout.close()
        proc.wait()
        report.reported.update(ids)
        report.kills += 1
        if log is not None:
            report.order_violations += check_syscall_order(log, ids)
        if progress and (i + 1) % 50 == 0:
            print(f"  {i + 1}/{kills} kills, {len(report.reported)} deposits reported",
                  file=sys.stderr, flush=True)
    audit(folder, identity, report)
    report.seconds = time.monotonic() - start
    return report


def audit(folder: Path, identity: str, report: Report) -> None:
    from deposit import envelope
    from deposit import manifest as mf
    from deposit.errors import DepositError
    from deposit.outbox import Outbox
    from deposit.status import OutboxState

    key = mf.load_signing_key(folder / "kiosk.key").public_key()
    with Outbox(folder / "outbox", recover=True) as box:
        # Leftovers of the last kill are cleaned here; earlier ones by the children.
        report.cleaned_temp_files += len(box.recovery.removed_temp_files)
        report.cleaned_orphan_envelopes += len(box.recovery.removed_orphan_envelopes)
        entries = box.list()
        envelopes = sorted(p.name for p in box.envelopes.iterdir())
    report.rows = len(entries)
    ids = [e.deposit_id for e in entries]
    by_id = {e.deposit_id: e for e in entries}
    if len(set(ids)) != len(ids):
        report.doubled.append("the same deposit id has two rows")
    numbers = sorted(number(d) for d in ids)
    if numbers != list(range(1, len(numbers) + 1)):
        report.doubled.append(f"deposit numbers are not 1..{len(numbers)} without gap")
    digests = [e.envelope_sha256 for e in entries]
    if len(set(digests)) != len(digests):
        report.doubled.append("two rows describe the same envelope")
    report.lost = sorted(report.reported - set(ids))

    expected_files = set()
    for entry in entries:
        if entry.state in (OutboxState.SEALED, OutboxState.UPLOADING):
            report.sealed += 1
            expected_files.add(entry.envelope_path.name)
            if not entry.envelope_path.exists():
                report.half_present.append(f"{entry.deposit_id}: row without envelope")
                continue
            try:
                mf.verify(entry.manifest, key, kiosk_id="CRASH-01", envelope=entry.envelope_path)
                plain = io.BytesIO()
                with entry.envelope_path.open("rb") as f:
                    envelope.decrypt(f, plain, [identity])
                plain.seek(0)
                with tarfile.open(fileobj=plain) as tar:
                    pdf = tar.extractfile("dossier.pdf").read()  # type: ignore[union-attr]
                    data = json.loads(tar.extractfile("deposit.json").read())  # type: ignore[union-attr]
            except (DepositError, tarfile.TarError, OSError, ValueError) as exc:
                report.corrupt.append(f"{entry.deposit_id}: {exc}")
                continue
            want_data, want_pdf = dossier(number(entry.deposit_id))
            if pdf != want_pdf or data != want_data:
                report.corrupt.append(f"{entry.deposit_id}: decrypts to another dossier")
            else:
                report.decrypted += 1
        elif entry.state == OutboxState.PURGED:
            report.purged += 1
            if entry.ack != b"ack:" + entry.deposit_id.encode():
                report.corrupt.append(f"{entry.deposit_id}: tombstone without its ack")
        else:
            report.half_present.append(f"{entry.deposit_id}: left in state {entry.state}")
    for name in envelopes:
        if name not in expected_files:
            report.half_present.append(f"{name}: file without a waiting row")
    for d in report.reported:
        if d in by_id and by_id[d].state not in (OutboxState.SEALED, OutboxState.UPLOADING,
                                                 OutboxState.PURGED):
            report.half_present.append(f"{d}: reported but in state {by_id[d].state}")


_SYSCALL = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")


def check_syscall_order(log: Path, reported: list[str]) -> list[str]:
    """Per reported id: fsync(envelope) < link(tmp, final) < fsync(folder) < fsync(WAL) < print."""
    problems = []
    fds: dict[tuple[str, int], str] = {}
    events: list[tuple[str, str]] = []      # (kind, path)
    for line in log.read_text(errors="replace").splitlines():
        m = _SYSCALL.match(line)
        if not m:
            continue
        pid, call, args, result = m.group(1), m.group(2), m.group(3), int(m.group(4))
        if call == "openat" and result >= 0:
            path = args.split('"')[1] if '"' in args else ""
            fds[(pid, result)] = path
        elif call in ("fsync", "fdatasync") and result == 0:
            events.append(("fsync", fds.get((pid, int(args.split(",")[0])), "?")))
        elif call in ("link", "linkat") and result == 0:
            events.append(("link", args.split('"')[-2] if '"' in args else ""))
        elif call == "write" and args.startswith("1,") and PREFIX in args:
            events.append(("print", args.split('"')[1].strip().removesuffix("\\n")))
    for deposit in reported:
        try:
            printed = events.index(("print", deposit))
            linked = next(i for i, e in enumerate(events)
                          if e[0] == "link" and e[1].endswith(f"{deposit}.age"))
        except (ValueError, StopIteration):
            problems.append(f"{deposit}: no print or link in the system-call log")
            continue
        before_link = [e for e in events[:linked] if e[0] == "fsync" and deposit in e[1]
                       and e[1].endswith(".tmp")]
        folder_sync = [i for i, e in enumerate(events[linked:printed], linked)
                       if e[0] == "fsync" and e[1].endswith("envelopes")]
        wal_sync = [i for i, e in enumerate(events[linked:printed], linked)
                    if e[0] == "fsync" and e[1].endswith("-wal")]
        if not before_link:
            problems.append(f"{deposit}: envelope not fsynced before its rename")
        if not folder_sync:
            problems.append(f"{deposit}: folder not fsynced between rename and report")
        if not wal_sync or (folder_sync and wal_sync[-1] < folder_sync[0]):
            problems.append(f"{deposit}: WAL not fsynced after the rename, before the report")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deposit.crash_harness",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("child")
    c.add_argument("folder", type=Path)
    r = sub.add_parser("run")
    r.add_argument("--kills", type=int, default=500)
    r.add_argument("--seed", type=int, default=int(time.time()))
    r.add_argument("--max-delay", type=float, default=0.25)
    r.add_argument("--folder", type=Path, default=None)
    r.add_argument("--strace", action="store_true", help="also check the fsync order (strace)")
    args = parser.parse_args(argv)
    if args.mode == "child":
        child(args.folder)
        return 0
    if args.strace and shutil.which("strace") is None:
        parser.error("--strace needs the strace command")
    folder = args.folder or Path(tempfile.mkdtemp(prefix="crash-harness-"))
    print(f"crash harness: seed {args.seed}, folder {folder}", file=sys.stderr)
    report = run(args.kills, folder, seed=args.seed, max_delay=args.max_delay,
                 strace=args.strace, progress=True)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
