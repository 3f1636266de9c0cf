"""The serial code reader, through a real pseudo-terminal, pyserial's loop:// and a TCP socket."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from drivers import check_device_url, open_code_reader
from drivers.codes import Code, CodeReader, GarbledCodeError
from drivers.codes.serial_backend import SerialCodeReader
from drivers.errors import DeviceUnavailableError, DeviceURLError

FRENCH = "Zoé Béranger, née à Besançon — 12,50 € « reçu »"


@pytest.fixture
def pty_reader() -> Iterator[tuple[int, CodeReader]]:
    master, slave = os.openpty()
    reader = open_code_reader(f"serial://{os.ttyname(slave)}?baudrate=115200&terminator=cr")
    os.close(slave)
    yield master, reader
    reader.close()
    os.close(master)


def test_codes_come_through_a_real_terminal_with_their_accents(pty_reader) -> None:
    master, reader = pty_reader
    assert isinstance(reader, CodeReader)
    os.write(master, FRENCH.encode("utf-8") + b"\r")
    code = reader.read(timeout=2.0)
    assert code == Code("Unknown", FRENCH, FRENCH.encode("utf-8"))


def test_a_code_split_across_reads_is_put_back_together(pty_reader) -> None:
    master, reader = pty_reader
    data = "Hélène".encode()
    os.write(master, data[:2])             # cut inside the two bytes of "é"
    assert reader.read(timeout=0.2) is None
    os.write(master, data[2:] + b"\rsecond\r")
    assert reader.read(timeout=2.0).text == "Hélène"
    assert reader.read(timeout=2.0).text == "second"


def test_read_waits_no_longer_than_its_timeout(pty_reader) -> None:
    _, reader = pty_reader
    start = time.monotonic()
    assert reader.read(timeout=0.3) is None
    assert 0.25 < time.monotonic() - start < 1.5


@pytest.mark.parametrize(
    ("terminator", "sent", "texts"),
    [
        ("cr", b"one\rtwo\r", ["one", "two"]),
        ("lf", b"one\ntwo\n", ["one", "two"]),
        ("crlf", b"one\r\ntwo\r\n", ["one", "two"]),
        ("crlf", b"a\rb\r\n", ["a\rb"]),
        ("auto", b"one\r\ntwo\nthree\r\r\n", ["one", "two", "three"]),
    ],
)
def test_each_terminator_splits_codes_as_configured(terminator: str, sent: bytes,
                                                    texts: list[str]) -> None:
    reader = open_code_reader(f"serial://loop://?terminator={terminator}")
    try:
        assert isinstance(reader, SerialCodeReader)
        reader._port.write(sent)
        got = []
        while (code := reader.read(timeout=0.2)) is not None:
            got.append(code.text)
        assert got == texts
    finally:
        reader.close()


def test_garbled_bytes_raise_a_clear_error_and_the_reader_goes_on(pty_reader) -> None:
    master, reader = pty_reader
    os.write(master, b"caf\xe9\r" + "café".encode() + b"\r")
    with pytest.raises(GarbledCodeError, match=r"not utf-8 text.*63 61 66 e9") as caught:
        reader.read(timeout=2.0)
    assert caught.value.data == b"caf\xe9"
    assert reader.read(timeout=2.0).text == "café"


def test_the_replace_policy_and_other_encodings() -> None:
    reader = open_code_reader("serial://loop://?errors=replace")
    assert isinstance(reader, SerialCodeReader)
    reader._port.write(b"caf\xe9\r")
    code = reader.read(timeout=1.0)
    assert code is not None and code.text == "caf\ufffd"
    reader.close()
    reader = open_code_reader("serial://loop://?encoding=latin-1")
    assert isinstance(reader, SerialCodeReader)
    reader._port.write(b"caf\xe9\r")
    code = reader.read(timeout=1.0)
    assert code is not None and code.text == "café"
    reader.close()


def test_a_flood_without_line_ends_is_dropped_not_kept(pty_reader) -> None:
    master, reader = pty_reader
    writer = threading.Thread(target=lambda: os.write(master, b"x" * 10000 + b"\rok\r"))
    writer.start()
    with pytest.raises(GarbledCodeError, match=r"without a line end|longer than any code"):
        while reader.read(timeout=2.0) is not None:
            pass
    writer.join()
    texts = []
    while (code := reader.read(timeout=0.5)) is not None:
        texts.append(code.text)
    assert texts[-1] == "ok" and len(reader._buffer) == 0


def test_aim_identifiers_give_the_format() -> None:
    reader = open_code_reader("serial://loop://?aim=true")
    assert isinstance(reader, SerialCodeReader)
    reader._port.write(b"]Q1https://example.fr/\r]d1DC04\x1dX\r]X0odd\rplain\r")
    assert reader.read(1.0) == Code("QRCode", "https://example.fr/", b"https://example.fr/")
    assert reader.read(1.0) == Code("DataMatrix", "DC04\x1dX", b"DC04\x1dX")
    code = reader.read(1.0)
    assert code is not None and code.format == "Unknown"
    assert reader.read(1.0) == Code("Unknown", "plain", b"plain")
    reader.close()


class FlakyScanner:
    """A network scanner on 127.0.0.1 that can be unplugged (connections dropped) and back."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]

    def accept(self) -> socket.socket:
        conn, _ = self.server.accept()
        return conn

    def close(self) -> None:
        self.server.close()


def test_an_unplugged_scanner_is_reported_and_works_again_when_back() -> None:
    scanner = FlakyScanner()
    reader = open_code_reader(f"serial://socket://127.0.0.1:{scanner.port}")
    try:
        first = scanner.accept()
        first.sendall("première\r".encode())
        # Generous timeouts: read returns as soon as the code arrives; CI machines are slow.
        code = reader.read(timeout=10.0)
        assert code is not None and code.text == "première"
        first.close()                                  # unplugged
        with pytest.raises(DeviceUnavailableError, match="disappeared"):
            reader.read(timeout=10.0)
        # Plugged back: the next read reopens the port by itself. pyserial's socket:// empties
        # the input at open, so a code sent before the port is open is lost (as it would be on
        # a real port); the scanner here answers once the reader has opened.
        assert reader.read(timeout=0.2) is None
        second = scanner.accept()                      # the reader's connection, queued
        try:
            second.sendall(b"seconde\r")
            code = reader.read(timeout=10.0)
            assert code is not None and code.text == "seconde"
        finally:
            second.close()
    finally:
        reader.close()
        scanner.close()


def test_a_port_that_does_not_exist_is_named() -> None:
    with pytest.raises(DeviceUnavailableError, match="/dev/ttyNOPE"):
        open_code_reader("serial:///dev/ttyNOPE")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial://", "give the port"),
        ("serial:///dev/ttyACM0?terminator=tab", "terminator='tab' is not one of auto, cr, lf, "
                                                 "crlf"),
        ("serial:///dev/ttyACM0?encoding=klingon", "encoding='klingon' is not a Python codec"),
        ("serial:///dev/ttyACM0?errors=ignore", "errors='ignore' is not one of strict, replace"),
        ("serial:///dev/ttyACM0?speed=9600", "unknown option 'speed' (valid: aim, baudrate, "
                                             "encoding, errors, rtscts, terminator)"),
        ("usb://x", "unknown scheme 'usb' (accepted: serial, camera, sim)"),
    ],
)
def test_bad_code_reader_urls_name_what_is_valid(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        check_device_url("code_reader", url)
    assert message in str(caught.value)
