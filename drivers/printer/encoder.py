"""ESC/POS encoding of a :class:`PrintJob`, through python-escpos's command methods.

python-escpos writes every command through one method, ``_raw(bytes)``;
:class:`_ByteSink` collects them, as its own ``Dummy`` printer does, so the
bytes can go to any of the project's transports. What python-escpos is not
trusted with:

- text: its automatic encoding may select odd code pages (a lone "€" on the
  Greek page); every job starts with ``ESC @`` and ``ESC t n`` and text is
  encoded here for that page (:func:`drivers.printer.profiles.encode_text`);
- the QR image fallback: its image QR has a one-module border, too narrow a
  quiet zone for phone readers; ours is made with ``qrcode`` and a four-module
  border;
- the quiet zone around a native QR code, which the printer does not leave.

Real-time commands: a printer acts on ``DLE EOT n``, ``DLE ENQ n`` and
``DLE DC4`` wherever they appear in the stream, even inside a raster image's
data. An image whose bytes contain ``10 04``, ``10 05`` or ``10 14`` is moved
right by one to seven blank dots until they do not (invisible on paper).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.constants
import qrcode.exceptions
from PIL import Image as PILImage

from drivers.printer._escpos import Escpos
from drivers.printer.base import (
    Align,
    Cut,
    Element,
    Feed,
    Image,
    PrinterProfile,
    PrintJob,
    QRCode,
    Style,
    Text,
)
from drivers.printer.profiles import CodePage, choose_code_page, encode_text

log = logging.getLogger(__name__)

ESC = b"\x1b"
GS = b"\x1d"
INIT = ESC + b"@"
#: Byte pairs a printer may take for a real-time command when they sit inside data.
REAL_TIME_PREFIXES = (b"\x10\x04", b"\x10\x05", b"\x10\x14")
#: Rows of one GS v 0 command (python-escpos's fragment height; some printers take less).
FRAGMENT_ROWS = 960
QUIET_ZONE_MODULES = 4

_QR_LEVELS = {"L": 0, "M": 1, "Q": 2, "H": 3}
_QR_LIB_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H,
}


class _ByteSink(Escpos):  # type: ignore[misc]  # python-escpos ships no type information
    """python-escpos's command methods, writing into a list of byte strings."""

    def __init__(self, profile: PrinterProfile) -> None:
        super().__init__(profile=profile.name)
        # Tell python-escpos the paper width in use (the URL may override the
        # profile's); an instance attribute shadows the class-level profile data.
        data = dict(self.profile.profile_data)
        data["media"] = {**data.get("media", {}),
                         "width": {"mm": profile.paper_width_mm, "pixels": profile.dots_per_line}}
        self.profile.profile_data = data
        self.chunks: list[bytes] = []

    def _raw(self, msg: bytes) -> None:
        self.chunks.append(bytes(msg))

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


@dataclass(frozen=True)
class EncoderSettings:
    """How to encode for one printer: its profile, code page and QR method."""

    profile: PrinterProfile
    code_page: CodePage
    native_qr: bool

    @classmethod
    def for_profile(cls, profile: PrinterProfile, *, qr: str = "auto",
                    code_page: str | None = None) -> EncoderSettings:
        """``qr`` is ``auto`` (the profile says), ``native`` or ``image``."""
        native = profile.native_qr if qr == "auto" else qr == "native"
        return cls(profile, choose_code_page(profile, code_page), native)


