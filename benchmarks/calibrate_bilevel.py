"""Calibrate when a text page may be made bilevel, and how a grey page is stored.

    python -m benchmarks.calibrate_bilevel [--pages 6] [--seed 30000] [--save rows.json]
    python -m benchmarks.calibrate_bilevel --load rows.json          # summary only

Generated French letters (``drivers.camera.synth.render_text_page``, drawn at
300 dpi so that the drawing is never the limit) are photographed by the
camera simulator on frames sized so that the camera sees the page at a given
resolution (``--dpi``, frame pixels per inch of paper: 40 to 200), with a
kiosk's everyday defects (sensor noise, uneven light, slight defocus, tilt)
and the camera's JPEG. Each frame is rectified from its true corners and
read by tesseract (``-l fra``) in these forms:

- ``truth``: the drawn page itself (what there is to read; once per page);
- ``reference``: the rectified page at 200 dpi, uncompressed (what the
  acceptance line compares with);
- ``bilevel``: the pipeline's bilevel page at 200 dpi (CCITT G4), decoded;
- ``grey``: the page rectified at ``factor`` x the camera's resolution
  (50-200 dpi), flattened (``scanner.enhance.grey_text``), JPEG at
  ``quality``, decoded and enlarged back to 200 dpi (bilinear, as the
  reference was warped) before it is read. Every page gets factor 1.5 at
  quality 85 (near lossless); below ``--detail-below`` dpi, also factors 1.0,
  1.5 and 2.0 at quality 50 and qualities 35 and 65 at factor 1.5.

Legibility is ``benchmarks.bench_scanner.legibility``: the share of a text's
characters read again. Each form is scored against the reference (``rel``,
the acceptance figure) and against the truth (``abs``: whether anything
legible is left at all).

The summary gives, per resolution, the medians and minima over the pages,
the bytes, and **the threshold**: the lowest resolution from which, at it and
at every resolution above, every page's bilevel form keeps at least
``KEEP`` of the reference's characters and the median bilevel page loses no
more than ``ABS_SLACK`` of the truth's characters against the grey one.
``scanner.enhance.BILEVEL_MIN_SOURCE_DPI`` is that figure, rounded up;
docs/scanner.md records a run. Seeds 30000+ are used by nothing else.
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

from benchmarks.bench_scanner import decoded, legibility, ocr
from drivers.camera.synth import Defects, render_text_page, synthesize
from scanner import compress, enhance, rectify
from scanner.compress import JPEG_QUALITY
from scanner.page import Image, Page, PageContent

#: Resolutions (frame pixels per inch of paper) at which pages are photographed.
DPI_LEVELS = (40, 50, 60, 70, 80, 90, 100, 115, 130, 150, 175, 200)
#: Share of the reference's characters a bilevel page must keep (the acceptance line).
KEEP = 0.97
#: How much more of the truth the grey page may read than the bilevel one (median).
ABS_SLACK = 0.01
#: The long side of an A4 page covers this share of the frame's short side (synth's A4_FILL).
FILL = 0.84
REFERENCE_DPI = 200.0
#: Least and largest resolution a grey page is stored at in the sweep.
GREY_DPI_RANGE = (50.0, 200.0)
#: Grey storage tried at every resolution, and below ``--detail-below`` (factor, JPEG quality).
GREY_BASE = (1.5, 85)
GREY_DETAIL = ((1.0, 50), (1.5, 50), (2.0, 50), (1.5, 35), (1.5, 65))


@dataclass
class Row:
    """What tesseract read of one page photographed at one resolution, in one form."""

    page: int
    target_dpi: int
    source_dpi: float
    form: str                    # "reference", "bilevel" or "grey"
    factor: float                # grey: stored at factor x source_dpi (at least 100)
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


def grey_page(frame: Image, corners: np.ndarray, seen: float, factor: float) -> Page:
    """The page stored in grey at ``factor`` x the camera's resolution (``GREY_DPI_RANGE``)."""
    dpi = float(np.clip(round(factor * seen), *GREY_DPI_RANGE))
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
          factor: float = 0.0, quality: int = 0) -> Row:
    if image.shape[:2] != (shot.size[1], shot.size[0]):
        image = np.asarray(cv2.resize(image, shot.size, interpolation=cv2.INTER_LINEAR), np.uint8)
    read = ocr(image, scratch)
    return Row(shot.page, shot.target_dpi, round(shot.source_dpi, 1), form, factor, quality,
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
            yield Row(p, target, round(seen, 1), "reference", 0.0, 0, 0, REFERENCE_DPI, 1.0,
                      round(legibility(truth, reference)[0], 4),
                      len("".join(reference.split())))
            binary = compress(enhance(replace(reference_page, source_dpi=None)))
            yield _read(shot, "bilevel", decoded(binary), len(binary.data), REFERENCE_DPI,
                        scratch)
            variants = [GREY_BASE, *(GREY_DETAIL if seen < detail_below else ())]
            grey: dict[float, Page] = {}
            for factor, quality in variants:
                if factor not in grey:
                    grey[factor] = grey_page(frame, corners, seen, factor)
                encoded = compress(grey[factor], jpeg_quality=quality)
                yield _read(shot, "grey", decoded(encoded), len(encoded.data), encoded.dpi,
                            scratch, factor, quality)
            print(f"page {p} at {target} dpi (seen {seen:.0f}) done", file=sys.stderr, flush=True)


def summarise(rows: list[Row]) -> dict[str, Any]:
    def pick(form: str, target: int, factor: float = 0.0, quality: int = 0) -> list[Row]:
        return [r for r in rows if r.form == form and r.target_dpi == target
                and (form != "grey" or (r.factor == factor and r.quality == quality))]

    def stats(sel: list[Row]) -> dict[str, Any]:
        if not sel:
            return {}
        return {"rel_median": round(statistics.median(r.rel for r in sel), 4),
                "rel_min": round(min(r.rel for r in sel), 4),
                "abs_median": round(statistics.median(r.abs for r in sel), 4),
                "bytes_median": int(statistics.median(r.bytes for r in sel)),
                "stored_dpi": round(statistics.median(r.stored_dpi for r in sel))}

    levels = sorted({r.target_dpi for r in rows})
    table: dict[str, Any] = {}
    for target in levels:
        seen = [r.source_dpi for r in rows if r.target_dpi == target and r.form == "reference"]
        entry: dict[str, Any] = {
            "source_dpi": round(statistics.median(seen), 1) if seen else None,
            "reference_abs_median": stats(pick("reference", target)).get("abs_median"),
            "bilevel": stats(pick("bilevel", target)),
        }
        variants = sorted({(r.factor, r.quality) for r in rows
                           if r.form == "grey" and r.target_dpi == target})
        for factor, quality in variants:
            entry[f"grey_x{factor}_q{quality}"] = stats(pick("grey", target, factor, quality))
        table[str(target)] = entry

    def safe(target: int) -> bool:
        bi, grey = pick("bilevel", target), pick("grey", target, *GREY_BASE)
        if not bi or not grey:
            return False
        loses = (statistics.median(g.abs for g in grey)
                 - statistics.median(b.abs for b in bi)) > ABS_SLACK
        return min(b.rel for b in bi) >= KEEP and not loses

    threshold = None
    for i, target in enumerate(levels):
        if all(safe(t) for t in levels[i:]):
            seen = [r.source_dpi for r in rows if r.target_dpi == target and r.form == "reference"]
            threshold = {"target_dpi": target, "largest_source_dpi_seen": max(seen)}
            break
    return {"keep": KEEP, "abs_slack": ABS_SLACK, "pages": len({r.page for r in rows}),
            "threshold": threshold, "jpeg_quality_in_force": JPEG_QUALITY, "per_dpi": table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.calibrate_bilevel",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=6, help="generated letters")
    parser.add_argument("--seed", type=int, default=30000)
    parser.add_argument("--dpi", default=",".join(map(str, DPI_LEVELS)),
                        help="camera resolutions on the page, comma-separated")
    parser.add_argument("--detail-below", type=float, default=105.0,
                        help="below this resolution, also sweep the grey factor and quality")
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
