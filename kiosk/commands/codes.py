"""``kiosk codes IMAGE...``: decode the codes of image files, one JSON line per image.

    $ kiosk codes convocation.png
    {"image": "convocation.png", "codes": [{"format": "QRCode", "text": "https://..."}], "ms": 4.1}

``ms`` is the decoding time (loading the file excluded). An image that cannot
be read gives ``{"image": ..., "error": "..."}`` and the command ends with
status 1 after the other images; finding no code is not an error.

``--2ddoc`` reads the 2D-Docs instead (every DataMatrix of the image at full
resolution, then, if none, of the page the scanner finds and rectifies in it,
as the kiosk's capture does), parsed and their signatures checked against the
kiosk's trust list (kiosk/twoddocs.py; ``--trust-list`` adds one)::

    $ kiosk codes --2ddoc bill.png
    {"image": "bill.png", "2ddoc": [{"version": 4, "authority": "FR00", "certificate": "0001",
     "issued": "2014-03-01", "signed": "2014-03-02", "document_type": "01",
     "fields": {"10": "MME/SPECIMEN/NATACHA", ...}, "signature": "valid"}]}

``signature`` is ``valid``, ``invalid`` (changed, or not signed by the key its
header names) or ``not_verifiable`` (an authority or certificate the trust
list does not hold, or not valid on the signing date). A DataMatrix that means
to be a 2D-Doc but cannot be read is left out of the list and said on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
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
    parser.add_argument("--2ddoc", dest="twoddoc", action="store_true",
                        help="read the 2D-Docs and check their signatures (docs/2ddoc.md)")
    parser.add_argument("--trust-list", action="append", default=[], metavar="XML",
                        help="with --2ddoc: also trust this ETSI TS 119 612 list (as ANTS "
                             "publishes it); repeatable")
    parser.set_defaults(func=run)


def _code(code: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"format": code.format, "text": code.text}
    if code.raw is not None and code.text.encode("utf-8") != code.raw:
        out["bytes"] = code.raw.hex()      # the raw content where the text is not all of it
    return out


def run(args: argparse.Namespace) -> int:
    if args.twoddoc:
        return run_2ddoc(args)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()] or None
    try:
        parse_formats(formats)
    except ValueError as exc:
        print(f"kiosk codes: {exc}", file=sys.stderr)
        return 2

    def decode(path: str, line: dict[str, Any]) -> None:
        image = read_image_file(path)
        start = time.perf_counter()
        codes = decode_image(image, args.backend, formats=formats, thorough=not args.fast)
        elapsed = time.perf_counter() - start
        line["codes"] = [_code(c) for c in codes]
        line["ms"] = round(elapsed * 1000, 3)

    return _each_image(args.images, decode)


def _each_image(images: list[str], read: Callable[[str, dict[str, Any]], None]) -> int:
    """``read`` each image into its JSON line, printed at once; an unreadable one gets an
    ``error`` line and counts. Exit status 1 when any failed."""
    failed = 0
    for path in images:
        line: dict[str, Any] = {"image": path}
        try:
            read(path, line)
        except OSError as exc:
            failed += 1
            line = {"image": path, "error": f"{path}: {exc.strerror or exc}"}
        except (ValueError, CodeReaderError) as exc:
            failed += 1
            line = {"image": path,
                    "error": str(exc) if str(exc).startswith(path) else f"{path}: {exc}"}
        print(json.dumps(line, ensure_ascii=False), flush=True)
    if failed:
        print(f"kiosk codes: {failed} of {len(images)} image(s) could not be read",
              file=sys.stderr)
    return 1 if failed else 0


def _trust(args: argparse.Namespace) -> Any:
    from deposit.errors import DepositError
    from kiosk.config import load_config
    from kiosk.enrollment import load_bundle
    from kiosk.errors import KioskError
    from kiosk.twoddocs import load_trust
    from twoddoc import TrustList, TrustListError

    config = load_config(getattr(args, "config", None))

    try:
        ack_key = load_bundle(config).ack_key()
    except (KioskError, DepositError, OSError):
        ack_key = None          # not enrolled (a laptop): no fleet state to read
    trust = load_trust(config, Path(config.kiosk.data_dir) / "status", ack_key)
    extra = list(trust.certificates)
    for path in args.trust_list:
        try:
            extra += TrustList.from_xml(Path(path).read_bytes(), include_test=True).certificates
        except (OSError, TrustListError) as exc:
            raise ValueError(f"--trust-list {path}: {exc}") from None
    return TrustList(tuple(extra))


def run_2ddoc(args: argparse.Namespace) -> int:
    from kiosk.errors import KioskError
    from kiosk.twoddocs import read_page

    try:
        trust = _trust(args)
    except (ValueError, KioskError) as exc:
        print(f"kiosk codes: {exc}", file=sys.stderr)
        return 2

    def check(path: str, line: dict[str, Any]) -> None:
        reading = read_page(read_image_file(path), trust)
        line["2ddoc"] = [c.summary() for c in reading.codes]
        for problem in reading.problems:
            print(f"kiosk codes: {path}: {problem}", file=sys.stderr)

    return _each_image(args.images, check)
