"""Compress a page for the dossier PDF: CCITT G4 for bilevel pages, baseline JPEG otherwise.

The bytes are embedded in the PDF unchanged (DCTDecode for JPEG,
CCITTFaxDecode with K=-1 for G4), so the G4 stream must be the raw data of
one strip. Pillow's libtiff writes a group-4 TIFF with all rows in one strip;
the strip is cut out of that file by its StripOffsets/StripByteCounts.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage
from PIL import TiffImagePlugin

from scanner.errors import EncodeError
from scanner.page import EncodedPage, Page

#: JPEG quality of gray and colour pages (legibility measured in benchmarks/bench_scanner.py).
JPEG_QUALITY = {"gray": 55, "rgb": 70}

# TIFF 6.0 tag numbers and the CCITT Group 4 compression code: facts of the format.
_STRIP_OFFSETS = 273  # TIFF 6.0 tag (see above)
_STRIP_BYTE_COUNTS = 279  # TIFF 6.0 tag
_ROWS_PER_STRIP = 278  # TIFF 6.0 tag
_COMPRESSION = 259  # TIFF 6.0 tag
_GROUP4 = 4  # TIFF 6.0: Compression = 4 is CCITT T.6 (Group 4)


def compress(page: Page, *, jpeg_quality: int | None = None) -> EncodedPage:
    """Encode a page: G4 when bilevel, JPEG (gray or colour) otherwise. Raises EncodeError.

    ``jpeg_quality`` overrides ``JPEG_QUALITY`` (for measurements).
    """
    image = page.image
    h, w = image.shape[:2]
    common = {"width": w, "height": h, "dpi": page.dpi, "size_mm": page.size_mm}
    if page.colour == "bilevel":
        return EncodedPage(data=encode_g4(image), codec="ccitt-g4", colour="bilevel", **common)
    if page.colour == "gray":
        pil = PILImage.fromarray(image, mode="L")
    else:
        pil = PILImage.fromarray(np.ascontiguousarray(image[..., ::-1]), mode="RGB")
    buffer = io.BytesIO()
    try:
        quality = JPEG_QUALITY[page.colour] if jpeg_quality is None else jpeg_quality
        pil.save(buffer, format="JPEG", quality=quality, optimize=True,
                 progressive=False, dpi=(page.dpi, page.dpi), subsampling="4:2:0")
    except (OSError, ValueError) as exc:
        raise EncodeError(f"JPEG encoding failed: {exc}") from exc
    return EncodedPage(data=buffer.getvalue(), codec="jpeg", colour=page.colour, **common)


def encode_g4(bilevel: np.ndarray) -> bytes:
    """The raw CCITT group 4 stream (K=-1, 0 bits black in PDF terms) of a 0/255 image."""
    if bilevel.ndim != 2:
        raise EncodeError(f"a bilevel page is H x W, got {bilevel.shape}")
    # Pillow writes mode "1" as BlackIsZero and libtiff encodes the bits as they are, while a
    # CCITT stream's runs are white-first with 0 meaning white (WhiteIsZero): so ink goes in as 1
    h, w = bilevel.shape
    bits = np.packbits(bilevel <= 127, axis=1)          # rows padded to whole bytes, MSB first
    pil = PILImage.frombytes("1", (w, h), bits.tobytes())
    buffer = io.BytesIO()
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[_ROWS_PER_STRIP] = pil.height
    try:
        pil.save(buffer, format="TIFF", compression="group4", tiffinfo=info)
        buffer.seek(0)
        with PILImage.open(buffer) as tiff:
            tags = tiff.tag_v2
            if tags.get(_COMPRESSION) != _GROUP4:
                raise EncodeError("Pillow did not write a group 4 TIFF (is libtiff missing?)")
            offsets, counts = tags[_STRIP_OFFSETS], tags[_STRIP_BYTE_COUNTS]
    except OSError as exc:
        raise EncodeError(f"G4 encoding failed: {exc}") from exc
    offsets = offsets if isinstance(offsets, tuple) else (offsets,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    if len(offsets) != 1:
        raise EncodeError(f"the G4 TIFF has {len(offsets)} strips, one was asked for")
    data = buffer.getvalue()
    return data[offsets[0]: offsets[0] + counts[0]]


def decode_g4(data: bytes, width: int, height: int) -> np.ndarray:
    """Decode a raw G4 stream (as made by :func:`encode_g4`) to a 0/255 image; for checks."""
    header = _tiff_wrapper(len(data), width, height)
    with PILImage.open(io.BytesIO(header + data)) as pil:
        # the wrapper says WhiteIsZero, which Pillow honours: paper comes back 255, ink 0
        return np.where(np.asarray(pil.convert("L")) > 127, 255, 0).astype(np.uint8)


def _tiff_wrapper(length: int, width: int, height: int) -> bytes:
    """A little-endian TIFF header whose one strip, group 4, follows the header."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 1), (259, 3, 1, _GROUP4),
        (262, 3, 1, 0),                                  # WhiteIsZero, as CCITT streams are
        (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, length),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    out = bytearray(b"II*\x00" + (8).to_bytes(4, "little"))
    out += len(entries).to_bytes(2, "little")
    for tag, kind, count, value in entries:
        if tag == 273:
            value = data_offset
        out += tag.to_bytes(2, "little") + kind.to_bytes(2, "little") + count.to_bytes(4, "little")
        out += (value.to_bytes(2, "little") + b"\x00\x00") if kind == 3 \
            else value.to_bytes(4, "little")
    out += (0).to_bytes(4, "little")
    return bytes(out)
