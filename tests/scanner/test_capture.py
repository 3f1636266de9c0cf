"""Automatic capture, driven by an injected clock on simulated preview frames."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.camera.synth import Defects, Placement, render_text_page, synthesize
from scanner import AutoCapture, CaptureState, Reason, ReasonCode

PAGE = render_text_page(2)


def frame_at(x_mm: float = 0.0, *, defects: Defects | None = None) -> np.ndarray:
    """The same page on the same tray, its centre ``x_mm`` right of the middle."""
    frame, _ = synthesize(PAGE, np.random.default_rng(6), defects=defects,
                          placement=Placement(offset_mm=(x_mm, 0.0), rotation_deg=1.5))
    return frame


@pytest.fixture(scope="module")
def still() -> np.ndarray:
    return frame_at()


def test_auto_capture_waits_for_the_hold_time_then_captures_once(still) -> None:
    auto = AutoCapture(hold_s=0.5, rearm_s=0.3)
    events = [auto.feed(still, t) for t in (0.0, 0.2, 0.4)]
    assert events == [None, None, None]
    assert auto.guidance.state is CaptureState.STEADY and 0.3 < auto.guidance.progress < 1
    event = auto.feed(still, 0.6)
    assert event is not None and event.at == 0.6 and event.verdict.ok
    assert event.frame is still and event.corners.shape == (4, 2)
    assert auto.feed(still, 0.8) is None and auto.feed(still, 2.0) is None   # not twice
    # mypy keeps the assert's narrowing of auto.guidance.state across feed(), which replaces
    # it: it takes the next check for always false and what follows for unreachable.
    assert auto.guidance.state is CaptureState.CAPTURED  # type: ignore[comparison-overlap]
    empty = np.full_like(still, 80)  # type: ignore[unreachable]
    assert auto.feed(empty, 2.1) is None and auto.feed(empty, 2.5) is None   # page taken away
    assert auto.feed(still, 2.6) is None
    assert auto.feed(still, 3.2) is not None                                 # the next page


def test_a_page_sliding_on_the_tray_is_taken_only_once_it_has_stopped(still) -> None:
    auto = AutoCapture(hold_s=0.4)
    t = 0.0
    for x in (-60.0, -45.0, -30.0, -15.0):         # 15 mm between frames: moving
        assert auto.feed(frame_at(x), t) is None
        t += 0.1
    assert auto.guidance.state is CaptureState.SEARCHING
    assert ReasonCode.MOVING in {r.code for r in auto.guidance.reasons}
    taken = [t + 0.1 * k for k in range(8) if auto.feed(still, t + 0.1 * k) is not None]
    # the first still frame only starts the hold (its predecessor had moved)
    assert len(taken) == 1 and taken[0] >= t + 0.1 + 0.4 - 1e-9


def test_auto_capture_does_not_take_a_blurred_page() -> None:
    blurred = frame_at(defects=Defects(blur_sigma=4))
    auto = AutoCapture(hold_s=0.2)
    assert all(auto.feed(blurred, t / 10) is None for t in range(10))
    assert auto.guidance.state is CaptureState.SEARCHING
    assert {r.code for r in auto.guidance.reasons} == {ReasonCode.BLURRED}


def test_a_clock_set_back_restarts_the_hold_instead_of_capturing(still) -> None:
    auto = AutoCapture(hold_s=0.5)
    assert auto.feed(still, 100.0) is None
    assert auto.feed(still, 10.0) is None           # the clock went back: hold starts again
    assert auto.feed(still, 10.3) is None
    assert auto.feed(still, 10.5) is not None


def test_reset_forgets_a_capture_so_the_same_page_can_be_retaken(still) -> None:
    auto = AutoCapture(hold_s=0.0)
    assert auto.feed(still, 0.0) is not None
    assert auto.feed(still, 0.1) is None
    auto.reset()
    assert auto.guidance.state is CaptureState.SEARCHING
    assert auto.feed(still, 0.2) is not None



def test_a_refused_still_is_taken_again_once_the_page_is_nudged_not_said_already_taken(
        still) -> None:
    nudged = frame_at(30.0)                 # 30 mm aside: about 4 % of the frame's diagonal
    for refused in (False, True):
        auto = AutoCapture(hold_s=0.0)
        assert auto.feed(still, 0.0) is not None
        if refused:
            auto.refused([Reason.of(ReasonCode.CUT_OFF)])
        assert auto.feed(still, 0.1) is None            # not moved: never taken twice
        if refused:
            assert auto.guidance.state is CaptureState.SEARCHING
            assert [r.code for r in auto.guidance.reasons] == [ReasonCode.CUT_OFF]
        else:
            assert auto.guidance.state is CaptureState.CAPTURED
        taken = [t for t in (0.2, 0.3, 0.4) if auto.feed(nudged, t) is not None]
        # a page already taken must move far or go away; a refused one, only be adjusted
        assert len(taken) == (1 if refused else 0)


def test_durations_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        AutoCapture(hold_s=-1)
