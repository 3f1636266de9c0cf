"""The page scanner after detection: pipeline cost, bytes per page, legibility, quality verdicts.

(Detection accuracy and speed are in ``bench_detection``.) One run reports:

- ``still_pipeline``: a 12 MP JPEG in, checked and compressed page out
  (decode, ``process_still``), against the floor of decoding that JPEG and
  encoding the output page, both timed here, interleaved; with the median of
  each stage (detect — on the still reduced to 2000 px, as ``process_still``
  does —, rectify, assess, enhance, compress) so that the share of each is seen;
- ``pages``: bytes per page at 200 dpi and OCR legibility on generated French
  letters photographed as 12 MP stills (``scanner_corpus.text_pages``) and on
  the SmartDoc frames of the shared data. Pages are rectified from their true
  corners (the figure is about enhancement and compression, not detection).
  Tesseract (``-l fra``) reads the uncompressed rectified page (the
  reference) and the decoded compressed page. **Legibility** is the share of
  the reference's characters read again: the characters of the longest
  matching blocks (difflib's SequenceMatcher, no autojunk) over the
  reference's characters, on each text's non-empty lines with their spaces
  removed, sorted (reading order and word spacing are layout, not legibility).
  ``similarity`` is difflib's ratio on the same texts (it also counts
  characters read only on the compressed page);
- ``quality``: recall of each simulated defect (flagged with one of its
  expected reasons) and false alarms on clean frames, with the pages' true
  corners and with the detector's (seeds 5000+, disjoint from the
  calibration's).

Timings run on one OpenCV thread (cv2.setNumThreads(1)) and tesseract on one
(OMP_THREAD_LIMIT=1); medians are reported.
"""

from __future__ import annotations

import difflib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.calibrate_scanner import Corners, evaluate, measure_corpus
from benchmarks.common import Context, summary_ms
from benchmarks.scanner_corpus import defect_corpus, read_smartdoc, text_pages
from scanner import assess, compress, detect_reduced, enhance, process_still, rectify
from scanner.compress import decode_g4
from scanner.page import EncodedPage, Image, Page
from scanner.quality import DEFAULT_THRESHOLDS

__all__ = ["read_smartdoc", "run"]


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(1)
    out: dict[str, Any] = {}
    out["still_pipeline"] = bench_still_pipeline(2 if ctx.quick else 5)
    smartdoc: list[tuple[str, Image, np.ndarray]] = []
    try:
        frames = read_smartdoc(ctx.need_shared("data", "pages-smartdoc"))
        smartdoc = [(f.name, f.frame, f.corners) for f in frames][: 2 if ctx.quick else None]
    except FileNotFoundError as exc:
        out["smartdoc_skipped"] = str(exc)
    out["pages"] = bench_pages(4 if ctx.quick else 20, smartdoc, ctx.scratch)
    out["quality"] = bench_quality(3 if ctx.quick else 20, 10 if ctx.quick else 100)
    return out


# -- the still pipeline --------------------------------------------------------------------------

def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _decode(data: bytes) -> Image:
    return np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                      dtype=np.uint8)


def _whole(data: bytes) -> object:
    return process_still(_decode(data))


def _floor(data: bytes, clean: Page) -> object:
    _decode(data)
    return compress(clean)


