"""The receipt as a PNG for the screen, shown when the printer cannot print it.

Drawn with Pillow from the same blocks as the paper receipt, with the QR code
large enough to be scanned from the screen by a phone. Built in memory. Text goes
through :mod:`printer.raster` (libraqm): Arabic joined, right to left, right-aligned.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from printer import content, raster
from printer.fonts import BOLD, REGULAR
from printer.i18n import Direction, translator
from printer.receipt import Receipt

Font = ImageFont.FreeTypeFont


class _Canvas:
    def __init__(self, width: int, scale: float, direction: Direction = Direction.LTR) -> None:
        self.width = width
        self.pad = round(24 * scale)
        self.inner = width - 2 * self.pad
        self.scale = scale
        self.direction = direction
        self.image = Image.new("L", (width, round(3000 * scale)), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.pad

    def room(self, height: int) -> None:
        """Make the image tall enough for ``height`` more pixels below the current line."""
        needed = self.y + height + self.pad
        if needed > self.image.height:
            taller = Image.new("L", (self.width, max(needed, self.image.height * 2)), 255)
            taller.paste(self.image, (0, 0))
            self.image = taller
            self.draw = ImageDraw.Draw(self.image)

    def font(self, name: str, size: int) -> Font:
        return raster.font(name, round(size * self.scale))

    def text(self, text: str, font: Font, *, center: bool = False, indent: int = 0,
             right: str | None = None) -> None:
        """``text`` wrapped to the width, ``right`` (a detail) at the end of its last line:
        the right in a left-to-right paragraph, the left in a right-to-left one."""
        spacing = round(font.size * 1.3)
        direction = raster.paragraph_direction(text, self.direction)
        detail_w = raster.text_width(right, font, raster.paragraph_direction(
            right, direction)) + font.size * raster.DETAIL_GAP if right else 0.0
        count = len(raster.wrap_text(text, font, self.inner, direction, indent=indent,
                                     last_room=detail_w))
        self.room(spacing * (count + 1))
        self.y = round(raster.draw_paragraph(
            self.draw, text, font, left=self.pad, right=self.pad + self.inner, top=self.y,
            line_height=spacing, direction=direction, center=center, indent=indent,
            detail=right))
        self.y += round(font.size * 0.3)

    def rule(self) -> None:
        self.room(round(20 * self.scale))
        self.y += round(6 * self.scale)
        self.draw.line([(self.pad, self.y), (self.pad + self.inner, self.y)], fill=0,
                       width=max(1, round(2 * self.scale)))
        self.y += round(12 * self.scale)

    def qr(self, data: str) -> None:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(data)
        code.make(fit=True)
        box = max(4, int(min(self.inner, 360 * self.scale)) // (code.modules_count + 8))
        size = (code.modules_count + 8) * box
        matrix = code.get_matrix()   # with its border
        img = Image.new("L", (len(matrix), len(matrix)), 255)
        img.putdata([0 if dark else 255 for row in matrix for dark in row])
        img = img.resize((size, size), Image.Resampling.NEAREST)
        self.room(size + 20)
        self.image.paste(img, (self.pad + (self.inner - size) // 2, self.y))
        self.y += size + round(8 * self.scale)

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.crop((0, 0, self.width, self.y + self.pad)).save(out, "PNG", optimize=False)
        return out.getvalue()


def receipt_png(receipt: Receipt, *, width: int = 640, scale: float = 1.0) -> bytes:
    """The receipt drawn for the screen, ``width`` pixels wide; ``scale`` enlarges the
    text (large-text mode). Raises FontError without DejaVu Sans or without libraqm."""
    c = _Canvas(width, scale, translator(receipt.language).direction)
    body = c.font(REGULAR, 20)
    bold = c.font(BOLD, 20)
    for block in content.receipt_blocks(receipt):
        match block:
            case content.Title(text):
                c.text(text, c.font(BOLD, 30), center=True)
            case content.Subtitle(text):
                c.text(text, body, center=True)
            case content.Rule():
                c.rule()
            case content.BigNumber(label, value):
                c.text(label, body, center=True)
                c.text(value, c.font(BOLD, 36), center=True)
            case content.Field(label, value):
                c.text(raster.field_text(label, value, c.direction), body,
                       indent=round(20 * scale))
            case content.Heading(text):
                c.text(text, c.font(BOLD, 22))
            case content.Item(text, detail, total):
                if total:
                    c.text(text, bold, right=detail)
                else:
                    c.text(f"– {text}", body, indent=round(20 * scale), right=detail)
            case content.Paragraph(text, strong):
                c.text(text, bold if strong else body)
            case content.Code(data):
                c.qr(data)
    return c.png()
