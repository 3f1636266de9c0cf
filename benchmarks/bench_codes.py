"""Code reading: how many shared samples each decoder reads right, and how fast.

Decoders, on the same pre-loaded grey images (file loading is not timed):

- ``ours``: ``drivers.codes.decode_image`` (zxing-cpp with retries, exact text);
- ``ours_fast``: the same with ``thorough=False`` (three tries);
- ``zxing_direct``: ``zxingcpp.read_barcodes(image)`` with its default options;
- ``pyzbar_direct``: ``pyzbar.decode(image)`` as most code does it;
- ``ours_zbar``: ``decode_image(backend="zbar")`` (zbar in binary mode, with retries).

A reading is right when its text equals ``NAME.txt`` (one trailing newline of
the file forgiven) or its bytes equal ``NAME.bin``. Times are per image;
``vs_zxing_direct`` divides a decoder's total time by zxing-cpp's in the same
run. ``live_frame`` times one decoding try on a 1920x1080 synthesised frame of
the convocation letter, as the camera code reader does for each frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zxingcpp

from benchmarks.common import Context, summary_ms, time_calls
from drivers.camera.synth import sample_pages, synthesize
from drivers.codes import decode_image
from drivers.codes.decode import decode_variant, read_image_file

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".pgm"}


def _samples(shared: Path) -> list[tuple[Path, str, bytes]]:
    folders = sorted(p for p in (shared / "data" / "codes").iterdir() if p.is_dir())
    folders.append(shared / "data" / "2ddoc")
    out = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in SUFFIXES:
                continue
            if path.with_suffix(".txt").exists():
                out.append((path, "text", path.with_suffix(".txt").read_bytes()))
            elif path.with_suffix(".bin").exists():
                out.append((path, "bytes", path.with_suffix(".bin").read_bytes()))
    return out


def _right(kind: str, want: bytes, readings: list[tuple[str, bytes]]) -> bool:
    texts = {want, want[:-1]} if want.endswith(b"\n") else {want}
    return any((text.encode("utf-8") in texts) if kind == "text" else raw == want
               for text, raw in readings)


def _decoders() -> dict[str, Callable[[np.ndarray], list[tuple[str, bytes]]]]:
    from pyzbar import pyzbar

    def ours(image: np.ndarray) -> list[tuple[str, bytes]]:
        return [(c.text, c.raw or b"") for c in decode_image(image)]

    def ours_fast(image: np.ndarray) -> list[tuple[str, bytes]]:
        return [(c.text, c.raw or b"") for c in decode_image(image, thorough=False)]

    def zxing_direct(image: np.ndarray) -> list[tuple[str, bytes]]:
        return [(r.text, bytes(r.bytes)) for r in zxingcpp.read_barcodes(image)]

    def pyzbar_direct(image: np.ndarray) -> list[tuple[str, bytes]]:
        return [(d.data.decode("utf-8", "replace"), d.data) for d in pyzbar.decode(image)]

    def ours_zbar(image: np.ndarray) -> list[tuple[str, bytes]]:
        return [(c.text, c.raw or b"") for c in decode_image(image, "zbar")]

    return {"ours": ours, "ours_fast": ours_fast, "zxing_direct": zxing_direct,
            "pyzbar_direct": pyzbar_direct, "ours_zbar": ours_zbar}


def run(ctx: Context) -> dict[str, Any]:
    shared = ctx.need_shared()
    samples = _samples(shared)
    if ctx.quick:
        samples = samples[::4]
    images = [(read_image_file(path), kind, want) for path, kind, want in samples]
    result: dict[str, Any] = {"images": len(images), "decoders": {}}
    totals: dict[str, float] = {}
    for name, decoder in _decoders().items():
        times, right = [], 0
        for image, kind, want in images:
            start = time.perf_counter()
            readings = decoder(image)
            times.append(time.perf_counter() - start)
            right += _right(kind, want, readings)
        totals[name] = sum(times)
        result["decoders"][name] = {"read_right": right, **summary_ms(times),
                                    "total_ms": round(sum(times) * 1000, 1)}
    for name, figures in result["decoders"].items():
        figures["vs_zxing_direct"] = round(totals[name] / max(totals["zxing_direct"], 1e-9), 2)

    page = next(p for p in sample_pages() if p.name == "convocation")
    frame, _ = synthesize(page.bgra(), np.random.default_rng(1), page_size_mm=page.size_mm)
    repeat = 3 if ctx.quick else 15
    live = summary_ms(time_calls(lambda: decode_variant(frame, "as-is"), repeat))
    direct = summary_ms(time_calls(lambda: zxingcpp.read_barcodes(frame), repeat))
    result["live_frame"] = {"ours_one_try": live, "zxing_direct": direct,
                            "ratio": round(live["median_ms"] / max(direct["median_ms"], 1e-9), 2)}
    return result
