"""The page scanner: detection accuracy and speed, pipeline cost, bytes, legibility, quality.

One run reports:

- ``smartdoc``: the SmartDoc 2015 challenge 1 Jaccard (data/README.md) of the
  still detector and of the live one on ``data/pages-smartdoc``, per frame, and
  ms per frame;
- ``simulated``: the same on synthesised kiosk frames (drivers.camera.synth);
- ``still_pipeline``: a 12 MP JPEG in, checked and compressed page out, against
  the floor of decoding that JPEG and encoding the output, both timed here;
- ``pages``: bytes per page and OCR legibility (tesseract on the compressed
  page against tesseract on the uncompressed rectified page; similarity is
  difflib's SequenceMatcher ratio on whitespace-normalised text);
- ``quality``: recall of each simulated defect and the false-alarm rate on
  clean frames.

Timings run on one OpenCV thread (cv2.setNumThreads(1)), medians reported.
"""

from __future__ import annotations

import csv
import difflib
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.common import Context, summary_ms, time_calls
from benchmarks.scanner_corpus import (
    DEFECT_RANGES,
    EXPECTED_CODES,
    defect_corpus,
    detection_corpus,
    text_pages,
)
from scanner import assess, compress, detect, detect_live, enhance, process_still, rectify
from scanner.compress import decode_g4
from scanner.geometry import smartdoc_jaccard
from scanner.page import EncodedPage


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(1)
    out: dict[str, Any] = {}
    try:
        out["smartdoc"] = bench_smartdoc(ctx.need_shared("data", "pages-smartdoc"))
    except FileNotFoundError as exc:
        out["smartdoc"] = {"skipped": str(exc)}
    out["simulated"] = bench_simulated(10 if ctx.quick else 60)
    out["still_pipeline"] = bench_still_pipeline(2 if ctx.quick else 5)
    smartdoc_dir = ctx.shared / "data" / "pages-smartdoc" if ctx.shared else None
    out["pages"] = bench_pages(3 if ctx.quick else 20, smartdoc_dir, ctx.scratch)
    out["quality"] = bench_quality(3 if ctx.quick else 20, 10 if ctx.quick else 100)
    return out


# -- detection ---------------------------------------------------------------------------------

