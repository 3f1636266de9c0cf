"""The receipt as a PDF: on roll width (one long page, for a PDF-capable receipt
printer or to keep) or on A4 (for an office printer, or to hand to staff).

Same wording as the paper receipt (:mod:`printer.content`), DejaVu Sans embedded
so accents and the euro sign read right anywhere, the QR code drawn as vectors.
Built in memory.

reportlab shapes Arabic and orders right-to-left text only with ``uharfbuzz`` and
``rlbidi``, which the lock does not hold: without them it would set isolated letters
left to right. A block that needs shaping (:func:`printer.raster.needs_shaping`) is
therefore drawn by :mod:`printer.raster` (Pillow + libraqm) as a 300 dpi grey image,
right-aligned when it reads right to left. Such text is pixels: a PDF reader cannot
search or copy it (an invisible text layer would fix that; not done).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from printer import content, raster
from printer.errors import LayoutError
from printer.fonts import BOLD, REGULAR, dated_canvas, register_pdf_fonts
from printer.i18n import Direction, translator
from printer.receipt import Receipt

CREATOR = "deposit-kiosk"


@dataclass(frozen=True)
class _Look:
    body: float       # font size, points
    title: float
    number: float
    margin: float     # points
    qr: float         # side of the QR code, points


ROLL = _Look(body=8.0, title=12.0, number=14.0, margin=3 * mm, qr=36 * mm)
PAGE = _Look(body=10.0, title=16.0, number=20.0, margin=18 * mm, qr=40 * mm)


def _styles(look: _Look) -> dict[str, ParagraphStyle]:
    regular, bold = register_pdf_fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=look.body,
                          leading=look.body * 1.25, spaceAfter=look.body * 0.2)
    return {
        "body": base,
        "strong": ParagraphStyle("strong", base, fontName=bold),
        "field": ParagraphStyle("field", base, leftIndent=look.body, firstLineIndent=-look.body),
        "center": ParagraphStyle("center", base, alignment=TA_CENTER),
        "right": ParagraphStyle("right", base, alignment=TA_RIGHT, spaceAfter=0),
        "strong_right": ParagraphStyle("strong_right", base, fontName=bold, alignment=TA_RIGHT,
                                       spaceAfter=0),
        "item": ParagraphStyle("item", base, leftIndent=look.body * 0.8,
                               firstLineIndent=-look.body * 0.8, spaceAfter=0),
        "heading": ParagraphStyle("heading", base, fontName=bold, fontSize=look.body * 1.15,
                                  leading=look.body * 1.45, spaceBefore=look.body * 0.2),
        "title": ParagraphStyle("title", base, fontName=bold, fontSize=look.title,
                                leading=look.title * 1.2, alignment=TA_CENTER),
        "number": ParagraphStyle("number", base, fontName=bold, fontSize=look.number,
                                 leading=look.number * 1.3, alignment=TA_CENTER),
    }


class _QRCode(Flowable):
    """A QR code drawn as vector squares (its 4-module quiet zone included), ``side`` wide."""

    def __init__(self, data: str, side: float) -> None:
        super().__init__()
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(data)
        code.make(fit=True)
        self.matrix: list[list[bool]] = code.get_matrix()
        self.side = side
        self.hAlign = "CENTER"

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.side, self.side

    def draw(self) -> None:
        n = len(self.matrix)
        module = self.side / n
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for row, cells in enumerate(self.matrix):
            y = self.side - (row + 1) * module
            col = 0
            while col < n:   # one rectangle per horizontal run of dark modules
                if not cells[col]:
                    col += 1
                    continue
                start = col
                while col < n and cells[col]:
                    col += 1
                canvas.rect(start * module, y, (col - start) * module, module, stroke=0, fill=1)


#: Resolution of the text drawn as images (what reportlab cannot shape).
SHAPED_DPI = 300


class _ShapedText(Flowable):
    """A paragraph drawn by :mod:`printer.raster` (shaped, bidi-ordered) as an image
    ``width`` points wide; ``size`` and ``leading`` in points as a ParagraphStyle's."""

    def __init__(self, text: str, *, width: float, size: float, leading: float, bold: bool,
                 direction: Direction, center: bool = False, detail: str | None = None,
                 space_after: float = 0.0) -> None:
        super().__init__()
        px = SHAPED_DPI / 72
        face = raster.font(BOLD if bold else REGULAR, round(size * px))
        pixels = raster.paragraph_image(text, face, round(width * px),
                                        line_height=round(leading * px),
                                        direction=raster.paragraph_direction(text, direction),
                                        center=center, detail=detail)
        self.picture = PILImage.fromarray(pixels)
        self.width_pt = width
        self.height_pt = pixels.shape[0] / px
        self.spaceAfter = space_after

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width_pt, self.height_pt

    def draw(self) -> None:
        self.canv.drawImage(ImageReader(self.picture), 0, 0, self.width_pt, self.height_pt)


