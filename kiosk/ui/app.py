"""The Kivy application: the root layout, the screens, and the loop that connects them
to the :class:`~kiosk.app.Controller`.

Everything the citizen sees is drawn from the controller's one
:class:`~kiosk.journey.JourneyState`: :meth:`KioskRoot.render` shows the
screen of its step, the top bar (steps, languages, help, call an agent), the
bottom bar (cancel, back, and the one main button) and any dialog. Taps come
back through :meth:`KioskApp.tap`. Results of worker threads are posted with
``Clock.schedule_once`` and handled on this thread like taps; the clock also
ticks the journey's inactivity timer once a second and hands the newest
camera frame to the capture screen up to 30 times a second.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout

import assets
from kiosk.access import SETTING_LABELS, Setting
from kiosk.controller import Controller
from kiosk.journey import (
    PROGRESS,
    Action,
    CapturePhase,
    Event,
    JourneyState,
    Overlay,
    Step,
    Tap,
    Tick,
    Touched,
    progress_index,
)
from kiosk.service.mode import ServiceMode
from kiosk.speech import Speaker
from kiosk.theme import Theme
from kiosk.ui.i18n import _, tr
from kiosk.ui.resources import load_kv, use_dejavu
from kiosk.ui.screens import SCREENS, KioskScreen, UiContext
from kiosk.ui.screens.base import describe_widgets
from kiosk.ui.service import ServicePanel
from kiosk.ui.style import style
from kiosk.ui.texts import HELP, LANGUAGE_NAMES, PRIVACY_PURPOSE, PRIVACY_RETENTION, PRIVACY_RIGHTS
from kiosk.ui.voice import Guide
from kiosk.ui.widgets import KButton, StepDot, button_rows, discard, mirror

#: Languages written right to left: the layout is mirrored and the text shaped for them.
RTL_LANGUAGES = frozenset({"ar"})

log = logging.getLogger(__name__)

class KioskRoot(FloatLayout):  # type: ignore[misc]  # Kivy ships no types
    kiosk_title = StringProperty("")
    step_text = StringProperty("")
    steps_visible = BooleanProperty(False)
    bottom_visible = BooleanProperty(False)
    help_enabled = BooleanProperty(True)
    can_cancel = BooleanProperty(False)
    can_back = BooleanProperty(False)
    primary_text = StringProperty("")
    primary_action = StringProperty("")
    primary_enabled = BooleanProperty(False)
    primary_kind = StringProperty("primary")
    agent_called = BooleanProperty(False)
    agent_seen = BooleanProperty(False)
    assist_enabled = BooleanProperty(True)
    language_name = StringProperty("")
    screen_off = BooleanProperty(False)
    #: The screen on display wants the bars' room (KioskScreen.wants_window).
    bars_hidden = BooleanProperty(False)
    overlay = StringProperty("")
    dialog_title = StringProperty("")
    dialog_body = StringProperty("")
    dialog_main_text = StringProperty("")
    dialog_main_action = StringProperty("")
    dialog_second_text = StringProperty("")
    dialog_second_action = StringProperty("")

    def __init__(self, ctx: UiContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.screens: dict[Step, KioskScreen] = {}
        for cls in SCREENS:
            screen = cls()
            self.screens[cls.step] = screen
            self.ids.sm.add_widget(screen)
            screen.bind(wants_window=self._bars)
        self._dots = []
        for number, (label, _steps) in enumerate(PROGRESS, start=1):
            dot = StepDot(number=number, total=len(PROGRESS))
            dot.msgid = label
            self._dots.append(dot)
            self.ids.steps.add_widget(dot)
        self.state: JourneyState | None = None
        self._choice_rows: list[Any] = []
        self._choices_shown: tuple[int, list[Any]] | None = None
        self.on_settings: Callable[[JourneyState], None] | None = None

    @property
    def current_screen(self) -> KioskScreen:
        screen: KioskScreen = self.ids.sm.current_screen
        return screen

    def render(self, state: JourneyState) -> None:
        previous, self.state = self.state, state
        if previous is None or previous.access != state.access or \
                previous.language != state.language:
            style.rtl = state.language in RTL_LANGUAGES
            if self.on_settings is not None:
                self.on_settings(state)
        if tr.language != state.language:
            tr.switch(state.language)
        self.language_name = LANGUAGE_NAMES.get(state.language, state.language)
        self.screen_off = state.access.screen_off
        self.assist_enabled = state.step is not Step.WIPE
        screen = self.screens[state.step]
        if self.ids.sm.current != screen.name:
            self.ids.sm.current = screen.name
        screen.render(state, self.ctx)
        self._bars()
        self.kiosk_title = _("Deposit kiosk")
        # top bar
        index = progress_index(state.step)
        self.steps_visible = index is not None
        for i, dot in enumerate(self._dots):
            dot.label = _(dot.msgid)
            dot.status = "todo" if index is None or i > index else \
                ("current" if i == index else "done")
            if i == index:
                self.step_text = dot.spoken()
        self.help_enabled = state.step not in (Step.SEALING, Step.WIPE)
        self.agent_called = state.agent_called
        self.agent_seen = state.agent_seen
        # bottom bar
        main = screen.primary(state, self.ctx)
        self.can_cancel = state.can_cancel
        self.can_back = state.can_go_back
        self.primary_action = main.action.value if main else ""
        self.primary_text = main.text if main else ""
        self.primary_enabled = bool(main and main.enabled)
        self.primary_kind = main.kind if main else "primary"
        self.bottom_visible = bool(main) or state.can_cancel or state.can_go_back
        self._render_dialog(state)
        mirror(self, style.rtl)
        if previous is None or previous.step != state.step:
            log.debug("screen %s", state.step.value)

    def _bars(self, *_: Any) -> None:
        self.bars_hidden = bool(self.current_screen.wants_window)

    def _render_dialog(self, state: JourneyState) -> None:
        overlay = state.overlay
        self.overlay = overlay.value if overlay else ""
        self._choices(state)
        if overlay is Overlay.CANCEL:
            self.dialog_title = _("Cancel everything?")
            self.dialog_body = _("The pages you photographed and what you typed will be "
                                 "erased. Nothing will be sent.")
            self._buttons((_("No, carry on"), Action.CANCEL_ABORT),
                          (_("Yes, cancel"), Action.CANCEL_CONFIRM))
        elif overlay is Overlay.HELP:
            self.dialog_title = _("Help")
            body = _(HELP[state.step])
            if state.step is Step.CONTACT:
                procedure = self.ctx.procedure(state)
                service = procedure.service.name.get(state.language) if procedure else ""
                body += "\n\n" + "\n\n".join(_(t).format(service=service) for t in
                                             (PRIVACY_PURPOSE, PRIVACY_RETENTION,
                                              PRIVACY_RIGHTS))
            self.dialog_body = body
            self._buttons((_("Close"), Action.CLOSE), (_("Call an agent"), Action.CALL_AGENT))
        elif overlay is Overlay.TIMEOUT:
            self.dialog_title = _("Are you still there?")
            self.update_countdown()
            self._buttons((_("I need more time"), Action.MORE_TIME), None)
        elif overlay is Overlay.ACCESS:
            self.dialog_title = _("Accessibility")
            self.dialog_body = _("Tap an option to turn it on or off. Everything goes back to "
                                 "normal for the next person.")
            self._buttons((_("Close"), Action.CLOSE), None)
        elif overlay is Overlay.LANGUAGE:
            self.dialog_title = _("Language")
            self.dialog_body = ""
            self._buttons((_("Close"), Action.CLOSE), None)
        else:
            self.dialog_title = self.dialog_body = ""
            self._buttons(("", None), None)

    def _choices(self, state: JourneyState) -> None:
        """The buttons of the settings dialogs: one per setting, or one per language."""
        dialog = self.ids.dialog
        wanted: list[tuple[str, Action, object, bool]] = []
        if state.overlay is Overlay.ACCESS:
            for setting, label in SETTING_LABELS.items():
                on = state.access.get(setting)
                mark = "☑" if on else "☐"
                wanted.append((f"{mark}  {_(label)}", Action.TOGGLE, setting, on))
        elif state.overlay is Overlay.LANGUAGE:
            for language in self.ctx.languages:
                wanted.append((LANGUAGE_NAMES.get(language, language), Action.LANGUAGE, language,
                               language == state.language))
        # two buttons a row in large text on a landscape panel, else one
        columns = 2 if style.large_text and not style.portrait else 1
        key = (columns, [(t, a.value, arg, on) for t, a, arg, on in wanted])
        if key == self._choices_shown:
            return
        self._choices_shown = key
        for item in self._choice_rows:
            discard(dialog, item)
        buttons: list[Any] = []
        for text, action, arg, on in wanted:
            button = KButton(action=action.value, arg=arg, text=text,
                             kind="primary" if on else "plain")
            button.checked = on if action is Action.TOGGLE else None
            buttons.append(button)
        self._choice_rows = button_rows(buttons, columns, style.spacing)
        for row in self._choice_rows:
            dialog.add_widget(row, index=1)        # before the dialog's own buttons

    def _buttons(self, main: tuple[str, Action | None],
                 second: tuple[str, Action] | None) -> None:
        self.dialog_main_text = main[0]
        self.dialog_main_action = main[1].value if main[1] else ""
        self.dialog_second_text = second[0] if second else ""
        self.dialog_second_action = second[1].value if second else ""

    def update_countdown(self) -> None:
        state = self.state
        if state is None or state.overlay is not Overlay.TIMEOUT or \
                state.warning_deadline is None:
            return
        left = max(0, math.ceil(state.warning_deadline - self.ctx.clock()))
        self.dialog_body = _("To protect your papers, the screen will be cleared in "
                             "{seconds} seconds.").format(seconds=left)

    def clear_screens(self) -> None:
        for screen in self.screens.values():
            screen.clear()

    def describe(self) -> str:
        """Everything visible, as text: the dialog when one is open, else bars and screen."""
        if self.overlay:
            return "\n".join(describe_widgets(self.ids.dialog) +
                             describe_widgets(self.ids.assistbar))
        parts = describe_widgets(self.ids.topbar) + describe_widgets(self.current_screen) + \
            describe_widgets(self.ids.bottombar) + describe_widgets(self.ids.assistbar)
        return "\n".join(parts)


class KioskApp(App):  # type: ignore[misc]
    """The citizen application. ``controller`` runs the journey; ``ctx`` feeds the screens.

    ``theme`` sizes everything (DPI, large text, contrast); ``on_ready`` is
    called once the first screen is drawn (systemd's READY=1); ``heartbeat``
    every ``heartbeat_every`` seconds from the UI's own clock, for as long as
    the UI thread turns (the watchdog ping: a blocked UI thread stops it).
    """

    portrait = BooleanProperty(False)

    def __init__(self, controller: Controller, ctx: UiContext, *, theme: Theme | None = None,
                 title: str = "Deposit kiosk", agent_sound: bool = True,
                 on_ready: Callable[[], object] | None = None,
                 heartbeat: Callable[[], object] | None = None,
                 heartbeat_every: float = 0.5,
                 device_check: Callable[[], None] | None = None,
                 device_check_every: float = 10.0, wipe_pause: float = 1.5,
                 panel_bottom_mm: float = 900.0, speaker: Speaker | None = None,
                 service: ServiceMode | None = None,
                 service_preview: Callable[[], Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.ctx = ctx
        self.theme = theme or Theme()
        self.title = title
        self.agent_sound = agent_sound
        self.on_ready = on_ready
        self.heartbeat = heartbeat
        self.heartbeat_every = heartbeat_every
        self.device_check = device_check
        self.device_check_every = device_check_every
        controller.wipe_pause = wipe_pause
        self.panel_bottom_mm = panel_bottom_mm
        self.speaker = speaker
        self.service = service
        self.service_preview = service_preview
        self.service_panel: ServicePanel | None = None
        self.guide: Guide | None = None
        self.taps = 0
        self._last_preview = -1
        self._events: list[Any] = []
        self._sound: Any = None

    # ------------------------------------------------------------- Kivy life cycle

    def build(self) -> KioskRoot:
        use_dejavu()
        style.apply(self.theme)
        load_kv()
        root = KioskRoot(self.ctx)
        root.on_settings = self._apply_settings
        self.controller.post = self.post
        self.controller.listeners.append(lambda old, new: root.render(new))
        if self.speaker is not None:
            guide = self.guide = Guide(root, self.speaker, self.controller.dispatch)
            self.controller.listeners.append(guide.rendered)
        self.controller.hooks.on_wipe = self._on_wipe
        self.controller.hooks.on_agent = self._on_agent
        if self.service is not None:
            # Last child: drawn over the citizens' screens and first to be touched.
            speaker = self.speaker
            self.service_panel = ServicePanel(
                self.service, languages=self.ctx.languages, preview=self.service_preview,
                speak=(lambda text, language, first: speaker.say(text, language, interrupt=first))
                if speaker is not None else None)
            root.add_widget(self.service_panel)
            shown = self.service_panel
            # a change of the service mode (from any thread) is drawn at the next frame
            self.service.changed = lambda: Clock.schedule_once(lambda dt: shown.refresh(), 0)
        return root

    def on_start(self) -> None:
        window = self.root_window
        window.bind(size=self._on_size)
        window.fbind("on_touch_up", self._any_touch)
        window.fbind("on_key_down", self._any_key)
        self._on_size(window, window.size)
        self.root.render(self.controller.state)
        self._events = [
            Clock.schedule_interval(lambda dt: self.controller.dispatch(Tick()), 1.0),
            Clock.schedule_interval(self._poll_preview, 1 / 30),
            Clock.schedule_interval(lambda dt: self.root.update_countdown(), 0.5),
        ]
        if self.service is not None:
            service = self.service
            self._events.append(Clock.schedule_interval(lambda dt: service.tick(), 1.0))
        if self.heartbeat is not None:
            self._events.append(Clock.schedule_interval(self._beat, self.heartbeat_every))
        if self.device_check is not None:
            check = self.device_check
            check()
            self._events.append(Clock.schedule_interval(lambda dt: check(),
                                                        self.device_check_every))
        if self.on_ready is not None:
            ready = self.on_ready
            Clock.schedule_once(lambda dt: ready(), 0)

    def _beat(self, dt: float) -> None:
        """The heartbeat. Returns None: Kivy cancels an interval whose callback returns False
        (a ping function's False between two pings once stopped the watchdog for good)."""
        if self.heartbeat is not None:
            self.heartbeat()

    def on_stop(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
        if self.service_panel is not None:
            self.service_panel.stop()
        # The window outlives the app (tests start several in one process): a stopped app's
        # handlers would go on dispatching to its own controller and re-render its screens
        # (switching the shared translator back to its language).
        window = self.root_window
        if window is not None:
            window.unbind(size=self._on_size)
            window.funbind("on_touch_up", self._any_touch)
            window.funbind("on_key_down", self._any_key)

    def _on_size(self, window: Any, size: tuple[int, int]) -> None:
        self.portrait = size[1] > size[0]
        style.portrait = self.portrait
        self._lower()

    def _apply_settings(self, state: JourneyState) -> None:
        """The citizen's accessibility settings restyle every screen at once."""
        access = state.access
        wanted = self.theme.with_modes(large_text=access.large_text,
                                       high_contrast=access.high_contrast)
        if style.theme != wanted:
            style.apply(wanted)
        self._lower()

    def _lower(self) -> None:
        state = self.controller.state
        window = self.root_window
        if window is not None:
            style.lower(state.access.lowered, window.height, self.panel_bottom_mm)

    def _any_touch(self, window: Any, touch: Any) -> None:
        """Any touch, on a button or not, tells the journey the citizen is there (EN 301 549:
        touching outside the warning's button must not let the session end). It is told once
        the touch was handled: closing the warning first would hand the lifted finger to
        whatever lies under the warning's button."""
        Clock.schedule_once(lambda dt: self.controller.dispatch(Touched()), 0)

    def _any_key(self, window: Any, key: int, scancode: int = 0, codepoint: str | None = None,
                 modifiers: list[str] | None = None) -> bool:
        panel = self.service_panel
        if panel is not None and panel.shown:
            # The service panel (or the out-of-order notice) is up: the keypad does not drive
            # the citizens' screens hidden under it; on the notice a key reads it aloud.
            panel.key()
            return True
        self.controller.dispatch(Touched())
        if self.guide is not None:
            return self.guide.key(key, modifiers or [])
        return False

    def headset(self, present: bool) -> None:
        """A headset was plugged in (from the headset watch's thread): voice guidance on."""
        def switch(dt: float) -> None:
            if present and not self.controller.state.access.audio:
                self.controller.dispatch(Tap(Action.TOGGLE, Setting.AUDIO))
        Clock.schedule_once(switch, 0)

    # ------------------------------------------------------------- the journey

    def post(self, event: Event) -> None:
        """Hand an event from any thread to the UI thread (thread-safe)."""
        Clock.schedule_once(lambda dt: self.controller.dispatch(event), 0)

    def tap(self, action: str, arg: Any = None) -> None:
        """A button was tapped: one journey action (its argument from the screen if none)."""
        self.taps += 1
        act = Action(action)
        if arg is None:
            arg = self.root.current_screen.arg_for(act)
        self.controller.dispatch(Tap(act, arg))

    def activity(self) -> None:
        """A touch that is not a journey action (a key, a field): the citizen is there."""
        self.taps += 1
        self.controller.dispatch(Touched())

    def _poll_preview(self, dt: float) -> None:
        state = self.controller.state
        capture = self.controller.capture
        if capture is None or state.step is not Step.CAPTURE or \
                state.capture is not CapturePhase.AIMING:
            return
        frame = capture.latest_preview()
        if frame is not None and frame.seq != self._last_preview:
            self._last_preview = frame.seq
            screen = self.root.screens[Step.CAPTURE]
            screen.show_preview(frame)
            if self.guide is not None:
                self.guide.guidance(screen.guidance)

    def _on_wipe(self) -> None:
        if self.guide is not None:
            self.guide.wiped()
        self.root.clear_screens()
        self._last_preview = -1
        self.root.render(self.controller.state)     # the "thank you" of the wipe screen

    def _on_agent(self) -> None:
        if not self.agent_sound:
            return
        try:
            from kivy.core.audio import SoundLoader
            if self._sound is None:
                self._sound = SoundLoader.load(str(assets.path("sounds", "agent-chime.wav")))
            if self._sound is not None:
                self._sound.play()
            else:
                log.warning("no audio output: the agent chime cannot be played")
        except Exception as exc:  # no sound card must not stop a citizen's journey
            log.warning("agent chime failed: %s", exc)
