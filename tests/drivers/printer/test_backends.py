"""URLs and options of each backend; the file backend; the simulator's command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers import check_device_url, open_printer
from drivers.errors import DeviceURLError, PrinterTimeoutError
from drivers.printer.encoder import Encoder, EncoderSettings
from drivers.printer.profiles import load_profile
from drivers.printer.simulator import PrinterSimulator
from tests.conftest import REPO
from tests.drivers.printer.conftest import QR_PAYLOAD, decode_zxing, receipt_job

#: The last chunk of every PNG file: IEND, empty, and its CRC.
PNG_END = b"IEND\xaeB`\x82"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://?papr=out", "unknown option 'papr' (valid: codepage, cover, cutter, online, out, "
                            "paper, paper_out_after, profile, qr, settle, timeout, width, "
                            "write_timeout)"),
        ("sim://?paper=empty", "paper='empty' is not one of ok, near-end, out"),
        ("sim://?width=70", "width='70' is not 58 or 80"),
        ("sim://?profile=TM-X", "profile='TM-X' is not one of AF-240, CT-S651"),
        ("sim://?qr=svg", "qr='svg' is not one of auto, native, image"),
        ("sim://?timeout=30", "timeout='30' is not a number from 0.05 to 10"),
        ("sim://?profile=T-1&codepage=wpc1252", "profile 'T-1' has no code page CP1252"),
        ("serial://", "no port given"),
        ("serial://tcp://host:1", "pyserial has no 'tcp' handler (accepted: alt, cp2110, hwgrep, "
                                  "loop, rfc2217, socket, spy)"),
        ("serial:///dev/ttyUSB0?baudrate=fast", "baudrate='fast' is not an integer from 50"),
        ("serial:///dev/ttyUSB0?parity=maybe", "parity='maybe' is not one of none, even, odd"),
        ("tcp://", "location must be host or host:port"),
        ("tcp://printer:99999", "port from 1 to 65535"),
        ("file://relative/lp0", "absolute device path"),
        ("file:///dev/usb/lp0?status=sometimes", "status='sometimes' is not one of auto, query"),
        ("lpt://x", "unknown scheme 'lpt' (accepted: serial, file, tcp, sim)"),
    ],
)
def test_bad_urls_name_what_is_accepted(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        check_device_url("printer", url)
    assert message in str(caught.value)


@pytest.mark.parametrize("url", [
    "serial:///dev/ttyUSB0?baudrate=38400&rtscts=true&profile=TM-T20II&width=80",
    "serial://socket://192.0.2.7:4001",
    "serial://spy:///dev/ttyUSB0?baudrate=9600",
    "tcp://192.0.2.10:9100?profile=TM-T88V",
    "tcp://[2001:db8::5]:9100",
    "tcp://printer.local",
    "file:///dev/usb/lp0?status=none&codepage=pc858",
    "sim://?paper=near-end&cover=open&cutter=error&online=false&width=58&profile=POS-5890",
])
def test_good_urls_are_accepted_without_opening_anything(url: str) -> None:
    assert check_device_url("printer", url).kind == "printer"


def test_the_file_backend_writes_the_job_to_a_device_file(tmp_path: Path) -> None:
    capture = tmp_path / "lp0"
    capture.write_bytes(b"")  # never created by the backend: a missing device is unplugged
    printer = open_printer(f"file://{capture}")
    try:
        status = printer.status()  # a plain file answers nothing: status unknown
        assert not status.known and status.problems() == ["status_unknown"]
        printer.print_job(receipt_job())
    finally:
        printer.close()
    expected = Encoder(EncoderSettings.for_profile(load_profile())).encode(receipt_job())
    assert capture.read_bytes().endswith(expected)


def test_the_file_backend_never_creates_a_missing_device(tmp_path: Path) -> None:
    printer = open_printer(f"file://{tmp_path / 'lp0'}")
    try:
        with pytest.raises(DeviceURLError.__mro__[1]):  # DeviceError
            printer.status()
        assert not (tmp_path / "lp0").exists()
    finally:
        printer.close()


def test_the_file_backend_reads_status_through_the_same_file(tmp_path: Path) -> None:
    simulator = PrinterSimulator(load_profile(), out_dir=tmp_path)
    path = simulator.start_pty()
    printer = open_printer(f"file://{path}")
    try:
        assert printer.status().known
        simulator.set(paper="near-end")
        assert printer.print_job(receipt_job()).paper_near_end
        png = simulator.wait_for_jobs(1)[0].png
        assert png is not None and decode_zxing(png) == [QR_PAYLOAD]
    finally:
        printer.close()
        simulator.stop()


def test_the_file_backend_can_insist_on_status(silent_pty: str) -> None:
    printer = open_printer(f"file://{silent_pty}?status=query&timeout=0.3")
    try:
        with pytest.raises(PrinterTimeoutError):
            printer.status()
    finally:
        printer.close()


def test_the_simulator_runs_beside_the_kiosk_from_the_command_line(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-printer"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "drivers.printer.simulator", "--out", str(tmp_path / "out"),
         "--link", str(link), "--paper", "near-end"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("printer simulator (TM-T88V, 80 mm) on /dev/pts/"), first
        assert process.stdout.readline().strip() == (
            f'kiosk.toml: [devices] printer = "serial://{link}"')
        printer = open_printer(f"serial://{link}")
        try:
            assert printer.print_job(receipt_job()).paper_near_end
        finally:
            printer.close()
        png = tmp_path / "out" / "receipt-0001.png"
        # The simulator process writes the PNG in place: wait for its last chunk (IEND), not
        # only for the file (under load the test read a half-written one).
        deadline = time.monotonic() + 10
        while not (png.exists() and png.read_bytes().endswith(PNG_END)):
            assert time.monotonic() < deadline, "the simulator wrote no whole receipt PNG"
            time.sleep(0.05)
        assert decode_zxing(png) == [QR_PAYLOAD]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped after 1 jobs" in out
    assert not link.exists()


def test_importing_the_encoder_leaves_logging_and_tmp_alone(tmp_path: Path) -> None:
    # python-escpos calls logging.basicConfig() and mkdtemp() when imported; the driver
    # tames both so the kiosk's own logging set-up still works and /tmp does not fill up.
    code = ("import logging, drivers.printer.encoder; "
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
