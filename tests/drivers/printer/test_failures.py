"""Printers that say nothing, say nonsense, or go away and come back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers import open_printer
from drivers.errors import (
    DeviceProtocolError,
    DeviceTimeoutError,
    DeviceUnavailableError,
    PrinterProtocolError,
    PrinterTimeoutError,
    PrinterUnavailableError,
)
from drivers.printer.base import PrinterStatus
from drivers.printer.profiles import load_profile
from drivers.printer.simulator import PrinterSimulator
from tests.drivers.printer.conftest import SilentServer, receipt_job


def timed(call: Callable[[], object]) -> tuple[float, Exception | None]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # the caller checks which
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def test_a_silent_serial_printer_times_out_within_two_seconds(silent_pty: str) -> None:
    printer = open_printer(f"serial://{silent_pty}")
    try:
        elapsed, error = timed(printer.status)
        assert isinstance(error, PrinterTimeoutError) and isinstance(error, DeviceTimeoutError)
        assert "no reply to status query DLE EOT 1" in str(error)
        assert elapsed < 2.5
        elapsed, error = timed(lambda: printer.print_job(receipt_job()))
        assert isinstance(error, PrinterTimeoutError) and elapsed < 2.5
    finally:
        printer.close()


def test_a_silent_network_printer_times_out_within_two_seconds(
        silent_server: SilentServer) -> None:
    printer = open_printer(f"tcp://127.0.0.1:{silent_server.port}")
    try:
        elapsed, error = timed(printer.status)
        assert isinstance(error, PrinterTimeoutError)
        assert elapsed < 2.5
    finally:
        printer.close()


def test_nonsense_in_a_status_reply_is_a_protocol_error(sim) -> None:
    sim.simulator.set(status_reply=b"\xff")
    with pytest.raises(PrinterProtocolError, match="0xff, which is not a status byte"):
        sim.status()
    sim.simulator.set(status_reply=None)
    assert sim.status().can_print  # the next query is read cleanly


def test_pyserial_loopback_echoes_the_query_which_is_not_a_status() -> None:
    printer = open_printer("serial://loop://")
    try:
        with pytest.raises(DeviceProtocolError, match="0x10"):
            printer.status()
    finally:
        printer.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(reply=st.binary(min_size=0, max_size=4))
def test_random_status_bytes_never_crash_or_hang(open_sim, reply: bytes) -> None:
    printer = open_sim("timeout=0.3")
    printer.simulator.set(status_reply=reply)
    elapsed, error = timed(printer.status)
    assert elapsed < 2.5
    assert error is None or isinstance(error, PrinterProtocolError | PrinterTimeoutError), error
    printer.close()


# ---------------------------------------------------------------- unplug and replug

def test_an_unplugged_serial_printer_is_reopened_when_it_comes_back(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-printer"
    profile = load_profile()
    first = PrinterSimulator(profile, out_dir=tmp_path)
    first.start_pty(link=link)
    printer = open_printer(f"serial://{link}")
    try:
        assert printer.status().can_print
        first.stop()  # unplugged
        with pytest.raises(PrinterUnavailableError) as caught:
            printer.status()
        assert isinstance(caught.value, DeviceUnavailableError)
        with pytest.raises(PrinterUnavailableError):
            printer.print_job(receipt_job())
        second = PrinterSimulator(profile, out_dir=tmp_path)
        second.start_pty(link=link)  # plugged back: a new port behind the same name
        try:
            assert printer.status().can_print
            printer.print_job(receipt_job())
            assert second.wait_for_jobs(1)[0].text.startswith("Mairie")
        finally:
            second.stop()
    finally:
        printer.close()
        first.stop()


def test_a_printer_absent_at_start_is_used_once_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "printer"
    printer = open_printer(f"serial://{link}")  # nothing there yet: no error at open
    try:
        with pytest.raises(PrinterUnavailableError, match="could not open port"):
            printer.status()
        simulator = PrinterSimulator(load_profile(), out_dir=tmp_path)
        simulator.start_pty(link=link)
        try:
            assert printer.status() == PrinterStatus()
        finally:
            simulator.stop()
    finally:
        printer.close()


class SimulatorServer:
    """A network printer on 127.0.0.1: the simulator behind a TCP socket."""

    def __init__(self, simulator: PrinterSimulator, port: int = 0) -> None:
        self.simulator = simulator
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                reply = self.simulator.feed(data)
                if reply:
                    conn.sendall(reply)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self.sock.close()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.thread.join(2)


def test_a_network_printer_prints_and_reconnects_after_a_restart(tmp_path: Path) -> None:
    simulator = PrinterSimulator(load_profile(), out_dir=tmp_path)
    server = SimulatorServer(simulator)
    printer = open_printer(f"tcp://127.0.0.1:{server.port}")
    try:
        printer.print_job(receipt_job())
        assert simulator.wait_for_jobs(1)[0].qr_payloads
        server.close()  # switched off
        with pytest.raises(PrinterUnavailableError):
            printer.status()
        server = SimulatorServer(simulator, port=server.port)  # switched on again
        assert printer.status().can_print
    finally:
        printer.close()
        server.close()


def test_a_second_user_of_the_port_gets_a_clear_error(tmp_path: Path) -> None:
    simulator = PrinterSimulator(load_profile(), out_dir=tmp_path)
    path = simulator.start_pty()
    first = open_printer(f"serial://{path}")
    second = open_printer(f"serial://{path}")
    try:
        assert first.status().can_print
        with pytest.raises(PrinterUnavailableError, match="Could not exclusively lock port"):
            second.status()
    finally:
        first.close()
        second.close()
        simulator.stop()
