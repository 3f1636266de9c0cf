"""Sealing speed and memory, against ``openssl speed`` measured in the same run.

openssl and the project are measured in alternation, several rounds, because
the machine is shared: ratios are given best against best and as the median
of each round's own ratio. Figures:

- ``openssl``: ``openssl speed -evp chacha20-poly1305 -bytes 65536`` (the
  same AEAD on the same 64 KiB chunks) and ``-evp sha256`` (the manifest's
  digest), in MB/s;
- ``encrypt``: :class:`deposit.envelope.Encryptor` on an in-memory buffer to a
  null sink (the age format's STREAM around the AEAD), MB/s and its ratio to
  openssl's ChaCha20-Poly1305 — the acceptance figure (>= 0.7);
- ``seal``: the whole sealing pipeline to ``/dev/null`` (ustar pieces →
  encryption → SHA-256 and write in a worker thread), MB/s, its ratio to
  openssl's ChaCha20-Poly1305 and to the slower of openssl's two primitives
  (the bound for a two-stage pipeline);
- ``decrypt``: :func:`deposit.envelope.decrypt` of that buffer (two passes);
- ``dossier_10_pages``: ``Outbox.seal_and_queue`` of a ~2 MB dossier (seal,
  fsync, rename, folder fsync, SQLite commit), median time and tracemalloc peak;
- ``large``: a child process seals and queues a 500 MB PDF held in memory;
  its peak resident memory above what it held before the call (``VmHWM``
  reset through ``/proc/self/clear_refs``), and the same for
  :func:`deposit.envelope.encrypt` from a 500 MB file to a file.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Context

MB = 1_000_000
MiB = 1024 * 1024


def openssl_speed(algorithm: str, seconds: int) -> float:
    """Bytes per second that ``openssl speed`` reports for 64 KiB blocks."""
    done = subprocess.run(["openssl", "speed", "-evp", algorithm, "-bytes", "65536",
                           "-seconds", str(seconds)], capture_output=True, text=True,
                          check=True, timeout=120)
    # Last line: "<name>  <thousands of bytes per second>k"
    for line in reversed(done.stdout.splitlines()):
        match = re.match(r"^\S.*?\s+([\d.]+)k\s*$", line)
        if match:
            return float(match.group(1)) * 1000
    raise RuntimeError(f"cannot parse openssl speed output: {done.stdout[-300:]!r}")


class _Null:
    def write(self, data: Any) -> int:
        return len(data)


def _best_rate(size: int, fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return size / best


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child_large(size: int, folder: Path) -> dict[str, Any]:
    """In a fresh process: extra peak RSS of sealing ``size`` bytes from memory, and of
    encrypting a file of that size to a file."""
    from deposit import envelope
    from deposit import manifest as mf
    from deposit.outbox import Outbox, Sealer

    _, recipient = envelope.generate_identity()
    sealer = Sealer((recipient,), "BENCH-01", mf.generate_signing_key())
    box = Outbox(folder / "outbox", sealer=sealer, reserve_bytes=0, dossier_estimate_bytes=1)
    pdf = bytearray(size)
    for i in range(0, size, 4096):      # touch every page so it is resident
        pdf[i] = i & 0xFF
    Path("/proc/self/clear_refs").write_text("5")
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    box.seal_and_queue(deposit_id="BENCH-0000-0001", procedure="bench", deposit_json={"a": 1},
                       pdf=pdf, tracking_token="t")
    seal_seconds = time.perf_counter() - start
    seal_extra = _rss_kib("VmHWM") - before
    del pdf
    source = folder / "plain.bin"
    with source.open("wb") as f:
        block = os.urandom(MiB)
        for _ in range(size // MiB):
            f.write(block)
    Path("/proc/self/clear_refs").write_text("5")
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    with source.open("rb") as src, (folder / "plain.age").open("wb") as dst:
        envelope.encrypt(src, dst, [recipient])
    encrypt_seconds = time.perf_counter() - start
    encrypt_extra = _rss_kib("VmHWM") - before
    box.close()
    return {"size_mb": round(size / MB), "seal_and_queue_s": round(seal_seconds, 2),
            "seal_and_queue_extra_rss_mib": round(seal_extra / 1024, 1),
            "encrypt_file_to_file_s": round(encrypt_seconds, 2),
            "encrypt_file_to_file_extra_rss_mib": round(encrypt_extra / 1024, 1)}


def run(ctx: Context) -> dict[str, Any]:
    from deposit import envelope, seal
    from deposit import manifest as mf
    from deposit.outbox import Outbox, Sealer

    identity, recipient = envelope.generate_identity()
    size = (32 if ctx.quick else 128) * MiB
    data = os.urandom(size)
    rounds = 2 if ctx.quick else 6

    def encrypt() -> None:
        with envelope.Encryptor(_Null(), [recipient]) as enc:
            enc.write(data)

    null = os.open(os.devnull, os.O_WRONLY)

    def seal_all() -> None:
        seal.seal_to_fd(null, {"a": 1}, data, [recipient])

    # The machine is shared: openssl and the project are measured in alternation, round
    # after round, and compared both best against best and round by round (median).
    chacha_runs, sha_runs, encrypt_runs, seal_runs = [], [], [], []
    for _ in range(rounds):
        chacha_runs.append(openssl_speed("chacha20-poly1305", 1))
        encrypt_runs.append(_best_rate(size, encrypt, 2))
        sha_runs.append(openssl_speed("sha256", 1))
        seal_runs.append(_best_rate(size, seal_all, 2))
    os.close(null)
    chacha, sha256 = max(chacha_runs), max(sha_runs)
    encrypt_rate, seal_rate = max(encrypt_runs), max(seal_runs)
    paired_encrypt = statistics.median(e / c for e, c in zip(encrypt_runs, chacha_runs,
                                                                strict=True))
    paired_seal = statistics.median(s / min(c, h) for s, c, h in zip(
        seal_runs, chacha_runs, sha_runs, strict=True))
    repeat = 2 if ctx.quick else 4
    sealed = io.BytesIO()
    envelope.encrypt(io.BytesIO(data), sealed, [recipient])
    ciphertext = sealed.getvalue()
    del sealed

    def decrypt() -> None:
        envelope.decrypt(io.BytesIO(ciphertext), _Null(), [identity])  # type: ignore[arg-type]

    decrypt_rate = _best_rate(size, decrypt, max(1, repeat // 2))

    # A 10-page dossier: about 200 kB of JPEG per page.
    sealer = Sealer((recipient,), "BENCH-01", mf.generate_signing_key())
    box = Outbox(ctx.scratch / "outbox", sealer=sealer, reserve_bytes=0,
                 dossier_estimate_bytes=1)
    pdf = os.urandom(2 * MiB)
    times, peaks = [], []
    for n in range(5 if ctx.quick else 15):
        tracemalloc.start()
        start = time.perf_counter()
        box.seal_and_queue(deposit_id=f"BENCH-0000-{n:04d}", procedure="bench",
                           deposit_json={"pages": 10}, pdf=pdf, tracking_token="t")
        times.append(time.perf_counter() - start)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    box.close()

    large_size = (50 if ctx.quick else 500) * MB
    large_dir = ctx.scratch / "large"
    large_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_deposit", "child-large",
                           str(large_size), str(large_dir)], capture_output=True, text=True,
                          env=env, cwd=REPO, check=True, timeout=1800)
    large = json.loads(done.stdout)

    return {
        "openssl": {"chacha20_poly1305_mb_s": round(chacha / MB, 1),
                    "sha256_mb_s": round(sha256 / MB, 1)},
        "encrypt": {"mb_s": round(encrypt_rate / MB, 1),
                    "ratio_to_openssl_chacha20_poly1305": round(encrypt_rate / chacha, 3),
                    "ratio_round_by_round_median": round(paired_encrypt, 3)},
        "seal": {"mb_s": round(seal_rate / MB, 1),
                 "ratio_to_openssl_chacha20_poly1305": round(seal_rate / chacha, 3),
                 "ratio_to_slower_of_chacha_and_sha256": round(seal_rate / min(chacha, sha256),
                                                               3),
                 "ratio_to_slower_round_by_round_median": round(paired_seal, 3)},
        "rounds": rounds,
        "decrypt": {"mb_s": round(decrypt_rate / MB, 1)},
        "dossier_10_pages": {"size_mib": 2, "median_ms": round(statistics.median(times) * 1000,
                                                                1),
                             "max_ms": round(max(times) * 1000, 1),
                             "tracemalloc_peak_kib": round(max(peaks) / 1024, 1)},
        "large": large,
        "input_mb": round(size / MB),
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "child-large":
        print(json.dumps(child_large(int(sys.argv[2]), Path(sys.argv[3]))))
    else:
        sys.exit("usage: python -m benchmarks.bench_deposit child-large SIZE FOLDER "
                 "(run the benchmarks with python -m benchmarks --only deposit)")
