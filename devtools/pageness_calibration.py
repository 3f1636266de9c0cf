"""The calibration run behind scanner/pageness.py's constants, on in-sample seeds only.

    python -m devtools.pageness_calibration [--frames N] [-o calibration.json]

For each in-sample frame (``distractor`` seeds 90000 + i, ``white_on_white_clutter``
92000 + i, and the hard corpus's in-sample seeds 40000 + 1000 c + i), at the live
(320 px) and still (640 px) working sizes: the raw measures
(:class:`scanner.pageness.Measures`) of the page's true quad, and of the outline
finalists that are not the page (SmartDoc Jaccard below 0.5 against the truth).
It prints, per measure, percentiles of both, and what the constants make of
them: the share of true pages given the full factor, the share of wrong
finalists given less than the live path's ``recheck_below``. The held-out seeds
(91000 +, 93000 +, 60000 +) are never read here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devtools.detection_corpus import (
    HardFrame,
    distractor_corpus,
    hard_corpus,
    white_on_white_corpus,
)
from scanner.detect import _reduce
from scanner.detectparams import LIVE, STILL, DetectorParams
from scanner.edges import EdgeImage
from scanner.geometry import order_corners, smartdoc_jaccard
from scanner.pageness import measure, page_likeness
from scanner.quads import best_quads

#: The in-sample seeds of the hard corpus (devtools/detection_corpus.py, "Seeds and splits").
HARD_IN_SAMPLE = 40000
#: A finalist this far from the page (SmartDoc Jaccard) is "not the page".
WRONG_BELOW = 0.5


def frames(n: int) -> Iterator[tuple[str, HardFrame]]:
    for frame in distractor_corpus(n):
        yield "distractor", frame
    for frame in white_on_white_corpus(n):
        yield "white_on_white_clutter", frame
    for frame in hard_corpus(max(1, n // 8), seed=HARD_IN_SAMPLE):
        yield "hard", frame


def collect(n: int) -> dict[str, dict[str, list[list[float]]]]:
    """Per working size, the (even, dimmer, beyond, factor) rows of true and wrong quads."""
    out: dict[str, dict[str, list[list[float]]]] = {}
    paths: tuple[tuple[str, DetectorParams], ...] = (("live", LIVE), ("still", STILL))
    for _, frame in frames(n):
        for name, params in paths:
            rows = out.setdefault(name, {"true": [], "wrong": []})
            scale = params.work_size / max(frame.frame.shape[:2])
            small = _reduce(frame.frame, scale)
            det = EdgeImage(small, replace(params, finalists=8))
            truth = (np.asarray(frame.corners, np.float64) + 0.5) * scale - 0.5
            quads = [truth]
            kinds = ["true"]
            found = best_quads(det)
            if found is not None:
                for corners in found[0]:
                    source = (corners + 0.5) / scale - 0.5
                    j = smartdoc_jaccard(order_corners(source), frame.corners,
                                         page=frame.page_size_mm)
                    if j < WRONG_BELOW:
                        quads.append(corners)
                        kinds.append("wrong")
            stack = np.stack(quads)
            m = measure(det.lab, stack)
            factor = page_likeness(det.lab, stack)
            for k, kind in enumerate(kinds):
                rows[kind].append([float(m.even[k]), float(m.dimmer[k]), float(m.beyond[k]),
                                   float(factor[k])])
    return out


def summary(data: dict[str, dict[str, list[list[float]]]]) -> dict[str, Any]:
    names = ("even", "dimmer", "beyond", "factor")
    result: dict[str, Any] = {}
    for path, kinds in data.items():
        result[path] = {}
        for kind, rows in kinds.items():
            table = np.asarray(rows, np.float64).reshape(-1, len(names))
            result[path][kind] = {
                "quads": len(table),
                **{name: {f"p{p}": round(float(np.percentile(table[:, i], p)), 3)
                          for p in (5, 10, 25, 50, 75, 90, 95)} if len(table) else {}
                   for i, name in enumerate(names)},
                "factor_full": round(float(np.mean(table[:, -1] >= 0.999)), 3)
                if len(table) else None,
                "factor_below_recheck": round(float(np.mean(table[:, -1] < LIVE.recheck_below)),
                                              3) if len(table) else None}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.pageness_calibration",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=48,
                        help="frames of each distractor category (the hard corpus gets 1/8 "
                             "as many per category)")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    text = json.dumps(summary(collect(args.frames)), indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
