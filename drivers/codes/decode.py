"""Decoding codes from images: zxing-cpp (default) or zbar, with retries that read more.

:func:`decode_image` is pure (no state, thread-safe for zxing): it converts the
image to grey, asks the library, and when nothing is found tries again on
variants a camera or a printer makes necessary: another binarizer, a slight
smoothing (noise, JPEG blocks, halftone), an upscaled copy (small modules),
a pure-barcode pass (clean renderings), contrast equalisation, global and
adaptive thresholds, a closing of gaps (dot-printed DataMatrix), a sharpened
copy, an upscaled and sharpened one (small modules a little out of focus). It
stops at the first variant that reads anything. ``thorough=False`` keeps the
three cheapest tries; :func:`decode_variant` makes one, for live frames.

Texts are returned exactly: zxing-cpp's ``TextMode.Plain`` (its default, HRI,
turns control characters into ``<GS>`` and GS1 data into ``(01)...``, which
would break French 2D-Doc payloads), and zbar in binary mode, decoded as
UTF-8 (else ISO-8859-1) here, because zbar's own guess turns UTF-8 "é" into
Japanese ("Il était" → "Il 矇tait"). Format names are zxing-cpp's ("QRCode",
"DataMatrix", "EAN13"...) for both backends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from ctypes import c_char_p, c_void_p, cast
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

from drivers.codes.base import Code
from drivers.errors import CodeReaderError

log = logging.getLogger(__name__)

Grey = npt.NDArray[np.uint8]
BACKENDS = ("zxing", "zbar")

#: zbar symbol names -> zxing-cpp format names, so both backends speak the same names.
ZBAR_FORMATS = {
    "QRCODE": "QRCode", "EAN13": "EAN13", "EAN8": "EAN8", "UPCA": "UPCA", "UPCE": "UPCE",
    "ISBN10": "EAN13", "ISBN13": "EAN13", "I25": "ITF", "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp", "CODABAR": "Codabar", "CODE39": "Code39", "CODE93": "Code93",
    "CODE128": "Code128", "PDF417": "PDF417", "EAN2": "EAN2", "EAN5": "EAN5", "SQCODE": "SQCode",
}
#: zbar's ZBAR_CFG_BINARY (zbar >= 0.23): hand the bytes over as they are, no charset guess.
_ZBAR_CFG_BINARY = 4
_ZBAR_BINARIZERS = (None, zxingcpp.Binarizer.BoolCast)
_zbar_lock = threading.Lock()     # zbar is not reentrant (pyzbar issues report double frees)


# ---------------------------------------------------------------- images


def to_grey(image: Any) -> Grey:
    """An 8-bit grey image from a numpy array (grey, BGR, BGRA; 8 or 16 bits; bool) or a PIL image.

    Transparent pixels count as white paper. Raises ValueError for anything else.
    """
    if isinstance(image, Image.Image):
        return _pil_to_grey(image)
    array = np.asarray(image)
    if array.size == 0 or array.ndim not in (2, 3):
        raise ValueError(f"not an image: an array of shape {array.shape}")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"not an image: pixels of type {array.dtype} (expected uint8)")
    if array.ndim == 2:
        return np.ascontiguousarray(array)
    channels = array.shape[2]
    if channels == 1:
        return np.ascontiguousarray(array[:, :, 0])
    if channels == 3:
        return np.asarray(cv2.cvtColor(array, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if channels == 4:
        grey = cv2.cvtColor(array, cv2.COLOR_BGRA2GRAY).astype(np.float32)
        alpha = array[:, :, 3].astype(np.float32) / 255.0
        return np.asarray(grey * alpha + 255.0 * (1.0 - alpha) + 0.5, dtype=np.uint8)
    raise ValueError(f"not an image: {channels} channels")


def _pil_to_grey(image: Image.Image) -> Grey:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.uint32)
        peak = max(1, int(array.max()))
        return np.asarray(array * 255 // peak, dtype=np.uint8)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def read_image_file(path: str | Path) -> Grey:
    """Load an image file (PNG, JPEG, WebP, GIF, TIFF, PNM...) as grey, upright per its EXIF.

    Raises OSError when the file cannot be read, ValueError when it is not an image.
    """
    try:
        with Image.open(path) as opened:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            return _pil_to_grey(upright if upright is not None else opened)
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{path}: not an image that can be read ({exc})") from None
    except (SyntaxError, EOFError) as exc:      # Pillow's signal for a truncated/corrupt file
        raise ValueError(f"{path}: damaged image ({exc})") from None


# ---------------------------------------------------------------- variants


def _smooth(grey: Grey) -> Grey:
    return np.asarray(cv2.GaussianBlur(grey, (0, 0), 1.0), dtype=np.uint8)


def _upscale(grey: Grey) -> Grey | None:
    if max(grey.shape) > 2000:
        return None
    return np.asarray(cv2.resize(grey, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
                      dtype=np.uint8)


def _upscale_sharpen(grey: Grey) -> Grey | None:
    """Small, slightly blurred modules (a 2D-Doc seen by a 1080p camera): x3, then unsharp."""
    if max(grey.shape) > 2000:
        return None
    big = cv2.resize(grey, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(big, (0, 0), 3.0)
    return np.asarray(cv2.addWeighted(big, 1.8, blurred, -0.8, 0), dtype=np.uint8)


def _downscale(grey: Grey) -> Grey | None:
    if min(grey.shape) < 400:
        return None
    return np.asarray(cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
                      dtype=np.uint8)


def _equalise(grey: Grey) -> Grey:
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
    return np.asarray(clahe.apply(grey), dtype=np.uint8)


def _otsu(grey: Grey) -> Grey:
    _, binary = cv2.threshold(_smooth(grey), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.asarray(binary, dtype=np.uint8)


def _adaptive(grey: Grey) -> Grey:
    block = max(11, (min(grey.shape) // 16) | 1)
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                                   cv2.THRESH_BINARY, block, 5)
    return np.asarray(binary, dtype=np.uint8)


def _closed(grey: Grey) -> Grey:
    """Dark modules made of dots (dot-peen, dot-matrix printers) joined into solid ones."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    return np.asarray(cv2.morphologyEx(_otsu(grey), cv2.MORPH_OPEN, kernel), dtype=np.uint8)


