"""What every benchmark shares: where the shared data is, a scratch folder, timing helpers."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    quick: bool
    shared: Path | None      # KIOSK_SHARED or ../shared; None when absent (users say so)
    scratch: Path

    @classmethod
    def create(cls, quick: bool = False, shared: Path | None = None) -> Context:
        if shared is None:   # as the tests find it: KIOSK_SHARED, else ../shared
            candidate = Path(os.environ.get("KIOSK_SHARED", REPO.parent / "shared"))
            shared = candidate if candidate.is_dir() else None
        return cls(quick=quick, shared=shared,
                   scratch=Path(tempfile.mkdtemp(prefix="kiosk-bench-")))

    def need_shared(self, *parts: str) -> Path:
        """The path of shared data, or raise with a clear reason when ../shared is absent."""
        if self.shared is None:
            raise FileNotFoundError("../shared is not beside the checkout; "
                                    "pass --shared DIR or set KIOSK_SHARED")
        path = self.shared.joinpath(*parts)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing")
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def rss_mib() -> float:
    """Resident set size of this process, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_calls(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``repeat`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary_ms(times: list[float]) -> dict[str, float]:
    """Median, p90 and max of a list of seconds, in milliseconds."""
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(p90 * 1000, 3), "max_ms": round(ordered[-1] * 1000, 3),
            "n": len(ordered)}
