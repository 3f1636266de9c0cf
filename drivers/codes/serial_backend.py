"""Serial code scanners (USB CDC-ACM or RS-232): one code per line.

URLs::

    serial:///dev/ttyACM0?baudrate=9600&terminator=cr
    serial://loop://?terminator=crlf               pyserial URLs work (loop://, socket://, spy://)

The port is opened with ``serial.serial_for_url``, so pyserial's own URL
handlers and pseudo-terminals work as real devices do. Lines end with CR, LF
or CRLF (``terminator``; ``auto`` accepts all three and ignores empty lines).
Text is decoded with ``encoding`` (UTF-8 by default). Bytes that are not text
in that encoding raise :class:`drivers.codes.base.GarbledCodeError` naming them
(``errors=strict``, the default: a garbled scan never passes as a code), or are
replaced by U+FFFD (``errors=replace``). A scanner configured to prefix its
codes with their AIM symbology identifier (``]Q1`` QR Code, ``]d2``
DataMatrix...) gives the format too with ``aim=true``.

A scanner that is unplugged raises DeviceUnavailableError once; each later
``read`` tries to reopen the port, so it works again when it is plugged back.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import time
from typing import Any

import serial

from drivers.codes.base import Code, GarbledCodeError
from drivers.errors import DeviceUnavailableError, DeviceURLError
from drivers.url import DeviceURL, Option

log = logging.getLogger(__name__)

TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
MAX_LINE = 8192

#: AIM symbology identifier letter (ISO/IEC 15424) -> zxing-cpp format name.
AIM_FORMATS = {
    "Q": "QRCode", "d": "DataMatrix", "E": "EAN13", "C": "Code128", "A": "Code39",
    "G": "Code93", "F": "Codabar", "I": "ITF", "L": "PDF417", "z": "Aztec", "e": "DataBar",
    "U": "MaxiCode",
}


def _encoding(text: str) -> str:
    try:
        info = codecs.lookup(text)
    except LookupError:
        raise ValueError(text) from None
    if not getattr(info, "_is_text_encoding", True):   # hex, base64...: bytes to bytes
        raise ValueError(text)
    return info.name


OPTIONS: tuple[Option[Any], ...] = (
    Option.integer("baudrate", 9600, minimum=50, maximum=4_000_000, help="line speed"),
    Option.choice("terminator", "auto", ["auto", "cr", "lf", "crlf"],
                  help="what ends a code: CR, LF, CRLF, or auto (any of them)"),
    Option("encoding", _encoding, "utf-8", "a Python codec name (utf-8, latin-1, cp1252...)",
           "how the scanner encodes text"),
    Option.choice("errors", "strict", ["strict", "replace"],
                  help="bytes that are not text: strict raises GarbledCodeError, replace "
                       "puts U+FFFD"),
    Option.boolean("aim", False, help="codes start with an AIM symbology identifier (]Q1...)"),
    Option.boolean("rtscts", False, help="hardware flow control"),
)


def check(url: DeviceURL) -> None:
    if not url.location:
        raise DeviceURLError(f"code reader URL {url.raw!r}: give the port "
                             f"(serial:///dev/ttyACM0 or a pyserial URL such as serial://loop://)")


class SerialCodeReader:
    """Reads codes line by line from a serial port (see the module docstring)."""

    def __init__(self, url: DeviceURL, port: Any = None) -> None:
        self.url = url
        self.location = url.location
        opts = url.options
        self.terminator = opts["terminator"]
        self.encoding = opts["encoding"]
        self.errors = opts["errors"]
        self.aim = opts["aim"]
        # serial_for_url gives a Serial of the URL's protocol module (loop://, socket://...).
        self._port: Any = port
        self._buffer = bytearray()
        self._closed = False

    # -- the port
    def _open(self) -> Any:
        if self._port is None:
            opts = self.url.options
            try:
                self._port = serial.serial_for_url(self.location, baudrate=opts["baudrate"],
                                                   rtscts=opts["rtscts"], timeout=0.05)
            except (serial.SerialException, OSError, ValueError) as exc:
                raise DeviceUnavailableError(
                    f"code reader {self.location}: cannot open: {exc}") from exc
            log.info("code reader %s opened (%s baud)", self.location, opts["baudrate"])
        return self._port

    def _lost(self, exc: BaseException) -> DeviceUnavailableError:
        port, self._port = self._port, None
        self._buffer.clear()
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
        log.warning("code reader %s lost: %s", self.location, exc)
        return DeviceUnavailableError(f"code reader {self.location} disappeared: {exc}")

    # -- lines
    def _take_line(self) -> bytes | None:
        buf = self._buffer
        if self.terminator == "auto":
            cut = [i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0]
            if not cut:
                return None
            end = min(cut)
            line = bytes(buf[:end])
            del buf[:end + 1]
            return line
        term = TERMINATORS[self.terminator]
        end = buf.find(term)
        if end < 0:
            return None
        line = bytes(buf[:end])
        del buf[:end + len(term)]
        return line

    def _decode(self, line: bytes) -> Code:
        try:
            text = line.decode(self.encoding, errors=self.errors)
        except UnicodeDecodeError as exc:
            raise GarbledCodeError(
                f"code reader {self.location}: the scanner sent bytes that are not "
                f"{self.encoding} text ({exc.reason} at byte {exc.start}): {line.hex(' ')}",
                line) from None
        fmt = "Unknown"
        if self.aim and len(text) >= 3 and text[0] == "]" and text[1:3].isascii():
            fmt = AIM_FORMATS.get(text[1], "Unknown")
            text, line = text[3:], line[3:]       # the identifier is 3 ASCII bytes
        return Code(format=fmt, text=text, raw=line)

    def read(self, timeout: float) -> Code | None:
        """The next code, waiting up to ``timeout`` s (see CodeReader.read for what it raises)."""
        if self._closed:
            raise DeviceUnavailableError(f"code reader {self.location} is closed")
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            line = self._take_line()
            if line is not None:
                if not line:        # the LF of a CRLF in auto mode, or an empty line
                    continue
                if len(line) > MAX_LINE:
                    raise GarbledCodeError(f"code reader {self.location}: a line of {len(line)} "
                                           f"bytes, longer than any code ({MAX_LINE}); dropped",
                                           line[:64])
                return self._decode(line)
            if len(self._buffer) > MAX_LINE:
                data = bytes(self._buffer[:64])
                self._buffer.clear()
                raise GarbledCodeError(f"code reader {self.location}: more than {MAX_LINE} "
                                       f"bytes without a line end; dropped", data)
            port = self._open()
            try:
                waiting = port.in_waiting
                chunk = port.read(max(1, min(waiting, 4096)))
            except (serial.SerialException, OSError) as exc:
                raise self._lost(exc) from exc
            if chunk:
                self._buffer += chunk
                continue
            if time.monotonic() >= deadline:
                return None

    def close(self) -> None:
        self._closed = True
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("code reader %s: close failed: %s", self.location, exc)


def open(url: DeviceURL) -> SerialCodeReader:
    """Open the port now (raises DeviceUnavailableError when it cannot be)."""
    check(url)
    reader = SerialCodeReader(url)
    reader._open()
    return reader
