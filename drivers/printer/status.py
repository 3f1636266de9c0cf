"""Real-time status (``DLE EOT n``, bytes ``10 04 n``) and what each answer means.

Each query is answered with one byte in which bit 1 and bit 4 are always set
and bits 0 and 7 always clear; anything else is not a status (the query
landed inside another command's parameters, the line is noisy, or the device
is not an ESC/POS printer) and raises :class:`PrinterProtocolError`.

===  =========================  ==================================================
n    asks for                   bits read here
===  =========================  ==================================================
1    printer status             3: offline
2    offline cause              2: cover open; 5: stopped at paper end; 6: error
3    error cause                3: autocutter error; 5: unrecoverable error;
                                6: automatically recoverable error (head heat)
4    roll paper sensors         2-3 (0x0C): paper near end; 5-6 (0x60): paper end
===  =========================  ==================================================

Vendors differ in details: some set only one of each pair of sensor bits, so
either bit of a pair counts.
"""

from __future__ import annotations

from collections.abc import Mapping

from drivers.errors import (
    CoverOpenError,
    CutterError,
    PaperOutError,
    PrinterError,
    PrinterFaultError,
    PrinterOfflineError,
    PrinterProtocolError,
)
from drivers.printer.base import PrinterStatus

DLE_EOT = b"\x10\x04"
#: The queries, in the order they are sent.
QUERIES: tuple[int, ...] = (1, 2, 3, 4)

FIXED_MASK = 0b1001_0011  # bits 7, 4, 1, 0
FIXED_VALUE = 0b0001_0010  # bits 4 and 1 set, 7 and 0 clear

OFFLINE = 0x08  # n=1
COVER_OPEN = 0x04  # n=2
STOPPED_AT_PAPER_END = 0x20  # n=2
ERROR_OCCURRED = 0x40  # n=2
AUTOCUTTER_ERROR = 0x08  # n=3
UNRECOVERABLE_ERROR = 0x20  # n=3
RECOVERABLE_ERROR = 0x40  # n=3
PAPER_NEAR_END = 0x0C  # n=4
PAPER_END = 0x60  # n=4


def query(n: int) -> bytes:
    """The bytes of ``DLE EOT n``."""
    if n not in QUERIES:
        raise ValueError(f"DLE EOT {n}: n is 1 to 4")
    return DLE_EOT + bytes([n])


def check_reply(n: int, reply: bytes) -> int:
    """The status byte of a reply to ``DLE EOT n``, or PrinterProtocolError."""
    if len(reply) != 1:
        raise PrinterProtocolError(
            f"printer answered DLE EOT {n} with {len(reply)} bytes ({reply.hex(' ')}), not one")
    byte = reply[0]
    if byte & FIXED_MASK != FIXED_VALUE:
        raise PrinterProtocolError(
            f"printer answered DLE EOT {n} with 0x{byte:02x}, which is not a status byte "
            f"(bits 1 and 4 must be set, bits 0 and 7 clear)")
    return byte


def decode(replies: Mapping[int, bytes]) -> PrinterStatus:
    """A :class:`PrinterStatus` from the replies to ``DLE EOT 1`` to ``4``.

    Raises PrinterProtocolError if a reply is missing or is not a status byte.
    """
    missing = [n for n in QUERIES if n not in replies]
    if missing:
        raise PrinterProtocolError(f"no reply to DLE EOT {missing[0]}")
    printer, offline_cause, error_cause, paper = (check_reply(n, replies[n]) for n in QUERIES)
    return PrinterStatus(
        online=not printer & OFFLINE,
        cover_open=bool(offline_cause & COVER_OPEN),
        paper_near_end=bool(paper & PAPER_NEAR_END),
        paper_out=bool(paper & PAPER_END or offline_cause & STOPPED_AT_PAPER_END),
        cutter_error=bool(error_cause & AUTOCUTTER_ERROR),
        unrecoverable_error=bool(error_cause & UNRECOVERABLE_ERROR),
    )


def error_for(status: PrinterStatus, *, during: bool = False) -> PrinterError | None:
    """The exception that stops printing in ``status``, or None if it can print.

    The most specific cause wins: a printer with its cover open is also offline,
    and the citizen-facing message must say "cover open", not "offline".
    ``during`` words the message for a condition found after a job was sent.
    """
    if not status.known or status.can_print:
        return None
    when = "during the job" if during else "before the job; nothing was printed"
    if status.paper_out:
        return PaperOutError(f"printer is out of paper ({when})", status)
    if status.cover_open:
        return CoverOpenError(f"printer cover is open ({when})", status)
    if status.cutter_error:
        return CutterError(f"printer reports an autocutter error ({when})", status)
    if status.unrecoverable_error:
        return PrinterFaultError(f"printer reports an unrecoverable error ({when})", status)
    return PrinterOfflineError(f"printer is offline ({when})", status)
