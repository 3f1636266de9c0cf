"""The ESC/POS bytes of small jobs, asserted exactly (as python-escpos's own tests do).

The expected bytes are written from the command reference, not computed
with the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.printer.base import Align, Cut, Feed, Image, PrintJob, QRCode, Style, Text
from drivers.printer.encoder import Encoder, EncoderSettings
from drivers.printer.profiles import load_profile

ESC, GS = b"\x1b", b"\x1d"
NORMAL = ESC + b"!\x00"  # python-escpos sends ESC ! 0 before and as the size
PLAIN = NORMAL * 3 + ESC + b"E\x00" + ESC + b"-\x00" + ESC + b"a\x00" + GS + b"B\x00"


def encoder(profile: str = "TM-T88V", **options: str) -> Encoder:
    return Encoder(EncoderSettings.for_profile(load_profile(profile), **options))


def test_every_job_starts_with_init_and_selects_wpc1252() -> None:
    assert encoder().encode(PrintJob(())) == ESC + b"@" + ESC + b"t\x10"


def test_a_profile_without_wpc1252_selects_pc858() -> None:
    assert encoder("T-1").encode(PrintJob(())) == ESC + b"@" + ESC + b"t\x13"


def test_french_letters_and_euro_are_encoded_for_wpc1252() -> None:
    out = encoder().encode(PrintJob((Text("é è à ç ô œ €"),)))
    assert out == (ESC + b"@" + ESC + b"t\x10" + PLAIN
                   + b"\xe9 \xe8 \xe0 \xe7 \xf4 \x9c \x80\n")


def test_pc858_prints_oe_for_the_ligature_and_the_euro_at_d5() -> None:
    out = encoder("T-1").encode(PrintJob((Text("é è à ç ô œ € Œ"),)))
    assert out.endswith(b"\x82 \x8a \x85 \x87 \x93 oe \xd5 OE\n")


def test_control_characters_cannot_smuggle_commands_into_text() -> None:
    out = encoder().text(Text("a\x1b@b\x1dV\x00c\td"))
    assert out == PLAIN + b"a@bVc d\n"


def test_each_line_of_a_text_ends_with_a_line_feed_and_style_is_sent_once() -> None:
    enc = encoder()
    enc.start()
    first = enc.text(Text("un\ndeux\n"))
    assert first == PLAIN + b"un\ndeux\n"
    assert enc.text(Text("trois")) == b"trois\n"  # same style: nothing resent


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (Style(bold=True), NORMAL * 3 + ESC + b"E\x01" + ESC + b"-\x00" + ESC + b"a\x00"
         + GS + b"B\x00"),
        (Style(underline=True, align=Align.RIGHT), NORMAL * 3 + ESC + b"E\x00" + ESC + b"-\x01"
         + ESC + b"a\x02" + GS + b"B\x00"),
        (Style(double_width=True, double_height=True, align=Align.CENTER),
         NORMAL * 2 + ESC + b"!\x30" + ESC + b"E\x00" + ESC + b"-\x00" + ESC + b"a\x01"
         + GS + b"B\x00"),
        (Style(double_height=True), NORMAL * 2 + ESC + b"!\x10" + ESC + b"E\x00" + ESC + b"-\x00"
         + ESC + b"a\x00" + GS + b"B\x00"),
        (Style(double_width=True, invert=True), NORMAL * 2 + ESC + b"!\x20" + ESC + b"E\x00"
         + ESC + b"-\x00" + ESC + b"a\x00" + GS + b"B\x01"),
    ],
)
def test_styles_are_sent_with_every_attribute_explicit(style: Style, expected: bytes) -> None:
    assert encoder().style(style) == expected


def test_feed_and_cuts() -> None:
    enc = encoder()
    assert enc.element(Feed(3)) == ESC + b"d\x03"
    assert enc.element(Cut()) == ESC + b"d\x06" + GS + b"V\x00"
    assert enc.element(Cut(partial=True)) == ESC + b"d\x06" + GS + b"V\x01"


def test_native_qr_code_with_quiet_zone_feeds() -> None:
    out = encoder().element(QRCode("https://a.fr/é", module_size=6, error_correction="M"))
    data = "https://a.fr/é".encode()
    assert out == (
        ESC + b"J\x18"  # four modules of 6 dots: quiet zone above
        + ESC + b"a\x01"
        + GS + b"(k\x04\x00" + b"1A2\x00"  # fn 65: model 2
        + GS + b"(k\x03\x00" + b"1C\x06"  # fn 67: module size 6
        + GS + b"(k\x03\x00" + b"1E1"  # fn 69: level M (49)
        + GS + b"(k" + bytes([len(data) + 3, 0]) + b"1P0" + data  # fn 80: store
        + GS + b"(k\x03\x00" + b"1Q0"  # fn 81: print
        + ESC + b"J\x18"  # quiet zone below
    )


def test_qr_as_image_is_a_raster_with_a_four_module_border() -> None:
    out = encoder(qr="image").element(QRCode("HELLO", module_size=2, error_correction="L"))
    # version 1 (21 modules) + 2 x 4 border = 29 modules of 2 dots = 58 dots -> 8 bytes, 58 rows
    assert out.startswith(ESC + b"a\x01" + GS + b"v0\x00" + b"\x08\x00" + b"\x3a\x00")
    assert len(out) == 3 + 8 + 8 * 58
    rows = np.unpackbits(np.frombuffer(out[11:], dtype=np.uint8)).reshape(58, 64)
    assert not rows[:8].any() and not rows[-8:].any() and not rows[:, :8].any()
    # the top-left finder pattern starts right after the border: a dark ring 7 modules wide,
    # then a light ring
    assert rows[8:22, 8:10].all() and rows[8:10, 8:22].all()
    assert not rows[10:12, 10:20].any()


def test_a_profile_without_native_qr_prints_qr_as_an_image() -> None:
    out = encoder("POS-5890").element(QRCode("x"))
    assert GS + b"v0" in out and GS + b"(k" not in out


def test_raster_image_bytes() -> None:
    pixels = np.full((2, 16), 255, dtype=np.uint8)
    pixels[0, :4] = 0  # first four dots of the first row black
    pixels[1, 15] = 0  # last dot of the second row
    out = encoder().element(Image(pixels, align=Align.LEFT))
    assert out == (ESC + b"a\x00" + GS + b"v0\x00" + b"\x02\x00" + b"\x02\x00"
                   + b"\xf0\x00" + b"\x00\x01")


def test_raster_data_never_holds_a_real_time_status_query() -> None:
    pixels = np.full((1, 16), 255, dtype=np.uint8)
    pixels[0, 3] = pixels[0, 13] = 0  # bytes 0x10 0x04: DLE EOT inside the data
    out = encoder().element(Image(pixels, align=Align.LEFT))
    assert b"\x10\x04" not in out
    assert out == ESC + b"a\x00" + GS + b"v0\x00" + b"\x03\x00\x01\x00" + b"\x08\x02\x00"


def test_an_image_wider_than_the_paper_is_refused() -> None:
    with pytest.raises(ValueError, match="513 dots wide; the paper takes 512"):
        encoder().element(Image(np.zeros((4, 513), dtype=np.uint8)))


def test_a_qr_payload_too_long_for_any_qr_code_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        encoder().element(QRCode("x" * 5000, error_correction="H"))


def test_a_wide_qr_code_gets_smaller_modules_to_fit_58mm_paper() -> None:
    enc = Encoder(EncoderSettings.for_profile(load_profile("TM-T88V", width=58)))
    out = enc.element(QRCode("https://exemple.fr/" + "a" * 120, module_size=8))
    size = out[out.index(b"1C") + 2]
    assert size < 8
