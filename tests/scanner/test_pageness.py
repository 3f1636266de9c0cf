"""The page chosen by what a page is (scanner/pageness.py, issue #17): an even, bright paper
with a consistent border, not the loudest outline; and the preview's second look that finds a
white page on a white desk where its first pass outlines a magazine cover."""

from __future__ import annotations

import csv
import importlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from scanner.detect import detect_live, find_page
from scanner.detectparams import LIVE, DetectorParams
from scanner.geometry import smartdoc_jaccard
from scanner.pageness import FLOOR, page_likeness, rerank
from scanner.trayprior import TrayPrior

Lab = npt.NDArray[np.float32]


def _lab(image: npt.NDArray[np.uint8]) -> Lab:
    return np.asarray(cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_BGR2Lab), np.float32)


def _quad(x0: float, y0: float, x1: float, y1: float) -> npt.NDArray[np.float64]:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _desk_with_page_and_cover() -> npt.NDArray[np.uint8]:
    """A grey-green desk; a white page with text lines (left); a magazine cover (right)."""
    image = np.full((240, 320, 3), (70, 95, 60), np.uint8)
    image[40:200, 30:140] = (235, 238, 240)
    for y in range(60, 180, 8):                                   # text lines
        image[y:y + 2, 40:130] = (40, 40, 40)
    rng = np.random.default_rng(3)
    for y in range(40, 200, 20):                                  # colour blocks and a photo
        for x in range(180, 290, 22):
            image[y:y + 20, x:x + 22] = rng.integers(0, 255, 3)
    return image


def test_a_white_page_with_text_is_page_like_and_a_magazine_cover_is_not() -> None:
    lab = _lab(_desk_with_page_and_cover())
    page, cover = _quad(30, 40, 139, 199), _quad(180, 40, 289, 199)
    likeness = page_likeness(lab, np.stack([page, cover]))
    assert likeness[0] == pytest.approx(1.0)
    assert likeness[1] == pytest.approx(FLOOR)


def test_a_quad_half_on_the_page_half_on_the_desk_is_less_page_like_than_the_page() -> None:
    lab = _lab(_desk_with_page_and_cover())
    page, straddling = _quad(30, 40, 139, 199), _quad(30, 40, 175, 199)
    half = _quad(30, 40, 179, 199)
    half[1:3, 0] = 250                                  # its right side out on the desk
    likeness = page_likeness(lab, np.stack([page, straddling, half]))
    # a quarter of desk inside is within what a page with photos or a header holds (the factor
    # only keeps the clearly un-page-like from winning); half of it is not
    assert likeness[0] == pytest.approx(1.0) and likeness[1] == pytest.approx(1.0)
    assert likeness[2] < 0.8


def test_a_dark_object_is_not_page_like_even_when_it_is_even() -> None:
    image = np.full((240, 320, 3), (200, 200, 200), np.uint8)    # a pale desk
    image[60:180, 100:220] = (30, 30, 35)                         # a phone, even and dark
    likeness = page_likeness(_lab(image), _quad(100, 60, 219, 179)[None])
    assert likeness[0] == pytest.approx(FLOOR)


def test_a_quad_cut_short_at_a_printed_rule_loses_to_the_whole_page() -> None:
    image = np.full((240, 320, 3), (60, 60, 60), np.uint8)        # a dark tray
    image[30:210, 80:240] = (240, 240, 240)
    image[90:92, 80:240] = (150, 90, 20)                          # a blue rule across the page
    for y in range(110, 200, 9):
        image[y:y + 2, 95:225] = (30, 30, 30)
    whole, cut_short = _quad(80, 30, 239, 209), _quad(80, 92, 239, 209)
    # the outline scores them alike (both sides are strong steps): the border decides
    corners, _, likeness = rerank(_lab(image), np.stack([cut_short, whole]),
                                  np.array([1.0, 0.97]))
    assert np.array_equal(corners[0], whole)
    assert likeness[0] == pytest.approx(1.0) and likeness[1] < 0.9


def test_among_page_like_quads_the_outline_decides() -> None:
    # an identity card with a coloured header band: the card and the quad below the band are
    # both page-like, so the card's better outline keeps it first
    image = np.full((240, 320, 3), (60, 60, 60), np.uint8)
    image[60:180, 60:260] = (225, 230, 232)
    image[60:80, 60:260] = (160, 80, 30)                          # the header band
    image[95:160, 75:125] = (120, 130, 150)                       # the photo
    card, below_band = _quad(60, 60, 259, 179), _quad(60, 80, 259, 179)
    corners, _, likeness = rerank(_lab(image), np.stack([card, below_band]),
                                  np.array([1.0, 0.95]))
    assert np.array_equal(corners[0], card)
    assert likeness.min() > 0.9


def _background05(shared_data: Path) -> list[tuple[npt.NDArray[np.uint8], list[list[float]]]]:
    folder = shared_data / "pages-smartdoc"
    with (folder / "ground_truth.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["bg_name"] == "background05"]
    out = []
    for row in rows:
        frame = cv2.imread(str(folder / row["image_path"].replace("/", "_")))
        assert frame is not None
        out.append((np.asarray(frame, np.uint8),
                    [[float(row[f"{k}_x"]), float(row[f"{k}_y"])]
                     for k in ("tl", "tr", "br", "bl")]))
    return out


def test_the_preview_finds_the_white_page_on_the_white_desk_by_its_second_look(
        shared_data: Path) -> None:
    # SmartDoc background 05: the 320 px pass alone outlines the magazine cover or runs the
    # page's quad out over the desk; the second look (480 px, more lines) finds the page
    frames = _background05(shared_data)
    assert len(frames) == 2
    first_pass_only = replace(LIVE, recheck=None)
    for frame, truth in frames:
        assert smartdoc_jaccard(find_page(frame, first_pass_only), truth) < 0.85
        assert smartdoc_jaccard(detect_live(frame), truth) >= 0.85


def test_the_preview_looks_once_at_an_empty_tray(monkeypatch: pytest.MonkeyPatch) -> None:
    # between two citizens the preview runs on the empty tray all day: nothing outlined there is
    # no reason to look again at 480 and 640 px (three passes per frame on a Raspberry Pi)
    module = importlib.import_module("scanner.detect")    # the module, not the function
    sizes: list[int] = []
    search: Callable[[npt.NDArray[np.uint8], DetectorParams, TrayPrior | None],
                     tuple[npt.NDArray[np.float64], float] | None] = module._search

    def counted(frame: npt.NDArray[np.uint8], params: DetectorParams,
                tray: TrayPrior | None) -> tuple[npt.NDArray[np.float64], float] | None:
        sizes.append(params.work_size)
        return search(frame, params, tray)

    monkeypatch.setattr(module, "_search", counted)
    rng = np.random.default_rng(1)
    tray = np.asarray(cv2.GaussianBlur(rng.normal(80, 5, (1080, 1920, 3)).clip(0, 255)
                                       .astype(np.uint8), (0, 0), 2), np.uint8)
    assert detect_live(tray) is None
    assert sizes == [LIVE.work_size]
