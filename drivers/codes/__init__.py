"""Code readers: a serial scanner, a camera decoding frames, and the simulator.

:func:`decode_image` decodes the codes of one image (what the camera reader and
``kiosk codes`` use); it imports zxing-cpp only when first called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drivers.codes.base import Code, CodeReader, GarbledCodeError

#: URL scheme -> backend module (imported only when a URL names it).
BACKENDS: dict[str, str] = {
    "serial": "drivers.codes.serial_backend",
    "camera": "drivers.codes.camera_backend",
    "sim": "drivers.codes.sim_backend",
}


def decode_image(image: Any, backend: str = "zxing", *, formats: Sequence[str] | None = None,
                 thorough: bool = True) -> list[Code]:
    """Every code in ``image``: see :func:`drivers.codes.decode.decode_image`."""
    from drivers.codes.decode import decode_image as decode

    return decode(image, backend, formats=formats, thorough=thorough)


__all__ = ["BACKENDS", "Code", "CodeReader", "GarbledCodeError", "decode_image"]
