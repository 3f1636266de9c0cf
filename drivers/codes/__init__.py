"""Code readers: a serial scanner, a camera decoding frames, and the simulator."""

from __future__ import annotations

from drivers.codes.base import Code, CodeReader

#: URL scheme -> backend module (imported only when a URL names it).
BACKENDS: dict[str, str] = {
    "serial": "drivers.codes.serial_backend",
    "camera": "drivers.codes.camera_backend",
    "sim": "drivers.codes.sim_backend",
}

__all__ = ["BACKENDS", "Code", "CodeReader"]
