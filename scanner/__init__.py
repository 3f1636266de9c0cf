"""The page pipeline on numpy images: detect, rectify, enhance, assess, compress.

No Kivy, no devices: frames come in as arrays, pages go out as arrays and bytes.

    corners = detect(frame)                     # or detect_live(frame) for the preview
    page = rectify(frame, corners)              # real proportions, 200 dpi (300 for ID-1)
    verdict = assess(page, corners, frame)      # .ok, .reasons (codes + messages)
    encoded = compress(enhance(page))           # G4 for text, JPEG for colour

``process_still`` runs all of it on a captured still (scanner/still.py): the
page is found there by the live detector on a reduced copy of the still (or
from the preview's corners, ``hint=``), refined on the still, and looked for
by the precise detector only when that result is in doubt.
"""

from __future__ import annotations

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
from scanner.still import (
    DETECT_MAX_SIDE,
    Located,
    StillResult,
    detect_reduced,
    locate,
    process_still,
    scale_corners,
)

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
    "Located",
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
    "locate",
    "process_still",
    "rectify",
    "scale_corners",
]
