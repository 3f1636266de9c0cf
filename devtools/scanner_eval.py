"""Measuring the scanner for tests, benchmarks and calibration runs (never on a kiosk).

- :func:`measure_frame`, :func:`measure_corpus`, :func:`evaluate`: the quality
  measures of simulated frames, from their true corners and from the
  detector's, and the recall and false alarms a set of thresholds gives
  (``benchmarks.calibrate_scanner`` derives thresholds with them).
- :func:`ocr`, :func:`legibility`, :func:`decoded`: what tesseract reads on a
  stored page against a reference (``benchmarks.bench_scanner``).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from devtools.scanner_corpus import EXPECTED_CODES, SimFrame
from scanner import detect, rectify
from scanner.compress import decode_g4
from scanner.page import EncodedPage, Image
from scanner.quality import QualityThresholds, judge, measure

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
    """Measure one frame with its true corners and (unless told not to) the detected ones, as
    ``assess`` does (the frame's content included)."""
    size = (frame.frame.shape[1], frame.frame.shape[0])
    truth = measure(rectify(frame.frame, frame.corners), frame.corners, size, frame=frame.frame)
    found = detect(frame.frame) if use_detector else None
    detected = None if found is None else measure(rectify(frame.frame, found), found, size,
                                                  frame=frame.frame)
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



#: Share of the reference's characters a stored page must let tesseract read again (issue #3).
LEGIBILITY_KEEP = 0.97


def ocr(image: Image, scratch: Path) -> str:
    """What tesseract (French) reads in an image, as it prints it."""
    with tempfile.NamedTemporaryFile(suffix=".png", dir=scratch, delete=False) as tmp:
        path = Path(tmp.name)
    try:
        if not cv2.imwrite(str(path), image):
            raise RuntimeError(f"cannot write {path}")
        done = subprocess.run(["tesseract", str(path), "stdout", "-l", "fra", "--psm", "3"],
                              capture_output=True, text=True, timeout=300, check=True,
                              env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    finally:
        path.unlink(missing_ok=True)
    return done.stdout


def legibility(reference: str, read: str) -> tuple[float, float]:
    """(share of the reference's characters read again, difflib ratio); see the docstring."""
    def norm(text: str) -> str:
        return "\n".join(sorted("".join(line.split()) for line in text.splitlines()
                                if line.strip()))

    a, b = norm(reference), norm(read)
    if not a:
        return (1.0, 1.0) if not b else (0.0, 0.0)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(a), matcher.ratio()


def decoded(encoded: EncodedPage) -> Image:
    if encoded.codec == "ccitt-g4":
        return decode_g4(encoded.data, encoded.width, encoded.height)
    return np.asarray(cv2.imdecode(np.frombuffer(encoded.data, np.uint8), cv2.IMREAD_UNCHANGED),
                      dtype=np.uint8)


