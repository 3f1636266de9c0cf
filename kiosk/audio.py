"""Where the kiosk's speech and chimes are heard: WAV bytes into a sink, and the headset.

:mod:`kiosk.speech` synthesises; this module plays. A sink (:class:`AudioSink`) plays
WAV bytes and stops soon after its ``cancel`` event is set, so that a new action on
the screen cuts speech at once:

- :class:`AplaySink` feeds ``aplay -q [-D device] -`` through stdin and kills it on
  cancel: ALSA's own player, no Python audio library to add, and the same bytes that
  tests record. alsa-utils is in systemd/install.sh's packages.
- :class:`RecordingSink` writes each utterance as ``NNN.wav`` plus ``NNN.txt``, whose
  first line is the language (``sound`` for a chime) and the rest the text said: a
  text file a technician reads with ``cat`` and a WAV anyone plays; a JSON sidecar
  would say no more. With ``realtime`` it takes as long as a loudspeaker would, so
  interruption can be tested on it.
- :class:`NullSink` is speech off.

:class:`HeadsetWatch` reads ``/proc/asound/cards``: a USB headset is a sound card of
its own, named by its maker. Its limit: a 3.5 mm jack on a Pi's onboard audio is the
same card plugged or not (and that card is called "bcm2835 Headphones", which is why
the default patterns need the ``USB-Audio`` driver too), so it cannot be detected
this way; the kiosk's keypad key starts audio mode anyway, and private entries then
stay masked on the loudspeaker.

Errors never leave a sink: they are logged once (:func:`warn_once`) and the utterance
is not heard; a kiosk that cannot speak still takes dossiers.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import subprocess
import threading
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

#: A headset card: USB-Audio driver and a name with headset/headphone (not the Pi's
#: onboard "bcm2835 Headphones", not a USB loudspeaker named "USB Audio Device").
DEFAULT_HEADSET_PATTERNS = (r"(?i)\bUSB-Audio\b.*\bhead(set|phone)s?\b",)

_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(logger: logging.Logger, key: str, message: str, *args: object,
              level: int = logging.WARNING) -> None:
    """Log ``message`` on ``logger`` the first time ``key`` is seen in this process."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.log(level, message, *args)


# ------------------------------------------------------------------ WAV


