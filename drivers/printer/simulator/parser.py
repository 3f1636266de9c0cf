"""An ESC/POS stream parser: what a printer would put on paper, as data.

Written from the command reference, independently of the encoder and of
python-escpos, so that a simulated print checks the encoder instead of
agreeing with it. It is incremental (bytes arrive in pieces from a serial
line), never raises on bad input, and never waits for more than a command's
declared length: a declared length beyond what any printer accepts is
reported as malformed and skipped.

What it recovers, per job (a job starts at ``ESC @`` and ends at a cut, at the
next ``ESC @`` after something was printed, or when the stream goes idle):

- text lines, as runs of characters with their style (bold, underline,
  character size, inverted, font), decoded with the code page selected by
  ``ESC t n`` (numbers from the printer profile's table; a number the model
  lacks is ignored, as printers do);
- QR codes stored and printed with ``GS ( k`` (payload bytes, module size,
  error correction level), raster images (``GS v 0``), paper feeds, cuts.

Real-time commands (``DLE EOT n``) are answered by the device before the
bytes reach this parser (printers act on them wherever they appear); here
they are skipped as three-byte commands when they stand between commands.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from drivers.printer.base import Align, PrinterProfile

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

#: Epson's own numbers, used where the profile's table says nothing.
EPSON_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865",
                    16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}

MAX_RASTER_DOTS = 4096  # widest / tallest raster block any receipt printer takes
MAX_BLOCK = 1 << 20  # largest declared parameter block accepted (GS 8 L ...)
FONT_CELLS = {0: (12, 24), 1: (9, 17)}  # font -> (width, height) in dots
_EC_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}


@dataclass(frozen=True)
class TextStyle:
    """The character attributes in force when a character was printed."""

    bold: bool = False
    underline: int = 0  # 0 none, 1 one dot, 2 two dots
    width: int = 1  # character width multiplier (1-8)
    height: int = 1  # character height multiplier (1-8)
    invert: bool = False
    font: int = 0  # 0 Font A (12 x 24), 1 Font B (9 x 17)

    @property
    def double_width(self) -> bool:
        return self.width >= 2

    @property
    def double_height(self) -> bool:
        return self.height >= 2

    @property
    def cell(self) -> tuple[int, int]:
        w, h = FONT_CELLS.get(self.font, FONT_CELLS[0])
        return w * self.width, h * self.height


@dataclass
class Run:
    """Characters printed with one style."""

    text: str
    style: TextStyle


@dataclass
class TextLine:
    """One printed line of text, ``advance`` dots of paper fed after its top."""

    runs: list[Run]
    align: Align
    advance: int

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)

    @property
    def style(self) -> TextStyle:
        """The style of the line's first character (lines are usually one style)."""
        return self.runs[0].style if self.runs else TextStyle()

    @property
    def height(self) -> int:
        return max((run.style.cell[1] for run in self.runs), default=0)

    @property
    def width(self) -> int:
        return sum(run.style.cell[0] * len(run.text) for run in self.runs)


@dataclass
class QRSymbol:
    """A QR code printed with GS ( k fn 81, from the data stored with fn 80."""

    payload: bytes
    module_size: int
    error_correction: str  # L, M, Q, H
    align: Align
    model: int = 2

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", errors="replace")


@dataclass(eq=False)
class RasterImage:
    """A GS v 0 raster image: True where a dot is printed."""

    dots: npt.NDArray[np.bool_]
    align: Align
    scale: tuple[int, int] = (1, 1)  # double width, double height modes


@dataclass
class PaperFeed:
    dots: int


@dataclass
class PaperCut:
    partial: bool


ParsedElement = TextLine | QRSymbol | RasterImage | PaperFeed | PaperCut


@dataclass
class ParsedJob:
    """One job as the simulated printer put it on paper."""

    index: int
    elements: list[ParsedElement] = field(default_factory=list)
    code_pages: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # the printer stopped (paper out, offline) during the job
    received: int = 0  # bytes of the job received
    png: Path | None = None  # the rendered receipt, set by the device

    @property
    def lines(self) -> list[TextLine]:
        return [e for e in self.elements if isinstance(e, TextLine)]

    @property
    def text(self) -> str:
        """The text lines, joined with newlines."""
        return "\n".join(line.text for line in self.lines)

    @property
    def qr_codes(self) -> list[QRSymbol]:
        return [e for e in self.elements if isinstance(e, QRSymbol)]

    @property
    def qr_payloads(self) -> list[str]:
        return [qr.text for qr in self.qr_codes]

    @property
    def images(self) -> list[RasterImage]:
        return [e for e in self.elements if isinstance(e, RasterImage)]

    @property
    def cuts(self) -> list[PaperCut]:
        return [e for e in self.elements if isinstance(e, PaperCut)]


