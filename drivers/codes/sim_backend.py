"""The code reader simulator: a scanner behind a real pseudo-terminal.

``sim://`` opens a pseudo-terminal; the simulator writes each injected code
to its master side as a real scanner would (AIM identifier, UTF-8 text, CR LF)
and the object returned is the ordinary :mod:`drivers.codes.serial_backend`
reader on the other side, so tests and the demo run the code the kiosk runs.

    reader = open_code_reader("sim://")
    reader.simulator.inject_text("https://demarches.example.fr/c?ref=CNV-2025-004217")
    reader.read(timeout=1.0)   # Code(format="QRCode", text="https://...", raw=b"...")

``simulator.inject(Code)`` sends a code of any format, ``inject_bytes(b"...")``
raw bytes (to test garbled input). ``codes=`` in the URL queues codes at start
(``|`` between them), for the demo.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from drivers.codes.base import Code
from drivers.codes.serial_backend import AIM_FORMATS, SerialCodeReader
from drivers.codes.serial_backend import OPTIONS as SERIAL_OPTIONS
from drivers.errors import CodeReaderError, DeviceUnavailableError
from drivers.url import DeviceURL, Option, parse_options

log = logging.getLogger(__name__)

OPTIONS: tuple[Option[Any], ...] = (
    Option.text("codes", "", help="codes the scanner reads at start, separated by |"),
    Option.choice("format", "QRCode", sorted(set(AIM_FORMATS.values())),
                  help="the format of codes given as text"),
)

_AIM_LETTER = {name: letter for letter, name in AIM_FORMATS.items()}
_AIM_MODIFIER = {"QRCode": "1", "DataMatrix": "1", "EAN13": "0", "Code128": "0"}


class CodeReaderSimulator:
    """The scanner's side of the pseudo-terminal."""

    def __init__(self, master_fd: int, default_format: str) -> None:
        self._fd: int | None = master_fd
        self._lock = threading.Lock()
        self.default_format = default_format
        self.sent: list[bytes] = []

    def inject(self, code: Code) -> None:
        """Scan ``code``: its AIM identifier, its raw bytes (else its UTF-8 text), CR LF."""
        letter = _AIM_LETTER.get(code.format)
        if letter is None:
            raise CodeReaderError(f"the simulated scanner has no AIM identifier for "
                                  f"{code.format!r} (valid: {', '.join(sorted(_AIM_LETTER))})")
        body = code.raw if code.raw is not None else code.text.encode("utf-8")
        prefix = f"]{letter}{_AIM_MODIFIER.get(code.format, '0')}".encode("ascii")
        self.inject_bytes(prefix + body + b"\r\n")

    def inject_text(self, text: str, format: str | None = None) -> None:
        """Scan a code whose content is ``text`` (QR Code unless ``format`` says otherwise)."""
        self.inject(Code(format=format or self.default_format, text=text))

    def inject_bytes(self, data: bytes) -> None:
        """Write raw bytes on the line, as a faulty or misconfigured scanner would."""
        with self._lock:
            if self._fd is None:
                raise CodeReaderError("the code reader simulator is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self.sent.append(data)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class SimCodeReader(SerialCodeReader):
    """A serial code reader on a pseudo-terminal, with the simulated scanner at ``simulator``."""

    simulator: CodeReaderSimulator

    def close(self) -> None:
        super().close()
        self.simulator.close()


def open(url: DeviceURL) -> SimCodeReader:
    """Raises DeviceUnavailableError when no pseudo-terminal can be had."""
    opts = url.options
    try:
        master, slave = os.openpty()
    except OSError as exc:
        raise DeviceUnavailableError(f"code reader simulator: no pseudo-terminal: {exc}") from exc
    path = os.ttyname(slave)
    raw = f"serial://{path}?aim=true&terminator=auto"
    values = parse_options("code_reader", raw, [("aim", "true"), ("terminator", "auto")],
                           SERIAL_OPTIONS)
    serial_url = DeviceURL(kind="code_reader", raw=raw, scheme="serial", location=path,
                           options=values)
    reader = SimCodeReader(serial_url)
    try:
        reader._open()
    finally:
        os.close(slave)       # the serial backend has its own descriptor now
    reader.simulator = CodeReaderSimulator(master, opts["format"])
    for text in filter(None, opts["codes"].split("|")):
        reader.simulator.inject_text(text)
    log.info("code reader simulator on %s", path)
    return reader
