"""The page pipeline on numpy images: detect, rectify, enhance, assess, compress.

No Kivy, no devices: frames come in as arrays, pages go out as arrays and bytes.

    corners = detect(frame)                     # or detect_live(frame) for the preview
    page = rectify(frame, corners)              # real proportions, 200 dpi (300 for ID-1)
    verdict = assess(page, corners, frame)      # .ok, .reasons (codes + messages)
    encoded = compress(enhance(page))           # G4 for text, JPEG for colour

``process_still`` runs all of it on a captured still; it looks for the page on
a copy of the still reduced to ``DETECT_MAX_SIDE`` (``detect_reduced``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from scanner.capture import AutoCapture, CaptureEvent, CaptureState, Guidance
from scanner.compress import compress
from scanner.detect import detect, detect_live
from scanner.enhance import enhance
from scanner.errors import BadImageError, EncodeError, ScannerError
from scanner.geometry import Quad
from scanner.page import (
    FORMATS,
    MESSAGES,
    EncodedPage,
    Image,
    Page,
    PageContent,
    PaperFormat,
    Reason,
    ReasonCode,
    Verdict,
)
from scanner.quality import QualityThresholds, assess
from scanner.rectify import rectify


@dataclass(frozen=True, eq=False)
class StillResult:
    """What the pipeline makes of one captured still."""

    corners: Quad | None
    verdict: Verdict
    page: Page | None           # enhanced page, None when no page was found
    encoded: EncodedPage | None


#: Longest side at which a still is searched for its page. The corners found on a 12 MP
#: still reduced to 2000 px lie within 0.1-0.3 px of those found on the full still
#: (benchmarks: 3 simulated stills), in half the time.
DETECT_MAX_SIDE = 2000


def detect_reduced(frame: Image, max_side: int = DETECT_MAX_SIDE) -> Quad | None:
    """:func:`detect` on ``frame`` reduced by a whole factor to at most ``max_side``.

    The corners are returned in ``frame``'s pixels (pixel centres at integers:
    a block of k pixels is centred on k i + (k - 1) / 2).
    """
    h, w = frame.shape[:2]
    k = math.ceil(max(h, w) / max_side)
    if k <= 1:
        return detect(frame)
    small = cv2.resize(frame[: h // k * k, : w // k * k], (w // k, h // k),
                       interpolation=cv2.INTER_AREA)
    found = detect(np.asarray(small, dtype=np.uint8))
    return None if found is None else np.asarray((found + 0.5) * k - 0.5, dtype=np.float32)


def process_still(frame: Image, *, corners: Quad | None = None,
                  previous: Quad | None = None) -> StillResult:
    """Detect (unless ``corners`` are given), rectify, judge, enhance and compress a still."""
    found = detect_reduced(frame) if corners is None else corners
    if found is None:
        return StillResult(None, assess(None, None, frame), None, None)
    page = rectify(frame, found)
    verdict = assess(page, found, frame, previous=previous)
    clean = enhance(page)
    return StillResult(found, verdict, clean, compress(clean))


__all__ = [
    "DETECT_MAX_SIDE",
    "FORMATS",
    "MESSAGES",
    "AutoCapture",
    "BadImageError",
    "CaptureEvent",
    "CaptureState",
    "EncodeError",
    "EncodedPage",
    "Guidance",
    "Image",
    "Page",
    "PageContent",
    "PaperFormat",
    "Quad",
    "QualityThresholds",
    "Reason",
    "ReasonCode",
    "ScannerError",
    "StillResult",
    "Verdict",
    "assess",
    "compress",
    "detect",
    "detect_live",
    "detect_reduced",
    "enhance",
    "process_still",
    "rectify",
]
