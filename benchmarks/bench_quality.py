"""The quality gate alone, end to end, on the in-sample and held-out splits (issue #17).

    python -m benchmarks --only quality            # ~15 min on a shared 2-core machine
    python -m benchmarks --only quality --quick    # a smoke run

The same figures as the ``quality`` section of ``bench_scanner`` (that module
runs it too, after its timings and OCR), without waiting for the rest: the
acceptance line "every defect flagged with >= 95 % recall, clean frames
refused <= 3 %, with detected corners, on held-out seeds" is read from
``held_out`` -> ``detected_corners`` / ``pipeline`` -> ``meets``.
"""

from __future__ import annotations

from typing import Any

import cv2

from benchmarks.bench_scanner import bench_quality
from benchmarks.common import Context

__all__ = ["run"]


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(1)
    return bench_quality(3 if ctx.quick else 20, 10 if ctx.quick else 100)
