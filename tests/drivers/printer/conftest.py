"""Fixtures for the receipt-printer tests: simulated printers, silent ports, QR decoders."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from drivers import open_printer
from drivers.printer.base import Align, Cut, Feed, PrintJob, QRCode, Style, Text

FRENCH = "é è à ç ô œ €"
#: A tracking URL with accents, as a receipt's QR code carries.
QR_PAYLOAD = "https://suivi.exemple.gouv.fr/suivi/7KQ2-M4XD-9ZTC?t=Xy3_ab&nom=Hélène Çà œ"


@pytest.fixture
def open_sim(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Open ``sim://?<query>`` with PNGs in tmp_path; everything opened is closed after."""
    opened = []

    def opener(query: str = ""):
        if "out=" not in query:
            query = "&".join(filter(None, [query, f"out={tmp_path / 'receipts'}"]))
        printer = open_printer(f"sim://?{query}")
        opened.append(printer)
        return printer

    yield opener
    for printer in opened:
        printer.close()


@pytest.fixture
def sim(open_sim):
    """A simulated TM-T88V (80 mm, WPC1252, native QR) behind a pseudo-terminal."""
    return open_sim()


@pytest.fixture
def silent_pty() -> Iterator[str]:
    """The path of a pseudo-terminal whose other end never reads nor answers."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield path
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def receipt_job(qr: str = QR_PAYLOAD) -> PrintJob:
    return PrintJob((
        Text("Mairie de Saint-Étienne", Style(bold=True, align=Align.CENTER)),
        Text("Reçu de dépôt", Style(double_height=True, double_width=True, align=Align.CENTER)),
        Text(FRENCH),
        QRCode(qr),
        Text("Conservez ce reçu", Style(underline=True)),
        Feed(1),
        Cut(partial=True),
    ), name="receipt")


def decode_zbarimg(png: Path) -> list[str]:
    """Payloads zbarimg reads in ``png`` (raw bytes, decoded as UTF-8 here: zbar's own
    charset guess can turn UTF-8 into Shift-JIS)."""
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed (Debian zbar-tools, installed by bin/setup)")
    done = subprocess.run(["zbarimg", "--nodbus", "-q", "--raw", "-Sbinary", str(png)],
                          capture_output=True, timeout=30)
    if done.returncode not in (0, 4):  # 4: no symbol found
        raise AssertionError(f"zbarimg failed: {done.stderr.decode(errors='replace')}")
    return [line for line in done.stdout.decode("utf-8").split("\n") if line]


def decode_zxing(png: Path) -> list[str]:
    with Image.open(png) as image:
        return [result.text for result in zxingcpp.read_barcodes(image)
                if result.format == zxingcpp.BarcodeFormat.QRCode]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.clients: list[object] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.clients.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.sock.close()
        for conn in self.clients:
            with contextlib.suppress(OSError):
                conn.close()  # type: ignore[attr-defined]
        self._thread.join(2)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()
