"""The receipt as a PNG for the screen, shown when the printer cannot print it.

Drawn with Pillow from the same blocks as the paper receipt, with the QR code
large enough to be scanned from the screen by a phone. Built in memory.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from printer import content
from printer.fonts import BOLD, REGULAR, font_path
from printer.receipt import Receipt
from printer.text import break_point

Font = ImageFont.FreeTypeFont


class _Canvas:
    def __init__(self, width: int, scale: float) -> None:
        self.width = width
        self.pad = round(24 * scale)
        self.inner = width - 2 * self.pad
        self.scale = scale
        self.image = Image.new("L", (width, round(3000 * scale)), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.pad
        self.fonts: dict[tuple[str, int], Font] = {}

    def room(self, height: int) -> None:
        """Make the image tall enough for ``height`` more pixels below the current line."""
        needed = self.y + height + self.pad
        if needed > self.image.height:
            taller = Image.new("L", (self.width, max(needed, self.image.height * 2)), 255)
            taller.paste(self.image, (0, 0))
            self.image = taller
            self.draw = ImageDraw.Draw(self.image)

    def font(self, name: str, size: int) -> Font:
        key = (name, round(size * self.scale))
        if key not in self.fonts:
            self.fonts[key] = ImageFont.truetype(str(font_path(name)), key[1])
        return self.fonts[key]

    def lines(self, text: str, font: Font, width: int) -> list[str]:
        out: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if font.getlength(candidate) <= width or not line:
                    line = candidate
                else:
                    out.append(line)
                    line = word
                while font.getlength(line) > width and len(line) > 1:  # an URL: cut it
                    cut = len(line)
                    while cut > 1 and font.getlength(line[:cut]) > width:
                        cut -= 1
                    cut = break_point(line[:cut])
                    out.append(line[:cut])
                    line = line[cut:]
            out.append(line)
        return out

    def text(self, text: str, font: Font, *, center: bool = False, indent: int = 0,
             right: str | None = None) -> None:
        spacing = round(font.size * 1.3)
        right_w = font.getlength(right) + font.size if right else 0
        lines = self.lines(text, font, int(self.inner - indent - right_w))
        self.room(spacing * (len(lines) + 1))
        for i, line in enumerate(lines):
            x: float = self.pad + (indent if i else 0)
            if center:
                x = self.pad + (self.inner - font.getlength(line)) / 2
            self.draw.text((x, self.y), line, fill=0, font=font)
            if right and i == len(lines) - 1:
                self.draw.text((self.pad + self.inner - font.getlength(right), self.y), right,
                               fill=0, font=font)
            self.y += spacing
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
    text (large-text mode). Raises FontError without DejaVu Sans."""
    c = _Canvas(width, scale)
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
                c.text(f"{label} {value}", body, indent=round(20 * scale))
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
