"""Voice guidance: the screen read aloud, the keypad's spoken focus, sounds for what happens.

:class:`Guide` listens to the journey (every new state) and to the keyboard:

- with speech on (``Access.speech``), every new screen, dialog or notice is read
  in the session's language, once the layout settled (what :meth:`KioskRoot.describe`
  says, the same text a test reads); typed e-mail addresses and phone numbers are
  not read on the loudspeaker (:class:`kiosk.speech.Speaker` says them only into a
  headset);
- in the audio-tactile mode (``Access.audio``) the keypad (:mod:`kiosk.ui.keypad`)
  moves a focus among the controls and each move says the control; 5 presses it;
- at the camera, the guidance is spoken as it changes ("move the page towards the
  top", "hold still"), at most every few seconds, and a sound says a page was taken;
- the end-of-session warning always sounds, speech on or not (visual and audible);
- the wipe stops speech and brings volume and rate back (:meth:`Speaker.reset`).

The first key pressed on the keypad turns the audio-tactile mode on, and so does
a headset plugged in where it can be detected (:class:`kiosk.audio.HeadsetWatch`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock

from kiosk.access import Setting
from kiosk.i18n import N_
from kiosk.journey import Action, CapturePhase, JourneyState, Overlay, ReceiptPhase, Step, Tap
from kiosk.speech import Sound, Speaker
from kiosk.ui.i18n import _
from kiosk.ui.keypad import FocusRing, Key, key_for, label_of
from kiosk.ui.widgets import PagedBox, TextField

if TYPE_CHECKING:
    from kiosk.ui.app import KioskRoot

log = logging.getLogger(__name__)

#: Said when the audio-tactile mode starts (and on the help key, after the screen's help).
KEYS_HELP = N_("Voice guidance is on. Press 8 to go to the next choice, 2 to go back to the "
               "previous one, and 5 to choose. Press 0 to hear again, 1 for help, star to go "
               "back. 3 and 9 make the voice louder and faster, hash pauses it.")
NOTHING_FOCUSED = N_("Nothing is chosen. Press 8 to hear the choices.")
#: Seconds between two readings of the camera's guidance while it stays the same.
GUIDANCE_EVERY = 6.0


def _screen_key(state: JourneyState) -> tuple[Any, ...]:
    """What makes a new screen to read: a change of any of these."""
    document = state.document
    return (state.step, state.overlay, state.notice, state.capture, state.current,
            len(document.pages) if document else 0, state.receipt, state.agent_called,
            state.agent_seen, state.seal_error, state.print_problem, state.language,
            state.access.speech, state.devices.camera_ok, state.wipe_reason, state.lookup)


class Guide:
    def __init__(self, root: KioskRoot, speaker: Speaker,
                 dispatch: Callable[[Tap], None]) -> None:
        self.root = root
        self.speaker = speaker
        self._dispatch = dispatch
        self.ring = FocusRing(root.canvas.after)
        self._key: tuple[Any, ...] | None = None
        self._state: JourneyState | None = None
        self._guidance = ""
        self._guidance_at = 0.0
        self._pending: Any = None
        # A page turned (PagedBox) or a screen that changed its view (the contact screen's
        # typing) shows new text and controls in the same state: read it as a new screen.
        for widget in root.walk(restrict=False):
            if isinstance(widget, PagedBox):
                widget.bind(page=self._view_changed)
        for screen in root.screens.values():
            screen.bind(wants_window=self._view_changed)

    # ------------------------------------------------------------- the journey

    def rendered(self, old: JourneyState | None, new: JourneyState) -> None:
        """A new state was drawn: read it when it is a new screen (after the layout)."""
        self._state = new
        if old is not None and new.overlay is Overlay.TIMEOUT and \
                old.overlay is not Overlay.TIMEOUT:
            self.speaker.sound(Sound.WARNING, interrupt=True)
        if old is not None and new.step is Step.CAPTURE and new.capture is CapturePhase.TAKEN \
                and old.capture is not CapturePhase.TAKEN:
            self.speaker.sound(Sound.PAGE_TAKEN, interrupt=True)
        if old is not None and old.access != new.access and old.step is new.step:
            # A setting turned on or off is heard as well as seen (EN 301 549 5.6.1).
            gained = any(new.access.get(s) and not old.access.get(s) for s in Setting)
            self.speaker.sound(Sound.TOGGLE_ON if gained else Sound.TOGGLE_OFF)
        if old is not None and old.access.audio != new.access.audio:
            if new.access.audio:
                self.speaker.say(_(KEYS_HELP), new.language)
            else:
                self.ring.clear()
        key = _screen_key(new)
        if key == self._key:
            return
        self._key = key
        if self._pending is not None:
            self._pending.cancel()
        # Labels size themselves over a frame or two: read what is drawn then.
        self._pending = Clock.schedule_once(lambda dt: self._settled(), 0.1)

    def _view_changed(self, *_: Any) -> None:
        state = self._state
        if state is None or self._pending is not None or \
                not (state.access.speech or state.access.audio):
            return
        self._pending = Clock.schedule_once(lambda dt: self._settled(), 0.1)

    def _settled(self) -> None:
        self._pending = None
        state = self._state
        if state is None:
            return
        if state.access.audio:
            self.ring.refresh(self._scopes(), keep=False)
        else:
            self.ring.clear()
        if state.access.speech:
            self.read_screen()

    def read_screen(self, interrupt: bool = True) -> None:
        state = self._state
        if state is None:
            return
        text, private = self._private(self.root.describe())
        self.speaker.say(text, state.language, interrupt=interrupt, private=private)
        if state.step is Step.RECEIPT and state.overlay is None and \
                state.receipt is not ReceiptPhase.PRINTING:
            # The whole receipt, number spelled, after what the screen says (5.1.3.16).
            receipt = self.root.ctx.receipt_speech()
            if receipt:
                self.speaker.say(receipt, state.language, interrupt=False)

    def _private(self, text: str) -> tuple[str, str | None]:
        """The screen's text with typed entries masked, and those entries apart."""
        values = [w.value for w in self.root.current_screen.walk(restrict=True)
                  if isinstance(w, TextField) and w.value]
        for value in values:
            text = text.replace(value, "…")
        return text, (" ".join(values) or None)

    def guidance(self, text: str) -> None:
        """The camera's advice changed (or is still the same): say it now and then."""
        state = self._state
        if state is None or not state.access.speech or not text:
            return
        now = time.monotonic()
        if text == self._guidance and now - self._guidance_at < GUIDANCE_EVERY:
            return
        if not self.speaker.wait_idle(0):
            return                         # never talk over the screen's own reading
        self._guidance, self._guidance_at = text, now
        self.speaker.say(text, state.language, interrupt=False)

    def wiped(self) -> None:
        self.speaker.reset()
        self.ring.clear()
        self._key = None
        self._guidance = ""

    # ------------------------------------------------------------- the keypad

    def _scopes(self) -> list[Any]:
        root = self.root
        if root.overlay:
            return [root.ids.dialog, root.ids.assistbar]
        return [root.current_screen, root.ids.bottombar, root.ids.assistbar]

    def key(self, code: int, modifiers: list[str]) -> bool:
        """A key was pressed; True when it was the keypad's (consumed)."""
        command = key_for(code, modifiers)
        state = self._state
        if command is None or state is None:
            return False
        if command is Key.AUDIO or not state.access.audio:
            # The headset key toggles the mode; any other key only starts it, so that a
            # first key nobody heard the meaning of does nothing else.
            self._dispatch(Tap(Action.TOGGLE, Setting.AUDIO))
            return True
        if command in (Key.NEXT, Key.PREVIOUS):
            # The controls shown now (a page turned, a dialog opened), keeping the focus.
            self.ring.refresh(self._scopes())
            widget = self.ring.move(1 if command is Key.NEXT else -1)
            if widget is not None:
                self.speaker.say(self.spoken_focus(widget), state.language)
        elif command is Key.ACTIVATE:
            if not self.ring.activate():
                self.speaker.say(_(NOTHING_FOCUSED), state.language)
        elif command is Key.BACK:
            self._dispatch(Tap(Action.CLOSE if state.overlay else Action.BACK))
        elif command is Key.CANCEL:
            self._dispatch(Tap(Action.CANCEL_ABORT if state.overlay is Overlay.CANCEL
                               else Action.CANCEL))
        elif command is Key.HELP:
            self._dispatch(Tap(Action.HELP))
        elif command is Key.REPEAT:
            self.speaker.repeat()
        elif command is Key.PAUSE:
            self.speaker.toggle_pause()
        else:
            change = {Key.LOUDER: self.speaker.louder, Key.SOFTER: self.speaker.softer,
                      Key.FASTER: self.speaker.faster, Key.SLOWER: self.speaker.slower}[command]
            if change():
                self.speaker.say(_(_KEY_SAID[command]), state.language)
        return True

    def spoken_focus(self, widget: Any) -> str:
        """What the focus says: the control, what it is, its state."""
        label = label_of(widget)
        if isinstance(widget, TextField):
            return _("{label}, text field").format(label=label)
        checked = getattr(widget, "checked", None)
        if checked is not None:
            return _("{label}, on").format(label=label) if checked else \
                _("{label}, off").format(label=label)
        return _("{label}, button").format(label=label)


_KEY_SAID = {Key.LOUDER: N_("Louder"), Key.SOFTER: N_("Softer"), Key.FASTER: N_("Faster"),
             Key.SLOWER: N_("Slower")}
