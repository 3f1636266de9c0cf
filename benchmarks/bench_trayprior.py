"""The page detector with and without the empty tray's prior, on the kiosk's own frames.

``python -m benchmarks --only trayprior`` (``--quick``: 4 frames per category
and split instead of 20).

The corpus is that of ``bench_detection``'s kiosk categories
(``devtools.detection_corpus``: ``kiosk``, a page on the tray with clutter, a
hand, tilt, motion; ``id_card``, an identity card on the tray), in its two
splits: **in-sample** (seeds 40000 + 1000 c + i, on which the detector was
developed and the prior's constants in scanner/trayprior.py were chosen) and
**held-out** (``VALIDATION_SEED``, 60000 + 1000 c + i, looked at only to
report).

plus ``id_card_cluttered``, identity cards on a cluttered tray (which the
corpus leaves out: a whole sheet may lie beside the card; devtools/tray_scenes.py).
The empty tray of each frame is the same scene without the page, recorded as
a technician would, with the light drifting since (devtools/tray_scenes.py).

Figures per detector (still ``detect``, live ``detect_live``) and split:
mean Jaccard (SmartDoc's), the worst frame, the frames below 0.85 and the
median and p90 milliseconds per 1920x1080 frame on one OpenCV thread, without
and with the prior.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from benchmarks.common import Context
from devtools.detection_corpus import VALIDATION_SEED
from devtools.tray_scenes import CATEGORIES, GAIN_DRIFT, TRAY_FRAMES, kiosk_scene, seed_of
from scanner import detect, detect_live
from scanner.geometry import Quad, smartdoc_jaccard

#: The splits: first seed of the corpus's numbering (frame i of category c: seed + 1000 c + i).
SPLITS = {"in_sample": 40000, "held_out": VALIDATION_SEED}
FLOOR = 0.85


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(1)
    per = 4 if ctx.quick else 20
    out: dict[str, Any] = {"threads": 1, "frames_per_category": per,
                           "categories": list(CATEGORIES), "tray_frames": TRAY_FRAMES,
                           "gain_drift": GAIN_DRIFT}
    for split, base in SPLITS.items():
        out[split] = bench_split(base, per)
    return out


def bench_split(base: int, per: int) -> dict[str, Any]:
    paths: dict[str, Callable[..., Quad | None]] = {"still": detect, "live": detect_live}
    scores: dict[str, dict[str, float]] = {}
    times: dict[str, dict[str, float]] = {}
    start = time.perf_counter()
    for category in CATEGORIES:
        for i in range(per):
            frame, tray = kiosk_scene(category, seed_of(base, category, i))
            tray.foreground(frame.frame[::6, ::6])   # the prior's one-time resize is set-up
            for path, fn in paths.items():
                for prior in ("without", "with"):
                    key = f"{path}_{prior}"
                    t0 = time.perf_counter()
                    found = fn(frame.frame, tray if prior == "with" else None)
                    times.setdefault(key, {})[frame.name] = time.perf_counter() - t0
                    scores.setdefault(key, {})[frame.name] = round(
                        smartdoc_jaccard(found, frame.corners, page=frame.page_size_mm), 4)
    out: dict[str, Any] = {"frames": per * len(CATEGORIES)}
    for key, table in scores.items():
        values = list(table.values())
        worst = min(table, key=lambda k: table[k])
        ordered = sorted(times[key].values())
        out[key] = {
            "mean": round(float(np.mean(values)), 4),
            "worst": {worst: table[worst]},
            "below_0.85": sorted(k for k, v in table.items() if v < FLOOR),
            "per_category_mean": {
                cat: round(float(np.mean([v for k, v in table.items()
                                          if k.startswith(cat + "#")])), 4)
                for cat in CATEGORIES},
            "per_category_median_ms": {
                cat: round(statistics.median([v for k, v in times[key].items()
                                              if k.startswith(cat + "#")]) * 1000, 1)
                for cat in CATEGORIES},
            "median_ms": round(statistics.median(ordered) * 1000, 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000, 1),
        }
    changed = {k: (scores["still_without"][k], v) for k, v in scores["still_with"].items()
               if abs(v - scores["still_without"][k]) > 0.005}
    out["still_changed"] = {k: {"without": a, "with": b} for k, (a, b) in changed.items()}
    live_changed = {k: (scores["live_without"][k], v) for k, v in scores["live_with"].items()
                    if abs(v - scores["live_without"][k]) > 0.005}
    out["live_changed"] = {k: {"without": a, "with": b} for k, (a, b) in live_changed.items()}
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out
