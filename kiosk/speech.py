"""The kiosk reads its screens aloud (EN 301 549 5.1.3): espeak-ng into an audio sink.

Kivy has no screen-reader API (its issue #2820), so the application speaks for
itself. No Kivy here: the UI (and the keypad) call :class:`Speaker` from the Kivy
thread, and nothing in it ever blocks that thread.

Why it is built this way:

- **espeak-ng as a program**, ``espeak-ng -v VOICE -s WPM -a AMPLITUDE --stdout``
  with the text on stdin, never on the command line: a citizen's text must not
  become an argument (``-`` at its start would be an option) nor show in ``ps``.
  Each call has a timeout. A missing program is logged once and speech goes
  silent; a failing sentence is skipped and each kind of failure logged once. No
  exception reaches the caller: a kiosk that cannot speak still takes dossiers.
  espeak-ng is small, offline, and has the four voices we need (fr, en-gb, es,
  ar); it writes a WAV, so playing, recording and testing are the same bytes.
- **One worker thread and a queue** of sentences: :meth:`Speaker.say` only
  appends and returns (the caller is the UI thread). By default a new ``say``
  interrupts: the sentence being played is cut, the synthesis in progress is
  killed and the queue dropped (5.1.3: speech is interrupted by a new action).
- **Granularity is the sentence**: a text is cut into lines and sentences;
  :meth:`Speaker.pause` cuts the current sentence at once and
  :meth:`Speaker.resume` says that sentence again from its start, then the rest.
  :meth:`Speaker.repeat` says the last message again: the sentences of the last
  interrupting ``say`` and of the ``interrupt=False`` ones queued after it.
- **Volume and rate** are espeak-ng's amplitude and words per minute, in steps,
  bounded, applied from the next sentence; :meth:`Speaker.reset` (the wipe after
  each citizen) brings them back to the configured defaults (5.1.3: volume reset
  after each user), stops speech and forgets the last message.
- **Sinks** (:mod:`kiosk.audio`) play the WAV bytes: ``aplay``, a recording
  folder, or nothing. Chimes (:class:`Sound`, WAVs of ``assets/sounds``) go
  through the same queue, so they never talk over speech.
- **Private entries** (an e-mail address, a phone number typed) are passed apart
  (``private=``) and spoken only when a headset is plugged and a headset sink is
  set, then with their punctuation named (:func:`kiosk.spoken.entry`); on the
  loudspeaker the kiosk says a neutral sentence instead ("saisie masquée, 14
  caractères", :func:`kiosk.spoken.masked`): the people around must not hear
  them. :class:`kiosk.audio.HeadsetWatch` says whether a headset is plugged, with
  its limits.
- **Text for the ear** comes from :func:`kiosk.spoken.speakable` (times, symbols,
  emoji), applied to everything ``say`` receives.
"""

from __future__ import annotations

import enum
import logging
import re
import subprocess
import threading
import wave
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import assets
from kiosk.audio import (
    AplaySink,
    AudioSink,
    HeadsetWatch,
    NullSink,
    RecordingSink,
    Transcribing,
    warn_once,
    wav_bytes,
    wav_samples,
)
from kiosk.config import SpeechSection
from kiosk.spoken import entry, masked, speakable

log = logging.getLogger(__name__)


class Engine(enum.Enum):
    """``[speech] engine`` (kiosk/config.py checks the same values)."""

    ESPEAK_NG = "espeak-ng"
    NONE = "none"


class Sound(enum.Enum):
    """Chimes: ``assets/sounds/<value>.wav``, made by ``python -m assets.sounds.generate``."""

    AGENT_CHIME = "agent-chime"
    PAGE_TAKEN = "page-taken"
    WARNING = "warning"
    TOGGLE_ON = "toggle-on"
    TOGGLE_OFF = "toggle-off"


