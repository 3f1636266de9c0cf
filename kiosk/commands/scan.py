"""``kiosk scan``: run the page pipeline on image files.

    kiosk scan detect IMAGE...        one JSON line per image: corners (tl, tr, br, bl) and ms
    kiosk scan detect --live IMAGE... the same with the live preview's detector (what guides
                                      the citizen while the page is laid down)
    kiosk scan page IMAGE -o OUT      the rectified, enhanced page to OUT; its verdict as JSON

An image that cannot be read gets a JSON line with an "error" and the command
goes on with the next one; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.errors import KioskError
from scanner import detect, detect_live, process_still
from scanner.page import Image


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scan", parents=parents, help="find, rectify and judge pages in images")
    actions = parser.add_subparsers(dest="scan_action", metavar="ACTION", required=True)
    det = actions.add_parser("detect", parents=parents,
                             help="print the page corners found in each image (JSON lines)")
    det.add_argument("--live", action="store_true",
                     help="use the live preview's detector (scanner.detect_live) instead of "
                          "the still's")
    det.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    det.set_defaults(func=run_detect)
    page = actions.add_parser("page", parents=parents,
                              help="write the rectified, enhanced page and print its verdict")
    page.add_argument("image", type=Path, metavar="IMAGE")
    page.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                      help="where to write the page (PNG, TIFF or JPEG by its extension)")
    page.set_defaults(func=run_page)


def read_image(path: Path) -> Image:
    """The image at ``path`` as BGR, or KioskError saying why it cannot be read."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise KioskError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise KioskError(f"{path}: not an image OpenCV can decode")
    return np.asarray(image, dtype=np.uint8)


def run_detect(args: argparse.Namespace) -> int:
    status = 0
    find = detect_live if args.live else detect
    find(np.full((96, 128, 3), 128, np.uint8))     # one-time library set-up is not detection time
    for path in args.images:
        try:
            image = read_image(path)
        except KioskError as exc:
            print(json.dumps({"image": str(path), "corners": None, "error": str(exc)}),
                  flush=True)
            status = 1
            continue
        start = time.perf_counter()
        corners = find(image)
        ms = (time.perf_counter() - start) * 1000
        shown = None if corners is None else [[round(float(x), 2), round(float(y), 2)]
                                              for x, y in corners]
        print(json.dumps({"image": str(path), "corners": shown, "ms": round(ms, 2)}), flush=True)
    return status


#: What ``kiosk scan page -o`` can write, by extension.
PAGE_FORMATS = (".png", ".tif", ".tiff", ".jpg", ".jpeg")


def run_page(args: argparse.Namespace) -> int:
    """The kiosk's own still pipeline (``scanner.process_still``) on one image file."""
    output: Path = args.output
    if output.suffix.lower() not in PAGE_FORMATS:
        raise KioskError(f"{output}: unknown page format {output.suffix or '(no extension)'!r}; "
                         f"accepted: {', '.join(PAGE_FORMATS)}")
    image = read_image(args.image)
    result = process_still(image)
    if result.corners is None or result.page is None or result.encoded is None:
        print(json.dumps({"image": str(args.image), "corners": None, **result.verdict.to_json()},
                         ensure_ascii=False))
        return 1
    clean, encoded, corners = result.page, result.encoded, result.corners
    try:
        written = cv2.imwrite(str(output), clean.image)
    except cv2.error as exc:
        raise KioskError(f"{output}: cannot write: {exc.err}") from exc
    if not written:
        raise KioskError(f"{output}: cannot write (is the folder there and writable?)")
    report = {"image": str(args.image), "output": str(output),
              "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in corners],
              "method": result.method,
              "format": clean.format, "size_mm": list(clean.size_mm), "dpi": clean.dpi,
              "content": clean.content.value, "colour": clean.colour,
              "encoded": {"codec": encoded.codec, "bytes": len(encoded.data)},
              **result.verdict.to_json()}
    print(json.dumps(report, ensure_ascii=False))
    return 0 if result.verdict.ok else 1
