"""Byte transports to a printer: a serial port (pyserial URL), a device file, a TCP socket.

Each transport translates its library's errors at this edge:

- cannot open, device gone, connection lost  -> :class:`PrinterUnavailableError`
- no room to write / nothing to read in time -> :class:`PrinterTimeoutError` (writes);
  reads return what arrived (possibly nothing) and let the caller decide.

``serial.SerialException``, ``termios.error``, ``socket.timeout`` and
``OSError`` never leave this module.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import termios
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import serial

from drivers.errors import PrinterTimeoutError, PrinterUnavailableError

log = logging.getLogger(__name__)


class Transport(Protocol):
    """A byte pipe to the printer, opened (again) on demand."""

    #: What it is connected to, for logs and messages ("serial /dev/ttyUSB0").
    name: str

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None:
        """Open the connection. Raises PrinterUnavailableError."""

    def close(self) -> None:
        """Close it; never raises."""

    def write(self, data: bytes, timeout: float) -> None:
        """Send all of ``data`` within ``timeout`` s.

        Raises PrinterTimeoutError (the printer stops taking data: paper out
        with flow control, or nobody reading) or PrinterUnavailableError.
        """

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes arriving within ``timeout`` s (b"" if none). Raises
        PrinterUnavailableError."""

    def discard_input(self) -> None:
        """Forget bytes received and not read yet (stale replies)."""

    def drain(self, timeout: float) -> None:
        """Wait until written bytes have left this machine (best effort)."""

    def discard_output(self) -> None:
        """Drop bytes written and not sent yet (a job the printer stopped taking)."""


@contextmanager
def _translated(name: str, action: str) -> Iterator[None]:
    try:
        yield
    except serial.SerialTimeoutException as exc:
        raise PrinterTimeoutError(f"{name}: {action} timed out ({exc})") from None
    except (serial.SerialException, OSError, termios.error, ValueError) as exc:
        raise PrinterUnavailableError(f"{name}: {action} failed ({exc})") from None


class SerialTransport:
    """A port opened with ``serial.serial_for_url``: a device path, ``socket://``,
    ``spy://``, ``loop://``, ``rfc2217://``...

    ``settings`` are pyserial's keyword arguments (baudrate, bytesize, parity,
    stopbits, rtscts, xonxoff, dsrdtr).
    """

    def __init__(self, location: str, settings: Mapping[str, Any]) -> None:
        self.location = location
        self.settings = dict(settings)
        self.name = f"serial {location}"
        # serial_for_url returns a different class per URL scheme, all with Serial's methods
        self._port: Any = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        if self._port is not None:
            return
        # One writer per port: a second process opening it gets a clear error.
        extra: dict[str, Any] = {} if "://" in self.location else {"exclusive": True}
        with _translated(self.name, "open"):
            port = serial.serial_for_url(self.location, do_not_open=True, timeout=0,
                                         write_timeout=1, **self.settings, **extra)
            port.open()
        self._port = port
        log.info("printer port %s open (%s)", self.location,
                 ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items())))

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError, termios.error) as exc:
                log.debug("closing %s: %s", self.name, exc)

    def _need(self) -> Any:
        if self._port is None:
            raise PrinterUnavailableError(f"{self.name} is not open")
        return self._port

    def write(self, data: bytes, timeout: float) -> None:
        """``timeout`` plus the time the bytes take on the line at the port's baud rate."""
        port = self._need()
        baudrate = port.baudrate if isinstance(port.baudrate, int) and port.baudrate > 0 else 0
        limit = max(timeout, 0.001) + (len(data) * 10 / baudrate if baudrate else 0.0)
        with _translated(self.name, "write"):
            if port.write_timeout != limit:
                port.write_timeout = limit  # pyserial reconfigures the port on each set
            written = port.write(data)
            if written is not None and written != len(data):
                raise PrinterTimeoutError(
                    f"{self.name}: wrote {written} of {len(data)} bytes in {timeout:g} s")

    def read(self, size: int, timeout: float) -> bytes:
        port = self._need()
        with _translated(self.name, "read"):
            if port.timeout != max(timeout, 0.0):
                port.timeout = max(timeout, 0.0)
            return bytes(port.read(size))

    def discard_input(self) -> None:
        port = self._need()
        with _translated(self.name, "reset input"):
            port.reset_input_buffer()

    def drain(self, timeout: float) -> None:
        port = self._need()
        with _translated(self.name, "drain"):
            port.flush()

    def discard_output(self) -> None:
        port = self._need()
        with _translated(self.name, "reset output"):
            port.reset_output_buffer()