def read_smartdoc(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, frame, true corners tl tr br bl) of each frame of the SmartDoc sample."""
    with (folder / "ground_truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    frames = []
    for row in rows:
        name = row["image_path"].replace("/", "_")
        image = cv2.imread(str(folder / name))
        if image is None:
            raise FileNotFoundError(f"{folder / name} is missing or unreadable")
        truth = np.array([[float(row[f"{k}_x"]), float(row[f"{k}_y"])]
                          for k in ("tl", "tr", "br", "bl")], np.float32)   # CSV: tl, bl, br, tr
        frames.append((name, image, truth))
    return frames


def _jaccard_and_ms(frames: list[tuple[str, np.ndarray, np.ndarray, tuple[float, float]]],
                    fn: Any, repeat: int) -> dict[str, Any]:
    scores, times, per_frame = [], [], {}
    for name, image, truth, page_mm in frames:
        found = fn(image)
        score = smartdoc_jaccard(found, truth, page=page_mm)
        scores.append(score)
        per_frame[name] = round(score, 4)
        times += time_calls(lambda image=image: fn(image), repeat=repeat, warmup=0)
    return {"mean_jaccard": round(float(np.mean(scores)), 4),
            "min_jaccard": round(float(np.min(scores)), 4),
            "frames_below_0.85": int(sum(s < 0.85 for s in scores)),
            "per_frame": per_frame, "ms": summary_ms(times)}


def bench_smartdoc(folder: Path) -> dict[str, Any]:
    frames = [(n, im, t, (2100.0, 2970.0)) for n, im, t in read_smartdoc(folder)]
    return {"frames": len(frames), "still": _jaccard_and_ms(frames, detect, repeat=3),
            "live": _jaccard_and_ms(frames, detect_live, repeat=10)}


def bench_simulated(n: int) -> dict[str, Any]:
    frames = [(f.name, f.frame, f.corners, f.page_size_mm) for f in detection_corpus(n)]
    still = _jaccard_and_ms(frames, detect, repeat=1)
    live = _jaccard_and_ms(frames, detect_live, repeat=3)
    for result in (still, live):   # keep the JSON short: only the frames that went wrong
        result["per_frame"] = {k: v for k, v in result["per_frame"].items() if v < 0.95}
    return {"frames": n, "still": still, "live": live}


# -- the still pipeline ------------------------------------------------------------------------

def bench_still_pipeline(n: int) -> dict[str, Any]:
    """12 MP JPEG in, checked and compressed page out, against decode + encode alone."""
    pipeline, floor, sizes = [], [], []
    for f in text_pages(n, seed=7000, frame_size=(4000, 3000)):
        ok, jpeg = cv2.imencode(".jpg", f.frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        assert ok
        data = jpeg.tobytes()
        result = process_still(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        assert result.page is not None and result.encoded is not None
        clean = result.page
        sizes.append(len(result.encoded.data))

        def whole(data: bytes = data) -> None:
            process_still(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))

        def decode_encode(data: bytes = data, clean: Any = clean) -> None:
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            compress(clean)

        pipeline += time_calls(whole, repeat=3, warmup=0)
        floor += time_calls(decode_encode, repeat=3, warmup=0)
    p, fl = statistics.median(pipeline), statistics.median(floor)
    return {"stills": n, "frame": "4000x3000 JPEG q92", "pipeline": summary_ms(pipeline),
            "floor_decode_plus_encode": summary_ms(floor), "ratio": round(p / fl, 3),
            "median_bytes": int(statistics.median(sizes))}


# -- bytes per page and legibility ---------------------------------------------------------------

def ocr(image: np.ndarray, scratch: Path, lang: str = "fra+eng") -> str:
    """Text tesseract reads in an image (whitespace normalised)."""
    with tempfile.NamedTemporaryFile(suffix=".png", dir=scratch, delete=False) as tmp:
        path = Path(tmp.name)
    try:
        cv2.imwrite(str(path), image)
        done = subprocess.run(["tesseract", str(path), "stdout", "-l", lang, "--psm", "3"],
                              capture_output=True, text=True, timeout=300, check=True)
    finally:
        path.unlink(missing_ok=True)
    return " ".join(done.stdout.split())


def decoded(encoded: EncodedPage) -> np.ndarray:
    if encoded.codec == "ccitt-g4":
        return decode_g4(encoded.data, encoded.width, encoded.height)
    image = cv2.imdecode(np.frombuffer(encoded.data, np.uint8), cv2.IMREAD_UNCHANGED)
    return np.asarray(image)


def bench_pages(n: int, smartdoc: Path | None, scratch: Path) -> dict[str, Any]:
    if shutil.which("tesseract") is None:
        return {"skipped": "tesseract is not installed (Debian tesseract-ocr, tesseract-ocr-fra)"}
    items: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        (f.name, f.frame, f.corners) for f in text_pages(n)]
    if smartdoc is not None and smartdoc.is_dir():
        items += [(name, image, None) for name, image, _ in read_smartdoc(smartdoc)]
    rows = []
    for name, frame, _truth in items:
        corners = detect(frame)
        if corners is None:
            rows.append({"page": name, "error": "no page found"})
            continue
        page = rectify(frame, corners)
        encoded = compress(enhance(page))
        reference = ocr(page.image, scratch)
        read = ocr(decoded(encoded), scratch)
        ratio = difflib.SequenceMatcher(None, reference, read, autojunk=False).ratio() \
            if reference else 1.0
        rows.append({"page": name, "bytes": len(encoded.data), "codec": encoded.codec,
                     "reference_chars": len(reference), "read_chars": len(read),
                     "similarity": round(ratio, 4)})
    good = [r for r in rows if "bytes" in r]
    sims = [r["similarity"] for r in good]
    return {"pages": len(rows), "dpi": 200,
            "median_bytes": int(statistics.median(r["bytes"] for r in good)) if good else None,
            "max_bytes": max((r["bytes"] for r in good), default=None),
            "median_similarity": round(statistics.median(sims), 4) if sims else None,
            "min_similarity": round(min(sims), 4) if sims else None,
            "weighted_similarity": round(
                sum(r["similarity"] * r["reference_chars"] for r in good)
                / max(1, sum(r["reference_chars"] for r in good)), 4),
            "similarity_measure": "difflib.SequenceMatcher.ratio, whitespace-normalised",
            "per_page": rows}


# -- quality verdicts ----------------------------------------------------------------------------

def judge(frame: np.ndarray) -> tuple[set[str], dict[str, float]]:
    """Reason codes and measures of the still pipeline on one frame."""
    corners = detect(frame)
    if corners is None:
        return {"no_page"}, {}
    page = rectify(frame, corners)
    verdict = assess(page, corners, frame)
    return {r.code.value for r in verdict.reasons}, verdict.measures


def bench_quality(per_kind: int, clean: int) -> dict[str, Any]:
    hits: dict[str, list[bool]] = {k: [] for k in DEFECT_RANGES}
    right_code: dict[str, list[bool]] = {k: [] for k in DEFECT_RANGES}
    false_alarms: list[str] = []
    n_clean = 0
    start = time.perf_counter()
    for f in defect_corpus(per_kind, clean):
        codes, _ = judge(f.frame)
        if f.defect is None:
            n_clean += 1
            if codes:
                false_alarms.append(f"{f.name}: {sorted(codes)}")
            continue
        hits[f.defect].append(bool(codes))
        right_code[f.defect].append(bool(codes & EXPECTED_CODES[f.defect]))
    recall = {k: round(float(np.mean(v)), 3) for k, v in right_code.items() if v}
    flagged = {k: round(float(np.mean(v)), 3) for k, v in hits.items() if v}
    return {"per_kind": per_kind, "clean": n_clean,
            "recall_right_reason": recall, "recall_any_reason": flagged,
            "false_alarm_rate": round(len(false_alarms) / max(1, n_clean), 3),
            "false_alarms": false_alarms[:20],
            "seconds": round(time.perf_counter() - start, 1)}
