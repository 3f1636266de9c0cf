"""Quality verdicts on simulated frames with known defects, and automatic capture."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scanner_corpus import EXPECTED_CODES, defect_corpus
from drivers.camera.synth import Defects, render_text_page, synthesize
from scanner import AutoCapture, CaptureState, ReasonCode, assess, detect, rectify
from scanner.page import MESSAGES


def codes(frame: np.ndarray) -> set[str]:
    corners = detect(frame)
    if corners is None:
        return {"no_page"}
    return {r.code.value for r in assess(rectify(frame, corners), corners, frame).reasons}


@pytest.mark.slow
@pytest.mark.parametrize("kind", [
    pytest.param(k, marks=pytest.mark.xfail(reason="recall below target, see docs/scanner.md",
                                            strict=False))
    if k in ("blur", "motion", "cut") else k
    for k in ("blur", "motion", "glare", "darkness", "overexposure", "cut", "small")])
def test_each_simulated_defect_is_flagged_with_its_reason(kind: str) -> None:
    frames = list(defect_corpus(2, 0, seed=41000, kinds=(kind,)))
    for f in frames:
        if f.kind == "colour":
            continue
        found = codes(f.frame)
        assert found & EXPECTED_CODES[kind], (f.name, f.strength, found)


@pytest.mark.slow
def test_clean_frames_pass() -> None:
    frames = [f for f in defect_corpus(0, 6, seed=42000) if f.kind == "text"]
    flagged = [(f.name, codes(f.frame)) for f in frames]
    assert sum(bool(c) for _, c in flagged) <= 1, flagged


def test_every_reason_has_a_message_for_the_citizen() -> None:
    assert set(MESSAGES) == set(ReasonCode)
    assert all(m.endswith(".") for m in MESSAGES.values())


def test_no_page_is_a_reason_not_an_error() -> None:
    verdict = assess(None, None, np.zeros((100, 100, 3), np.uint8))
    assert not verdict.ok and verdict.codes == {ReasonCode.NO_PAGE}


def test_a_page_that_moved_since_the_previous_frame_is_moving() -> None:
    frame, corners = synthesize(render_text_page(1), np.random.default_rng(5))
    page = rectify(frame, corners)
    verdict = assess(page, corners, frame, previous=corners + 25)
    assert ReasonCode.MOVING in verdict.codes


def test_auto_capture_waits_for_the_hold_time_then_captures_once() -> None:
    frame, _ = synthesize(render_text_page(2), np.random.default_rng(6))
    auto = AutoCapture(hold_s=0.5, rearm_s=0.3)
    events = [auto.feed(frame, t) for t in (0.0, 0.2, 0.4)]
    assert events == [None, None, None]
    assert auto.guidance.state is CaptureState.STEADY and 0.3 < auto.guidance.progress < 1
    event = auto.feed(frame, 0.6)
    assert event is not None and event.at == 0.6 and event.verdict.ok
    assert auto.feed(frame, 0.8) is None and auto.feed(frame, 2.0) is None   # not twice
    empty = np.full_like(frame, 80)
    assert auto.feed(empty, 2.1) is None and auto.feed(empty, 2.5) is None   # page taken away
    assert auto.feed(frame, 2.6) is None
    assert auto.feed(frame, 3.2) is not None                                 # the next page


def test_auto_capture_does_not_take_a_blurred_page() -> None:
    frame, _ = synthesize(render_text_page(3), np.random.default_rng(7),
                          defects=Defects(blur_sigma=4))
    auto = AutoCapture(hold_s=0.2)
    assert all(auto.feed(frame, t / 10) is None for t in range(10))
    assert auto.guidance.state is CaptureState.SEARCHING
