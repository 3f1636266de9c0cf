"""Calibrate when a text page may be made bilevel, and how a grey page is stored.

    python -m benchmarks.calibrate_bilevel [--pages 10] [--seed 30000] [--save rows.json]
    python -m benchmarks.calibrate_bilevel --load rows.json          # summary only

Generated French letters (``drivers.camera.synth.render_text_page``, drawn at
300 dpi so that the drawing is never the limit) are photographed by the
camera simulator on frames sized so that the camera sees the page at a given
resolution (``--dpi``: frame pixels per inch of paper, 40 to 200), with a
kiosk's everyday defects (sensor noise, uneven light, slight defocus, tilt)
and the camera's JPEG. Each frame is rectified from its true corners, and
tesseract (``-l fra``, one thread) reads:

- ``truth``: the drawn page itself (what there is to read; once per page);
- ``reference``: the rectified page at 200 dpi, uncompressed;
- ``bilevel``: the pipeline's bilevel page at 200 dpi (CCITT G4), decoded;
- ``grey``: the page flattened in grey (``scanner.enhance.grey_text``) at the
  resolution the product stores it at (``rule``: 1.5 x what the camera saw,
  100-200 dpi) or at 1.0 or 1.5 x without the floor (``x1.0``, ``x1.5``),
  JPEG at some quality, decoded and enlarged back to 200 dpi (bilinear, as
  the reference was warped) before it is read. Every page gets ``rule`` at
  quality 85; below ``--detail-below`` dpi, the other storages and qualities
  of ``GREY_DETAIL`` too.

Legibility is ``benchmarks.bench_scanner.legibility``: the share of a text's
characters read again. Against the reference (``rel``, the acceptance
figure's own definition) it is noisy: where tesseract reads the reference
badly, it reads a slightly different page differently, right or wrong. So
each form is also scored against the truth (``abs``), and ``truth_ratio`` is
its ``abs`` over the reference's: of the characters read right on the
reference, the share still read right.

**The threshold** is the lowest resolution from which, at it and at every
resolution above, the median bilevel page keeps ``KEEP`` of the reference's
true characters and loses no more than ``SLACK`` of them against the grey
page (median of the paired difference, page by page).
``scanner.enhance.BILEVEL_MIN_SOURCE_DPI`` is that figure; docs/scanner.md
records a run and how the grey resolution and JPEG quality were chosen from
it. Seeds 30000+ are used by nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devtools.scanner_eval import decoded, legibility, ocr
from drivers.camera.synth import Defects, render_text_page, synthesize
from scanner import compress, enhance, rectify
from scanner.compress import JPEG_QUALITY
from scanner.enhance import BILEVEL_MIN_SOURCE_DPI
from scanner.page import Image, Page, PageContent
from scanner.rectify import storage_dpi

#: Resolutions (frame pixels per inch of paper) at which pages are photographed.
DPI_LEVELS = (40, 45, 50, 55, 60, 65, 70, 75, 80, 90, 100, 115, 130, 150, 200)
#: Share of the reference's true characters a bilevel page must keep (the acceptance line).
KEEP = 0.97
#: How many of the reference's true characters more the grey page may read than the bilevel
#: one (median over the pages of the paired difference).
SLACK = 0.02
#: The long side of an A4 page covers this share of the frame's short side (synth's A4_FILL).
FILL = 0.84
REFERENCE_DPI = 200.0
#: Grey storage tried: "rule" is the product's (``scanner.rectify.storage_dpi``), "xF" stores
#: at F x the camera's resolution without its 100 dpi floor; with the JPEG quality. The first
#: is the grey the bilevel page is compared with; the others only below ``--detail-below``.
GREY_BASE = ("rule", 85)
GREY_DETAIL = (("rule", 35), ("rule", 50), ("rule", 65), ("x1.0", 50), ("x1.5", 50))


@dataclass
class Row:
    """What tesseract read of one page photographed at one resolution, in one form."""

    page: int
    target_dpi: int
    source_dpi: float
    form: str                    # "reference", "bilevel" or "grey"
    storage: str                 # grey: "rule" or "xF" (``GREY_BASE``)
    quality: int                 # grey: JPEG quality
    bytes: int
    stored_dpi: float
    rel: float                   # legibility against the reference
    abs: float                   # legibility against the truth
    chars: int                   # characters read


def photograph(page: Image, seed: int, dpi: float) -> tuple[Image, np.ndarray]:
    """The page on the tray, on a 4:3 frame sized so that the camera sees it at about ``dpi``."""
    rng = np.random.default_rng(seed)
    height = round(dpi * 297.0 / 25.4 / FILL)
    width = round(height * 4 / 3)
    defects = Defects(noise_sigma=float(rng.uniform(1, 3)), gradient=float(rng.uniform(0, 0.4)),
                      blur_sigma=float(rng.uniform(0, 0.8)), tilt_deg=float(rng.uniform(0, 6)))
    frame, corners = synthesize(page, rng, frame_size=(width, height), defects=defects,
                                page_size_mm=(210.0, 297.0))
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])    # the camera's
    if not ok:
        raise RuntimeError("OpenCV could not encode the frame")
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8), corners


def grey_page(frame: Image, corners: np.ndarray, seen: float, storage: str) -> Page:
    """The page flattened in grey, at the resolution ``storage`` says (``GREY_BASE``)."""
    if storage == "rule":
        dpi = storage_dpi(REFERENCE_DPI, seen, PageContent.COLOUR)      # a JPEG page's rule
    else:
        dpi = float(min(REFERENCE_DPI, round(float(storage[1:]) * seen)))
    return enhance(rectify(frame, corners, dpi=dpi, content=PageContent.TEXT), bilevel=False)


@dataclass(frozen=True)
class _Shot:
    """One page photographed at one resolution, and what tesseract read on its reference."""

    page: int
    target_dpi: int
    source_dpi: float
    size: tuple[int, int]        # the reference's (w, h)
    truth: str
    reference: str


def _read(shot: _Shot, form: str, image: Image, nbytes: int, stored: float, scratch: Path,
          storage: str = "", quality: int = 0) -> Row:
    if image.shape[:2] != (shot.size[1], shot.size[0]):
        image = np.asarray(cv2.resize(image, shot.size, interpolation=cv2.INTER_LINEAR), np.uint8)
    read = ocr(image, scratch)
    return Row(shot.page, shot.target_dpi, round(shot.source_dpi, 1), form, storage, quality,
               nbytes, stored, round(legibility(shot.reference, read)[0], 4),
               round(legibility(shot.truth, read)[0], 4), len("".join(read.split())))


def sweep(pages: int, seed: int, levels: tuple[int, ...], detail_below: float,
          scratch: Path) -> Iterator[Row]:
    for p in range(pages):
        drawn = render_text_page(seed + p, size="A4", dpi=300)
        truth = ocr(drawn, scratch)
        for target in levels:
            frame, corners = photograph(drawn, seed + 1000 * target + p, target)
            reference_page = rectify(frame, corners, dpi=REFERENCE_DPI, content=PageContent.TEXT)
            seen = float(reference_page.source_dpi or 0.0)
            reference = ocr(reference_page.image, scratch)
            shot = _Shot(p, target, seen, (reference_page.image.shape[1],
                                           reference_page.image.shape[0]), truth, reference)
            yield Row(p, target, round(seen, 1), "reference", "", 0, 0, REFERENCE_DPI, 1.0,
                      round(legibility(truth, reference)[0], 4),
                      len("".join(reference.split())))
            binary = compress(enhance(replace(reference_page, source_dpi=None)))
            yield _read(shot, "bilevel", decoded(binary), len(binary.data), REFERENCE_DPI,
                        scratch)
            variants = [GREY_BASE, *(GREY_DETAIL if seen < detail_below else ())]
            grey: dict[str, Page] = {}
            for storage, quality in variants:
                if storage not in grey:
                    grey[storage] = grey_page(frame, corners, seen, storage)
                encoded = compress(grey[storage], jpeg_quality=quality)
                yield _read(shot, "grey", decoded(encoded), len(encoded.data), encoded.dpi,
                            scratch, storage, quality)
            print(f"page {p} at {target} dpi (seen {seen:.0f}) done", file=sys.stderr, flush=True)


def summarise(rows: list[Row]) -> dict[str, Any]:
    """Per resolution and form: legibility (medians, minima), bytes; and the threshold.

    ``truth_ratio`` is a form's ``abs`` over the reference's (page by page):
    the share of the characters tesseract reads right on the reference that it
    still reads right on the stored page; ``vs_grey`` the paired difference
    of the bilevel and the ``GREY_BASE`` pages' ``abs``, over the reference's.
    """
    reference = {(r.page, r.target_dpi): r for r in rows if r.form == "reference"}

    def pick(form: str, target: int, storage: str = "", quality: int = 0) -> list[Row]:
        return [r for r in rows if r.form == form and r.target_dpi == target
                and (form != "grey" or (r.storage == storage and r.quality == quality))]

    def ratio(r: Row) -> float:
        return r.abs / max(reference[(r.page, r.target_dpi)].abs, 1e-9)

    def stats(sel: list[Row]) -> dict[str, Any]:
        if not sel:
            return {}
        return {"truth_ratio_median": round(statistics.median(ratio(r) for r in sel), 4),
                "truth_ratio_min": round(min(ratio(r) for r in sel), 4),
                "rel_median": round(statistics.median(r.rel for r in sel), 4),
                "rel_min": round(min(r.rel for r in sel), 4),
                "bytes_median": int(statistics.median(r.bytes for r in sel)),
                "stored_dpi": round(statistics.median(r.stored_dpi for r in sel))}

    def vs_grey(target: int) -> float | None:
        grey = {r.page: r for r in pick("grey", target, *GREY_BASE)}
        diffs = [(b.abs - grey[b.page].abs) / max(reference[(b.page, target)].abs, 1e-9)
                 for b in pick("bilevel", target) if b.page in grey]
        return statistics.median(diffs) if diffs else None

    levels = sorted({r.target_dpi for r in rows})
    table: dict[str, Any] = {}
    for target in levels:
        refs = pick("reference", target)
        entry: dict[str, Any] = {
            "source_dpi": round(statistics.median(r.source_dpi for r in refs), 1),
            "reference_reads_of_truth": round(statistics.median(r.abs for r in refs), 4),
            "bilevel": stats(pick("bilevel", target)),
            "bilevel_vs_grey": None if (d := vs_grey(target)) is None else round(d, 4),
        }
        for storage, quality in sorted({(r.storage, r.quality) for r in rows
                                        if r.form == "grey" and r.target_dpi == target}):
            entry[f"grey_{storage}_q{quality}"] = stats(pick("grey", target, storage, quality))
        table[str(target)] = entry

    def safe(target: int) -> bool:
        entry = table[str(target)]
        diff = entry["bilevel_vs_grey"]
        return bool(entry["bilevel"]) and entry["bilevel"]["truth_ratio_median"] >= KEEP \
            and diff is not None and diff >= -SLACK

    threshold = None
    for i, target in enumerate(levels):
        if all(safe(t) for t in levels[i:]):
            threshold = {"target_dpi": target, "source_dpi": table[str(target)]["source_dpi"]}
            break
    return {"keep": KEEP, "slack": SLACK, "pages": len({r.page for r in rows}),
            "threshold": threshold, "in_force": BILEVEL_MIN_SOURCE_DPI,
            "jpeg_quality_in_force": JPEG_QUALITY, "per_dpi": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate_bilevel",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="generated letters")
    parser.add_argument("--seed", type=int, default=30000)
    parser.add_argument("--dpi", default=",".join(map(str, DPI_LEVELS)),
                        help="camera resolutions on the page, comma-separated")
    parser.add_argument("--detail-below", type=float, default=105.0,
                        help="below this resolution, also sweep the grey storage and quality")
    parser.add_argument("--save", type=Path, help="write every row here (JSON) as it comes")
    parser.add_argument("--load", type=Path, help="summarise rows saved by --save")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if args.load:
        rows = [Row(**r) for r in json.loads(args.load.read_text(encoding="utf-8"))]
    else:
        if shutil.which("tesseract") is None:
            parser.error("tesseract is not installed (Debian tesseract-ocr, tesseract-ocr-fra)")
        levels = tuple(int(x) for x in args.dpi.split(","))
        scratch = Path(tempfile.mkdtemp(prefix="calibrate-bilevel-"))
        rows = []
        start = time.perf_counter()
        for r in sweep(args.pages, args.seed, levels, args.detail_below, scratch):
            rows.append(r)
            if args.save:
                args.save.write_text(json.dumps([asdict(x) for x in rows]), encoding="utf-8")
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"{len(rows)} rows in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    print(json.dumps(summarise(rows), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
