"""Pages compressed by ``scanner`` (the real encoder) for the dossier tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from drivers.camera.synth import render_text_page, sample_pages
from scanner import EncodedPage, Page, compress


@dataclass(frozen=True)
class ScannedPage:
    """A page as ``scanner.compress`` encoded it, with the pixels it encoded."""

    name: str
    encoded: EncodedPage
    pixels: np.ndarray      # 0/255 for bilevel pages


def _page(image: np.ndarray, size_mm: tuple[float, float], fmt: str, colour: str) -> Page:
    dpi = image.shape[1] / (size_mm[0] / 25.4)
    if colour == "rgb":
        return Page(image, size_mm, dpi, fmt)
    gray = image.mean(axis=2).astype(np.uint8) if image.ndim == 3 else image
    if colour == "gray":
        return Page(gray, size_mm, dpi, fmt)
    return Page(np.where(gray > 160, 255, 0).astype(np.uint8), size_mm, dpi, fmt, bilevel=True)


def scanned_pages() -> list[ScannedPage]:
    """Ten pages of every codec, colour and size the scanner makes: A4 portrait and
    landscape, A5, US letter, identity card (85.6 x 53.98 mm at 300 dpi)."""
    samples = {s.name: s for s in sample_pages()}
    card = samples["identity-card"]
    plan = [
        ("convocation", samples["convocation"].image, (210.0, 297.0), "A4", "bilevel"),
        ("tax-notice", samples["tax-notice"].image, (210.0, 297.0), "A4", "rgb"),
        ("payslip", samples["payslip"].image, (210.0, 297.0), "A4", "gray"),
        ("proof-of-address", samples["proof-of-address"].image, (210.0, 297.0), "A4",
         "bilevel"),
        ("card-front", card.image, card.size_mm, "ID-1", "rgb"),
        ("card-back", np.ascontiguousarray(card.image[::-1, ::-1]), card.size_mm, "ID-1",
         "gray"),
        ("letter-a5", render_text_page(1, size="A5"), (148.0, 210.0), "A5", "bilevel"),
        ("letter-us", render_text_page(2, size="letter"), (215.9, 279.4), "letter", "gray"),
        ("payslip-landscape", np.ascontiguousarray(np.rot90(samples["payslip"].image)),
         (297.0, 210.0), "A4", "bilevel"),
        ("letter-a5-colour", render_text_page(3, size="A5"), (148.0, 210.0), "A5", "rgb"),
    ]
    out = []
    for name, image, size_mm, fmt, colour in plan:
        page = _page(image, size_mm, fmt, colour)
        out.append(ScannedPage(name, compress(page), page.image))
    return out


@pytest.fixture(scope="session")
def scanned() -> list[ScannedPage]:
    return scanned_pages()
