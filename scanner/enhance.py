"""Clean a rectified page: even out the light, then make text bilevel or keep colour.

Everything that needs looking at the page as a whole is done at low
resolution and applied to the full page in one pass:

1. **Paper level.** At about 25 dpi the ink is closed away (a grey-level
   closing wider than a letter, then a dilation that lifts bold headings, then
   a median); what is left is the paper's brightness under the kiosk's light,
   shadows and gradients included.
2. **Kind of page.** Clearly coloured ink on more than ``COLOUR_FRACTION`` of
   the page (at 25 dpi, chroma measured from the paper's own tint) makes it a
   colour document; identity cards always are. Much mid-grey after
   flattening makes a text page a photograph (kept in grey).
3. **Text → bilevel.** The page divided by its paper level is flat (paper at
   255 everywhere). A threshold on that flattened page is chosen locally, as
   in Bernsen's method: where a small window (``WINDOW_MM``) holds a stroke,
   half-way between its darkest and lightest pixels, where the stroke's
   blurred edge is, so that strokes keep their width and faint rules are kept;
   elsewhere a page-wide threshold (half-way between the page's typical ink
   and the paper, Otsu separating the two) keeps blank paper blank and large
   dark areas dark. The threshold surface times
   the paper level is a threshold on the *unflattened* page, so the full
   page is only compared with it, never divided.
   **How finely:** strokes the camera saw a pixel or two wide come out of a
   threshold fattened (their blurred halo taken for ink, counters filled).
   :func:`ink_gain` measures it on the page itself, at character scale (the
   bilevel page is darker than the grey one where strokes were fattened);
   a page enlarged to be stored (seen under its stored resolution) that gains
   more than ``MAX_INK_GAIN`` is enhanced again on a grid
   ``FINE_BILEVEL_DPI`` fine, which follows the blurred edges more closely:
   on the worst 1080p pages tesseract reads more of them, the median page
   reads the same, for about 1.45 x the bytes (docs/scanner.md).
4. **Colour and grey pages** are divided by their paper level (colour kept:
   the same factor on the three channels), then their levels are stretched
   (white point from the brightest 2 %, black point from the darkest 0.5 %,
   one map for all channels) through a lookup table.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import numpy.typing as npt

from scanner.page import Image, Page, PageContent, resample_gray

#: A page is colour when more than this fraction of it has a clearly coloured ink.
COLOUR_FRACTION = 0.01
#: Chroma (Lab a, b distance from the paper's own tint) of a "clearly coloured" pixel.
COLOUR_CHROMA = 18.0
#: A text page is a photograph (kept in grey) when more than this fraction is mid-grey once flat.
PHOTO_FRACTION = 0.12
#: Width of the page's edge made white on a bilevel page: the rectified page's outermost
#: pixels mix in the tray, which would print as a black frame.
BORDER_MM = 0.6
#: Resolutions of the whole-page analyses: hand choices of b4ff93a (the paper level varies over
#: centimetres, ink strokes need ~4 px per mm, a photograph's area shows at 2 px per mm), checked
#: by the enhancement tests and ``python -m benchmarks --only scanner`` (pages).
PAPER_DPI = 25.0
INK_DPI = 100.0  # see above
CLASSIFY_DPI = 25.0  # see above
PHOTO_DPI = 50.0  # see above


#: Least resolution (frame pixels per inch of paper) at which the camera must have seen a text
#: page for it to be made bilevel; below it the page is kept grey. Calibrated by
#: ``python -m benchmarks.calibrate_bilevel`` (10 letters, 40-200 dpi): from pages seen at 61
#: dpi up, the bilevel page keeps >= 97 % of what tesseract reads right on the reference and
#: within 2 % of the grey page; at 56 dpi it keeps 94 %, 10 % less than grey
#: (docs/scanner.md, "Bilevel or grey").
BILEVEL_MIN_SOURCE_DPI = 60.0


def bilevel_safe(source_dpi: float | None) -> bool:
    """Whether text seen at ``source_dpi`` survives binarisation (unknown: assumed so)."""
    return source_dpi is None or source_dpi >= BILEVEL_MIN_SOURCE_DPI


#: Resolution of the bilevel page of text whose strokes a threshold fattens (see ``MAX_INK_GAIN``).
FINE_BILEVEL_DPI = 300.0
#: Largest :func:`ink_gain` (mean grey levels, at ``PHOTO_DPI``) of a bilevel page kept at the
#: resolution it was rectified at; above it, on a page enlarged to be stored (:func:`enlarged`),
#: the page is enhanced again at ``FINE_BILEVEL_DPI``. Calibrated on the in-sample pages of
#: ``python -m benchmarks --only scanner`` (``pages``; split: ``simulated`` seeds 9000-9019,
#: 12 MP stills, gain 25-43; ``kiosk_1080p`` seeds 9500-9509, A4 at 75-80 dpi, gain 51-114):
#: across the gap. The held-out group (``kiosk_1080p_held_out``, seeds 19500-19511, gain
#: 54-107) was not used to choose it (docs/scanner.md, "The 1080p kiosk camera: bilevel on a
#: finer grid").
MAX_INK_GAIN = 48.0


def enhance(page: Page, *, bilevel: bool = True) -> Page:
    """The cleaned page: bilevel (or flattened grey) for text, colour kept for the rest.

    A text page becomes bilevel only when the camera saw it sharply enough
    (:func:`bilevel_safe` of ``page.source_dpi``): binarising strokes the
    camera could not resolve breaks them, while grey keeps what was seen.
    ``bilevel=False`` keeps text pages in grey (flattened and stretched).
    A bilevel page enlarged from what the camera saw (:func:`enlarged`) whose
    strokes the threshold fattened (:func:`ink_gain` over ``MAX_INK_GAIN``)
    is enhanced again enlarged to ``FINE_BILEVEL_DPI`` (its ``dpi`` says so).
    """
    content = classify(page)
    if content is PageContent.COLOUR:
        return replace(page, image=_clean_colour(page), content=content, bilevel=False)
    gray = page.gray
    # at whole fractions of the page's resolution (block averages, shared with assess())
    factor = max(1, round(page.dpi / INK_DPI))
    paper = paper_level(page.gray_at(page.dpi / max(1, round(page.dpi / PAPER_DPI))))
    ink = page.gray_at(page.dpi / factor)
    h, w = ink.shape
    paper_ink = np.asarray(cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)
    flat_ink = flatten(ink, paper_ink)
    coarse = shrink(flat_ink, page.dpi / factor, PHOTO_DPI)
    if is_photo_at(coarse):                             # a photograph's tones are no shadows
        flat = flatten(gray, lit_paper(paper))
        return replace(page, image=stretch(flat, shrink(flat, page.dpi, CLASSIFY_DPI)),
                       content=content, bilevel=False)
    if not bilevel or not bilevel_safe(page.source_dpi):
        return replace(page, image=grey_text(flatten(gray, paper)), content=content,
                       bilevel=False)
    darkest = flatten(pool(gray, factor, cv2.MORPH_ERODE)[:h, :w], paper_ink)
    lightest = flatten(pool(gray, factor, cv2.MORPH_DILATE)[:h, :w], paper_ink)
    surface = threshold_surface(flat_ink, darkest, lightest, paper_ink, page.dpi / factor)
    bilevel_page = binarise(gray, surface)
    if enlarged(page) and ink_gain(bilevel_page, coarse, page.dpi) > MAX_INK_GAIN:
        # the whole of it again on the finer grid (threshold surface included), as if the page
        # had been rectified at FINE_BILEVEL_DPI: not enlarged any more, so this happens once
        dpi = FINE_BILEVEL_DPI
        size = (round(page.size_mm[0] / 25.4 * dpi), round(page.size_mm[1] / 25.4 * dpi))
        finer = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR), np.uint8)
        return enhance(replace(page, image=finer, dpi=dpi, content=content))
    _clear_border(bilevel_page, round(BORDER_MM * page.dpi / 25.4))
    return replace(page, image=bilevel_page, content=content, bilevel=True)


def enlarged(page: Page) -> bool:
    """Whether ``page`` was enlarged from what the camera saw to be stored (and is stored
    under ``FINE_BILEVEL_DPI``): only there is a threshold applied to interpolated, blurred
    edges, which a finer grid follows more closely. A page the camera saw at its stored
    resolution or finer (a 12 MP still) holds no more on a finer grid."""
    return (page.source_dpi is not None and page.source_dpi < page.dpi
            and page.dpi < FINE_BILEVEL_DPI)


#: Flattened grey level under which a pixel at ``PHOTO_DPI`` is near ink (for :func:`ink_gain`).
NEAR_INK = 200


def ink_gain(bilevel: Image, flat_coarse: Image, dpi: float) -> float:
    """How much darker a bilevel page is than its flattened grey at character scale.

    ``bilevel`` is the page at ``dpi``, ``flat_coarse`` the flattened grey
    page at ``PHOTO_DPI`` (block averages). The bilevel page is averaged to
    the same cells; over the cells near ink (either below ``NEAR_INK``), the
    mean of grey minus bilevel. A stroke seen sharply keeps its width and its
    cell its darkness (a page from a 12 MP still: 25-49 levels, mostly the
    grey page's own lighter edges); one the camera saw a pixel or two wide
    is a soft grey line, whose halo the threshold makes ink (a 1080p camera
    on an A4 page: 51-114).
    """
    h, w = flat_coarse.shape
    averaged = resample_gray(bilevel, PHOTO_DPI / dpi)[:h, :w]
    if averaged.shape != flat_coarse.shape:
        flat_coarse = flat_coarse[: averaged.shape[0], : averaged.shape[1]]
    darker = np.asarray(cv2.min(averaged, flat_coarse), np.uint8)
    near = (darker < NEAR_INK).astype(np.uint8)          # a page at 50 dpi: small arrays
    if cv2.countNonZero(near) == 0:
        return 0.0
    gain = cv2.subtract(flat_coarse, averaged)            # where the bilevel page is darker
    return float(cv2.mean(gain, mask=near)[0])


# -- what kind of page ----------------------------------------------------------------------------

def classify(page: Page) -> PageContent:
    """TEXT or COLOUR, from how much of the page is clearly coloured.

    ``page.content`` when it is already known (:func:`scanner.rectify.rectify`
    classifies the page at low resolution before warping it).
    """
    if page.content is not PageContent.UNKNOWN:
        return page.content
    if page.image.ndim == 2:
        return PageContent.TEXT
    return classify_colours(shrink(page.image, page.dpi, CLASSIFY_DPI))


def classify_colours(small: Image) -> PageContent:
    """TEXT or COLOUR for a BGR page at about ``CLASSIFY_DPI`` (block averages, not samples)."""
    lab = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2Lab), dtype=np.uint8)
    lum, a, b = (np.ascontiguousarray(lab[..., i]).ravel() for i in range(3))
    # the paper's tint: median a, b of the lightest 40 % (histograms: 8-bit values)
    light = lum >= _percentile_u8(lum, 60)
    da = a.astype(np.int32) - _percentile_u8(a[light], 50)
    db = b.astype(np.int32) - _percentile_u8(b[light], 50)
    coloured = np.count_nonzero(da * da + db * db > COLOUR_CHROMA ** 2) / max(1, lum.size)
    return PageContent.COLOUR if coloured > COLOUR_FRACTION else PageContent.TEXT


def _percentile_u8(values: Image, q: float) -> int:
    """The q-th percentile of 8-bit values, from their histogram."""
    counts = np.cumsum(np.bincount(values, minlength=256))
    return int(np.searchsorted(counts, q / 100.0 * counts[-1]))


def is_photo_at(coarse: Image) -> bool:
    """Whether a flattened page, at ``PHOTO_DPI``, is mostly mid-grey (a photograph), not ink
    on paper."""
    small = cv2.medianBlur(coarse, 3)
    return float(np.mean((small > 60) & (small < 190))) > PHOTO_FRACTION


# -- light ----------------------------------------------------------------------------------------

def paper_level(gray: Image) -> Image:
    """The paper's brightness at every pixel of a page at about 25 dpi, the ink closed away."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))    # wider than a letter
    closed = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, kernel)
    closed = cv2.dilate(closed, kernel)                  # a second pass lifts bold headings
    level = np.asarray(cv2.medianBlur(closed, 5), dtype=np.uint8)
    return np.maximum(level, 16).astype(np.uint8)        # no division by (almost) nothing


