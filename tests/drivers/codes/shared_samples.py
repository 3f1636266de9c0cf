"""The shared code samples and how to tell a right reading, for tests of several modules.

zxing-cpp's test conventions (its test/blackbox runner): ``NAME.txt`` holds the
exact UTF-8 text; ``NAME.bin`` the exact bytes where the content is binary;
``NAME.result.txt`` holds ``key=value`` metadata (symbology identifier, EC
level, mirroring...) checked beside the text, not the text itself. The 2D-Doc
``.txt`` files (another repository) end with the newline of a text file, which
the code does not hold: one trailing newline is forgiven, for every reader alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".pgm", ".tif", ".tiff"}


def sample_images(shared_data: Path) -> Iterator[Path]:
    """Every image of data/codes/*/ and data/2ddoc/ that has an expectation."""
    folders = sorted(p for p in (shared_data / "codes").iterdir() if p.is_dir())
    folders.append(shared_data / "2ddoc")
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and expectation(path) is not None:
                yield path


def expectation(image: Path) -> tuple[str, bytes] | None:
    """("text", utf-8 bytes) from NAME.txt, ("bytes", ...) from NAME.bin, or None."""
    text = image.with_suffix(".txt")
    if text.exists():
        return "text", text.read_bytes()
    binary = image.with_suffix(".bin")
    if binary.exists():
        return "bytes", binary.read_bytes()
    return None


def is_right(image: Path, readings: Iterable[tuple[str, bytes]]) -> bool:
    """Whether any (text, raw bytes) reading matches the expectation of ``image``."""
    kind, want = expectation(image) or ("", b"")
    texts = {want, want[:-1]} if want.endswith(b"\n") else {want}
    for text, raw in readings:
        if kind == "text" and text.encode("utf-8") in texts:
            return True
        if kind == "bytes" and raw == want:
            return True
    return False
