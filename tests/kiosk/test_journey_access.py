"""The journey's accessibility rules: settings, double-tap guard, touches, slow timings."""

# mypy keeps what an assert narrowed d.state's fields to across d.tap() (see test_journey.py):
# later checks of the same field look unreachable to it.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

import pytest

from kiosk.access import SLOW_FACTOR, Access, Setting
from kiosk.journey import (
    Action,
    Activity,
    AgentSeen,
    CallAgent,
    Contact,
    Overlay,
    Step,
    Touched,
    WipeDone,
)
from tests.kiosk.test_journey import TIMEOUTS, Driver


def test_a_tap_within_the_input_guard_after_a_screen_change_is_ignored() -> None:
    d = Driver(input_guard=0.5)
    d.tap(Action.START)
    assert d.state.step is Step.WELCOME         # the welcome screen itself just appeared
    d.now += 0.5
    d.tap(Action.START)
    assert d.state.step is Step.PROCEDURE
    d.now += 0.1                                 # the second tap of a double tap
    d.tap(Action.BACK)
    assert d.state.step is Step.PROCEDURE
    d.now += 0.4
    d.tap(Action.BACK)
    assert d.state.step is Step.WELCOME


@pytest.mark.parametrize("screen", ["review", "contact", "confirm"])
def test_two_taps_100_ms_apart_never_skip_a_screen(screen: str) -> None:
    """Review → Contact → Confirm → Send all sit on the same spot: a double tap moves one."""
    d = Driver()
    d.to_review()
    d.journey.input_guard = 0.5
    d.now += 1
    if screen in ("contact", "confirm"):
        d.tap(Action.CONTINUE)
        d.now += 1
    if screen == "confirm":
        d.tap(Action.CONTINUE, Contact())
        d.now += 1
    before = d.state.step
    action, arg = {Step.REVIEW: (Action.CONTINUE, None), Step.CONTACT:
                   (Action.CONTINUE, Contact()), Step.CONFIRM: (Action.SEND, None)}[before]
    d.tap(action, arg)
    after = d.state.step
    assert after is not before
    d.now += 0.1
    d.tap(Action.CONTINUE, Contact())
    d.tap(Action.SEND)
    assert d.state.step is after


def test_slow_timings_lengthen_the_guard_and_every_time_limit() -> None:
    d = Driver(input_guard=0.5)
    d.now += 1
    d.tap(Action.ACCESSIBILITY)
    d.now += 1
    d.tap(Action.TOGGLE, Setting.SLOW)
    d.now += 1
    d.tap(Action.CLOSE)
    d.now += 1
    d.tap(Action.START)                          # 1 s after the dialog closed: too soon
    assert d.state.step is Step.WELCOME
    d.now += 0.5
    d.tap(Action.START)
    assert d.journey.guard(d.state) == pytest.approx(0.5 * SLOW_FACTOR)
    assert d.journey.timeout_for(d.state) == pytest.approx(TIMEOUTS.inactivity * SLOW_FACTOR)
    d.wait(TIMEOUTS.inactivity)
    assert d.state.step is Step.PROCEDURE and d.state.overlay is None


def test_settings_change_without_leaving_the_screen_and_the_wipe_resets_them() -> None:
    d = Driver()
    d.tap(Action.START)
    d.tap(Action.ACCESSIBILITY)
    assert d.state.overlay is Overlay.ACCESS
    d.tap(Action.TOGGLE, Setting.LARGE_TEXT)
    d.tap(Action.TOGGLE, Setting.HIGH_CONTRAST)
    d.tap(Action.START)                          # nothing behind the dialog acts
    assert d.state.step is Step.PROCEDURE
    d.tap(Action.CLOSE)
    assert d.state.access == Access(large_text=True, high_contrast=True)
    d.tap(Action.CANCEL)
    d.tap(Action.CANCEL_CONFIRM)
    assert d.state.step is Step.WIPE and d.state.access.large_text   # the goodbye stays large
    d.send(WipeDone())
    assert d.state.access == Access()


def test_a_changed_setting_at_welcome_starts_the_timer_so_the_next_citizen_gets_defaults() -> None:
    d = Driver()
    d.tap(Action.ACCESSIBILITY)
    d.tap(Action.TOGGLE, Setting.LOWERED)
    d.tap(Action.CLOSE)
    d.wait(TIMEOUTS.inactivity)
    assert d.state.step is Step.WIPE
    d.send(WipeDone())
    assert d.state.access == Access()


def test_the_audio_mode_speaks_and_the_blank_screen_needs_the_audio_mode() -> None:
    access = Access().with_setting(Setting.SCREEN_OFF, True)
    assert access.audio and access.speech and access.screen_off
    access = access.with_setting(Setting.AUDIO, False)
    assert not access.screen_off and access.speech
    assert not Access(audio=True, speech=True).with_setting(Setting.SPEECH, False).audio


def test_the_language_list_closes_when_a_language_is_chosen() -> None:
    d = Driver(languages=("fr", "en", "es"))
    d.tap(Action.LANGUAGES)
    assert d.state.overlay is Overlay.LANGUAGE
    d.tap(Action.LANGUAGE, "es")
    assert d.state.language == "es" and d.state.overlay is None


def test_any_touch_answers_the_end_of_session_warning_but_the_camera_does_not() -> None:
    d = Driver()
    d.tap(Action.START)
    d.wait(TIMEOUTS.inactivity - TIMEOUTS.warning)
    assert d.state.overlay is Overlay.TIMEOUT
    d.send(Activity())
    assert d.state.overlay is Overlay.TIMEOUT
    d.send(Touched())
    assert d.state.overlay is None and d.state.last_activity == d.now


def test_an_agent_call_works_in_every_dialog_and_its_acknowledgement_shows() -> None:
    d = Driver()
    d.tap(Action.START)
    for opener in (Action.HELP, Action.CANCEL, Action.ACCESSIBILITY, Action.LANGUAGES):
        d.tap(opener)
        assert d.state.overlay is not None
        assert d.tap(Action.CALL_AGENT) == (CallAgent(Step.PROCEDURE),)
        d.tap(Action.CLOSE if d.state.overlay is not Overlay.CANCEL else Action.CANCEL_ABORT)
        assert d.state.overlay is None
    assert d.state.agent_called and not d.state.agent_seen
    d.send(AgentSeen())
    assert d.state.agent_seen


def test_an_acknowledgement_without_a_call_in_this_session_shows_nothing() -> None:
    d = Driver()
    d.send(AgentSeen())
    assert not d.state.agent_seen
