"""Clean a rectified page: flatten the light, then make text bilevel or keep colour.

Text pages: the paper's brightness is estimated everywhere (a grey-level
closing at low resolution removes the ink, a median smooths it) and the page is
divided by it, which removes shadows and light gradients; the result is made
bilevel with Otsu's threshold on the flattened page. Colour documents (a
colour logo, a photograph, an identity card) keep their colour: the same
division by the paper's brightness evens the light without changing hues, and
identity cards, which have no paper to measure, get a global white balance and
level stretch only.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from scanner.page import Image, Page, PageContent

#: A page is colour when more than this fraction of it has a clearly coloured ink.
COLOUR_FRACTION = 0.01
#: Chroma (Lab a, b distance from the paper's own tint) of a "clearly coloured" pixel.
COLOUR_CHROMA = 18.0
#: A page is a photograph (kept in gray) when more than this fraction is mid-grey after flattening.
PHOTO_FRACTION = 0.12


def paper_level(gray: Image, dpi: float) -> npt.NDArray[np.float32]:
    """The paper's brightness at every pixel, as if the ink were not there."""
    h, w = gray.shape
    factor = max(1, round(dpi / 25))                      # work near 25 dpi
    small = cv2.resize(gray, (max(1, w // factor), max(1, h // factor)),
                       interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))    # > a letter at 25 dpi
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    closed = cv2.dilate(closed, kernel)                   # a second pass lifts bold headings
    closed = cv2.medianBlur(closed, 5)
    level = cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    return np.maximum(level, 16.0)


def classify(page: Page) -> PageContent:
    """TEXT or COLOUR, from how much of the page is clearly coloured."""
    if page.content is not PageContent.UNKNOWN:
        return page.content
    if page.image.ndim == 2:
        return PageContent.TEXT
    small = _at_dpi(page.image, page.dpi, 50)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab).astype(np.float32)
    light = lab[..., 0] > np.percentile(lab[..., 0], 60)
    tint = np.median(lab[light][:, 1:], axis=0) if np.any(light) else np.array([128.0, 128.0])
    chroma = np.linalg.norm(lab[..., 1:] - tint, axis=2)
    coloured = float(np.mean(chroma > COLOUR_CHROMA))
    return PageContent.COLOUR if coloured > COLOUR_FRACTION else PageContent.TEXT


def enhance(page: Page, *, bilevel: bool = True) -> Page:
    """The cleaned page: bilevel (or flattened gray) for text, colour kept for the rest."""
    content = classify(page)
    image = page.image
    if content is PageContent.COLOUR:
        if page.format == "ID-1":
            out = _stretch_colour(image)
        else:
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            level = paper_level(gray, page.dpi)
            out = np.clip(image.astype(np.float32) * (240.0 / level)[..., None], 0, 255)
            out = _stretch_colour(out.astype(np.uint8))
        return replace(page, image=out, content=content, bilevel=False)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    flat = np.clip(gray.astype(np.float32) * (255.0 / paper_level(gray, page.dpi)), 0, 255)
    flat_u8 = flat.astype(np.uint8)
    mid = cv2.medianBlur(_at_dpi(flat_u8, page.dpi, 50), 3)
    photo = float(np.mean((mid > 60) & (mid < 190))) > PHOTO_FRACTION
    if photo or not bilevel:
        return replace(page, image=_stretch_gray(flat_u8), content=content, bilevel=False)
    return replace(page, image=binarise(flat_u8), content=content, bilevel=True)


def binarise(flat: Image) -> Image:
    """Bilevel (0 ink, 255 paper) of a flattened text page.

    Otsu's threshold splits ink from paper; the cut is then put half-way
    between the ink's typical level and white, where a blurred stroke's edge
    is, so that strokes keep their width instead of swelling.
    """
    otsu, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ink = flat[flat < otsu]
    ink_level = float(np.median(ink)) if ink.size else 0.0
    threshold = float(np.clip((ink_level + 255.0) / 2.0, 90, 200))
    # a faint stroke still counts as ink: smooth a little before thresholding
    smooth = cv2.GaussianBlur(flat, (3, 3), 0)
    return np.where(smooth > threshold, 255, 0).astype(np.uint8)


def _at_dpi(image: Image, dpi: float, target: float) -> Image:
    if dpi <= target:
        return image
    f = target / dpi
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=cv2.INTER_AREA)


def _stretch_gray(gray: Image) -> Image:
    lo, hi = np.percentile(gray, [1, 99.5])
    if hi - lo < 10:
        return gray
    return np.clip((gray.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def _stretch_colour(image: Image) -> Image:
    """White balance and levels: the brightest 2 % taken as white, the darkest 0.5 % as black."""
    img = image.astype(np.float32)
    lum = img.mean(axis=2)
    bright = lum >= np.percentile(lum, 98)
    white = np.maximum(img[bright].mean(axis=0), 1.0)
    black = np.percentile(img.reshape(-1, 3), 0.5, axis=0)
    out = (img - black) * (255.0 / np.maximum(white - black, 1.0))
    return np.clip(out, 0, 255).astype(np.uint8)
