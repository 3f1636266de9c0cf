"""Kiosk frames with their empty tray, for the tray prior's benchmark and tests.

Why a module: the prior (scanner/trayprior.py) needs, beside each frame, the
tray as it was before the page was laid on it, which the detection corpus
does not keep. This module gives both, for the corpus's own kiosk frames and
for identity cards on a cluttered tray.

The empty tray of a frame is the same scene without the page
(:func:`drivers.camera.synth.empty_tray` from the generator's state at the
frame's ``synthesize`` call: the draws of ``devtools.detection_corpus`` are
replayed here and the frame checked against the corpus's, byte for byte),
recorded as a technician would: the median of ``TRAY_FRAMES`` frames each
with its own sensor noise (the frame's noise level); and the light has
drifted since (the camera's auto-exposure): a gain of ``1 +- GAIN_DRIFT``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from devtools.detection_corpus import A4_MM, ALL_CATEGORIES, HardFrame, _letter, make_frame
from drivers.camera.synth import Defects, empty_tray, sample_pages, synthesize
from scanner.trayprior import TrayPrior, median_frame

CLUTTERED_CARD = "id_card_cluttered"
CATEGORIES = ("kiosk", "id_card", CLUTTERED_CARD)
#: Frames the empty tray is the median of, and the exposure's drift since it was recorded.
TRAY_FRAMES = 5
GAIN_DRIFT = 0.06


def kiosk_scene(category: str, seed: int, frame_size: tuple[int, int] = (1920, 1080)
                ) -> tuple[HardFrame, TrayPrior]:
    """The frame of ``category`` and ``seed``, and its recorded empty tray.

    ``kiosk`` and ``id_card`` are the corpus's frames: the draws of
    ``devtools.detection_corpus`` are replayed up to its ``synthesize`` call,
    and RuntimeError raised when the replay no longer gives the corpus's frame.
    ``id_card_cluttered`` is ``id_card`` on a tray with clutter, which the
    corpus leaves out because a whole sheet of paper may lie in plain view
    beside the card (which one is the document is then a matter of opinion for
    the detector; the empty tray settles it: the sheet was there before).
    """
    rng = np.random.default_rng(seed)
    if category == "kiosk":
        samples = [s for s in sample_pages() if s.kind == "text"]
        k = int(rng.integers(0, len(samples) + 1))
        page = samples[k].image if k < len(samples) else _letter(int(rng.integers(0, 6)))
        defects = Defects(noise_sigma=float(rng.uniform(1, 5)),
                          gradient=float(rng.uniform(0, 0.6)),
                          blur_sigma=float(rng.uniform(0, 1.2)),
                          tilt_deg=float(rng.uniform(0, 15)),
                          scale=float(np.exp(rng.uniform(-0.3, 0.2))),
                          hand=bool(rng.random() < 0.5), clutter=True,
                          motion_px=float(rng.uniform(0, 8)),
                          motion_angle_deg=float(rng.uniform(0, 180)))
        size_mm = A4_MM
    elif category in ("id_card", CLUTTERED_CARD):
        card = next(s for s in sample_pages() if s.name == "identity-card")
        page, size_mm = card.bgra(), card.size_mm
        defects = Defects(noise_sigma=float(rng.uniform(1, 4)),
                          gradient=float(rng.uniform(0, 0.4)),
                          blur_sigma=float(rng.uniform(0, 0.8)),
                          tilt_deg=float(rng.uniform(0, 10)),
                          scale=float(np.exp(rng.uniform(-0.3, 0.3))),
                          clutter=category == CLUTTERED_CARD)
    else:
        raise ValueError(f"no empty tray for category {category!r} (valid: "
                         f"{', '.join(CATEGORIES)})")
    state = rng.bit_generator.state
    image, corners = synthesize(page, rng, frame_size=frame_size, defects=defects,
                                page_size_mm=size_mm)
    frame = HardFrame(f"{category}#{seed}", category, image, corners, size_mm)
    if category != CLUTTERED_CARD:
        corpus = make_frame(category, seed, frame_size)
        if not np.array_equal(corpus.frame, image):
            raise RuntimeError(f"{frame.name}: devtools.detection_corpus no longer makes its "
                               f"frames as bench_trayprior replays them; update kiosk_scene")
    rng.bit_generator.state = state
    quiet = replace(defects, noise_sigma=0.0)
    clean = empty_tray(rng, frame_size=frame_size, defects=quiet, page_size_mm=size_mm)
    own = np.random.default_rng(seed + 7)
    gain = 1.0 + float(own.uniform(-GAIN_DRIFT, GAIN_DRIFT))
    shots = []
    for _ in range(TRAY_FRAMES):
        noise = own.standard_normal(clean.shape, dtype=np.float32) * defects.noise_sigma
        shots.append(np.asarray(np.clip(clean * np.float32(gain) + noise + 0.5, 0, 255),
                                np.uint8))
    tray, _ = median_frame(shots)
    return frame, TrayPrior(tray)


def seed_of(base: int, category: str, i: int) -> int:
    """The corpus's numbering (frame i of category c: base + 1000 c + i); the cluttered cards
    come after the corpus's categories."""
    c = len(ALL_CATEGORIES) if category == CLUTTERED_CARD else ALL_CATEGORIES.index(category)
    return base + 1000 * c + i