def _shaped(block: content.Block, look: _Look, width: float,
            direction: Direction) -> Flowable | None:
    """``block`` as a :class:`_ShapedText` when its text needs shaping, else None."""
    def make(text: str, size: float, *, bold: bool = False, center: bool = False,
             detail: str | None = None) -> Flowable:
        return _ShapedText(text, width=width, size=size, leading=size * 1.3, bold=bold,
                           direction=direction, center=center, detail=detail,
                           space_after=look.body * 0.2)

    match block:
        case content.Title(text) if raster.needs_shaping(text):
            return make(text, look.title, bold=True, center=True)
        case content.Subtitle(text) if raster.needs_shaping(text):
            return make(text, look.body, center=True)
        case content.Field(label, value) if raster.needs_shaping(label + value):
            return make(raster.field_text(label, value, direction), look.body)
        case content.Heading(text) if raster.needs_shaping(text):
            return make(text, look.body * 1.15, bold=True)
        case content.Item(text, detail, total) if raster.needs_shaping(text + detail):
            return make(text if total else f"– {text}", look.body, bold=total, detail=detail)
        case content.Paragraph(text, strong) if raster.needs_shaping(text):
            return make(text, look.body, bold=strong)
    return None


def _flowables(receipt: Receipt, look: _Look, width: float) -> list[Flowable]:
    s = _styles(look)
    regular, _ = register_pdf_fonts()
    direction = translator(receipt.language).direction
    out: list[Flowable] = []
    blocks = content.receipt_blocks(receipt)
    details = [b.detail for b in blocks if isinstance(b, content.Item)]
    detail_width = max(stringWidth(d, regular, look.body) for d in details) + look.body
    for block in blocks:
        shaped = _shaped(block, look, width, direction)
        if shaped is not None:
            out.append(shaped)
            continue
        if isinstance(block, content.BigNumber) and raster.needs_shaping(block.label):
            out += [_shaped(content.Subtitle(block.label), look, width, direction)
                    or Spacer(1, 0), Paragraph(escape(block.value), s["number"])]
            continue
        match block:
            case content.Title(text):
                out.append(Paragraph(escape(text), s["title"]))
            case content.Subtitle(text):
                out.append(Paragraph(escape(text), s["center"]))
            case content.Rule():
                out.append(HRFlowable(width="100%", thickness=0.5, color=colors.black,
                                      spaceBefore=look.body * 0.4, spaceAfter=look.body * 0.4))
            case content.BigNumber(label, value):
                out += [Paragraph(escape(label), s["center"]),
                        Paragraph(escape(value), s["number"])]
            case content.Field(label, value):
                out.append(Paragraph(f"<b>{escape(label)}</b> {escape(value)}", s["field"]))
            case content.Heading(text):
                out.append(Paragraph(escape(text), s["heading"]))
            case content.Item(text, detail, total):
                bullet = "" if total else "–\u00a0"
                left, right = (s["strong"], s["strong_right"]) if total else (s["item"], s["right"])
                table = Table([[Paragraph(bullet + escape(text), left),
                                Paragraph(escape(detail), right)]],
                              colWidths=[width - detail_width, detail_width])
                table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular),
                                           ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                                           ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                           ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                           ("TOPPADDING", (0, 0), (-1, -1), 0),
                                           ("BOTTOMPADDING", (0, 0), (-1, -1), look.body * 0.2)]))
                out.append(table)
            case content.Paragraph(text, strong):
                out.append(Paragraph(escape(text), s["strong" if strong else "body"]))
            case content.Code(data):
                out += [Spacer(1, look.body * 0.3), _QRCode(data, min(look.qr, width)),
                        Spacer(1, look.body * 0.3)]
    return out


def _height(make: Callable[[], list[Flowable]], width: float) -> float:
    total = 0.0
    for f in make():
        _, h = f.wrap(width, 1e6)
        total += h + f.getSpaceBefore() + f.getSpaceAfter()
    return total


def receipt_pdf(receipt: Receipt, *, roll_mm: float | None = None) -> bytes:
    """The receipt as PDF bytes: one page ``roll_mm`` wide and as long as the receipt,
    or A4 pages when ``roll_mm`` is None.

    Raises LayoutError for a roll narrower than 40 mm, FontError without DejaVu Sans.
    """
    if roll_mm is not None and not 40 <= roll_mm <= 120:
        raise LayoutError(f"roll width {roll_mm} mm is not between 40 and 120 mm")
    look = PAGE if roll_mm is None else ROLL
    page_width = A4[0] if roll_mm is None else roll_mm * mm
    width = page_width - 2 * look.margin

    def make() -> list[Flowable]:
        return _flowables(receipt, look, width)

    # On a roll, one page as long as the receipt, with a little slack (the frame pads its
    # content and rounds): one long page, never two.
    page_height = A4[1] if roll_mm is None else \
        _height(make, width) * 1.02 + 2 * look.margin + 12

    tr = translator(receipt.language)
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=(page_width, page_height), leftMargin=look.margin,
        rightMargin=look.margin, topMargin=look.margin, bottomMargin=look.margin,
        title=f"{tr._('Deposit receipt')} {receipt.deposit_id}", subject=receipt.procedure,
        creator=CREATOR, author="", invariant=True, lang=receipt.language)
    frame = Frame(look.margin, look.margin, width, page_height - 2 * look.margin,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="receipt")
    doc.addPageTemplates([PageTemplate(id="receipt", frames=[frame])])
    doc.build(make(), canvasmaker=dated_canvas(receipt.local_created))
    return buffer.getvalue()