def lit_paper(paper: Image) -> Image:
    """The light on a colour page: the smooth fit of its paper level, not the level itself.

    A closing wider than a letter leaves a bar chart, a photograph or a
    coloured band in the paper level, and dividing the three channels by it
    would bleach their middles into false colours. The kiosk's light varies
    smoothly (gradient, vignetting): a robust quadratic surface follows it
    and ignores the print.
    """
    fit = smooth_light(paper, np.ones(paper.shape, np.bool_))
    return np.asarray(np.clip(fit, 16, 255), dtype=np.uint8)


def smooth_light(level: Image, seen: npt.NDArray[np.bool_], rounds: int = 4,
                 points: int = 2500) -> npt.NDArray[np.float32]:
    """A robust quadratic surface fitted to a paper level (an uneven light, without glare).

    Fitted on a regular subset of about ``points`` cells (``seen``), by least
    squares, dropping the cells more than 2.5 robust deviations away at each
    round (glare above, dark print or a hand below).
    """
    h, w = level.shape
    stride = max(1, int(np.sqrt(h * w / points)))
    ys, xs = np.mgrid[0:h:stride, 0:w:stride]
    x = xs.ravel() / max(1, w - 1) - 0.5
    y = ys.ravel() / max(1, h - 1) - 0.5
    design = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=-1)
    values = level[::stride, ::stride].ravel().astype(np.float64)
    inside = seen[::stride, ::stride].ravel()
    keep = inside.copy()
    coef = np.array([float(np.median(values)), 0, 0, 0, 0, 0])
    for _ in range(rounds):
        if np.count_nonzero(keep) < 12:
            break
        a = design[keep]
        coef = np.linalg.solve(a.T @ a + 1e-6 * np.eye(6), a.T @ values[keep])
        resid = values - design @ coef
        spread = 1.4826 * float(np.median(np.abs(resid[keep]))) + 1.0
        keep = inside & (np.abs(resid) < 2.5 * spread)
    c = coef.astype(np.float32)
    gx = (np.arange(w, dtype=np.float32) / max(1, w - 1) - 0.5)[None, :]
    gy = (np.arange(h, dtype=np.float32) / max(1, h - 1) - 0.5)[:, None]
    return np.asarray(c[0] + c[1] * gx + c[3] * gx * gx + (c[2] + c[4] * gy) * gy
                      + c[5] * gx * gy, dtype=np.float32)


