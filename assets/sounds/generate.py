"""Make the kiosk's chimes: ``python -m assets.sounds.generate``.

All 22 050 Hz mono 16-bit WAVs (what espeak-ng writes, so one sink plays both),
soft sine tones with a 10 ms attack and an exponential fade so none ever clicks,
at half scale so that the speaker's louder steps (up to 2x) do not clip. The
WAVs are committed; ``kiosk.speech.Sound`` names them.

- ``agent-chime``: two tones (E5 then C5, like a shop doorbell), 0.9 s: someone
  called an agent.
- ``page-taken``: one short high tone (A5), 0.15 s: a page was captured; short,
  so it does not hold up the speech that follows.
- ``warning``: two low tones, the second lower (A4, E4), 0.5 s: something needs
  attention (the inactivity warning, an error), distinct from the others.
- ``toggle-on`` / ``toggle-off``: a rising and a falling pair of short tones
  (C5→G5, G5→C5), 0.24 s: a switch's new state heard, not only seen (EN 301
  549 5.6).
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 22_050
HERE = Path(__file__).resolve().parent


def tone(freq: float, seconds: float) -> npt.NDArray[np.float64]:
    t = np.arange(int(RATE * seconds), dtype=np.float64) / RATE
    envelope = np.exp(-3.5 * t) * np.minimum(1.0, t / 0.01)
    return np.asarray(np.sin(2 * np.pi * freq * t) * envelope, dtype=np.float64)


def write(name: str, signal: npt.NDArray[np.float64]) -> None:
    samples = (signal * 32767).astype("<i2")
    with wave.open(str(HERE / f"{name}.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())


SOUNDS: dict[str, Callable[[], npt.NDArray[np.float64]]] = {
    "agent-chime": lambda: np.concatenate([tone(659.25, 0.45), tone(523.25, 0.45)]) * 0.5,
    "page-taken": lambda: tone(880.0, 0.15) * 0.5,
    "warning": lambda: np.concatenate([tone(440.0, 0.25), tone(329.63, 0.25)]) * 0.5,
    "toggle-on": lambda: np.concatenate([tone(523.25, 0.12), tone(783.99, 0.12)]) * 0.5,
    "toggle-off": lambda: np.concatenate([tone(783.99, 0.12), tone(523.25, 0.12)]) * 0.5,
}


def main() -> None:
    for name, make in SOUNDS.items():
        write(name, make())


if __name__ == "__main__":
    main()
