"""Make the "call an agent" chime: ``python -m assets.sounds.generate``.

Two soft tones (E5 then C5, like a shop doorbell), 0.9 s, 22 050 Hz mono
16-bit WAV, with a fade so it never clicks. The WAV is committed.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

RATE = 22_050
HERE = Path(__file__).resolve().parent


def tone(freq: float, seconds: float) -> npt.NDArray[np.float64]:
    t = np.arange(int(RATE * seconds), dtype=np.float64) / RATE
    envelope = np.exp(-3.5 * t) * np.minimum(1.0, t / 0.01)
    return np.asarray(np.sin(2 * np.pi * freq * t) * envelope, dtype=np.float64)


def main() -> None:
    signal = np.concatenate([tone(659.25, 0.45), tone(523.25, 0.45)]) * 0.5
    samples = (signal * 32767).astype("<i2")
    with wave.open(str(HERE / "agent-chime.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())


if __name__ == "__main__":
    main()