def flatten(gray: Image, paper: Image) -> Image:
    """``gray`` divided by the paper level (resized to it): paper at 255, ink as a fraction."""
    h, w = gray.shape[:2]
    level = paper if paper.shape[:2] == (h, w) else cv2.resize(paper, (w, h),
                                                               interpolation=cv2.INTER_LINEAR)
    return np.asarray(cv2.divide(gray, level, scale=255.0), dtype=np.uint8)


# -- text -> bilevel ------------------------------------------------------------------------------

#: Bounds of the threshold on the flattened page (255 = paper).
THRESHOLD_RANGE = (90.0, 225.0)
#: Least ink-to-paper contrast (flattened grey levels) of a stroke near a point.
MIN_CONTRAST = 45.0
#: Side of the window in which the local ink and paper are looked for, in millimetres.
WINDOW_MM = 1.8


def threshold_surface(flat: Image, darkest: Image, lightest: Image, paper: Image,
                      dpi: float) -> Image:
    """The threshold on the unflattened page, at ``dpi`` (about 100).

    ``flat`` is the flattened page at ``dpi``, ``darkest`` and ``lightest`` the
    flattened minimum and maximum of each of its pixels' cells at full
    resolution (a thin rule keeps its full contrast there, where an average
    would wash it out), ``paper`` the paper level at ``dpi``. Where a window
    of ``WINDOW_MM`` holds a stroke (its darkest and lightest pixels
    ``MIN_CONTRAST`` apart), the threshold is half-way between them
    (Bernsen); elsewhere the page-wide one (half-way between the page's typical
    ink, below Otsu's threshold, and the paper) keeps paper white and large
    dark areas dark. All in 8 bits with OpenCV's saturating arithmetic.
    """
    sample = np.ascontiguousarray(flat[::2, ::2])      # a page-wide level: a quarter suffices
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    ink = sample[sample < otsu]
    ink_level = float(np.median(ink)) if ink.size else 0.0
    low, high = THRESHOLD_RANGE
    page_wide = round(float(np.clip((ink_level + 255.0) / 2.0, low, high)))
    side = max(3, round(WINDOW_MM * dpi / 25.4) | 1)
    window = np.ones((side, side), np.uint8)
    low_near = cv2.erode(darkest, window)
    high_near = cv2.dilate(lightest, window)
    local = cv2.addWeighted(low_near, 0.5, high_near, 0.5, 0.0)
    local = np.clip(local, round(low), round(high)).astype(np.uint8)
    stroke = cv2.subtract(high_near, low_near) >= MIN_CONTRAST
    threshold = np.full_like(local, page_wide)
    np.copyto(threshold, local, where=stroke)
    threshold = cv2.blur(threshold, (3, 3))                      # no seams between windows
    return np.asarray(cv2.multiply(threshold, paper, scale=1.0 / 255.0), dtype=np.uint8)


