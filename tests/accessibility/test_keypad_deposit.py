"""A deposit without sight: the keypad alone, the screen blanked, every step spoken.

The citizen here hears and presses keys: each key goes through the window as a
real keypad's would (``on_key_down``); the focus is moved until it rests on the
control wanted (a person listens for its name; the test reads which control it
is, then checks the name was spoken). Only the pages are handled physically, on
the simulated camera tray. Speech goes through espeak-ng into the recording
sink (``[speech] record_dir``): a WAV and its text per utterance.
"""

# mypy keeps what an assert narrowed driver.state's step to across key presses and taps.
# mypy: disable-error-code="comparison-overlap,unreachable"

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deposit.ids import DepositId
from devtools.citizen import Citizen, UiError
from kiosk.access import Setting
from kiosk.journey import Overlay, ReceiptPhase, Step
from kiosk.speech import Speaker
from printer.speech import spell_deposit_id

pytestmark = pytest.mark.skipif(not Path("/usr/bin/espeak-ng").exists(),
                                reason="espeak-ng is not installed (Debian package espeak-ng)")

NEXT, ACTIVATE = ord("8"), ord("5")
#: The quietest speech measured at the lowest volume had an RMS of 462 (tests/accessibility/
#: test_speech.py); silence is 0. Anything above 200 is speech.
SPEECH_RMS = 200


class Keypad:
    def __init__(self, kiosk: Any) -> None:
        self.kiosk = kiosk
        self.driver = kiosk.driver
        self.guide = kiosk.app.guide
        self.presses = 0

    def press(self, code: int) -> None:
        from kivy.core.window import Window

        self.driver.wait_for_input()
        Window.dispatch("on_key_down", code, 0, None, [])
        Window.dispatch("on_key_up", code, 0)
        self.presses += 1
        self.driver.idle(3)

    def focus(self, action: str, arg: Any = None, limit: int = 60) -> str:
        """Press 8 until the focus rests on the control of ``action`` (and ``arg``); returns
        what the focus said."""
        self.driver.idle(6)                      # the new screen's controls are laid out
        for _ in range(limit):
            self.press(NEXT)
            widget = self.guide.ring.widget
            if widget is not None and getattr(widget, "action", None) == action and \
                    (arg is None or widget.arg == arg):
                return str(self.guide.spoken_focus(widget))
        raise UiError(f"the focus never reached {action!r} {arg!r}; the screen says:\n"
                      f"{self.driver.describe()}")

    def choose(self, action: str, arg: Any = None) -> str:
        said = self.focus(action, arg)
        self.press(ACTIVATE)
        return said


def rms(path: Path) -> float:
    with wave.open(str(path)) as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def spoken(folder: Path) -> list[tuple[str, str, float]]:
    """(language, text, RMS) of every utterance recorded, in order."""
    found = []
    for txt in sorted(folder.glob("[0-9][0-9][0-9].txt")):
        language, _, text = txt.read_text(encoding="utf-8").partition("\n")
        found.append((language, text.strip(), rms(txt.with_suffix(".wav"))))
    return found


def wait_spoken(speaker: Speaker) -> None:
    assert speaker.wait_idle(60), "the speech queue never emptied"


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_deposit_of_three_documents_with_the_keypad_alone_and_the_screen_blanked(
        make_kiosk, kiosk_data: Path, language: str) -> None:
    kiosk = make_kiosk()
    driver = kiosk.driver
    keys = Keypad(kiosk)
    person = Citizen(kiosk)
    record = kiosk_data / "speech"

    keys.press(ACTIVATE)                 # the first key only starts the voice guidance
    assert driver.state.access.audio and driver.state.step is Step.WELCOME
    keys.choose("accessibility")
    assert driver.state.overlay is Overlay.ACCESS
    said = keys.choose("toggle", Setting.SCREEN_OFF)
    assert driver.state.access.screen_off
    keys.choose("close")
    assert driver.app.root.screen_off                 # the black layer covers everything
    if language != "fr":
        keys.choose("languages")
        keys.choose("language", language)
        assert driver.state.language == language
    wait_spoken(kiosk.speaker)
    screens: list[tuple[Step, str]] = []

    def screen_spoken() -> None:
        """Wait for the reading of the screen on display and keep what it said."""
        driver.idle(6)
        wait_spoken(kiosk.speaker)
        screens.append((driver.state.step, driver.describe()))

    keys.choose("start")
    screen_spoken()
    keys.choose("choose", "listes-electorales")       # identity, address, form: 3 documents
    screen_spoken()
    keys.choose("begin")
    for number, page in enumerate(("tax-notice", "proof-of-address", "payslip")):
        screen_spoken()
        person.lay_page(page)
        screen_spoken()
        keys.choose("next")
        if number < 2:
            person.clear_tray()
    screen_spoken()
    assert driver.state.step is Step.REVIEW
    keys.choose("continue")
    screen_spoken()
    assert driver.state.step is Step.CONTACT
    keys.choose("continue")
    screen_spoken()
    assert driver.state.step is Step.CONFIRM
    keys.choose("send")
    driver.wait_until(lambda: driver.state.step is Step.RECEIPT and
                      driver.state.receipt is not ReceiptPhase.PRINTING, 30, "the receipt")
    screen_spoken()
    deposit_id = driver.state.deposit.deposit_id
    assert driver.state.access.screen_off          # blanked from start to end

    said_all = spoken(record)
    assert said_all, "nothing was spoken"
    silent = [(text, level) for _lang, text, level in said_all
              if _lang != "sound" and level < SPEECH_RMS]
    assert silent == [], f"silent utterances: {silent}"
    languages = {lang for lang, _text, _level in said_all if lang != "sound"}
    assert language in languages
    texts = [text for lang, text, _level in said_all]
    joined = "\n".join(texts)
    # Every screen's reading says what the screen says: its first lines (the title) and its
    # main text, as the eye reads them.
    for step, description in screens:
        title = description.splitlines()[1] if step is not Step.WELCOME else \
            description.splitlines()[0]
        words = [w for w in title.replace(":", " ").split() if len(w) > 3][:3]
        assert all(w in joined for w in words), (step, title)
    # The spoken receipt holds the deposit number spelled, character by character.
    spelled = spell_deposit_id(DepositId.parse(deposit_id), language).split(". ")
    assert all(group in joined for group in spelled), \
        f"{deposit_id} never spelled; receipt speech: {texts[-8:]}"
    assert "Setting" not in said and said