def _sharpen(grey: Grey) -> Grey:
    blurred = cv2.GaussianBlur(grey, (0, 0), 2.0)
    return np.asarray(cv2.addWeighted(grey, 1.8, blurred, -0.8, 0), dtype=np.uint8)


#: (name, transform or None for the image itself, zxing options). Cheapest first.
Variant = tuple[str, Callable[[Grey], Grey | None] | None, dict[str, Any]]
VARIANTS: tuple[Variant, ...] = (
    ("as-is", None, {}),
    ("global-histogram", None, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}),
    ("smoothed", _smooth, {}),
    ("smoothed-global", _smooth, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}),
    ("pure", None, {"is_pure": True, "binarizer": zxingcpp.Binarizer.FixedThreshold}),
    ("upscaled", _upscale, {}),
    ("upscaled-global", _upscale, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}),
    ("equalised", _equalise, {}),
    ("otsu", _otsu, {"binarizer": zxingcpp.Binarizer.BoolCast}),
    ("adaptive", _adaptive, {"binarizer": zxingcpp.Binarizer.BoolCast}),
    ("closed", _closed, {"binarizer": zxingcpp.Binarizer.BoolCast}),
    ("sharpened", _sharpen, {}),
    ("upscaled-sharpened", _upscale_sharpen, {}),
    ("downscaled", _downscale, {}),
)
FAST_VARIANTS = 3


def _variants(grey: Grey, thorough: bool) -> Iterator[tuple[str, Grey, dict[str, Any]]]:
    cache: dict[Callable[[Grey], Grey | None], Grey | None] = {}
    for name, transform, options in VARIANTS[: None if thorough else FAST_VARIANTS]:
        if transform is None:
            yield name, grey, options
            continue
        if transform not in cache:
            cache[transform] = transform(grey)
        image = cache[transform]
        if image is not None:
            yield name, image, options


# ---------------------------------------------------------------- backends


def _zxing(image: Grey, formats: Any, options: dict[str, Any]) -> list[Code]:
    kwargs: dict[str, Any] = {"text_mode": zxingcpp.TextMode.Plain, **options}
    if formats is not None:
        kwargs["formats"] = formats
    return [Code(format=r.format.name, text=r.text, raw=bytes(r.bytes))
            for r in zxingcpp.read_barcodes(image, **kwargs)
            if r.valid and r.format != zxingcpp.BarcodeFormat.NONE]   # pure mode can give those