def binarise(gray: Image, surface: Image) -> Image:
    """0 (ink) where the page is darker than the threshold surface, 255 (paper) elsewhere.

    The surface is enlarged to the page smoothly: by ``cv2.pyrUp`` when the
    page is twice its size (the usual 200 dpi page and 100 dpi surface: a
    third of the time of a bilinear resize), bilinear otherwise.
    """
    h, w = gray.shape
    sh, sw = surface.shape
    if abs(w - 2 * sw) <= w % 2 and abs(h - 2 * sh) <= h % 2:
        limit = cv2.pyrUp(surface, dstsize=(w, h))
    else:
        limit = cv2.resize(surface, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(cv2.compare(gray, limit, cv2.CMP_GT), dtype=np.uint8)


#: Share of a grey text page's paper made pure white (the rest is the paper's noise and grain).
PAPER_WHITE = 0.9


def grey_text(flat: Image) -> Image:
    """A flattened text page in grey: its paper white, its ink as dark as the page's darkest.

    The paper of a flattened page sits just under 255 with the sensor's noise
    and the camera's JPEG grain on it, which costs a grey JPEG most of its
    bytes and shows nothing: the white point is put where ``PAPER_WHITE`` of
    the paper (the pixels above Otsu's threshold) is lighter, the black point
    at the darkest 0.5 % of the page. Strokes keep their grey edges, which is
    what makes small text readable when the camera saw it at low resolution.
    """
    sample = np.ascontiguousarray(flat[::3, ::3])
    otsu, _ = cv2.threshold(sample, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    counts = np.bincount(sample.ravel(), minlength=256).astype(np.int64)
    cumulative = np.cumsum(counts)
    paper_from = int(otsu) + 1
    paper_total = cumulative[-1] - cumulative[paper_from - 1]
    if paper_total <= 0:
        return flat
    white = int(np.searchsorted(cumulative, cumulative[paper_from - 1]
                                + (1.0 - PAPER_WHITE) * paper_total))
    black = int(np.searchsorted(cumulative, 0.005 * cumulative[-1]))
    white = max(white, paper_from)
    if white - black < 10:
        return flat
    ramp = np.arange(256, dtype=np.float32)
    table = np.clip((ramp - black) * (255.0 / (white - black)), 0, 255).astype(np.uint8)
    return np.asarray(cv2.LUT(flat, table), dtype=np.uint8)


def _clear_border(image: Image, width: int) -> None:
    if width > 0:
        image[:width, :] = 255
        image[-width:, :] = 255
        image[:, :width] = 255
        image[:, -width:] = 255


# -- colour and grey ------------------------------------------------------------------------------

def _clean_colour(page: Page) -> Image:
    image = page.image
    if image.ndim == 2:
        image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if page.format != "ID-1":       # a card has no paper to measure the light on
        paper = lit_paper(paper_level(page.gray_at(page.dpi / max(1, round(page.dpi
                                                                            / PAPER_DPI)))))
        h, w = image.shape[:2]
        level = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
        image = np.asarray(cv2.divide(image, cv2.merge([level, level, level]), scale=240.0),
                           dtype=np.uint8)
    return stretch(image, shrink(image, page.dpi, CLASSIFY_DPI))


def stretch(image: Image, sample: Image) -> Image:
    """Levels from ``sample``: its brightest 2 % to white, its darkest 0.5 % to black.

    One map for the three channels of a colour page: a per-channel white
    balance would take a tinted card (light blue, pink) for white paper and
    cast the complementary colour over it; the kiosk's own light is white.
    """
    lum = sample if sample.ndim == 2 else cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY)
    white = float(np.percentile(lum, 98))
    bright = lum >= white
    white = float(lum[bright].mean()) if np.any(bright) else white
    black = float(np.percentile(lum, 0.5))
    if white - black < 10:
        return image
    ramp = np.arange(256, dtype=np.float32)
    table = np.clip((ramp - black) * (255.0 / (white - black)), 0, 255).astype(np.uint8)
    return np.asarray(cv2.LUT(image, table), dtype=np.uint8)


# -- resolution -----------------------------------------------------------------------------------

def pool(gray: Image, factor: int, op: int) -> Image:
    """The minimum (``cv2.MORPH_ERODE``) or maximum (``MORPH_DILATE``) of each factor-sized cell."""
    if factor <= 1:
        return gray
    h, w = gray.shape
    if factor == 2:                         # pairs of rows, then of columns: half the time
        pick = np.minimum if op == cv2.MORPH_ERODE else np.maximum
        rows = pick(gray[0: h - 1: 2], gray[1:h:2])
        return np.asarray(pick(rows[:, 0: w - 1: 2], rows[:, 1:w:2]), dtype=np.uint8)
    kernel = np.ones((factor, factor), np.uint8)
    pooled = cv2.morphologyEx(gray, op, kernel, anchor=(0, 0))
    return np.ascontiguousarray(pooled[: h // factor * factor: factor, : w // factor * factor:
                                       factor])


def shrink(image: Image, dpi: float, target: float) -> Image:
    """``image`` at about ``target`` dpi: an exact block average by a whole factor (or as is)."""
    factor = round(dpi / target)
    if factor <= 1:
        return image
    h, w = image.shape[:2]
    size = (max(1, w // factor), max(1, h // factor))
    cropped = image[: size[1] * factor, : size[0] * factor]
    return np.asarray(cv2.resize(cropped, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
