"""Encoded pages made the way ``scanner.compress`` makes them, for tests of the dossier PDF.

JPEG files from Pillow, and raw CCITT G4 streams taken out of a Pillow group4 TIFF
written as one strip (the strip of such a TIFF *is* the raw G4 stream).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from printer.fonts import REGULAR, font_path

SIZES_MM = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "ID-1": (85.6, 53.98),
            "letter": (215.9, 279.4), "A4-landscape": (297.0, 210.0)}


@dataclass(frozen=True)
class SyntheticPage:
    """An ``EncodedPage`` (docs/contracts.md) with the image it encodes, for comparisons."""

    data: bytes
    codec: Literal["jpeg", "ccitt-g4"]
    width: int
    height: int
    dpi: float
    colour: Literal["bilevel", "gray", "rgb"]
    size_mm: tuple[float, float]
    image: Image.Image


def page_image(seed: int, size_mm: tuple[float, float], dpi: float, mode: str) -> Image.Image:
    """A page of text lines and a frame, with a marker that tells pages apart."""
    w = round(size_mm[0] / 25.4 * dpi)
    h = round(size_mm[1] / 25.4 * dpi)
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (w, h), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(font_path(REGULAR)), max(8, round(dpi / 9)))
    margin = round(dpi * 0.6)
    draw.rectangle([margin // 2, margin // 2, w - margin // 2, h - margin // 2],
                   outline=(20, 20, 20), width=max(1, round(dpi / 50)))
    draw.text((margin, margin), f"Page {seed} — dépôt n° {seed:04d} — 25 €", fill=(0, 0, 0),
              font=font)
    y = margin + round(dpi * 0.5)
    words = ["Le", "déposant", "certifie", "sur", "l'honneur", "l'exactitude", "des",
             "renseignements", "fournis"]
    while y < h - margin:
        n = int(rng.integers(4, len(words)))
        draw.text((margin, y), " ".join(words[:n]), fill=(30, 30, 60), font=font)
        y += round(dpi / 5)
    if mode == "RGB":
        draw.ellipse([w - 3 * margin, margin, w - margin, 3 * margin], fill=(200, 30, 30))
    return img.convert(mode)


def jpeg_page(seed: int, size: str = "A4", *, dpi: float = 150, colour: str = "gray",
              quality: int = 70) -> SyntheticPage:
    size_mm = SIZES_MM[size]
    img = page_image(seed, size_mm, dpi, "RGB" if colour == "rgb" else "L")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True)
    return SyntheticPage(out.getvalue(), "jpeg", img.width, img.height, dpi,
                         "rgb" if colour == "rgb" else "gray", size_mm, img)


def g4_page(seed: int, size: str = "A4", *, dpi: float = 200) -> SyntheticPage:
    size_mm = SIZES_MM[size]
    img = page_image(seed, size_mm, dpi, "L").point(lambda v: 255 if v > 128 else 0).convert("1")
    return SyntheticPage(g4_stream(img), "ccitt-g4", img.width, img.height, dpi, "bilevel",
                         size_mm, img)


def g4_stream(img: Image.Image) -> bytes:
    """The raw CCITT G4 stream of a bilevel image (one strip, MSB first).

    libtiff codes 0 bits as white runs, and Pillow's mode "1" has white = 1 (it writes
    the TIFF as MinIsBlack): without the inversion every white run would be coded as
    black and the PDF page would come out as a negative.
    """
    out = io.BytesIO()
    ImageOps.invert(img.convert("L")).convert("1").save(
        out, "TIFF", compression="group4", tiffinfo={278: img.height})  # 278: RowsPerStrip
    out.seek(0)
    tiff = Image.open(out)
    offsets = tiff.tag_v2[273]
    counts = tiff.tag_v2[279]
    if len(offsets) != 1:
        raise AssertionError(f"Pillow wrote {len(offsets)} strips, not one")
    fill_order = tiff.tag_v2.get(266, 1)
    if fill_order != 1:
        raise AssertionError(f"FillOrder {fill_order}: the bits would be reversed")
    data = out.getvalue()
    return data[offsets[0]:offsets[0] + counts[0]]
