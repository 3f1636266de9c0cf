"""The page pipeline on numpy images: detect, rectify, enhance, assess, compress.

No Kivy, no devices: frames come in as arrays, pages go out as arrays and bytes.

    corners = detect(frame)                     # or detect_live(frame) for the preview
    page = rectify(frame, corners)              # real proportions, 200 dpi (300 for ID-1)
    verdict = assess(page, corners, frame)      # .ok, .reasons (codes + messages)
    encoded = compress(enhance(page))           # G4 for text, JPEG for colour

``process_still`` runs all of it on a captured still.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def process_still(frame: Image, *, corners: Quad | None = None,
                  previous: Quad | None = None) -> StillResult:
    """Detect (unless ``corners`` are given), rectify, judge, enhance and compress a still."""
    found = detect(frame) if corners is None else corners
    if found is None:
        return StillResult(None, assess(None, None, frame), None, None)
    page = rectify(frame, found)
    verdict = assess(page, found, frame, previous=previous)
    clean = enhance(page)
    return StillResult(found, verdict, clean, compress(clean))


__all__ = [
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
    "enhance",
    "process_still",
    "rectify",
]
