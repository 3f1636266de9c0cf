"""Draw the pictograms of the catalog: ``python -m assets.icons.generate [NAME...]``.

One per document kind and one per procedure (FALC wants a picture beside
each item, and a citizen who reads little finds a procedure by its picture).
Plain shapes in two colours, no words (the screens say the words in the
citizen's language); 256 px squares drawn at 4x and reduced, so edges stay
smooth at any size the screens use. The PNGs are committed; run this again
only to change them, naming the icons to redraw (all of them without names).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 256
SCALE = 4
INK = (0, 0, 145, 255)        # "bleu France"
ACCENT = (225, 0, 15, 255)    # "rouge Marianne"
PAPER = (255, 255, 255, 255)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
HERE = Path(__file__).resolve().parent

Draw = ImageDraw.ImageDraw


def s(*values: float) -> list[float]:
    return [v * SCALE for v in values]


def sheet(d: Draw, x0: float = 56, y0: float = 24, x1: float = 200, y1: float = 232) -> None:
    """A sheet of paper with a folded corner."""
    fold = 34
    d.polygon(s(x0, y0, x1 - fold, y0, x1, y0 + fold, x1, y1, x0, y1), fill=PAPER,
              outline=INK, width=8 * SCALE)
    d.line(s(x1 - fold, y0, x1 - fold, y0 + fold, x1, y0 + fold), fill=INK, width=8 * SCALE)


def lines(d: Draw, x0: float, y0: float, x1: float, n: int, gap: float = 22) -> None:
    for i in range(n):
        d.line(s(x0, y0 + i * gap, x1 - (i % 2) * 24, y0 + i * gap), fill=INK, width=7 * SCALE)


def person(d: Draw, cx: float, top: float, scale: float = 1.0, colour: tuple[int, ...] = INK
           ) -> None:
    r = 16 * scale
    d.ellipse(s(cx - r, top, cx + r, top + 2 * r), fill=colour)
    d.pieslice(s(cx - 30 * scale, top + 2 * r + 4, cx + 30 * scale, top + 2 * r + 64 * scale),
               180, 360, fill=colour)


def glyph(d: Draw, text: str, cx: float, cy: float, size: int, colour: tuple[int, ...]) -> None:
    font = ImageFont.truetype(FONT, size * SCALE)
    d.text((cx * SCALE, cy * SCALE), text, font=font, fill=colour, anchor="mm")


def house(d: Draw, cx: float, base: float, w: float, colour: tuple[int, ...] = INK) -> None:
    h = w * 0.55
    d.polygon(s(cx - w / 2 - 10, base - h, cx, base - h - w * 0.5, cx + w / 2 + 10, base - h),
              fill=colour)
    d.rectangle(s(cx - w / 2, base - h, cx + w / 2, base), fill=colour)
    d.rectangle(s(cx - w * 0.12, base - h * 0.6, cx + w * 0.12, base), fill=PAPER)


def identity(d: Draw) -> None:
    d.rounded_rectangle(s(16, 56, 240, 200), radius=18 * SCALE, fill=PAPER, outline=INK,
                        width=8 * SCALE)
    d.rectangle(s(36, 80, 104, 170), outline=INK, width=6 * SCALE)
    person(d, 70, 92, 0.9)
    lines(d, 122, 96, 222, 4, gap=22)
    d.rectangle(s(16, 56, 240, 70), fill=ACCENT)


def lease(d: Draw) -> None:
    sheet(d)
    house(d, 118, 108, 64, ACCENT)
    lines(d, 80, 134, 176, 3)
    d.line(s(120, 210, 136, 196, 152, 212, 170, 198, 184, 206), fill=INK, width=6 * SCALE)


def rib(d: Draw) -> None:
    d.rounded_rectangle(s(16, 64, 240, 196), radius=14 * SCALE, fill=PAPER, outline=INK,
                        width=8 * SCALE)
    d.polygon(s(40, 112, 80, 84, 120, 112), fill=INK)
    for x in (46, 64, 82, 100):
        d.rectangle(s(x, 116, x + 10, 160), fill=INK)
    d.rectangle(s(40, 162, 120, 172), fill=INK)
    glyph(d, "€", 182, 128, 76, ACCENT)


def receipt_shape(d: Draw) -> None:
    teeth = [(56 + i * 18, 232 if i % 2 == 0 else 216) for i in range(9)]
    points = [56, 24, 200, 24, 200, 232]
    for x, y in reversed(teeth):
        points += [x, y]
    d.polygon(s(*points), fill=PAPER, outline=INK, width=8 * SCALE)


def rent(d: Draw) -> None:
    receipt_shape(d)
    house(d, 128, 100, 56, ACCENT)
    lines(d, 80, 128, 176, 3)


def receipt(d: Draw) -> None:
    receipt_shape(d)
    glyph(d, "€", 128, 84, 72, ACCENT)
    lines(d, 80, 140, 176, 3)


def form(d: Draw) -> None:
    sheet(d)
    for i, y in enumerate((64, 110, 156)):
        d.rectangle(s(76, y, 104, y + 28), outline=INK, width=6 * SCALE)
        if i != 1:
            d.line(s(80, y + 14, 90, y + 24, 108, y - 2), fill=ACCENT, width=7 * SCALE)
        d.line(s(116, y + 14, 178, y + 14), fill=INK, width=7 * SCALE)


def photo(d: Draw) -> None:
    d.rectangle(s(52, 20, 204, 236), fill=PAPER, outline=INK, width=8 * SCALE)
    person(d, 128, 56, 1.9)
    d.rectangle(s(52, 200, 204, 236), fill=PAPER, outline=INK, width=8 * SCALE)


def address(d: Draw) -> None:
    house(d, 116, 208, 130)
    d.ellipse(s(160, 20, 236, 96), fill=ACCENT)
    d.polygon(s(166, 74, 230, 74, 198, 128), fill=ACCENT)
    d.ellipse(s(184, 44, 212, 72), fill=PAPER)


def birth(d: Draw) -> None:
    sheet(d)
    lines(d, 80, 64, 176, 4)
    d.ellipse(s(118, 150, 178, 210), fill=ACCENT)
    d.polygon(s(126, 196, 118, 236, 138, 222, 148, 238, 150, 206), fill=ACCENT)
    d.ellipse(s(132, 164, 164, 196), outline=PAPER, width=5 * SCALE)


def income(d: Draw) -> None:
    sheet(d)
    glyph(d, "€", 110, 78, 60, ACCENT)
    for i, h in enumerate((30, 52, 78)):
        d.rectangle(s(84 + i * 30, 210 - h, 104 + i * 30, 210), fill=INK)


def family(d: Draw) -> None:
    d.rounded_rectangle(s(28, 24, 228, 232), radius=10 * SCALE, fill=PAPER, outline=INK,
                        width=8 * SCALE)
    d.rectangle(s(28, 24, 48, 232), fill=INK)
    person(d, 96, 48, 1.0)
    person(d, 172, 48, 1.0)
    person(d, 134, 146, 0.75, ACCENT)


def tax(d: Draw) -> None:
    sheet(d)
    d.rectangle(s(56, 24, 74, 232), fill=ACCENT)
    glyph(d, "%", 128, 100, 72, INK)
    lines(d, 92, 160, 180, 3)


def medical(d: Draw) -> None:
    sheet(d)
    d.rectangle(s(108, 60, 148, 160), fill=ACCENT)
    d.rectangle(s(78, 90, 178, 130), fill=ACCENT)
    lines(d, 80, 186, 176, 2)


def coin(d: Draw, cx: float, cy: float, r: float) -> None:
    """A red coin with a euro sign: money paid to the citizen."""
    d.ellipse(s(cx - r, cy - r, cx + r, cy + r), fill=ACCENT, outline=PAPER, width=6 * SCALE)
    glyph(d, "€", cx, cy + 2, int(r * 1.2), PAPER)


def housing_aid(d: Draw) -> None:
    """Procedure: housing benefit (a house and the money towards it)."""
    house(d, 108, 220, 140)
    coin(d, 190, 86, 50)


def id_request(d: Draw) -> None:
    """Procedure: identity card pre-application (the card, and a clock: before the appointment).

    A clock rather than a "+": a white cross on a red disc reads as first aid.
    """
    identity(d)
    d.ellipse(s(166, 154, 246, 234), fill=ACCENT, outline=PAPER, width=6 * SCALE)
    d.line(s(206, 168, 206, 196, 226, 210), fill=PAPER, width=9 * SCALE, joint="curve")


def vote(d: Draw) -> None:
    """Procedure: registering to vote (a ballot going into a box)."""
    d.rectangle(s(92, 20, 164, 120), fill=PAPER, outline=INK, width=7 * SCALE)
    d.line(s(106, 66, 122, 84, 150, 44), fill=ACCENT, width=9 * SCALE)
    d.rectangle(s(32, 110, 224, 236), fill=INK)
    d.rectangle(s(80, 104, 176, 116), fill=PAPER)
    d.rectangle(s(84, 150, 172, 196), fill=PAPER)


def disability(d: Draw) -> None:
    """Procedure: disability office (the international symbol of access)."""
    d.ellipse(s(114, 14, 154, 54), fill=INK)
    d.line(s(128, 70, 122, 142), fill=INK, width=20 * SCALE)
    d.line(s(126, 98, 180, 98), fill=INK, width=16 * SCALE)
    d.line(s(122, 142, 184, 142, 206, 206), fill=INK, width=18 * SCALE, joint="curve")
    d.line(s(206, 206, 232, 198), fill=INK, width=16 * SCALE)
    d.arc(s(40, 120, 160, 240), 90, 360, fill=ACCENT, width=16 * SCALE)


def solidarity(d: Draw) -> None:
    """Procedure: minimum income (a person and the money to live on)."""
    person(d, 92, 40, 1.7)
    coin(d, 186, 170, 54)


def face(mood: str) -> Callable[[Draw], None]:
    colour = {"good": (24, 117, 60, 255), "neutral": (176, 106, 0, 255),
              "bad": (201, 25, 30, 255)}[mood]

    def draw(d: Draw) -> None:
        d.ellipse(s(20, 20, 236, 236), fill=PAPER, outline=colour, width=14 * SCALE)
        d.ellipse(s(84, 86, 108, 110), fill=colour)
        d.ellipse(s(148, 86, 172, 110), fill=colour)
        if mood == "good":
            d.arc(s(72, 100, 184, 190), 20, 160, fill=colour, width=14 * SCALE)
        elif mood == "neutral":
            d.line(s(84, 166, 172, 166), fill=colour, width=14 * SCALE)
        else:
            d.arc(s(72, 150, 184, 230), 200, 340, fill=colour, width=14 * SCALE)
    return draw


ICONS: dict[str, Callable[[Draw], None]] = {
    "face-good": face("good"), "face-neutral": face("neutral"), "face-bad": face("bad"),
    "identity": identity, "lease": lease, "rib": rib, "rent": rent, "receipt": receipt,
    "form": form, "photo": photo, "address": address, "birth": birth, "income": income,
    "family": family, "tax": tax, "medical": medical,
    "housing-aid": housing_aid, "id-request": id_request, "vote": vote,
    "disability": disability, "solidarity": solidarity,
}


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(ICONS))
    if unknown:
        raise SystemExit(f"no icon {', '.join(unknown)} (known: {', '.join(sorted(ICONS))})")
    for name in names or list(ICONS):
        draw = ICONS[name]
        big = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
        draw(ImageDraw.Draw(big))
        big.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(HERE / f"{name}.png",
                                                                 optimize=True)


if __name__ == "__main__":
    main(sys.argv[1:])
