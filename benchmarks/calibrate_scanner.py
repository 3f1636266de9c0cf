"""Calibrate the quality thresholds of scanner/quality.py on simulated frames.

    python -m benchmarks.calibrate_scanner [--per-kind 20] [--clean 60] [--seed 20000]

For each measure, the frames with the defect it watches and the clean frames
are measured by the still pipeline (detect, rectify, assess); the threshold
printed is half-way between the clean frames' 98th percentile and the
defective frames' 5th percentile (on the side the measure moves), so that
both the recall (>= 95 %) and the false alarms (<= 2 % per measure) have a
margin. The seeds differ from the benchmark's, which then checks the
thresholds on frames they were not chosen on. docs/scanner.md records a run.
"""

from __future__ import annotations

import argparse
import json
import sys

import cv2
import numpy as np

from benchmarks.scanner_corpus import defect_corpus
from scanner import assess, detect, rectify
from scanner.quality import QualityThresholds

#: measure -> (defect kinds it watches, +1 if the defect raises it, -1 if it lowers it)
MEASURES: dict[str, tuple[tuple[str, ...], int]] = {
    "blur": (("blur", "motion"), +1),
    "paper_level": (("darkness",), -1),
    "burnt_fraction": (("overexposure",), +1),
    "glare_fraction": (("glare",), +1),
    "effective_dpi": (("small",), -1),
    "tilt_deg": (("tilt",), +1),
    "edge_overrun_px": (("cut",), +1),
}

#: thresholds that flag nothing, so that every measure is taken on every frame
PERMISSIVE = QualityThresholds(blur=2.0, dark_paper=-1.0, overexposed=2.0, glare=2.0,
                               min_dpi=0.0, max_tilt_deg=180.0)


def measure(per_kind: int, clean: int, seed: int) -> list[tuple[str | None, dict[str, float]]]:
    rows: list[tuple[str | None, dict[str, float]]] = []
    for f in defect_corpus(per_kind, clean, seed=seed):
        corners = detect(f.frame)
        if corners is None:
            rows.append((f.defect, {}))
            continue
        page = rectify(f.frame, corners)
        verdict = assess(page, corners, f.frame, thresholds=PERMISSIVE)
        rows.append((f.defect, dict(verdict.measures)))
        print(f"{f.name}: {json.dumps({k: round(v, 3) for k, v in verdict.measures.items()})}",
              file=sys.stderr)
    return rows


def thresholds(rows: list[tuple[str | None, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, (kinds, sign) in MEASURES.items():
        clean = np.array([m[name] for d, m in rows if d is None and name in m])
        bad = np.array([m[name] for d, m in rows if d in kinds and name in m])
        if not len(clean) or not len(bad):
            continue
        if sign > 0:
            clean_edge, bad_edge = np.percentile(clean, 98), np.percentile(bad, 5)
        else:
            clean_edge, bad_edge = np.percentile(clean, 2), np.percentile(bad, 95)
        out[name] = {"clean_edge": round(float(clean_edge), 4),
                     "defect_edge": round(float(bad_edge), 4),
                     "threshold": round(float((clean_edge + bad_edge) / 2), 4),
                     "separated": bool((bad_edge - clean_edge) * sign > 0)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate_scanner",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--clean", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20000)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    rows = measure(args.per_kind, args.clean, args.seed)
    print(json.dumps(thresholds(rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
