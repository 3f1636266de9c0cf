"""``kiosk codes IMAGE...``: decode the codes of image files, one JSON line per image.

    $ kiosk codes convocation.png
    {"image": "convocation.png", "codes": [{"format": "QRCode", "text": "https://..."}], "ms": 4.1}

``ms`` is the decoding time (loading the file excluded). An image that cannot
be read gives ``{"image": ..., "error": "..."}`` and the command ends with
status 1 after the other images; finding no code is not an error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from drivers.codes import decode_image
from drivers.codes.decode import BACKENDS, parse_formats, read_image_file
from drivers.errors import CodeReaderError


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("codes", parents=parents,
                            help="decode the QR codes, DataMatrix (2D-Doc) and barcodes of images")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files (PNG, JPEG, WebP, GIF, TIFF...)")
    parser.add_argument("--backend", choices=BACKENDS, default="zxing",
                        help="decoder: zxing-cpp (default) or zbar (reads no DataMatrix)")
    parser.add_argument("--fast", action="store_true",
                        help="only the cheapest tries, as the live camera reader does")
    parser.add_argument("--formats", default="",
                        help="only these formats, comma-separated (e.g. QRCode,DataMatrix)")
    parser.set_defaults(func=run)


def _code(code: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"format": code.format, "text": code.text}
    if code.raw is not None and code.text.encode("utf-8") != code.raw:
        out["bytes"] = code.raw.hex()      # the raw content where the text is not all of it
    return out


def run(args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.formats.split(",") if f.strip()] or None
    try:
        parse_formats(formats)
    except ValueError as exc:
        print(f"kiosk codes: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in args.images:
        line: dict[str, Any] = {"image": path}
        try:
            image = read_image_file(path)
            start = time.perf_counter()
            codes = decode_image(image, args.backend, formats=formats, thorough=not args.fast)
            elapsed = time.perf_counter() - start
            line["codes"] = [_code(c) for c in codes]
            line["ms"] = round(elapsed * 1000, 3)
        except OSError as exc:
            failed += 1
            line["error"] = f"{path}: {exc.strerror or exc}"
        except (ValueError, CodeReaderError) as exc:
            failed += 1
            line["error"] = str(exc) if str(exc).startswith(path) else f"{path}: {exc}"
        print(json.dumps(line, ensure_ascii=False), flush=True)
    if failed:
        print(f"kiosk codes: {failed} of {len(args.images)} image(s) could not be read",
              file=sys.stderr)
    return 1 if failed else 0
