"""The dossier PDF the back office reads: a cover page, then every page at its real size.

Each page image is embedded exactly as ``scanner.compress`` encoded it, never
decoded or encoded again:

- ``jpeg``: the JPEG file is the stream of an image XObject with ``/Filter /DCTDecode``;
- ``ccitt-g4``: the raw G4 stream with ``/Filter /CCITTFaxDecode`` and
  ``/DecodeParms << /K -1 /Columns w /Rows h /BlackIs1 false >>``.

reportlab's ``drawImage`` would decode every image to RGB to fingerprint it and
wrap JPEGs in ASCII85, and has no CCITT support at all, so this module writes the
image XObjects itself: :class:`_EncodedImage` is a reportlab ``PDFObject`` whose
stream dictionary already names its filter (so reportlab applies none), and
:class:`_DossierCanvas` registers it and paints it the way ``drawImage`` does.
``tests/printer/test_dossier.py`` proves byte identity with ``pdfimages``.

Each page is as large as the paper it shows (``size_mm``), so the back office
prints an A5 form as A5 and an identity card at 85.6 x 54 mm.

The PDF is built in memory and given back as bytes (or written to a stream the
caller gives, e.g. the input of the envelope): the kiosk never writes a dossier
in clear to disk. The document information holds the procedure and the deposit
number only: no name, no contact.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol, runtime_checkable
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import babel
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import (
    PDFDictionary,
    PDFName,
    PDFObject,
    PDFStream,
)
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, Paragraph, Spacer, Table, TableStyle

from printer.content import pages_text
from printer.errors import DossierError
from printer.fonts import pdf_date, register_pdf_fonts
from printer.i18n import translator
from printer.receipt import DepositNumber

log = logging.getLogger(__name__)

CREATOR = "deposit-kiosk"
#: Largest side of a page we accept, in millimetres (A3 is 420).
MAX_PAGE_MM = 1000.0
#: How far the pixel aspect ratio may drift from the paper's before we log it.
ASPECT_TOLERANCE = 0.02


@runtime_checkable
class EncodedPageLike(Protocol):
    """What the dossier needs of a page: ``scanner.EncodedPage`` (docs/contracts.md, "Pages").

    ``printer`` does not import ``scanner``; any object with these attributes will do.
    """

    @property
    def data(self) -> bytes: ...
    @property
    def codec(self) -> str: ...          # "jpeg" or "ccitt-g4"
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def dpi(self) -> float: ...
    @property
    def colour(self) -> str: ...         # "bilevel", "gray" or "rgb"
    @property
    def size_mm(self) -> tuple[float, float]: ...


@dataclass(frozen=True)
class DossierDocument:
    """One document of the dossier: its title (as the citizen chose it) and its pages."""

    title: str
    pages: Sequence[EncodedPageLike]
    code: str | None = None


@dataclass(frozen=True)
class DossierInfo:
    """What the cover says. ``created`` must be timezone-aware."""

    deposit_id: DepositNumber | str
    procedure_code: str
    procedure_title: str
    created: datetime
    kiosk_id: str
    kiosk_place: str
    case_reference: str | None = None
    citizen_language: str = "fr"
    cover_language: str = "fr"   # the back office reads French
    timezone: str = "Europe/Paris"


#: JPEG start-of-frame markers (baseline, extended, progressive, lossless...), not DHT/JPG/DAC.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_frame(data: bytes) -> tuple[int, int, int]:
    """Width, height and number of components from a JPEG's start-of-frame segment.

    Raises ValueError when the markers before it are malformed or it is missing.
    """
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:          # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):   # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2:
            raise ValueError(f"segment length {length} at byte {pos}")
        if marker in _SOF_MARKERS:
            if pos + 10 > len(data):
                break
            height = int.from_bytes(data[pos + 5:pos + 7], "big")
            width = int.from_bytes(data[pos + 7:pos + 9], "big")
            return width, height, data[pos + 9]
        if marker == 0xDA:          # start of scan before any frame header
            break
        pos += 2 + length
    raise ValueError("no start-of-frame segment")


def _check(page: EncodedPageLike, where: str) -> None:
    """Raise DossierError when ``page`` cannot be embedded as it is."""
    w_mm, h_mm = page.size_mm
    if not (0 < w_mm <= MAX_PAGE_MM and 0 < h_mm <= MAX_PAGE_MM):
        raise DossierError(f"{where}: size {w_mm} x {h_mm} mm is not between 0 and {MAX_PAGE_MM}")
    if page.width < 1 or page.height < 1:
        raise DossierError(f"{where}: {page.width} x {page.height} pixels")
    if not page.data:
        raise DossierError(f"{where}: no image data")
    if page.codec == "jpeg":
        if page.data[:2] != b"\xff\xd8":
            raise DossierError(f"{where}: codec jpeg but the data is not a JPEG file")
        try:
            width, height, components = jpeg_frame(page.data)
        except ValueError as exc:
            raise DossierError(f"{where}: unreadable JPEG header ({exc})") from exc
        if (width, height) != (page.width, page.height):
            raise DossierError(f"{where}: the JPEG is {width} x {height} pixels, the page says "
                               f"{page.width} x {page.height}")
        expected = {"gray": 1, "rgb": 3}.get(page.colour)
        if components != expected:
            raise DossierError(f"{where}: a {page.colour} page with a {components}-component "
                               f"JPEG")
    elif page.codec == "ccitt-g4":
        if page.colour != "bilevel":
            raise DossierError(f"{where}: CCITT G4 holds bilevel images, not {page.colour}")
    else:
        raise DossierError(f"{where}: unknown codec {page.codec!r} (jpeg or ccitt-g4)")
    paper = w_mm / h_mm
    pixels = page.width / page.height
    if abs(pixels / paper - 1) > ASPECT_TOLERANCE:
        log.warning("%s: %d x %d pixels drawn on %.1f x %.1f mm: the image is stretched by %.1f %%",
                    where, page.width, page.height, w_mm, h_mm, 100 * (pixels / paper - 1))


class _EncodedImage(PDFObject):
    """An image XObject whose stream is the page's encoded data, byte for byte."""

    def __init__(self, page: EncodedPageLike) -> None:
        self.page = page

    def dictionary(self) -> dict[str, Any]:
        page = self.page
        entries: dict[str, Any] = {
            "Type": PDFName("XObject"),
            "Subtype": PDFName("Image"),
            "Width": page.width,
            "Height": page.height,
        }
        if page.codec == "jpeg":
            entries |= {
                "BitsPerComponent": 8,
                "ColorSpace": PDFName("DeviceRGB" if page.colour == "rgb" else "DeviceGray"),
                "Filter": PDFName("DCTDecode"),
            }
        else:
            entries |= {
                "BitsPerComponent": 1,
                "ColorSpace": PDFName("DeviceGray"),
                "Filter": PDFName("CCITTFaxDecode"),
                "DecodeParms": PDFDictionary({"K": -1, "Columns": page.width,
                                              "Rows": page.height, "BlackIs1": b"false"}),
            }
        return entries

    def format(self, document: Any) -> bytes:
        # A "Filter" entry already present tells PDFStream to apply no filter of its own.
        stream = PDFStream(PDFDictionary(self.dictionary()), content=self.page.data, filters=[])
        formatted: bytes = stream.format(document)
        return formatted


