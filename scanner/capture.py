"""Automatic capture: take the page once it has stayed still and acceptable for a while.

The kiosk feeds every preview frame with the time it was read; the clock is
the caller's, so tests drive time. Each frame is searched with the live
detector and judged on what a preview frame can tell (page found, whole, near,
flat, still, sharp, lit); when that has held for ``hold_s`` seconds a
``CaptureEvent`` is returned, once. After a capture the page must be taken
away (no page for ``rearm_s``) or moved a lot before another one is taken,
so one sheet is never captured twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from scanner.detect import detect_live
from scanner.geometry import Quad
from scanner.page import Image, PageContent, Reason, ReasonCode, Verdict
from scanner.quality import DEFAULT_THRESHOLDS, QualityThresholds, assess
from scanner.rectify import rectify
from scanner.trayprior import TrayPrior


class CaptureState(StrEnum):
    SEARCHING = "searching"      # no page, or not an acceptable one
    STEADY = "steady"            # acceptable and still; the hold time runs
    CAPTURED = "captured"        # taken; waiting for the page to go


@dataclass(frozen=True, eq=False)
class CaptureEvent:
    """The page was taken: the frame, its corners and the verdict on it."""

    frame: Image
    corners: Quad
    verdict: Verdict
    at: float


@dataclass(frozen=True)
class Guidance:
    """What the preview shows after each frame: the outline, the state, what is wrong."""

    state: CaptureState
    corners: Quad | None
    reasons: tuple[Reason, ...]
    progress: float              # 0..1 of the hold time


#: How far (share of the frame's diagonal) a page whose still was refused must move to be
#: taken again: well above the live corners' jitter (a few pixels), below a citizen's nudge.
#: Set by hand in 6822326, no sweep recorded.
REFUSED_TRAVEL = 0.02
#: How far a page already captured must move to count as another page (or the same one put
#: back): a tenth of the diagonal, far beyond a nudge. Set by hand in cfbb126, no sweep recorded.
MOVED_AWAY = 0.1


class AutoCapture:
    """Feed it frames; it answers with a CaptureEvent when the page is to be taken."""

    # hold_s and rearm_s: set by hand in cfbb126 (the first auto-capture), no sweep recorded
    def __init__(self, *, hold_s: float = 0.8, rearm_s: float = 1.0,
                 thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
                 preview_dpi: float | None = None, tray: TrayPrior | None = None) -> None:
        """``preview_dpi``: the page is rectified at this resolution to be judged; by
        default the scale at which sharpness is measured, so no resampling is needed.
        ``tray``: the recorded empty tray, the detector's prior (scanner/trayprior.py); it
        may be set or replaced later (the service mode records it)."""
        self.tray = tray
        if hold_s < 0 or rearm_s < 0:
            raise ValueError("hold_s and rearm_s are durations and cannot be negative")
        self.hold_s = hold_s
        self.rearm_s = rearm_s
        self.thresholds = thresholds
        self.preview_dpi = thresholds.sharpness_dpi if preview_dpi is None else preview_dpi
        self.reset()

    def reset(self) -> None:
        """Forget every frame seen (a new document, a retake)."""
        self._previous: Quad | None = None
        self._steady_since: float | None = None
        self._captured_at: Quad | None = None
        self._absent_since: float | None = None
        self._refused: tuple[Reason, ...] | None = None
        self.guidance = Guidance(CaptureState.SEARCHING, None, (), 0.0)

    def refused(self, reasons: Sequence[Reason] = ()) -> None:
        """The still of the last capture was refused (``reasons``: its verdict's).

        The page is taken again as soon as it moves a little (``REFUSED_TRAVEL``: the
        citizen adjusting it as told) or goes away, not only after the large move or the
        removal that a page already taken needs; meanwhile the guidance carries those
        reasons instead of "captured" (which says "this page is already taken").
        """
        if self._captured_at is not None:
            self._refused = tuple(reasons)

    def feed(self, frame: Image, now: float) -> CaptureEvent | None:
        corners = detect_live(frame, self.tray)
        previous, self._previous = self._previous, corners
        if corners is None:
            self._steady_since = None
            if self._absent_since is None:
                self._absent_since = now
            if self._captured_at is not None and now - self._absent_since >= self.rearm_s:
                self._captured_at = None            # the page went away: ready for the next
                self._refused = None
            state = CaptureState.CAPTURED if self._captured_at is not None \
                and self._refused is None else CaptureState.SEARCHING
            self.guidance = Guidance(state, None, (Reason.of(ReasonCode.NO_PAGE),), 0.0)
            return None
        self._absent_since = None
        if self._captured_at is not None:
            moved = _travel(self._captured_at, corners, frame)
            if self._refused is not None and moved < REFUSED_TRAVEL:
                self.guidance = Guidance(CaptureState.SEARCHING, corners, self._refused, 0.0)
                return None
            if self._refused is None and moved < MOVED_AWAY:
                self.guidance = Guidance(CaptureState.CAPTURED, corners, (), 1.0)
                return None
            self._captured_at = None                # another page, or the same one moved away
            self._refused = None
        # judged in grey (no colour figure): no classification, one channel warped
        page = rectify(frame, corners, dpi=self.preview_dpi, content=PageContent.TEXT)
        verdict = assess(page, corners, frame, previous=previous, thresholds=self.thresholds)
        if not verdict.ok:
            self._steady_since = None
            self.guidance = Guidance(CaptureState.SEARCHING, corners, tuple(verdict.reasons), 0.0)
            return None
        if self._steady_since is None or now < self._steady_since:   # (a clock set back)
            self._steady_since = now
        held = now - self._steady_since
        progress = 1.0 if self.hold_s == 0 else min(1.0, held / self.hold_s)  # (a share, 0..1)
        if held < self.hold_s:
            self.guidance = Guidance(CaptureState.STEADY, corners, (), progress)
            return None
        self._captured_at = corners
        self._steady_since = None
        self.guidance = Guidance(CaptureState.CAPTURED, corners, (), 1.0)
        return CaptureEvent(frame=frame, corners=corners, verdict=verdict, at=now)


def _travel(a: Quad, b: Quad, frame: Image) -> float:
    """Largest corner displacement between two quads, as a fraction of the frame's diagonal."""
    h, w = frame.shape[:2]
    return float(np.max(np.linalg.norm(a - b, axis=1)) / np.hypot(w, h))