class Encoder:
    """Turns print jobs into ESC/POS bytes for one printer.

    :meth:`encode` raises ValueError for a job the paper cannot take (an image
    wider than the paper, a QR payload too long for any QR code).
    """

    def __init__(self, settings: EncoderSettings) -> None:
        self.settings = settings
        self._sink = _ByteSink(settings.profile)
        self._style: Style | None = None  # the text style in force in the current job

    @property
    def profile(self) -> PrinterProfile:
        return self.settings.profile

    def encode(self, job: PrintJob) -> bytes:
        """The whole job: ``ESC @``, ``ESC t n``, then each element."""
        out = [self.start()]
        out += [self.element(element) for element in job.elements]
        return b"".join(out)

    def start(self) -> bytes:
        """Reset the printer (no state carried over from an earlier job) and select the page."""
        self._style = None
        self._sink.hw("INIT")
        self._sink._raw(ESC + b"t" + bytes([self.settings.code_page.number]))
        return self._sink.take()

    def element(self, element: Element) -> bytes:
        if isinstance(element, Text):
            return self.text(element)
        if isinstance(element, QRCode):
            return self.qr(element)
        if isinstance(element, Image):
            return self.image(element.pixels, element.align)
        if isinstance(element, Feed):
            return self.feed(element.lines)
        if isinstance(element, Cut):
            return self.cut(element.partial)
        raise TypeError(f"not a print job element: {element!r}")

    def style(self, style: Style) -> bytes:
        """Every attribute set explicitly, so a text never inherits another's by accident."""
        self._sink.set(
            align=str(style.align),
            bold=style.bold,
            underline=1 if style.underline else 0,
            double_width=style.double_width,
            double_height=style.double_height,
            normal_textsize=not (style.double_width or style.double_height),
            invert=style.invert,
        )
        return self._sink.take()

    def text(self, element: Text) -> bytes:
        """The style (unless the previous text had the same), the encoded lines, a line feed."""
        body = element.text[:-1] if element.text.endswith("\n") else element.text
        style = b""
        if element.style != self._style:
            style = self.style(element.style)
            self._style = element.style
        return style + encode_text(body, self.settings.code_page) + b"\n"

    def feed(self, lines: int) -> bytes:
        if not 0 <= lines <= 255:
            raise ValueError(f"a feed of {lines} lines is not 0 to 255")
        self._sink.print_and_feed(lines)
        return self._sink.take()

    def cut(self, partial: bool) -> bytes:
        """Feed the last line past the cutter (python-escpos feeds six lines), then cut."""
        self._sink.cut(mode="PART" if partial else "FULL")
        return self._sink.take()

    def qr(self, element: QRCode) -> bytes:
        payload = element.data.encode("utf-8")
        if not payload:
            raise ValueError("a QR code needs a payload")
        matrix = qr_matrix(element.data, element.error_correction)  # ValueError if too long
        if self.settings.native_qr:
            return self._native_qr(element, len(matrix))
        return self._image_qr(element, matrix)

    def _native_qr(self, element: QRCode, modules: int) -> bytes:
        module = self._fit_module(element.module_size, modules)
        quiet = feed_dots(QUIET_ZONE_MODULES * module)
        self._sink.set(align=str(element.align))
        self._sink.qr(element.data, ec=_QR_LEVELS[element.error_correction], size=module,
                      native=True)
        symbol = self._sink.take()
        self._style = None
        return quiet + symbol + quiet

    def _image_qr(self, element: QRCode, matrix: npt.NDArray[np.bool_]) -> bytes:
        module = self._fit_module(element.module_size, len(matrix))
        bordered = np.pad(matrix, QUIET_ZONE_MODULES, constant_values=False)
        pixels = np.where(bordered, 0, 255).astype(np.uint8)
        pixels = np.kron(pixels, np.ones((module, module), dtype=np.uint8))
        return self.image(pixels, element.align)

    def _fit_module(self, wanted: int, modules: int) -> int:
        """The module size, made smaller if the symbol and its quiet zone would not fit."""
        if not 1 <= wanted <= 16:
            raise ValueError(f"QR module size {wanted} is not 1 to 16 dots")
        width = self.profile.dots_per_line
        module = wanted
        while module > 1 and (modules + 2 * QUIET_ZONE_MODULES) * module > width:
            module -= 1
        if module != wanted:
            log.info("QR code of %d modules: module size %d -> %d to fit %d dots",
                     modules, wanted, module, width)
        if module < 2:
            raise ValueError(f"a QR code of {modules} modules does not fit {width} dots")
        return module

    def image(self, pixels: npt.NDArray[np.uint8], align: Align = Align.CENTER) -> bytes:
        """A raster image with GS v 0, aligned with ESC a (which raster images obey)."""
        if pixels.ndim != 2 or pixels.size == 0:
            raise ValueError(f"an image must be a non-empty 2-D array, not shape {pixels.shape}")
        width = self.profile.dots_per_line
        if pixels.shape[1] > width:
            raise ValueError(f"image is {pixels.shape[1]} dots wide; the paper takes {width}")
        black = pixels < 128
        first = b""
        for shift in range(8):
            if shift and black.shape[1] + shift > width:
                break
            shifted = np.pad(black, ((0, 0), (shift, 0)), constant_values=False)
            self._sink.set(align=str(align))
            self._sink.image(PILImage.fromarray(np.where(shifted, 0, 255).astype(np.uint8)),
                             impl="bitImageRaster", fragment_height=FRAGMENT_ROWS, center=False)
            encoded = self._sink.take()
            if not any(prefix in encoded for prefix in REAL_TIME_PREFIXES):
                break
            first = first or encoded
            log.debug("raster data holds a real-time command sequence; shifting by %d dots",
                      shift + 1)
        else:
            encoded = b""
        if not encoded or any(prefix in encoded for prefix in REAL_TIME_PREFIXES):
            log.warning("raster image holds real-time command bytes at every shift; "
                        "a status reply may be misread")
            encoded = first
        self._style = None
        return encoded


def feed_dots(dots: int) -> bytes:
    """ESC J n: print the buffer and feed ``dots`` motion units (one dot on common models)."""
    out = []
    while dots > 0:
        step = min(dots, 255)
        out.append(ESC + b"J" + bytes([step]))
        dots -= step
    return b"".join(out)


def qr_matrix(data: str, level: str) -> npt.NDArray[np.bool_]:
    """The QR symbol's modules (True = dark), without quiet zone; as a printer would make it."""
    code = qrcode.QRCode(version=None, error_correction=_QR_LIB_LEVELS[level], border=0)
    code.add_data(data.encode("utf-8"))
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError) as exc:
        raise ValueError(f"QR payload of {len(data.encode('utf-8'))} bytes is too long "
                         f"for level {level}") from exc
    return np.array(code.get_matrix(), dtype=bool)