class _DossierCanvas(Canvas):
    """A canvas that can paint an encoded page as it is.

    Mirrors the registration part of ``Canvas.drawImage`` (reportlab 4 and 5): the
    XObject is registered with the document under ``FormXob.<name>``, listed among the
    forms the page uses (so it lands in the page's /Resources), and painted with ``Do``.
    """

    def draw_encoded_page(self, page: EncodedPageLike, name: str, width: float,
                          height: float) -> None:
        internals: Any = self   # the private state drawImage uses, absent from the stubs
        registered = internals._doc.getXObjectName(name)
        internals._doc.Reference(_EncodedImage(page), registered)
        internals._formsinuse.append(name)
        internals._currentPageHasImages = 1
        self.saveState()
        self.transform(width, 0, 0, height, 0, 0)
        self.addLiteral(f"/{registered} Do")
        self.restoreState()


def _language_name(code: str, in_language: str) -> str:
    try:
        name = babel.Locale.parse(code).get_display_name(in_language)
    except (ValueError, babel.UnknownLocaleError):
        return code
    return name or code


def _cover(info: DossierInfo, documents: Sequence[DossierDocument]) -> list[Flowable]:
    regular, bold = register_pdf_fonts()
    tr = translator(info.cover_language)
    tz = ZoneInfo(info.timezone)
    body = ParagraphStyle("body", fontName=regular, fontSize=11, leading=14, spaceAfter=3)
    field = ParagraphStyle("field", body, leftIndent=12, firstLineIndent=-12)
    title = ParagraphStyle("title", body, fontName=bold, fontSize=20, leading=25, spaceAfter=4)
    sub = ParagraphStyle("sub", body, fontSize=13, leading=17, spaceAfter=10)
    cell = ParagraphStyle("cell", body, spaceAfter=0)
    head = ParagraphStyle("head", cell, fontName=bold)

    def line(label: str, value: str) -> Paragraph:
        return Paragraph(f"<b>{escape(label)}</b> {escape(value)}", field)

    when = tr._("{date} at {time}").format(date=tr.date(info.created, tz),
                                          time=tr.time(info.created, tz))
    out: list[Flowable] = [
        Paragraph(escape(tr._("Dossier {number}").format(number=info.deposit_id)), title),
        Paragraph(escape(info.procedure_title), sub),
        line(tr._("Deposit number:"), str(info.deposit_id)),
        line(tr._("Procedure:"), f"{info.procedure_title} ({info.procedure_code})"),
        line(tr._("Date:"), when),
        line(tr._("Kiosk:"), f"{info.kiosk_id} — {info.kiosk_place}"),
        line(tr._("Language of the citizen:"),
             _language_name(info.citizen_language, tr.babel_locale)),
    ]
    if info.case_reference:
        out.append(line(tr._("Case reference:"), info.case_reference))
    out.append(Spacer(1, 8 * mm))

    rows: list[list[Flowable | str]] = [[Paragraph(escape(tr._("Document")), head),
                                         Paragraph(escape(tr._("Pages")), head),
                                         Paragraph(escape(tr._("In this file")), head)]]
    first = 2   # the cover is page 1
    for doc in documents:
        n = len(doc.pages)
        pdf_pages = f"{first}" if n == 1 else f"{first}–{first + n - 1}"
        rows.append([Paragraph(escape(doc.title), cell), Paragraph(pages_text(tr, n), cell),
                     Paragraph(pdf_pages, cell)])
        first += n
    total = sum(len(d.pages) for d in documents)
    rows.append([Paragraph(escape(tr._("Total")), head), Paragraph(pages_text(tr, total), head),
                 ""])
    table = Table(rows, colWidths=[100 * mm, 30 * mm, 30 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), regular),   # not the default Helvetica, never embedded
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]))
    out.append(table)
    return out