#: Called before anything is put on paper, with what it is ("line", "qr",
#: "image", "feed", "cut"); False means the printer cannot print it now.
PrintGate = Callable[[str], bool]


def _always(_kind: str) -> bool:
    return True


class _Incomplete(Exception):
    """The command at the cursor needs more bytes than have arrived."""


@dataclass
class _Mode:
    """The printer's modes that ESC @ resets."""

    style: TextStyle = field(default_factory=TextStyle)
    align: Align = Align.LEFT
    code_page: int = 0
    line_spacing: int | None = None  # dots; None = the default (1/6 inch)
    qr_module: int = 3
    qr_level: str = "L"
    qr_model: int = 2
    qr_data: bytes = b""


class EscPosParser:
    """Feed it bytes; it builds :class:`ParsedJob` values in :attr:`finished`.

    ``gate`` decides whether the printer can put each thing on paper (the
    device uses it for paper out and offline); things refused are counted in
    :attr:`discarded` and mark the job truncated.
    """

    def __init__(self, profile: PrinterProfile, gate: PrintGate = _always) -> None:
        self.profile = profile
        self.gate = gate
        self.finished: list[ParsedJob] = []
        self.discarded = 0
        self._buffer = bytearray()
        self._mode = _Mode()
        self._line: list[Run] = []
        self._line_width = 0
        self._line_align = Align.LEFT
        self._job: ParsedJob | None = None
        self._jobs_started = 0
        pages: dict[int, str] = {}
        for number, name in profile.code_page_table:
            try:
                pages[number] = codecs.lookup(name).name
            except LookupError:
                continue
        self._pages = pages or dict(EPSON_CODE_PAGES)

    # ------------------------------------------------------------ public

    @property
    def default_spacing(self) -> int:
        """1/6 inch in dots, the line spacing after ESC @ or ESC 2."""
        return round(self.profile.dpi / 6)

    @property
    def pending(self) -> bool:
        """Whether a job has content that is not finished yet."""
        return self._job is not None and (bool(self._job.elements) or bool(self._line))

    def feed(self, data: bytes) -> None:
        """Parse ``data``; never raises, whatever the bytes."""
        self._buffer += data
        at = 0
        buffer = self._buffer
        while at < len(buffer):
            try:
                end = self._command(buffer, at)
            except _Incomplete:
                break
            if self._job is not None:
                self._job.received += end - at
            at = end
        del buffer[:at]

    def finish(self) -> ParsedJob | None:
        """End the current job (idle line, device stopping); print what is in the line buffer."""
        if self._line:
            self._print_line(None)
        return self._end_job()

    # ------------------------------------------------------------ jobs

    def _job_now(self) -> ParsedJob:
        if self._job is None:
            self._jobs_started += 1
            self._job = ParsedJob(index=self._jobs_started)
        return self._job

    def _end_job(self) -> ParsedJob | None:
        job, self._job = self._job, None
        if job is None or not job.elements:
            if job is not None:
                self._jobs_started -= 1
            return None
        self.finished.append(job)
        return job

    def _warn(self, message: str) -> None:
        job = self._job_now()
        if len(job.warnings) < 100:
            job.warnings.append(message)

    def _put(self, kind: str, element: ParsedElement) -> None:
        job = self._job_now()
        if self.gate(kind):
            job.elements.append(element)
        else:
            self.discarded += 1
            if job.elements:
                job.truncated = True

    # ------------------------------------------------------------ text

    def _codec(self) -> str:
        return self._pages.get(self._mode.code_page, "cp437")

    def _text(self, raw: bytes) -> None:
        style = self._mode.style
        char_width = style.cell[0]
        for char in raw.decode(self._codec(), errors="replace"):
            if self._line_width + char_width > self.profile.dots_per_line and self._line:
                self._print_line(None)  # the printer wraps a full line by itself
            if not self._line:
                self._line_align = self._mode.align  # ESC a counts at the start of a line
            if self._line and self._line[-1].style == style:
                self._line[-1].text += char
            else:
                self._line.append(Run(char, style))
            self._line_width += char_width

    def _spacing(self) -> int:
        spacing = self._mode.line_spacing
        return self.default_spacing if spacing is None else spacing

    def _print_line(self, feed: int | None) -> None:
        """Print the line buffer and feed ``feed`` dots (None: the line spacing)."""
        if self._line:
            line = TextLine(self._line, self._line_align, 0)
            advance = max(self._spacing(), line.height) if feed is None else feed
            line.advance = advance
            self._line, self._line_width = [], 0
            self._put("line", line)
        else:
            dots = self._spacing() if feed is None else feed
            if dots > 0:
                self._put("feed", PaperFeed(dots))

    def _flush_line(self) -> None:
        """Graphics and cuts start on a fresh line."""
        if self._line:
            self._print_line(None)

    # ------------------------------------------------------------ commands

    def _command(self, buf: bytearray, at: int) -> int:
        byte = buf[at]
        if 0x20 <= byte != 0x7F:
            end = at + 1
            while end < len(buf) and 0x20 <= buf[end] != 0x7F:
                end += 1
            self._job_now()
            self._text(bytes(buf[at:end]))
            return end
        if byte == LF:
            self._job_now()
            self._print_line(None)
        elif byte == HT:
            self._job_now()
            columns = len("".join(run.text for run in self._line))
            self._text(b" " * (8 - columns % 8))
        elif byte == FF:
            self._print_line(None)
        elif byte == ESC:
            return self._esc(buf, at)
        elif byte == GS:
            return self._gs(buf, at)
        elif byte == FS:
            return self._fs(buf, at)
        elif byte == DLE:
            return self._dle(buf, at)
        # CR and other control bytes: nothing on paper
        return at + 1

    @staticmethod
    def _need(buf: bytearray, end: int) -> None:
        if len(buf) < end:
            raise _Incomplete

    #: ESC commands by total length, for those that only need skipping or one argument.
    _ESC_LENGTHS: ClassVar[dict[int, int]] = {**dict.fromkeys(b"@2imSL\x0c", 2),
                    **dict.fromkeys(b"!EG-aMdJ3t{VRUT rKe%?=", 3),
                    **dict.fromkeys(b"$\\cB", 4), ord("p"): 5, ord("W"): 10}

    def _esc(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 2)
        c = buf[at + 1]
        mode = self._mode
        length = self._ESC_LENGTHS.get(c)
        if length is not None:
            self._need(buf, at + length)
        n = buf[at + 2] if length is not None and length >= 3 else 0
        if c == ord("@"):
            self._flush_line()
            if self._job is not None and self._job.elements:
                self._end_job()
            self._mode = _Mode()
            self._job_now()
            return at + 2
        if c == ord("t"):
            if n in self._pages:
                mode.code_page = n
                self._job_now().code_pages.append(n)
            else:
                self._warn(f"ESC t {n}: code page not in profile {self.profile.name}; ignored")
            return at + 3
        if c == ord("!"):
            mode.style = replace(mode.style, font=n & 1, bold=bool(n & 0x08),
                                 height=2 if n & 0x10 else 1, width=2 if n & 0x20 else 1,
                                 underline=1 if n & 0x80 else 0)
            return at + 3
        if c in (ord("E"), ord("G")):
            mode.style = replace(mode.style, bold=bool(n & 1))
            return at + 3
        if c == ord("-"):
            level = n - 48 if n >= 48 else n
            mode.style = replace(mode.style, underline=level if level in (0, 1, 2) else 0)
            return at + 3
        if c == ord("a"):
            mode.align = {0: Align.LEFT, 1: Align.CENTER, 2: Align.RIGHT}.get(
                n - 48 if n >= 48 else n, mode.align)
            return at + 3
        if c == ord("M"):
            mode.style = replace(mode.style, font=(n - 48 if n >= 48 else n) & 1)
            return at + 3
        if c == ord("d"):
            self._job_now()
            if self._line:
                self._print_line(None)
                n -= 1
            if n > 0:
                self._print_line(self._spacing() * n)
            return at + 3
        if c == ord("J"):
            self._job_now()
            self._print_line(n)
            return at + 3
        if c == ord("2"):
            mode.line_spacing = None
            return at + 2
        if c == ord("3"):
            mode.line_spacing = n
            return at + 3
        if c == ord("D"):
            end = at + 2
            while True:
                self._need(buf, end + 1)
                if buf[end] == 0 or end - at > 34:
                    return end + 1
                end += 1
        if c == ord("*"):
            self._need(buf, at + 5)
            m, columns = buf[at + 2], buf[at + 3] | buf[at + 4] << 8
            if columns > MAX_RASTER_DOTS:
                self._warn(f"ESC * with {columns} columns: malformed, skipped")
                return at + 5
            size = columns * (3 if m in (32, 33) else 1)
            self._need(buf, at + 5 + size)
            self._warn("ESC * column bit image: not rendered")
            return at + 5 + size
        if c == ord("&"):
            return self._user_characters(buf, at)
        if c in (ord("i"), ord("m")):  # obsolete cuts
            self._flush_line()
            self._put("cut", PaperCut(partial=c == ord("m")))
            self._flush_job_after_cut()
            return at + 2
        if length is not None:
            return at + length  # no effect on what is printed here
        self._warn(f"unknown command ESC 0x{c:02x}")
        return at + 2

    def _user_characters(self, buf: bytearray, at: int) -> int:
        """ESC & y c1 c2 [x d1...d(y*x)]...: download characters; skipped."""
        self._need(buf, at + 5)
        y, first, last = buf[at + 2], buf[at + 3], buf[at + 4]
        end = at + 5
        if not (1 <= y <= 3 and 32 <= first <= last <= 126):
            self._warn("ESC & with bad parameters: skipped")
            return end
        for _ in range(last - first + 1):
            self._need(buf, end + 1)
            end += 1 + y * buf[end]
            self._need(buf, end)
        self._warn("ESC & user-defined characters: not rendered")
        return end

    def _gs(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 2)
        c = buf[at + 1]
        mode = self._mode
        if c == ord("!"):
            self._need(buf, at + 3)
            n = buf[at + 2]
            mode.style = replace(mode.style, width=(n >> 4 & 7) + 1, height=(n & 7) + 1)
            return at + 3
        if c == ord("B"):
            self._need(buf, at + 3)
            mode.style = replace(mode.style, invert=bool(buf[at + 2] & 1))
            return at + 3
        if c == ord("V"):
            return self._cut(buf, at)
        if c == ord("v"):
            return self._raster(buf, at)
        if c == ord("("):
            self._need(buf, at + 5)
            size = buf[at + 3] | buf[at + 4] << 8
            self._need(buf, at + 5 + size)
            if buf[at + 2] == ord("k"):
                self._two_d_code(bytes(buf[at + 5:at + 5 + size]))
            return at + 5 + size
        if c == ord("8"):
            self._need(buf, at + 7)
            size = int.from_bytes(buf[at + 3:at + 7], "little")
            if size > MAX_BLOCK:
                self._warn(f"GS 8 with a {size}-byte block: malformed, skipped")
                return at + 7
            self._need(buf, at + 7 + size)
            self._warn("GS 8 L graphics: not rendered")
            return at + 7 + size
        if c == ord("k"):
            return self._barcode(buf, at)
        if c == ord("*"):
            self._need(buf, at + 4)
            size = buf[at + 2] * buf[at + 3] * 8
            self._need(buf, at + 4 + size)
            return at + 4 + size
        if c in b"LWP$\\":
            self._need(buf, at + 4)
            return at + 4
        if c in b"hwHfbarI/:^TEg":
            self._need(buf, at + 3)
            return at + 3
        self._warn(f"unknown command GS 0x{c:02x}")
        return at + 2

    def _fs(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 2)
        c = buf[at + 1]
        if c in b".&":
            return at + 2
        if c in b"!-CW":
            self._need(buf, at + 3)
            return at + 3
        if c in b"pS":
            self._need(buf, at + 4)
            return at + 4
        if c == ord("("):
            self._need(buf, at + 5)
            size = buf[at + 3] | buf[at + 4] << 8
            self._need(buf, at + 5 + size)
            return at + 5 + size
        self._warn(f"unknown command FS 0x{c:02x}")
        return at + 2

    def _dle(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 2)
        c = buf[at + 1]
        if c in (0x04, 0x05):  # DLE EOT n, DLE ENQ n: real-time, answered by the device
            self._need(buf, at + 3)
            return at + 3
        if c == 0x14:  # DLE DC4 fn ...
            self._need(buf, at + 3)
            fn = buf[at + 2]
            size = {1: 5, 2: 5, 7: 4, 8: 10}.get(fn, 3)
            self._need(buf, at + size)
            return at + size
        return at + 1

    # ------------------------------------------------------------ graphics

    def _cut(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 3)
        m = buf[at + 2]
        end, feed = at + 3, 0
        if m in (65, 66, 97, 98, 103, 104):
            self._need(buf, at + 4)
            end, feed = at + 4, buf[at + 3]
        elif m not in (0, 1, 48, 49):
            self._warn(f"GS V {m}: unknown cut; skipped")
            return end
        self._job_now()
        self._flush_line()
        if feed:
            self._print_line(feed)
        partial = m in (1, 49, 66, 98, 104)
        self._put("cut", PaperCut(partial=partial))
        self._flush_job_after_cut()
        return end

    def _flush_job_after_cut(self) -> None:
        if self._job is not None and self._job.elements:
            self._end_job()

    def _raster(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 8)
        if buf[at + 2] != ord("0"):
            self._warn(f"GS v 0x{buf[at + 2]:02x}: unknown; skipped")
            return at + 3
        m = buf[at + 3]
        width_bytes = buf[at + 4] | buf[at + 5] << 8
        rows = buf[at + 6] | buf[at + 7] << 8
        if width_bytes * 8 > MAX_RASTER_DOTS or rows > MAX_RASTER_DOTS:
            self._warn(f"GS v 0 of {width_bytes} bytes x {rows} rows: malformed, skipped")
            return at + 8
        end = at + 8 + width_bytes * rows
        self._need(buf, end)
        if width_bytes and rows:
            data = np.frombuffer(bytes(buf[at + 8:end]), dtype=np.uint8)
            dots = np.unpackbits(data).reshape(rows, width_bytes * 8).astype(bool)
            scale = (2 if m in (1, 3, 49, 51) else 1, 2 if m in (2, 3, 50, 51) else 1)
            self._job_now()
            self._flush_line()
            self._put("image", RasterImage(dots, self._mode.align, scale))
        return end

    def _two_d_code(self, block: bytes) -> None:
        """GS ( k: cn fn [parameters]; only QR (cn 49) is kept."""
        if len(block) < 2 or block[0] != 49:
            return
        fn, params = block[1], block[2:]
        mode = self._mode
        if fn == 65 and params:  # model: 49 model 1, 50 model 2, 51 micro
            mode.qr_model = {49: 1, 50: 2, 51: 3}.get(params[0], 2)
        elif fn == 67 and params:
            if 1 <= params[0] <= 16:
                mode.qr_module = params[0]
        elif fn == 69 and params:
            mode.qr_level = _EC_LEVELS.get(params[0], mode.qr_level)
        elif fn == 80 and params:  # m = 48, then the data
            mode.qr_data = bytes(params[1:])
        elif fn == 81:
            self._job_now()
            self._flush_line()
            if mode.qr_data:
                if mode.qr_model != 2:
                    self._warn(f"QR model {mode.qr_model} printed as model 2")
                self._put("qr", QRSymbol(mode.qr_data, mode.qr_module, mode.qr_level,
                                         mode.align, mode.qr_model))
            else:
                self._warn("GS ( k print with no QR data stored")

    def _barcode(self, buf: bytearray, at: int) -> int:
        self._need(buf, at + 3)
        m = buf[at + 2]
        if m <= 6:
            end = at + 3
            while True:
                self._need(buf, end + 1)
                if buf[end] == 0 or end - at > 260:
                    end += 1
                    break
                end += 1
        else:
            self._need(buf, at + 4)
            end = at + 4 + buf[at + 3]
            self._need(buf, end)
        self._warn("GS k barcode: not rendered")
        return end