class FileTransport:
    """A device file such as a USB printer-class node (``/dev/usb/lp0``).

    Opened read-write when the node allows it (the usblp driver reads the
    printer's replies back), write-only otherwise. Never created: a path that
    does not exist is a printer that is not plugged in.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"file {path}"
        self._fd: int | None = None
        self.readable = False

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self) -> None:
        if self._fd is not None:
            return
        flags = os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_APPEND
        try:
            self._fd = os.open(self.path, os.O_RDWR | flags)
            self.readable = True
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM, errno.EISDIR):
                raise PrinterUnavailableError(f"{self.name}: cannot open ({exc})") from None
            try:
                self._fd = os.open(self.path, os.O_WRONLY | flags)
            except OSError as exc2:
                raise PrinterUnavailableError(f"{self.name}: cannot open ({exc2})") from None
            self.readable = False
        log.info("printer device %s open (%s)", self.path,
                 "read-write" if self.readable else "write-only")

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                log.debug("closing %s: %s", self.name, exc)

    def _need(self) -> int:
        if self._fd is None:
            raise PrinterUnavailableError(f"{self.name} is not open")
        return self._fd

    def write(self, data: bytes, timeout: float) -> None:
        fd = self._need()
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        with _translated(self.name, "write"):
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PrinterTimeoutError(
                        f"{self.name}: printer took {len(data) - len(view)} of {len(data)} "
                        f"bytes in {timeout:g} s")
                poller = select.poll()
                poller.register(fd, select.POLLOUT)
                events = poller.poll(remaining * 1000)
                if not events:
                    continue
                if events[0][1] & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
                    raise PrinterUnavailableError(f"{self.name}: device gone (poll)")
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    continue

    def read(self, size: int, timeout: float) -> bytes:
        """Bytes the device sends back; b"" at once for a write-only node or end of file."""
        fd = self._need()
        if not self.readable:
            return b""
        with _translated(self.name, "read"):
            ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
            if not ready:
                return b""
            try:
                return os.read(fd, size)
            except BlockingIOError:
                return b""

    def discard_input(self) -> None:
        fd = self._need()
        if not self.readable:
            return
        with _translated(self.name, "reset input"):
            for _ in range(64):
                ready, _, _ = select.select([fd], [], [], 0)
                if not ready:
                    return
                try:
                    if not os.read(fd, 4096):
                        return
                except BlockingIOError:
                    return

    def drain(self, timeout: float) -> None:
        """Nothing to wait for: the kernel driver hands data to the device."""

    def discard_output(self) -> None:
        """Nothing is queued here."""


class TcpTransport:
    """A raw TCP connection, the "JetDirect" port 9100 of network printers."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.name = f"tcp {host}:{port}"
        self._sock: socket.socket | None = None

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        if self._sock is not None:
            return
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise PrinterUnavailableError(f"{self.name}: cannot connect ({exc})") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._sock = sock
        log.info("printer connection %s open", self.name)

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError as exc:
                log.debug("closing %s: %s", self.name, exc)

    def _need(self) -> socket.socket:
        if self._sock is None:
            raise PrinterUnavailableError(f"{self.name} is not open")
        return self._sock

    def write(self, data: bytes, timeout: float) -> None:
        sock = self._need()
        try:
            sock.settimeout(max(timeout, 0.001))
            sock.sendall(data)
        except TimeoutError:
            raise PrinterTimeoutError(
                f"{self.name}: printer did not take the data in {timeout:g} s") from None
        except OSError as exc:
            raise PrinterUnavailableError(f"{self.name}: send failed ({exc})") from None

    def read(self, size: int, timeout: float) -> bytes:
        sock = self._need()
        try:
            sock.settimeout(max(timeout, 0.001))
            data = sock.recv(size)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise PrinterUnavailableError(f"{self.name}: receive failed ({exc})") from None
        if not data:
            raise PrinterUnavailableError(f"{self.name}: the printer closed the connection")
        return data

    def discard_input(self) -> None:
        sock = self._need()
        try:
            sock.setblocking(False)
            for _ in range(64):
                if not sock.recv(4096):
                    raise PrinterUnavailableError(
                        f"{self.name}: the printer closed the connection")
        except BlockingIOError:
            pass
        except OSError as exc:
            raise PrinterUnavailableError(f"{self.name}: receive failed ({exc})") from None
        finally:
            if self._sock is not None:
                sock.setblocking(True)

    def drain(self, timeout: float) -> None:
        """Nothing to wait for: sendall returned once the kernel took the data."""

    def discard_output(self) -> None:
        """Data in the kernel's send buffer cannot be taken back."""