def _text_from_bytes(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")   # the QR code default character set


def _zbar(image: Grey, wanted: set[str] | None) -> list[Code]:
    try:
        from pyzbar import pyzbar
        from pyzbar.wrapper import ZBarSymbol, zbar_image_scanner_set_config
    except ImportError as exc:  # libzbar0 missing raises ImportError from pyzbar
        raise CodeReaderError(f"the zbar backend needs pyzbar and libzbar0: {exc}") from exc
    height, width = image.shape
    pixels = np.ascontiguousarray(image).tobytes()
    codes = []
    # pyzbar.decode() cannot set zbar's binary mode; these are the same steps with it set.
    with _zbar_lock, pyzbar._image_scanner() as scanner:
        for symbol in ZBarSymbol:
            if symbol.name in ("NONE", "PARTIAL", "COMPOSITE"):
                continue
            enabled = wanted is None or ZBAR_FORMATS.get(symbol.name) in wanted
            zbar_image_scanner_set_config(scanner, symbol, 0, 1 if enabled else 0)
            zbar_image_scanner_set_config(scanner, symbol, _ZBAR_CFG_BINARY, 1)
        with pyzbar._image() as zimage:
            pyzbar.zbar_image_set_format(zimage, pyzbar._FOURCC["L800"])
            pyzbar.zbar_image_set_size(zimage, width, height)
            pyzbar.zbar_image_set_data(zimage, cast(c_char_p(pixels), c_void_p), len(pixels), None)
            if pyzbar.zbar_scan_image(scanner, zimage) < 0:
                raise CodeReaderError("zbar refused the image")
            for found in pyzbar._decode_symbols(pyzbar._symbols_for_image(zimage)):
                name = ZBAR_FORMATS.get(found.type, found.type)
                codes.append(Code(format=name, text=_text_from_bytes(found.data),
                                  raw=bytes(found.data)))
    return codes


def parse_formats(formats: Sequence[str] | None) -> tuple[Any, set[str] | None]:
    """zxing-cpp's formats object and the set of names; ValueError naming an unknown one."""
    if not formats:
        return None, None
    try:
        parsed = zxingcpp.barcode_formats_from_str(",".join(formats))
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"unknown code format in {list(formats)}: {exc}") from None
    return parsed, set(formats)


def decode_image(image: Any, backend: str = "zxing", *, formats: Sequence[str] | None = None,
                 thorough: bool = True) -> list[Code]:
    """Every code found in ``image`` (numpy array or PIL image), exact text and raw bytes.

    ``backend`` is ``zxing`` (zxing-cpp) or ``zbar`` (pyzbar; reads no
    DataMatrix); ``formats`` limits the search (zxing-cpp names, e.g.
    ``["QRCode", "DataMatrix"]``). Raises ValueError for a bad argument or an
    image that is not one, CodeReaderError when the zbar library is missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown decoding backend {backend!r} (valid: {', '.join(BACKENDS)})")
    grey = to_grey(image)
    zx_formats, wanted = parse_formats(formats)
    for name, variant, options in _variants(grey, thorough):
        if backend == "zxing":
            codes = _zxing(variant, zx_formats, options)
        elif options.get("is_pure") or options.get("binarizer") not in _ZBAR_BINARIZERS:
            continue                       # zbar has no such options: the variant adds nothing
        else:
            codes = _zbar(variant, wanted)
        if codes:
            if name != "as-is":
                log.debug("decoded %d code(s) on the %s variant", len(codes), name)
            return _unique(codes)
    return []


#: The variants the live camera reader cycles through, one per frame.
LIVE_VARIANTS = ("as-is", "global-histogram", "smoothed", "upscaled")


def decode_variant(image: Any, variant: str, backend: str = "zxing", *,
                   formats: Sequence[str] | None = None) -> list[Code]:
    """One try on one named variant of ``image`` (see VARIANTS); for live frames.

    A camera reader calling it with the next variant on each frame gets the
    retries of :func:`decode_image` spread over successive frames, at the cost
    of one try per frame. Raises ValueError as decode_image does.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown decoding backend {backend!r} (valid: {', '.join(BACKENDS)})")
    by_name = {v[0]: v for v in VARIANTS}
    if variant not in by_name:
        raise ValueError(f"unknown variant {variant!r} (valid: {', '.join(by_name)})")
    _, transform, options = by_name[variant]
    grey = to_grey(image)
    prepared = grey if transform is None else transform(grey)
    if prepared is None:
        prepared = grey
    zx_formats, wanted = parse_formats(formats)
    if backend == "zxing":
        return _unique(_zxing(prepared, zx_formats, options))
    return _unique(_zbar(prepared, wanted))


def _unique(codes: list[Code]) -> list[Code]:
    seen: set[tuple[str, bytes | str | None]] = set()
    out = []
    for code in codes:
        key = (code.format, code.raw if code.raw is not None else code.text)
        if key not in seen:
            seen.add(key)
            out.append(code)
    return out