def wav_samples(wav: bytes) -> tuple[int, npt.NDArray[np.int16]]:
    """(frame rate, mono 16-bit samples) of a WAV; espeak's ``--stdout`` header, written
    before the length is known, is read too."""
    with wave.open(io.BytesIO(wav), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("not a mono 16-bit WAV")
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def wav_bytes(rate: int, samples: npt.NDArray[np.int16]) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


# ------------------------------------------------------------------ sinks


class AudioSink(Protocol):
    def play(self, wav: bytes, cancel: threading.Event) -> None:
        """Play a WAV; return when played, or soon after ``cancel`` is set. Never raises."""


@runtime_checkable
class Transcribing(Protocol):
    """A sink that also wants the text of what it is about to play (``language`` is
    ``sound`` for a chime, whose text is its name)."""

    def transcribe(self, text: str, language: str) -> None: ...


class NullSink:
    """Speech off."""

    def play(self, wav: bytes, cancel: threading.Event) -> None:
        return None


class AplaySink:
    """``aplay -q [-D device] -`` fed through stdin; killed within 20 ms of a cancel.
    ``device`` may be a function, asked at each utterance (a headset's card comes and
    goes)."""

    def __init__(self, device: str | Callable[[], str | None] | None = None, *,
                 command: Sequence[str] = ("aplay",)) -> None:
        self._device = device
        self._command = tuple(command)

    def play(self, wav: bytes, cancel: threading.Event) -> None:
        device = self._device() if callable(self._device) else self._device
        argv = [*self._command, "-q", *(["-D", device] if device else []), "-"]
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            warn_once(log, f"aplay:{exc}", "cannot run %s (%s): nothing is heard", argv[0], exc,
                      level=logging.ERROR)
            return
        assert proc.stdin is not None and proc.stderr is not None
        stdin, stderr = proc.stdin, proc.stderr

        def feed() -> None:
            # An OSError means aplay was killed on cancel or gave up: its exit status says.
            with contextlib.suppress(OSError):
                stdin.write(wav)
            with contextlib.suppress(OSError):   # closes the pipe even when the flush fails
                stdin.close()

        feeder = threading.Thread(target=feed, name="aplay-feed", daemon=True)
        feeder.start()
        while proc.poll() is None:
            if cancel.wait(0.02):
                proc.kill()
                break
        proc.wait()
        feeder.join(1.0)
        error = stderr.read().decode(errors="replace").strip()
        stderr.close()
        if proc.returncode != 0 and not cancel.is_set():
            warn_once(log, f"aplay-rc:{error}", "aplay %s failed (exit %s): %s", device or "",
                      proc.returncode, error, level=logging.ERROR)


class RecordingSink:
    """Writes each utterance as ``NNN.wav`` and ``NNN.txt`` in ``folder``: the txt's first
    line is the language (``sound`` for a chime), the rest the text said. With
    ``realtime``, :meth:`play` lasts as long as the sound would (or until cancelled), so a
    recording behaves like a loudspeaker in tests of interruption."""

    def __init__(self, folder: Path, *, realtime: bool = False) -> None:
        self.folder = folder
        self.realtime = realtime
        folder.mkdir(parents=True, exist_ok=True)
        self._count = len(list(folder.glob("[0-9][0-9][0-9].wav")))
        self._text: tuple[str, str] = ("", "")

    def transcribe(self, text: str, language: str) -> None:
        self._text = (language, text)

    def play(self, wav: bytes, cancel: threading.Event) -> None:
        self._count += 1
        stem = self.folder / f"{self._count:03d}"
        try:
            rate, samples = wav_samples(wav)
            stem.with_suffix(".wav").write_bytes(wav_bytes(rate, samples))
        except (ValueError, EOFError, wave.Error):
            rate, samples = 22_050, np.zeros(0, dtype=np.int16)
            stem.with_suffix(".wav").write_bytes(wav)
        language, text = self._text
        self._text = ("", "")
        partial = stem.with_suffix(".part")
        partial.write_text(f"{language}\n{text}\n", encoding="utf-8")
        partial.replace(stem.with_suffix(".txt"))
        if self.realtime:
            cancel.wait(len(samples) / rate)

    def said(self) -> list[tuple[str, str]]:
        """(language, text) of every utterance recorded so far, in order."""
        found = []
        for txt in sorted(self.folder.glob("[0-9][0-9][0-9].txt")):
            language, _, text = txt.read_text(encoding="utf-8").partition("\n")
            found.append((language, text.rstrip("\n")))
        return found


# ------------------------------------------------------------------ headset


class HeadsetWatch:
    """Whether a headset is plugged: a card of ``cards`` (``/proc/asound/cards``) whose
    entry (its two lines joined) matches one of ``patterns``. :meth:`start` polls every
    ``interval`` seconds from a thread and calls ``on_change(present)`` there (a Kivy
    caller must hop to its own thread, e.g. with ``Clock.schedule_once``).

    A 3.5 mm jack on a Pi's onboard audio cannot be seen this way (module docstring)."""

    def __init__(self, patterns: Sequence[str] = DEFAULT_HEADSET_PATTERNS, *,
                 cards: Path = Path("/proc/asound/cards"),
                 on_change: Callable[[bool], None] | None = None,
                 interval: float = 1.0) -> None:
        self._patterns = [re.compile(p) for p in patterns]
        self._cards = cards
        self._on_change = on_change
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: str | None = None


    def listen(self, on_change: Callable[[bool], None]) -> None:
        """Call ``on_change(present)`` from now on (the application is built after the watch)."""
        self._on_change = on_change
    def card(self) -> str | None:
        """The ALSA id of the first headset card (``Headset`` in ``1 [Headset ]: ...``)."""
        try:
            text = self._cards.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None   # no sound at all (no /proc/asound): no headset
        for m in re.finditer(r"^\s*\d+\s+\[(\S+)\s*\]:(.*)\n?(.*)$", text, re.MULTILINE):
            if any(p.search(f"{m[2]} {m[3]}") for p in self._patterns):
                return m[1]
        return None

    def present(self) -> bool:
        return self.card() is not None

    def alsa_device(self) -> str | None:
        """``plughw:CARD=<id>`` for :class:`AplaySink`, or None when no headset."""
        card = self.card()
        return f"plughw:CARD={card}" if card else None

    def start(self) -> None:
        if self._thread is None:
            self._last = self.card()
            self._thread = threading.Thread(target=self._run, name="headset-watch",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            card = self.card()
            if (card is None) != (self._last is None):
                log.info("headset %s", "plugged" if card else "unplugged")
                if self._on_change is not None:
                    try:
                        self._on_change(card is not None)
                    except Exception:   # a listener's bug must not stop the watch
                        log.exception("headset on_change failed")
            self._last = card

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * self._interval + 1)
