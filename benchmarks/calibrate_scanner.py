"""Calibrate the quality thresholds of scanner/quality.py on simulated frames.

    python -m benchmarks.calibrate_scanner [--per-kind 20] [--clean 100] [--seed 20000]
                                           [--save rows.json]

Every frame of a simulated corpus (``defect_corpus``: frames with one known
defect of a strength that makes the page unusable, and clean frames with the
everyday variation of a kiosk) is measured by ``scanner.quality.measure`` on
the page rectified from its **true** corners, so that each measure is judged
on its own and not on the detector's mistakes. For each measure, the clean
frames' 98th percentile and the defective frames' 5th percentile (on the side
the measure moves) are printed with the threshold half-way between them: both
the recall (>= 95 %) and the false alarms (<= 2 % per measure) then have a
margin. ``edge_margin`` is not calibrated: a page is cut off when a corner lies
on or beyond the frame's border, which is a matter of geometry (the margin
only absorbs the detector's sub-pixel error).

The corpus is then judged with the derived thresholds and with the ones in
force (``QualityThresholds()``), once with the true corners and once with the
corners the still detector finds: recall per defect and clean false alarms
for each. The seeds (20000+) differ from the benchmark's (5000+), which then
checks the thresholds on frames they were not chosen on. docs/scanner.md
records a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devtools.scanner_corpus import defect_corpus
from devtools.scanner_eval import Corners, Row, evaluate, measure_corpus
from scanner.quality import DEFAULT_THRESHOLDS, QualityThresholds

#: measure -> (defect kinds it watches, +1 if the defect raises it / -1 if it lowers it,
#: the QualityThresholds field it sets)
MEASURES: dict[str, tuple[tuple[str, ...], int, str]] = {
    "edge_width_mm": (("blur", "motion"), +1, "max_edge_width_mm"),
    "paper_level": (("darkness",), -1, "dark_paper"),
    "burnt_fraction": (("overexposure",), +1, "overexposed"),
    "glare_fraction": (("glare",), +1, "glare"),
    "effective_dpi": (("small",), -1, "min_dpi"),
    "tilt_deg": (("tilt",), +1, "max_tilt_deg"),
    "edge_clearance": (("cut",), -1, "edge_margin"),
}
#: Thresholds set by design, not half-way between the corpora (see the module docstring).
FIXED = {"edge_margin"}

def derive(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Per measure: the clean and defect edges (98th / 5th percentiles) and the threshold."""
    out: dict[str, dict[str, Any]] = {}
    for name, (kinds, sign, field) in MEASURES.items():
        clean = np.array([m[name] for r in rows if r.defect is None
                          and (m := r.truth) is not None and name in m])
        bad = np.array([m[name] for r in rows if r.defect in kinds
                        and (m := r.truth) is not None and name in m])
        if not len(clean) or not len(bad):
            continue
        if sign > 0:
            clean_edge, bad_edge = np.percentile(clean, 98), np.percentile(bad, 5)
            worst_clean, worst_bad = clean.max(), bad.min()
        else:
            clean_edge, bad_edge = np.percentile(clean, 2), np.percentile(bad, 95)
            worst_clean, worst_bad = clean.min(), bad.max()
        out[name] = {"field": field, "clean_edge": round(float(clean_edge), 4),
                     "defect_edge": round(float(bad_edge), 4),
                     "worst_clean": round(float(worst_clean), 4),
                     "worst_defect": round(float(worst_bad), 4),
                     "threshold": round(float((clean_edge + bad_edge) / 2), 4),
                     "separated": bool((bad_edge - clean_edge) * sign > 0),
                     "fixed": field in FIXED}
    return out


def thresholds_from(derived: dict[str, dict[str, Any]],
                    base: QualityThresholds = DEFAULT_THRESHOLDS) -> QualityThresholds:
    """``base`` with every calibrated (not fixed) threshold replaced by the derived one."""
    values = {d["field"]: float(d["threshold"]) for d in derived.values() if not d["fixed"]}
    return replace(base, **values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate_scanner",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=20, help="frames of each defect")
    parser.add_argument("--clean", type=int, default=100, help="clean frames")
    parser.add_argument("--seed", type=int, default=20000)
    parser.add_argument("--save", type=Path, help="write every frame's measures here (JSON)")
    parser.add_argument("--load", type=Path, help="judge measures saved by --save instead")
    parser.add_argument("--no-detector", action="store_true",
                        help="measure with the true corners only (faster)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    if args.load:
        rows = [Row(**r) for r in json.loads(args.load.read_text(encoding="utf-8"))]
    else:
        rows = measure_corpus(defect_corpus(args.per_kind, args.clean, seed=args.seed),
                              use_detector=not args.no_detector, log=True)
    if args.save:
        args.save.write_text(json.dumps([asdict(r) for r in rows]), encoding="utf-8")
    derived = derive(rows)
    proposed = thresholds_from(derived)
    sources: list[Corners] = ["truth"] if args.no_detector else ["truth", "detected"]
    report = {
        "corpus": {"per_kind": args.per_kind, "clean": args.clean, "seed": args.seed},
        "measures": derived,
        "proposed": {f.name: getattr(proposed, f.name) for f in fields(proposed)},
        "with_proposed": [evaluate(rows, proposed, c) for c in sources],
        "with_current": [evaluate(rows, DEFAULT_THRESHOLDS, c) for c in sources],
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
