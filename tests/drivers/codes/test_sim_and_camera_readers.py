"""The simulated scanner (behind a real pseudo-terminal) and the camera code reader."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from drivers import check_device_url, open_camera, open_code_reader
from drivers.camera.sim_backend import SimCamera
from drivers.codes import Code, GarbledCodeError
from drivers.codes.camera_backend import CameraCodeReader
from drivers.codes.serial_backend import SerialCodeReader
from drivers.codes.sim_backend import SimCodeReader
from drivers.errors import CodeReaderError, DeviceURLError

CONVOCATION = "https://demarches.example.fr/convocation?proc=passeport&ref=CNV-2025-004217"
TWO_D_DOC = ("DC04FR0000011E6E1E6E0401FR43SPECIMEN/HELENE ZOE4460 BOULEVARD GAMBETTA 47300 "
             "VILLENEUVE SUR LOT")


def test_the_simulated_scanner_sits_behind_a_real_terminal() -> None:
    reader = open_code_reader("sim://")
    try:
        assert isinstance(reader, SerialCodeReader)
        assert isinstance(reader, SimCodeReader)      # with its scanner at .simulator
        assert reader.location.startswith("/dev/pts/")
        reader.simulator.inject_text("Il était une fois — 12 €")
        assert reader.read(timeout=2.0) == Code("QRCode", "Il était une fois — 12 €",
                                                "Il était une fois — 12 €".encode())
        reader.simulator.inject(Code("DataMatrix", "DC04\x1dSPÉCIMEN"))
        assert reader.read(timeout=2.0) == Code("DataMatrix", "DC04\x1dSPÉCIMEN",
                                                "DC04\x1dSPÉCIMEN".encode())
        assert reader.read(timeout=0.1) is None
    finally:
        reader.close()


def test_the_simulated_scanner_can_send_garbage() -> None:
    reader = open_code_reader("sim://")
    try:
        assert isinstance(reader, SimCodeReader)
        reader.simulator.inject_bytes(b"]Q1\xff\xfe\r\n")
        with pytest.raises(GarbledCodeError):
            reader.read(timeout=2.0)
        reader.simulator.inject_text("suite")
        code = reader.read(timeout=2.0)
        assert code is not None and code.text == "suite"
        with pytest.raises(CodeReaderError, match="no AIM identifier"):
            reader.simulator.inject(Code("Telepen", "x"))
    finally:
        reader.close()


def test_codes_given_in_the_url_are_read_first() -> None:
    reader = open_code_reader(f"sim://?codes={quote('première|deuxième')}&format=DataMatrix")
    try:
        assert [reader.read(2.0), reader.read(2.0)] == [
            Code("DataMatrix", "première", "première".encode()),
            Code("DataMatrix", "deuxième", "deuxième".encode())]
    finally:
        reader.close()


def test_a_camera_reader_with_its_own_camera_reads_the_convocation_once() -> None:
    camera_url = "sim://?seed=1&page=convocation&fps=20"
    reader = open_code_reader(f"camera://?camera={quote(camera_url, safe='')}&interval=0")
    try:
        assert isinstance(reader, CameraCodeReader)
        code = reader.read(timeout=10.0)
        assert code is not None and code.format == "QRCode" and code.text == CONVOCATION
        assert reader.read(timeout=0.5) is None, "a code left in view is not read again"
    finally:
        reader.close()
    assert reader.camera is not None and reader.camera.status().state == "stopped"


def test_a_camera_reader_shares_the_document_camera_handed_to_it() -> None:
    camera = open_camera("sim://?seed=2&page=payslip&fps=20")
    assert isinstance(camera, SimCamera)
    camera.start()
    reader = open_code_reader("camera://?interval=0&formats=QRCode,DataMatrix")
    try:
        assert isinstance(reader, CameraCodeReader)
        with pytest.raises(CodeReaderError, match="attach"):
            reader.read(timeout=0.1)
        reader.attach(camera)
        assert reader.read(timeout=0.5) is None           # a payslip has no code
        camera.simulator.switch("convocation")
        code = reader.read(timeout=10.0)
        assert code is not None and code.text == CONVOCATION
        assert camera.latest(timeout=2.0) is not None, "the preview still gets its frames"
    finally:
        reader.close()
        assert camera.status().state == "running", "the reader does not stop a shared camera"
        camera.close()


def test_the_camera_reader_reads_a_2d_doc_with_zxing() -> None:
    camera = open_camera("sim://?seed=5&page=tax-notice&fps=20&noise=0")
    camera.start()
    reader = open_code_reader("camera://?interval=0")
    assert isinstance(reader, CameraCodeReader)
    reader.attach(camera)
    try:
        deadline = time.monotonic() + 15
        code = None
        while code is None and time.monotonic() < deadline:
            code = reader.read(timeout=1.0)
        assert code == Code("DataMatrix", TWO_D_DOC, TWO_D_DOC.encode())
    finally:
        reader.close()
        camera.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("camera://?camera=usb%3A%2F%2F0", "unknown scheme 'usb'"),
        ("camera://?camera=sim%3A%2F%2F%3Fseed%3Dx", "seed='x' is not an integer"),
        ("camera://?formats=QRCode,Bogus", "formats='QRCode,Bogus' is not zxing-cpp format names"),
        ("camera://?backend=quagga", "backend='quagga' is not one of zxing, zbar"),
        ("camera://dev/video0", "camera:// takes no location"),
        ("sim://?format=Telepen", "format='Telepen' is not one of"),
    ],
)
def test_bad_reader_urls_name_what_is_valid(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        check_device_url("code_reader", url)
    assert message in str(caught.value)
