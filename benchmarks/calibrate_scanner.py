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
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from benchmarks.scanner_corpus import EXPECTED_CODES, SimFrame, defect_corpus
from scanner import detect, rectify
from scanner.quality import DEFAULT_THRESHOLDS, QualityThresholds, judge, measure

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

Corners = Literal["truth", "detected"]


@dataclass
class Row:
    """The measures of one frame, from its true corners and from the detector's."""

    name: str
    defect: str | None
    strength: float
    kind: str
    truth: dict[str, float] | None
    detected: dict[str, float] | None

    def measures(self, corners: Corners) -> dict[str, float] | None:
        return self.truth if corners == "truth" else self.detected


def measure_frame(frame: SimFrame, *, use_detector: bool = True) -> Row:
    """Measure one frame with its true corners and (unless told not to) the detected ones."""
    size = (frame.frame.shape[1], frame.frame.shape[0])
    truth = measure(rectify(frame.frame, frame.corners), frame.corners, size)
    found = detect(frame.frame) if use_detector else None
    detected = None if found is None else measure(rectify(frame.frame, found), found, size)
    return Row(frame.name, frame.defect, frame.strength, frame.kind, truth, detected)


def measure_corpus(frames: Iterable[SimFrame], *, use_detector: bool = True,
                   log: bool = False) -> list[Row]:
    rows = []
    for f in frames:
        row = measure_frame(f, use_detector=use_detector)
        rows.append(row)
        if log:
            shown = {k: round(v, 3) for k, v in (row.truth or {}).items()}
            print(f"{row.name}: {json.dumps(shown)}", file=sys.stderr, flush=True)
    return rows


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


def evaluate(rows: list[Row], thresholds: QualityThresholds, corners: Corners) -> dict[str, Any]:
    """Recall of each defect (flagged with one of its expected reasons) and clean false alarms.

    A frame whose page was not found counts as flagged ``no_page``.
    """
    hits: dict[str, list[bool]] = {}
    misses: list[str] = []
    false_alarms: list[str] = []
    clean = 0
    for r in rows:
        m = r.measures(corners)
        codes = {"no_page"} if m is None else {x.code.value for x in judge(m, thresholds)}
        if r.defect is None:
            clean += 1
            if codes:
                false_alarms.append(f"{r.name}: {sorted(codes)}")
            continue
        hit = bool(codes & EXPECTED_CODES[r.defect])
        hits.setdefault(r.defect, []).append(hit)
        if not hit:
            misses.append(f"{r.name} ({r.strength:.2f}): {sorted(codes) or 'accepted'}")
    return {"corners": corners,
            "recall": {k: round(float(np.mean(v)), 3) for k, v in hits.items()},
            "frames_per_defect": {k: len(v) for k, v in hits.items()},
            "clean_frames": clean,
            "false_alarm_rate": round(len(false_alarms) / max(1, clean), 3),
            "misses": misses, "false_alarms": false_alarms}


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
