"""Values of the page pipeline: paper formats, pages, quality verdicts and encoded pages.

Reason codes cross into the UI and speech (kiosk/): change them together with
docs/contracts.md and the kiosk's message catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class PaperFormat:
    """A paper format in portrait orientation (width <= height), in millimetres."""

    name: str
    width_mm: float
    height_mm: float
    dpi: int            # resolution a page of this format is rectified to

    @property
    def aspect(self) -> float:
        return self.height_mm / self.width_mm


A4 = PaperFormat("A4", 210.0, 297.0, 200)
A5 = PaperFormat("A5", 148.0, 210.0, 200)
LETTER = PaperFormat("letter", 215.9, 279.4, 200)
ID1 = PaperFormat("ID-1", 53.98, 85.6, 300)       # identity card, driving licence, bank card
FORMATS: tuple[PaperFormat, ...] = (A4, A5, LETTER, ID1)


class PageContent(StrEnum):
    """What enhance() found on a page, which decides how it is cleaned and compressed."""

    UNKNOWN = "unknown"     # rectified, not enhanced yet
    TEXT = "text"           # text and line art: grayscale or bilevel
    COLOUR = "colour"       # photos, colour documents, identity cards: colour kept


@dataclass(frozen=True, eq=False)
class Page:
    """One rectified page.

    ``image`` is H x W x 3 BGR, or H x W gray (0 black, 255 white; a bilevel
    page holds only 0 and 255). ``size_mm`` is (width, height) as placed,
    ``format`` the recognised paper format's name ("A4", "A5", "letter",
    "ID-1") or "other" when the proportions matched none. ``dpi`` is the
    page's resolution as stored; ``source_dpi`` the resolution at which the
    camera saw it (frame pixels per inch of paper: the square root of the
    page's area in the frame over its area on paper), None when unknown. What
    the camera could not resolve is not on the page, whatever ``dpi`` says:
    :func:`scanner.enhance.enhance` keeps text grey below
    ``BILEVEL_MIN_SOURCE_DPI``, and :func:`scanner.rectify.rectify` stores such
    pages at a resolution matched to ``source_dpi``.
    """

    image: Image
    size_mm: tuple[float, float]
    dpi: float
    format: str
    content: PageContent = PageContent.UNKNOWN
    bilevel: bool = False
    source_dpi: float | None = None

    @property
    def colour(self) -> Literal["bilevel", "gray", "rgb"]:
        if self.image.ndim == 3:
            return "rgb"
        return "bilevel" if self.bilevel else "gray"

    _scaled: dict[float, Image] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)

    @cached_property
    def gray(self) -> Image:
        """The page in gray (converted once, then shared by quality and enhancement)."""
        if self.image.ndim == 2:
            return self.image
        return np.asarray(cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)

    def gray_at(self, dpi: float) -> Image:
        """The page in gray at ``dpi`` (:func:`resample_gray`), made once and kept: quality
        and enhancement look at the page at the same scales."""
        key = round(float(dpi), 3)
        if key not in self._scaled:
            self._scaled[key] = self._from_nearest(key)
        return self._scaled[key]

    def _from_nearest(self, dpi: float) -> Image:
        """The page at ``dpi`` from the coarsest scale already made that it divides exactly
        (block averages of block averages: 25 dpi from 100 reads a quarter of the pixels that
        it would from 200, within one grey level of it), else from the page itself."""
        source, source_dpi = self.gray, self.dpi
        for made, image in self._scaled.items():
            whole = made / dpi
            if dpi < made < source_dpi and abs(whole - round(whole)) < 1e-3 \
                    and min(image.shape[:2]) >= 8 * round(whole):
                source, source_dpi = image, made
        return resample_gray(source, dpi / source_dpi)


def resample_gray(gray: Image, factor: float) -> Image:
    """``gray`` scaled by ``factor``; a shrink by a whole number is an exact block average.

    (OpenCV's area resampling is a hundred times faster for whole factors, and
    dropping the last few rows or columns of a page costs nothing.) Enlarging
    is bilinear.
    """
    if abs(factor - 1.0) < 1e-3:
        return gray
    h, w = gray.shape[:2]
    whole = round(1.0 / factor)
    if factor < 1 and abs(1.0 / factor - whole) < 0.02 and min(h, w) >= 8 * whole:
        size = (w // whole, h // whole)
        gray = gray[: size[1] * whole, : size[0] * whole]
        return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA if factor < 1
                                 else cv2.INTER_LINEAR), dtype=np.uint8)


class ReasonCode(StrEnum):
    """Why a page is not acceptable; values are the contract codes of docs/contracts.md."""

    BLURRED = "blurred"
    TOO_DARK = "too_dark"
    OVEREXPOSED = "overexposed"
    GLARE = "glare"
    CUT_OFF = "cut_off"
    TOO_SMALL = "too_small"
    TOO_TILTED = "too_tilted"
    MOVING = "moving"
    NO_PAGE = "no_page"


#: What the citizen is told for each reason (English msgids; the kiosk's catalogs translate them).
MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.BLURRED: "The picture is blurred. Hold the page flat and still.",
    ReasonCode.TOO_DARK: "The picture is too dark. Move the page into the light of the tray.",
    ReasonCode.OVEREXPOSED: "The picture is too bright. Move the page away from the light.",
    ReasonCode.GLARE: "A reflection hides part of the page. Move the page away from the light.",
    ReasonCode.CUT_OFF: "Part of the page is outside the picture. Put the whole page "
                        "inside the frame.",
    ReasonCode.TOO_SMALL: "The page is too far away. Lay it flat in the middle of the tray.",
    ReasonCode.TOO_TILTED: "The page is tilted. Lay it flat on the tray.",
    ReasonCode.MOVING: "Hold the page still.",
    ReasonCode.NO_PAGE: "No page found. Place the page on the tray.",
}


@dataclass(frozen=True)
class Reason:
    """One problem with a page: a code for machines, a message for the citizen, the measure."""

    code: ReasonCode
    message: str
    value: float | None = None       # the measured figure that crossed its threshold
    threshold: float | None = None

    @classmethod
    def of(cls, code: ReasonCode, value: float | None = None,
           threshold: float | None = None) -> Reason:
        return cls(code, MESSAGES[code], value, threshold)

    def to_json(self) -> dict[str, object]:
        return {"code": self.code.value, "message": self.message,
                "value": None if self.value is None else round(self.value, 4),
                "threshold": self.threshold}


@dataclass(frozen=True)
class Verdict:
    """The quality judgement of one page; ``ok`` when there is no reason against it."""

    reasons: list[Reason] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> set[ReasonCode]:
        return {r.code for r in self.reasons}

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "reasons": [r.to_json() for r in self.reasons],
                "measures": {k: round(v, 4) for k, v in self.measures.items()}}


@dataclass(frozen=True, eq=False)
class EncodedPage:
    """A compressed page, embedded unchanged in the dossier PDF.

    ``data`` is a baseline JFIF file (codec "jpeg") or a raw CCITT group 4
    stream (codec "ccitt-g4": K=-1, BlackIs1=False, EncodedByteAlign=False,
    one strip, ``width`` columns and ``height`` rows).
    """

    data: bytes
    codec: Literal["jpeg", "ccitt-g4"]
    width: int
    height: int
    dpi: float
    colour: Literal["bilevel", "gray", "rgb"]
    size_mm: tuple[float, float]