DEFAULT_VOLUME = 100          # espeak-ng's own amplitude
VOLUME_STEP, MIN_VOLUME, MAX_VOLUME = 20, 20, 160   # espeak clips above ~120 (measured)
DEFAULT_RATE, FALC_RATE = 160, 130   # words per minute; espeak's 175 is brisk for a kiosk
RATE_STEP, MIN_RATE, MAX_RATE = 20, 80, 400
_ESPEAK_VOICES = {"fr": "fr", "en": "en-gb", "es": "es", "ar": "ar", "fr-falc": "fr"}


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice and the rate (words per minute) a citizen starts with."""

    espeak: str
    rate: int


def voice_for(language: str, rate: int = DEFAULT_RATE, falc_rate: int = FALC_RATE) -> Voice:
    """The voice of a session language: fr, en (en-gb), es, ar, fr-falc (French, slower).
    An unknown language gets the French voice and one logged warning, never an error."""
    espeak = _ESPEAK_VOICES.get(language)
    if espeak is None:
        warn_once(log, f"voice:{language}", "no voice for language %r: speaking French", language)
        espeak = "fr"
    return Voice(espeak, falc_rate if language == "fr-falc" else rate)


# ------------------------------------------------------------------ speaker

_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")


def sentences(text: str) -> list[str]:
    """Lines, each cut after . ! ? (Arabic ؟) followed by a space."""
    return [s for line in text.splitlines() for s in _SENTENCE_END.split(line.strip()) if s]


@dataclass(frozen=True)
class _Item:
    text: str                 # the sentence (already speakable), a private entry, a sound name
    language: str
    sound: Sound | None = None
    private: bool = False


class Speaker:
    """Speech of the kiosk: one worker thread, one queue of sentences. Every public method
    returns at once and never raises into the caller (module docstring for the choices).

    ``headset`` says whether a headset is plugged; then, and only when ``headset_sink`` is
    set, everything goes to ``headset_sink`` and private entries are spoken."""

    def __init__(self, sink: AudioSink, *, engine: Engine = Engine.ESPEAK_NG,
                 espeak: str = "espeak-ng", headset_sink: AudioSink | None = None,
                 headset: Callable[[], bool] | None = None, volume: int = DEFAULT_VOLUME,
                 rate: int = DEFAULT_RATE, falc_rate: int = FALC_RATE, timeout: float = 10.0,
                 sounds: Path | None = None) -> None:
        self._sink, self._headset_sink, self._headset = sink, headset_sink, headset
        self._engine, self._espeak, self._timeout = engine, espeak, timeout
        self._sounds = sounds or assets.path("sounds")
        self._default_volume, self._rates = volume, (rate, falc_rate)
        self._volume, self._rate_offset = volume, 0
        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._last: list[_Item] = []
        self._generation = 0
        self._cancel = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._busy = self._paused = self._closed = self._silent = False
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()
        log.info("speech: %s into %s", engine.value, type(sink).__name__)

    # -------------------------------------------------------------- the UI's calls

    def say(self, text_or_sentences: str | Sequence[str], language: str, *,
            interrupt: bool = True, private: str | None = None) -> None:
        """Say a text (cut into sentences) or sentences, then ``private`` (a personal entry:
        spoken on a headset, replaced by :func:`kiosk.spoken.masked` on the loudspeaker).
        ``interrupt`` cuts what is being said and drops the queue; it also ends a pause."""
        texts = [text_or_sentences] if isinstance(text_or_sentences, str) \
            else list(text_or_sentences)
        items = [_Item(s, language) for t in texts for s in sentences(speakable(t, language))]
        if private is not None:
            items.append(_Item(private, language, private=True))
        if self._engine is Engine.NONE:
            items = []
        with self._cond:
            if interrupt:
                self._stop_locked()
                self._paused = False
                self._last = []
            self._last += items
            self._queue.extend(items)
            self._cond.notify_all()

    def sound(self, name: Sound, *, interrupt: bool = False) -> None:
        """Play a chime through the same queue (after what is queued, unless ``interrupt``)."""
        with self._cond:
            if interrupt:
                self._stop_locked()
            self._queue.append(_Item(name.value, "sound", sound=name))
            self._cond.notify_all()

    def repeat(self) -> None:
        """Say the last message again from its start."""
        with self._cond:
            self._stop_locked()
            self._paused = False
            self._queue.extend(self._last)
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop at once; :meth:`resume` says the cut sentence again, then the rest."""
        with self._cond:
            self._paused = True
            self._cancel.set()
            self._kill_synthesis_locked()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def toggle_pause(self) -> bool:
        """Pause or resume; True when now paused."""
        if self.paused:
            self.resume()
            return False
        self.pause()
        return True

    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused

    def louder(self) -> bool:
        """One step louder from the next sentence; False at the maximum (nothing changed)."""
        return self._set_volume(self._volume + VOLUME_STEP)

    def softer(self) -> bool:
        return self._set_volume(self._volume - VOLUME_STEP)

    def faster(self) -> bool:
        """One step faster from the next sentence; False at the maximum (nothing changed)."""
        return self._set_rate(self._rate_offset + RATE_STEP)

    def slower(self) -> bool:
        return self._set_rate(self._rate_offset - RATE_STEP)

    @property
    def volume(self) -> int:
        """espeak-ng amplitude (100 = espeak's normal); chimes are scaled alike."""
        return self._volume

    def rate(self, language: str) -> int:
        """Words per minute of the next sentence in ``language``."""
        base = voice_for(language, *self._rates).rate
        return min(MAX_RATE, max(MIN_RATE, base + self._rate_offset))

    def reset(self) -> None:
        """The wipe between citizens: silence, empty queue, no last message, no pause,
        volume and rate back to their defaults."""
        with self._cond:
            self._stop_locked()
            self._last = []
            self._paused = False
            self._volume, self._rate_offset = self._default_volume, 0

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been said; False on timeout (or when paused)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or not (self._queue or self._busy), timeout)

    def close(self) -> None:
        """Stop speaking and end the worker thread."""
        with self._cond:
            self._closed = True
            self._stop_locked()
            self._cond.notify_all()
        self._thread.join(5)

    # -------------------------------------------------------------- inside

    def _set_volume(self, volume: int) -> bool:
        with self._cond:
            new = min(MAX_VOLUME, max(MIN_VOLUME, volume))
            changed, self._volume = new != self._volume, new
            return changed

    def _set_rate(self, offset: int) -> bool:
        with self._cond:
            low = MIN_RATE - min(self._rates)
            high = MAX_RATE - max(self._rates)
            new = min(high, max(low, offset))
            changed, self._rate_offset = new != self._rate_offset, new
            return changed

    def _stop_locked(self) -> None:
        self._generation += 1
        self._queue.clear()
        self._cancel.set()
        self._kill_synthesis_locked()

    def _kill_synthesis_locked(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._closed or (self._queue and not self._paused))
                if self._closed:
                    return
                item = self._queue.popleft()
                generation, self._busy = self._generation, True
                cancel = self._cancel = threading.Event()
                volume = self._volume
                rate = 0 if item.sound else self.rate(item.language)
            try:
                finished = self._utter(item, cancel, volume, rate)
            except Exception:   # never let one utterance end speech for good
                log.exception("speech: utterance failed")
                finished = True
            with self._cond:
                if not finished and self._paused and generation == self._generation:
                    self._queue.appendleft(item)

    def _utter(self, item: _Item, cancel: threading.Event, volume: int, rate: int) -> bool:
        """Synthesise and play one item; False when cut before its end."""
        sink, on_headset = self._sink, False
        if self._headset_sink is not None and self._headset is not None and self._headset():
            sink, on_headset = self._headset_sink, True
        if item.sound is not None:
            wav = self._chime(item.sound, volume)
            text = item.text
        else:
            text = item.text
            if item.private:
                text = entry(text, item.language) if on_headset \
                    else masked(len(text), item.language)
            wav = self._synthesize(text, voice_for(item.language, *self._rates).espeak,
                                   volume, rate)
        if cancel.is_set():
            return False
        if wav is None:
            return True
        if isinstance(sink, Transcribing):
            sink.transcribe(text, item.language)
        sink.play(wav, cancel)
        return not cancel.is_set()

    def _synthesize(self, text: str, voice: str, volume: int, rate: int) -> bytes | None:
        if self._silent:
            return None
        argv = [self._espeak, "-v", voice, "-s", str(rate), "-a", str(volume), "--stdout"]
        try:   # outside the lock: fork and exec take milliseconds the UI thread must not wait
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            self._silent = True
            warn_once(log, f"espeak:{self._espeak}", "speech is silent: cannot run %s (%s)",
                      self._espeak, exc, level=logging.ERROR)
            return None
        with self._cond:
            self._proc = proc
            if self._cancel.is_set():   # interrupted before it could be killed
                proc.kill()
        try:
            out, err = proc.communicate(text.encode("utf-8"), timeout=self._timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            warn_once(log, "espeak-timeout", "espeak-ng took over %s s: a sentence was not said",
                      self._timeout, level=logging.ERROR)
            return None
        finally:
            with self._cond:
                self._proc = None
        if proc.returncode != 0:
            if proc.returncode > 0:   # negative: killed by an interruption
                warn_once(log, f"espeak-rc:{proc.returncode}", "espeak-ng failed (exit %s): %s",
                          proc.returncode, err.decode(errors="replace").strip(),
                          level=logging.ERROR)
            return None
        return out

    def _chime(self, sound: Sound, volume: int) -> bytes | None:
        path = self._sounds / f"{sound.value}.wav"
        try:
            rate, samples = wav_samples(path.read_bytes())
        except (OSError, ValueError, EOFError, wave.Error) as exc:
            warn_once(log, f"sound:{path}", "cannot play %s: %s", path, exc, level=logging.ERROR)
            return None
        scaled = np.clip(samples.astype(np.float64) * volume / DEFAULT_VOLUME, -32768, 32767)
        return wav_bytes(rate, scaled.astype(np.int16))


def build_speech(section: SpeechSection, *,
                 on_headset: Callable[[bool], None] | None = None,
                 ) -> tuple[Speaker, HeadsetWatch]:
    """The speaker and headset watch ``[speech]`` describes; the watch is started (close
    both at exit). ``on_headset`` is called from the watch's thread."""
    engine = Engine(section.engine)
    watch = HeadsetWatch(section.headset_patterns, cards=section.cards, on_change=on_headset)
    watch.start()
    sink: AudioSink
    headset_sink: AudioSink
    if engine is Engine.NONE:
        sink = headset_sink = NullSink()
    elif section.record_dir is not None:
        sink = RecordingSink(section.record_dir)
        headset_sink = RecordingSink(section.record_dir / "headset")
    else:
        sink = AplaySink(section.device or None)
        headset_sink = AplaySink(watch.alsa_device)
    speaker = Speaker(sink, engine=engine, espeak=section.espeak, headset_sink=headset_sink,
                      headset=watch.present, volume=section.volume, rate=section.rate,
                      falc_rate=section.falc_rate, timeout=section.timeout_s)
    return speaker, watch
