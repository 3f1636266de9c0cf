"""The citizen's accessibility settings: what the accessibility button turns on and off.

EN 301 549 5.2 asks that an accessibility mode can be turned on without
already needing it: the settings live in the journey's state (so the wipe
resets them for the next citizen, with the language) and one button on every
screen opens them. Each setting is one :class:`Setting` value, the argument
of ``Tap(Action.TOGGLE, Setting.LARGE_TEXT)``; nothing here imports Kivy.

- ``LARGE_TEXT``: every text the citizen must read at 0.7 degree or more at the
  stated viewing distance (EN 301 549 5.1.4); see :mod:`kiosk.theme`.
- ``HIGH_CONTRAST``: white and yellow on black.
- ``LOWERED``: every control of the journey in the lower part of the panel, within
  reach from a wheelchair (EN 301 549 8.3.2.x: 380 to 1220 mm from the floor for
  the mounting height in ``[ui] panel_bottom_mm``).
- ``SLOW``: every time limit multiplied by :data:`SLOW_FACTOR` (5.1.3 and WCAG 2.2.1:
  adjust time limits), the input guard after a screen change lengthened.
- ``SPEECH``: the screen is read aloud (5.1.3). Turned on by the keypad's first
  key, by a headset plugged in, or here.
- ``AUDIO``: the audio-tactile mode (5.1.6.1): the keypad moves a spoken focus.
- ``SCREEN_OFF``: the screen is blanked while the audio-tactile mode is on, so
  that nobody reads over a blind citizen's shoulder (as at a cash machine).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from kiosk.i18n import N_

#: Every time limit is multiplied by this in the SLOW mode: WCAG 2.2.1 asks that the
#: user can extend a limit to at least ten times its default; three times, plus "I need
#: more time" as often as wanted, does so without leaving a session open for an hour.
SLOW_FACTOR = 3.0


class Setting(StrEnum):
    LARGE_TEXT = "large_text"
    HIGH_CONTRAST = "high_contrast"
    LOWERED = "lowered"
    SLOW = "slow"
    SPEECH = "speech"
    AUDIO = "audio"
    SCREEN_OFF = "screen_off"


#: The label of each setting in the accessibility dialog, in this order.
SETTING_LABELS: dict[Setting, str] = {
    Setting.LARGE_TEXT: N_("Large text"),
    Setting.HIGH_CONTRAST: N_("High contrast"),
    Setting.LOWERED: N_("Lowered screen (wheelchair)"),
    Setting.SLOW: N_("More time"),
    Setting.SPEECH: N_("Read aloud"),
    Setting.AUDIO: N_("Keypad and voice guidance"),
    Setting.SCREEN_OFF: N_("Blank the screen"),
}


@dataclass(frozen=True)
class Access:
    """The settings of one session (the defaults are the kiosk's configuration)."""

    large_text: bool = False
    high_contrast: bool = False
    lowered: bool = False
    slow: bool = False
    speech: bool = False
    audio: bool = False
    screen_off: bool = False

    def get(self, setting: Setting) -> bool:
        value: bool = getattr(self, setting.value)
        return value

    def toggled(self, setting: Setting) -> Access:
        return self.with_setting(setting, not self.get(setting))

    def with_setting(self, setting: Setting, on: bool) -> Access:
        """The settings with one changed, keeping them consistent: the audio mode speaks,
        and the screen is blanked only while the audio mode guides the citizen."""
        changed = replace(self, **{setting.value: on})
        if setting is Setting.AUDIO and on:
            changed = replace(changed, speech=True)
        if setting is Setting.AUDIO and not on:
            changed = replace(changed, screen_off=False)
        if setting is Setting.SPEECH and not on:
            changed = replace(changed, audio=False, screen_off=False)
        if setting is Setting.SCREEN_OFF and on and not changed.audio:
            changed = replace(changed, audio=True, speech=True)
        return changed

    @property
    def time_factor(self) -> float:
        return SLOW_FACTOR if self.slow else 1.0
