"""DLE EOT replies: each bit read as NOTES.md says; anything else is a protocol error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import (
    CoverOpenError,
    CutterError,
    DeviceProtocolError,
    PaperOutError,
    PrinterFaultError,
    PrinterOfflineError,
    PrinterProtocolError,
)
from drivers.printer.base import PrinterStatus
from drivers.printer.status import decode, error_for, query

OK = {1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x12"}


def test_queries_are_dle_eot_n() -> None:
    assert [query(n) for n in (1, 2, 3, 4)] == [b"\x10\x04\x01", b"\x10\x04\x02",
                                                b"\x10\x04\x03", b"\x10\x04\x04"]


@pytest.mark.parametrize(
    ("n", "byte", "expected"),
    [
        (1, 0x1A, PrinterStatus(online=False)),
        (2, 0x16, PrinterStatus(cover_open=True)),
        (2, 0x32, PrinterStatus(paper_out=True)),  # stopped at paper end
        (3, 0x1A, PrinterStatus(cutter_error=True)),
        (3, 0x32, PrinterStatus(unrecoverable_error=True)),
        (4, 0x1E, PrinterStatus(paper_near_end=True)),
        (4, 0x16, PrinterStatus(paper_near_end=True)),  # one bit of the pair is enough
        (4, 0x72, PrinterStatus(paper_out=True)),
        (4, 0x52, PrinterStatus(paper_out=True)),
        (3, 0x52, PrinterStatus()),  # auto-recoverable error: not a stop
    ],
)
def test_each_bit_means_what_the_reference_says(n: int, byte: int,
                                                expected: PrinterStatus) -> None:
    assert decode({**OK, n: bytes([byte])}) == expected


@pytest.mark.parametrize("byte", [0x00, 0xFF, 0x13, 0x92, 0x10, 0x02, 0x93])
def test_a_byte_without_the_fixed_bits_is_a_protocol_error(byte: int) -> None:
    with pytest.raises(PrinterProtocolError, match=f"0x{byte:02x}, which is not a status byte"):
        decode({**OK, 2: bytes([byte])})


def test_a_missing_or_long_reply_is_a_protocol_error() -> None:
    with pytest.raises(DeviceProtocolError, match="no reply to DLE EOT 3"):
        decode({1: b"\x12", 2: b"\x12", 4: b"\x12"})
    with pytest.raises(DeviceProtocolError, match="2 bytes"):
        decode({**OK, 1: b"\x12\x12"})


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (PrinterStatus(paper_out=True, online=False), PaperOutError),
        (PrinterStatus(cover_open=True, online=False), CoverOpenError),
        (PrinterStatus(cutter_error=True, online=False), CutterError),
        (PrinterStatus(unrecoverable_error=True, online=False), PrinterFaultError),
        (PrinterStatus(online=False), PrinterOfflineError),
    ],
)
def test_the_most_specific_cause_is_the_error(status: PrinterStatus, error: type) -> None:
    found = error_for(status)
    assert found is not None and type(found) is error and found.status == status
    assert "nothing was printed" in str(found)
    assert "during the job" in str(error_for(status, during=True))


def test_paper_near_end_and_unknown_status_do_not_stop_printing() -> None:
    assert error_for(PrinterStatus(paper_near_end=True)) is None
    assert error_for(PrinterStatus(known=False)) is None
    assert PrinterStatus(known=False).problems() == ["status_unknown"]


@given(st.lists(st.binary(max_size=3), min_size=4, max_size=4))
def test_random_replies_give_a_status_or_a_protocol_error(replies: list[bytes]) -> None:
    by_query = dict(zip((1, 2, 3, 4), replies, strict=True))
    try:
        status = decode(by_query)
    except PrinterProtocolError:
        assert any(len(r) != 1 or r[0] & 0x93 != 0x12 for r in replies)
    else:
        assert all(len(r) == 1 and r[0] & 0x93 == 0x12 for r in replies)
        assert status.online == (not replies[0][0] & 0x08)
        assert status.paper_out == bool(replies[3][0] & 0x60 or replies[1][0] & 0x20)
