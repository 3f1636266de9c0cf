"""The technician's camera gauges: the focus gauge's calibration table, and their speed.

``python -m benchmarks --only camera_service`` (``--quick``: 2 seeds, fewer repeats).

- ``focus_calibration``: per simulated blur (``drivers.camera.synth``
  ``blur_sigma``, frame pixels) at 1920x1080 and 3840x2160, the median raw
  sharpness (:func:`scanner.focus.measure_focus`, 1/px at 100 dpi on the page)
  and gauge over A4 text pages (seeds ``SEED``+), and whether the gauge rose
  strictly with falling blur on every seed. ``scanner.focus.HALF`` is the
  1080p median at ``blur_sigma`` 3 (rounded), ``STEEPNESS`` puts the 1080p
  sharp pages near 0.95: the table is how they were chosen.
- ``speed``: milliseconds per 1080p preview frame, one OpenCV thread, of
  ``read_camera`` given the preview's corners (the camera screen's usual
  case), ``read_camera`` finding the page itself (``detect_live`` included),
  ``detect_live`` alone (for comparison), ``measure_sheet`` on a frame of the
  calibration sheet, and the tray prior's foreground mask at the live
  detector's working size. A Raspberry Pi 4 core is about 3-4 times slower
  than the machine's: at ~10 fps a preview frame has 100 ms.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from benchmarks.common import Context
from drivers.camera.synth import Defects, empty_tray, sample_pages, synthesize
from scanner.calibration import SHEET_MM, measure_sheet, render_sheet
from scanner.detect import detect_live
from scanner.focus import read_camera
from scanner.trayprior import TrayPrior

BLURS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
SIZES = ((1920, 1080), (3840, 2160))
SEED = 900


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(1)
    seeds = range(SEED, SEED + (2 if ctx.quick else 6))
    return {"threads": 1, "focus_calibration": focus_table(seeds),
            "speed": speed(5 if ctx.quick else 30)}


def focus_table(seeds: range) -> dict[str, Any]:
    pages = [s for s in sample_pages() if s.kind == "text"]
    out: dict[str, Any] = {}
    for size in SIZES:
        sharp: dict[float, list[float]] = {b: [] for b in BLURS}
        gauges: dict[float, list[float]] = {b: [] for b in BLURS}
        for seed in seeds:
            for blur in BLURS:
                frame, corners = synthesize(pages[seed % len(pages)].image,
                                            np.random.default_rng(seed), frame_size=size,
                                            defects=Defects(blur_sigma=blur, noise_sigma=2.0))
                reading = read_camera(frame, corners)
                sharp[blur].append(reading.focus.sharpness)
                gauges[blur].append(reading.focus.gauge)
        per_seed = list(zip(*(gauges[b] for b in BLURS), strict=True))
        out[f"{size[0]}x{size[1]}"] = {
            "blur_sigma": list(BLURS),
            "sharpness_median": [round(statistics.median(sharp[b]), 4) for b in BLURS],
            "gauge_median": [round(statistics.median(gauges[b]), 3) for b in BLURS],
            "gauge_min": [round(min(gauges[b]), 3) for b in BLURS],
            "gauge_max": [round(max(gauges[b]), 3) for b in BLURS],
            "strictly_monotone_every_seed": all(
                all(a > b for a, b in itertools.pairwise(row)) for row in per_seed),
            "seeds": len(per_seed),
        }
    return out


def speed(repeat: int) -> dict[str, Any]:
    page = next(s for s in sample_pages() if s.kind == "text").image
    frame, corners = synthesize(page, np.random.default_rng(SEED), defects=Defects(
        noise_sigma=2.0, clutter=True))
    sheet, _ = synthesize(render_sheet(300), np.random.default_rng(SEED),
                          defects=Defects(noise_sigma=2.0), page_size_mm=SHEET_MM)
    tray = TrayPrior(empty_tray(np.random.default_rng(SEED), defects=Defects(clutter=True)))
    small = np.asarray(cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA), np.uint8)
    cases: dict[str, Callable[[], Any]] = {
        "read_camera_given_corners": lambda: read_camera(frame, corners),
        "read_camera_finding_the_page": lambda: read_camera(frame),
        "detect_live": lambda: detect_live(frame),
        "measure_sheet": lambda: measure_sheet(sheet),
        "tray_foreground_320px": lambda: tray.foreground(small),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        fn()                                   # set-up (caches, OpenCV) is not a frame's time
    for _ in range(repeat):
        for name, fn in cases.items():         # in turn: the machine's load hits all alike
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {"frame": "1920x1080",
            **{f"{k}_ms": {"median": round(statistics.median(v) * 1000, 2),
                           "p90": round(sorted(v)[int(0.9 * (len(v) - 1))] * 1000, 2)}
               for k, v in times.items()}}