def write_dossier_pdf(info: DossierInfo, documents: Sequence[DossierDocument],
                      out: BinaryIO) -> None:
    """Write the dossier PDF to ``out`` (a BytesIO, or the envelope's input stream).

    Raises DossierError for a page that cannot be embedded as it is (checked before
    anything is written), FontError without DejaVu Sans.
    """
    if info.created.tzinfo is None or info.created.utcoffset() is None:
        raise DossierError("the dossier's creation time has no time zone")
    if not documents:
        raise DossierError("a dossier holds at least one document")
    for d, doc in enumerate(documents, 1):
        if not doc.pages:
            raise DossierError(f"document {d} ({doc.title!r}) has no page")
        for p, page in enumerate(doc.pages, 1):
            _check(page, f"document {d} ({doc.title!r}), page {p}")

    regular, _ = register_pdf_fonts()
    local = info.created.astimezone(ZoneInfo(info.timezone))
    stamp = pdf_date(local)
    canvas = _DossierCanvas(out, pagesize=A4, invariant=True, pageCompression=1,
                            initialFontName=regular,  # type: ignore[arg-type]  # stub says float
                            lang=info.cover_language)
    canvas.setDateFormatter(lambda *_: stamp)
    canvas.setTitle(f"Dossier {info.deposit_id}")
    canvas.setSubject(f"{info.procedure_title} ({info.procedure_code})")
    canvas.setCreator(CREATOR)
    canvas.setAuthor("")
    canvas.setKeywords("")

    tr = translator(info.cover_language)
    flowables = _cover(info, documents)
    canvas.bookmarkPage("cover")
    canvas.addOutlineEntry(tr._("Cover"), "cover", level=0)
    while flowables:   # the cover, on as many A4 pages as its list of documents needs
        frame = Frame(20 * mm, 20 * mm, A4[0] - 40 * mm, A4[1] - 40 * mm, id="cover")
        before = len(flowables)
        frame.addFromList(flowables, canvas)
        if len(flowables) == before:
            raise DossierError("the cover does not fit on a page")
        canvas.showPage()

    number = 0
    for d, doc in enumerate(documents, 1):
        for p, page in enumerate(doc.pages, 1):
            number += 1
            width, height = page.size_mm[0] * mm, page.size_mm[1] * mm
            canvas.setPageSize((width, height))
            if p == 1:
                key = f"document-{d}"
                canvas.bookmarkPage(key)
                canvas.addOutlineEntry(doc.title, key, level=0)
            canvas.draw_encoded_page(page, f"page{number}", width, height)
            canvas.showPage()
    canvas.save()


def dossier_pdf(info: DossierInfo, documents: Sequence[DossierDocument]) -> bytes:
    """The dossier PDF as bytes, built in memory (see :func:`write_dossier_pdf`)."""
    buffer = io.BytesIO()
    write_dossier_pdf(info, documents, buffer)
    return buffer.getvalue()