def bench_still_pipeline(n: int, repeat: int = 3) -> dict[str, Any]:
    """12 MP JPEG in, checked and compressed page out, against decode + encode alone."""
    whole: list[float] = []
    floor: list[float] = []
    stages: dict[str, list[float]] = {k: [] for k in
                                      ("decode", "detect", "rectify", "assess", "enhance",
                                       "compress")}
    sizes = []
    for f in text_pages(n, seed=7000, frame_size=(4000, 3000)):
        ok, jpeg = cv2.imencode(".jpg", f.frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise RuntimeError("OpenCV could not encode the test still")
        data = jpeg.tobytes()
        frame = _decode(data)
        result = process_still(frame)          # also warms OpenCV's tables up
        if result.page is None or result.encoded is None or result.corners is None:
            raise RuntimeError(f"{f.name}: the still pipeline found no page")
        clean, corners = result.page, result.corners
        sizes.append(len(result.encoded.data))
        page = rectify(frame, corners)
        for _ in range(repeat):
            whole.append(_timed(partial(_whole, data)))
            floor.append(_timed(partial(_floor, data, clean)))
            stages["decode"].append(_timed(partial(_decode, data)))
            stages["detect"].append(_timed(partial(detect_reduced, frame)))
            stages["rectify"].append(_timed(partial(rectify, frame, corners)))
            stages["assess"].append(_timed(partial(assess, page, corners, frame)))
            stages["enhance"].append(_timed(partial(enhance, page)))
            stages["compress"].append(_timed(partial(compress, clean)))
    w, fl = statistics.median(whole), statistics.median(floor)
    return {"stills": n, "frame": "4000x3000 JPEG q92, A4 text page",
            "pipeline": summary_ms(whole), "floor_decode_plus_encode": summary_ms(floor),
            "ratio": round(w / fl, 3),
            "stage_median_ms": {k: round(statistics.median(v) * 1000, 2)
                                for k, v in stages.items()},
            "median_bytes": int(statistics.median(sizes))}


# -- bytes per page and legibility ----------------------------------------------------------------

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


def bench_pages(n: int, smartdoc: list[tuple[str, Image, np.ndarray]],
                scratch: Path) -> dict[str, Any]:
    if shutil.which("tesseract") is None:
        return {"skipped": "tesseract is not installed (Debian tesseract-ocr, tesseract-ocr-fra)"}
    items = [("simulated", f.name, f.frame, f.corners) for f in text_pages(n)]
    items += [("smartdoc", name, frame, corners) for name, frame, corners in smartdoc]
    rows = []
    for group, name, frame, corners in items:
        page = rectify(frame, corners)
        verdict = assess(page, corners, frame)
        encoded = compress(enhance(page))
        reference = ocr(page.image, scratch)
        read, similarity = legibility(reference, ocr(decoded(encoded), scratch))
        rows.append({"group": group, "page": name, "bytes": len(encoded.data),
                     "codec": encoded.codec, "colour": encoded.colour,
                     "reference_chars": len("".join(reference.split())),
                     "legibility": round(read, 4), "similarity": round(similarity, 4),
                     "verdict": sorted(r.code.value for r in verdict.reasons)})

    def summary(sel: list[dict[str, Any]]) -> dict[str, Any]:
        if not sel:
            return {"pages": 0}
        sizes = sorted(r["bytes"] for r in sel)
        read = [r["legibility"] for r in sel]
        return {"pages": len(sel), "median_bytes": int(statistics.median(sizes)),
                "p90_bytes": sizes[min(len(sizes) - 1, int(0.9 * len(sizes)))],
                "median_legibility": round(statistics.median(read), 4),
                "min_legibility": round(min(read), 4),
                "median_similarity": round(statistics.median(r["similarity"] for r in sel), 4)}

    return {"dpi": 200, "ocr": "tesseract -l fra --psm 3",
            "legibility_measure": "matched characters / reference characters (difflib matching "
                                  "blocks on sorted non-empty lines, spaces removed)",
            "all": summary(rows),
            "simulated": summary([r for r in rows if r["group"] == "simulated"]),
            "smartdoc": summary([r for r in rows if r["group"] == "smartdoc"]),
            "per_page": rows}


# -- quality verdicts -----------------------------------------------------------------------------

def bench_quality(per_kind: int, clean: int) -> dict[str, Any]:
    start = time.perf_counter()
    rows = measure_corpus(defect_corpus(per_kind, clean, seed=5000))
    out: dict[str, Any] = {"per_kind": per_kind, "clean": clean, "seed": 5000}
    sources: tuple[Corners, ...] = ("truth", "detected")
    for corners in sources:
        result = evaluate(rows, DEFAULT_THRESHOLDS, corners)
        out[f"{corners}_corners"] = {
            "recall": result["recall"], "false_alarm_rate": result["false_alarm_rate"],
            "misses": result["misses"][:12], "false_alarms": result["false_alarms"][:12]}
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out
