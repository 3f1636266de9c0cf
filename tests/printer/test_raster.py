"""Arabic drawn for the printer, the screen and the PDF: joined letters, right to left, Latin
runs inside kept left to right, lines wrapped to the width and right-aligned.

The references are drawn by Pillow itself: with its basic layout (no shaping, no bidi:
isolated letters, left to right), and single letters in their joined forms (a letter
followed by ZERO WIDTH JOINER takes its initial form). A renderer that drew Arabic
unjoined or left to right fails these tests.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from printer import raster
from printer.fonts import REGULAR, font_path
from printer.i18n import Direction
from printer.text import fits_code_page

SIZE = 48
#: "salam" without its alif: three letters with no dots, which join into one stroke.
JOINED_WORD = "سلم"
ZWJ = "\u200d"


def ink(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    return pixels < 128


def crop(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def pieces(mask: npt.NDArray[np.bool_]) -> int:
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(count) - 1


def drawn(text: str, layout: ImageFont.Layout, direction: str | None = None) -> npt.NDArray[
        np.uint8]:
    """``text`` drawn by Pillow with ``layout`` on a white strip."""
    face = ImageFont.truetype(str(font_path(REGULAR)), SIZE, layout_engine=layout)
    image = Image.new("L", (SIZE * (len(text) + 2), SIZE * 2), 255)
    ImageDraw.Draw(image).text((SIZE // 2, SIZE // 2), text, fill=0, font=face,
                               direction=direction)
    return np.asarray(image)


def ours(text: str, width: int = 600) -> npt.NDArray[np.uint8]:
    return raster.paragraph_image(text, raster.font(REGULAR, SIZE), width,
                                  line_height=round(SIZE * 1.5))


def best_match(template: npt.NDArray[np.bool_],
               image: npt.NDArray[np.bool_]) -> tuple[float, int]:
    """Where ``template`` (cropped ink) covers the most ink of ``image``: the share of the
    template's ink found there, and the x of the template's right edge."""
    score = cv2.matchTemplate(image.astype(np.float32), template.astype(np.float32),
                              cv2.TM_CCORR)
    _, best, _, (x, _) = cv2.minMaxLoc(score)
    return best / template.sum(), x + template.shape[1]


def test_pillow_here_shapes_with_libraqm() -> None:
    raster.check_shaping()   # FontError otherwise: the receipt would not be drawn at all


def test_arabic_letters_are_joined_not_isolated() -> None:
    shaped = crop(ink(ours(JOINED_WORD)))
    unshaped = crop(ink(drawn(JOINED_WORD, ImageFont.Layout.BASIC)))
    assert pieces(unshaped) == 3          # the basic layout: three isolated letters
    assert pieces(shaped) == 1            # ours: one joined stroke
    assert shaped.shape != unshaped.shape or (shaped != unshaped).mean() > 0.2


def test_the_first_letter_of_an_arabic_word_sits_at_its_right_end() -> None:
    word = crop(ink(ours(JOINED_WORD)))
    first = crop(ink(drawn(JOINED_WORD[0] + ZWJ, ImageFont.Layout.RAQM, "rtl")))  # initial form
    last = crop(ink(drawn(ZWJ + JOINED_WORD[-1], ImageFont.Layout.RAQM, "rtl")))  # final form
    found, right = best_match(first, word)
    assert found > 0.95 and right >= word.shape[1] - 2, (found, right, word.shape)
    found, right = best_match(last, word)
    assert found > 0.95 and right - last.shape[1] <= 2, (found, right)
    # The same check fails on the basic layout (isolated letters, left to right).
    basic = crop(ink(drawn(JOINED_WORD, ImageFont.Layout.BASIC)))
    found, right = best_match(first, basic)
    assert found < 0.95 or right < basic.shape[1] - 2


def test_a_deposit_number_and_a_date_inside_an_arabic_sentence_keep_their_order() -> None:
    # "Your deposit number is D3M0-01RZ-KNWS, received on 22 November 2025."
    sentence = "رقم إيداعك هو D3M0-01RZ-KNWS وتاريخ الاستلام 22 نوفمبر 2025."
    image = ink(ours(sentence, width=1600))
    for latin in ("D3M0-01RZ-KNWS", "2025"):
        piece = crop(ink(drawn(latin, ImageFont.Layout.RAQM, "ltr")))
        reversed_piece = crop(ink(drawn(latin[::-1], ImageFont.Layout.RAQM, "ltr")))
        # (anti-aliasing at another sub-pixel offset costs a few per cent of the match)
        assert best_match(piece, image)[0] > 0.9, latin
        assert best_match(reversed_piece, image)[0] < 0.85, latin
    # Right to left: the sentence starts at the right edge, the number is left of its start.
    start = crop(ink(drawn("رقم" + ZWJ, ImageFont.Layout.RAQM, "rtl")))
    number = crop(ink(drawn("D3M0-01RZ-KNWS", ImageFont.Layout.RAQM, "ltr")))
    _, start_right = best_match(start, image)
    _, number_right = best_match(number, image)
    assert start_right >= 1600 - 6 and number_right < start_right - start.shape[1]


def test_a_long_arabic_paragraph_wraps_to_the_width_and_is_right_aligned() -> None:
    text = "تدرس الإدارة ملفك وتتصل بك إذا نقصه شيء. احتفظ بهذا الإيصال: فهو يثبت أنك سلمت ملفك."
    width, line = 384, round(SIZE * 1.5)
    pixels = ours(text, width)
    lines = pixels.shape[0] // line
    assert pixels.shape[1] == width and lines >= 4
    rights, lefts = [], []
    for i in range(lines):
        columns = np.flatnonzero(ink(pixels[i * line:(i + 1) * line]).any(axis=0))
        rights.append(columns[-1])
        lefts.append(columns[0])
    assert max(rights) - min(rights) <= 6, rights          # a ragged left, a straight right
    assert max(lefts) - min(lefts) > 20, lefts


def test_a_phone_number_in_an_arabic_field_reads_left_to_right() -> None:
    text = raster.field_text("الهاتف:", "32 30", Direction.RTL)
    image = ink(ours(text, width=800))
    phone = crop(ink(drawn("32 30", ImageFont.Layout.RAQM, "ltr")))
    swapped = crop(ink(drawn("30 32", ImageFont.Layout.RAQM, "ltr")))
    assert best_match(phone, image)[0] > 0.95
    assert best_match(swapped, image)[0] < 0.9


def test_an_url_cut_across_arabic_lines_keeps_each_piece_in_order() -> None:
    url = "https://suivi.demarches.example.fr/suivi/D3M0-01RZ-KNWS?t=q3Vd8kR2&lang=ar"
    face = raster.font(REGULAR, 24)
    lines = raster.wrap_text(raster.field_text("أو زر الموقع:", url, Direction.RTL), face, 300,
                             Direction.RTL)
    assert len(lines) >= 3
    for line in lines:   # every line closes the isolate it opens, so each is laid out alone
        assert line.count("\u2069") == line.count("\u2066") + line.count("\u2067")
        assert raster.text_width(line, face, Direction.RTL) <= 300
    assert "".join(c for line in lines for c in line if c not in "\u2066\u2067\u2069").replace(
        " ", "") == ("أو زر الموقع:" + url).replace(" ", "")


@pytest.mark.parametrize(("text", "printable"), [
    ("Récépissé de dépôt — œuvre, 10 €, « guillemets »", True),
    ("Justificante de depósito: ¿señor? ¡sí!", True),
    ("إيصال الإيداع", False),
    ("Ελληνικά", False),
    ("Квитанция", False),
])
def test_only_what_a_code_page_cannot_print_goes_to_pixels(text: str, printable: bool) -> None:
    assert fits_code_page(text, "cp858") is printable


def test_paragraph_direction_follows_the_first_strong_letter() -> None:
    assert raster.paragraph_direction("22 نوفمبر 2025") is Direction.RTL
    assert raster.paragraph_direction("France Services: الجهاز") is Direction.LTR
    assert raster.paragraph_direction("32 30", Direction.RTL) is Direction.RTL
    assert raster.paragraph_direction("\u2066abc\u2069 نص") is Direction.RTL   # isolates skipped
