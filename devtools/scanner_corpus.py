"""Corpora of kiosk frames for the scanner's benchmarks, calibration and tests.

Every simulated frame comes from ``drivers.camera.synth`` with a seed, so a
corpus is the same on every machine. Seeds in use (kept disjoint, so that
thresholds are checked on frames they were not chosen on): calibration
20000+, benchmark 5000+ (defects) and 9000+ (text pages), 7000+ (timed
stills), tests 41000+. Three kinds:

- ``detection_corpus``: acceptable frames (any tray, sample pages and generated
  letters, clutter, a hand, uneven light, noise, mild blur) with their true
  corners, to measure detection;
- ``defect_corpus``: frames with exactly one defect of a known kind and
  strength, and clean frames, to measure the quality verdict;
- ``text_pages``: generated French letters photographed on the tray as 12 MP
  stills, for bytes per page and OCR legibility.

``read_smartdoc`` reads the real SmartDoc frames of the shared test data.

The severities of ``DEFECT_RANGES`` are those at which a page is no longer fit
for the back office (chosen by looking at rectified pages, see
docs/scanner.md); milder defects are in the clean corpus's noise and blur.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.synth import Defects, render_text_page, sample_pages, synthesize

Image = npt.NDArray[np.uint8]

#: Defect kind -> (field, low, high) of the synthesiser's strength for an unusable page.
DEFECT_RANGES: dict[str, tuple[str, float, float]] = {
    "blur": ("blur_sigma", 3.0, 8.0),
    "motion": ("motion_px", 14.0, 40.0),
    "glare": ("glare", 0.7, 1.0),
    "darkness": ("darkness", 0.75, 0.95),
    "overexposure": ("overexposure", 0.75, 1.0),
    "cut": ("cut", 0.04, 0.4),
    "tilt": ("tilt_deg", 32.0, 45.0),
    "small": ("scale", 0.15, 0.3),
}

#: Defect kind -> reason codes that count as flagging it.
EXPECTED_CODES: dict[str, set[str]] = {
    "blur": {"blurred"},
    "motion": {"moving", "blurred"},
    "glare": {"glare", "overexposed"},
    "darkness": {"too_dark"},
    "overexposure": {"overexposed", "glare"},
    "cut": {"cut_off", "no_page"},
    "tilt": {"too_tilted"},
    "small": {"too_small", "no_page"},
}


@dataclass(frozen=True, eq=False)
class SimFrame:
    name: str
    frame: Image
    corners: npt.NDArray[np.float32]      # tl, tr, br, bl
    page_size_mm: tuple[float, float]
    kind: str                             # "text" or "colour"
    defect: str | None = None             # DEFECT_RANGES key, or None for a clean frame
    strength: float = 0.0


def _page(index: int) -> tuple[Image, tuple[float, float], str, str]:
    """The index-th page of the rotation: the sample pages, then generated letters."""
    samples = sample_pages()
    if index % 3 != 2:
        s = samples[index % len(samples)]
        return s.bgra(), s.size_mm, s.kind, s.name
    size = ("A4", "A5", "letter")[index % 3 if index % 9 else 0]
    mm = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "letter": (215.9, 279.4)}[size]
    return render_text_page(index, size=size), mm, "text", f"letter-{size}-{index}"


def with_defect(base: Defects, field: str, strength: float) -> Defects:
    """``base`` with one numeric defect field set (``Defects`` checks its range)."""
    values: dict[str, Any] = {field: strength}
    return replace(base, **values)


def clean_defects(rng: np.random.Generator, *, hand_allowed: bool = True) -> Defects:
    """The everyday variation of an acceptable frame.

    ``hand_allowed=False`` keeps the citizen's hand away: a hand resting on a
    sheet's margin would cover most of an identity card, which is no clean frame.
    """
    return Defects(
        noise_sigma=float(rng.uniform(0, 4)),
        gradient=float(rng.uniform(0, 0.5)) if rng.random() < 0.5 else 0.0,
        blur_sigma=float(rng.uniform(0, 0.8)),
        tilt_deg=float(rng.uniform(0, 8)) if rng.random() < 0.4 else 0.0,
        scale=float(np.exp(rng.uniform(-0.25, 0.2))),
        hand=bool(rng.random() < 0.3) and hand_allowed, clutter=bool(rng.random() < 0.5))


def detection_corpus(n: int, seed: int = 1000,
                     frame_size: tuple[int, int] = (1920, 1080)) -> Iterator[SimFrame]:
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        page, mm, kind, name = _page(i)
        defects = clean_defects(rng)
        frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                    page_size_mm=mm)
        yield SimFrame(f"{name}#{seed + i}", frame, corners, mm, kind)


def defect_corpus(per_kind: int, clean: int, seed: int = 5000,
                  kinds: tuple[str, ...] = tuple(DEFECT_RANGES),
                  frame_size: tuple[int, int] = (1920, 1080)) -> Iterator[SimFrame]:
    """``per_kind`` frames of each defect kind, then ``clean`` acceptable frames."""
    i = 0
    for kind in kinds:
        field, low, high = DEFECT_RANGES[kind]
        for _ in range(per_kind):
            rng = np.random.default_rng(seed + i)
            page, mm, page_kind, name = _page(i)
            strength = float(rng.uniform(low, high))
            base = replace(clean_defects(rng), hand=False)  # the hand's draws keep the rng in step
            if kind in ("blur", "motion", "tilt", "small"):
                base = replace(base, blur_sigma=0.0, tilt_deg=0.0, scale=1.0)
            defects = with_defect(base, field, strength)
            if kind == "motion":
                defects = replace(defects, motion_angle_deg=float(rng.uniform(0, 180)))
            frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                        page_size_mm=mm)
            yield SimFrame(f"{kind}:{name}#{seed + i}", frame, corners, mm, page_kind, kind,
                           strength)
            i += 1
    for _ in range(clean):
        rng = np.random.default_rng(seed + i)
        page, mm, page_kind, name = _page(i)
        defects = clean_defects(rng, hand_allowed=min(mm) >= 100)
        frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                    page_size_mm=mm)
        yield SimFrame(f"clean:{name}#{seed + i}", frame, corners, mm, page_kind)
        i += 1


def text_pages(n: int, seed: int = 9000,
               frame_size: tuple[int, int] = (4000, 3000)) -> Iterator[SimFrame]:
    """Generated French letters (A4) photographed as 12 MP stills, in everyday light."""
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        page = render_text_page(seed + i, size="A4", lang="fr")
        defects = Defects(noise_sigma=float(rng.uniform(1, 3)),
                          gradient=float(rng.uniform(0, 0.4)),
                          blur_sigma=float(rng.uniform(0, 1.0)),
                          tilt_deg=float(rng.uniform(0, 6)))
        frame, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                    page_size_mm=(210.0, 297.0))
        yield SimFrame(f"text#{seed + i}", frame, corners, (210.0, 297.0), "text")


@dataclass(frozen=True, eq=False)
class SmartDocFrame:
    name: str
    frame: Image
    corners: npt.NDArray[np.float32]      # tl, tr, br, bl (the CSV's order is tl, bl, br, tr)


def read_smartdoc(folder: Path) -> list[SmartDocFrame]:
    """The frames of the SmartDoc 2015 sample (``data/pages-smartdoc``) with their true corners.

    Raises FileNotFoundError when the folder, its ground truth or a frame is missing.
    """
    with (folder / "ground_truth.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    frames = []
    for row in rows:
        name = row["image_path"].replace("/", "_")
        image = cv2.imread(str(folder / name))
        if image is None:
            raise FileNotFoundError(f"{folder / name} is missing or unreadable")
        truth = np.array([[float(row[f"{k}_x"]), float(row[f"{k}_y"])]
                          for k in ("tl", "tr", "br", "bl")], np.float32)
        frames.append(SmartDocFrame(name, np.asarray(image, dtype=np.uint8), truth))
    return frames
