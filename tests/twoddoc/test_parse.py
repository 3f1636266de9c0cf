"""Header versions, dates, fixed and GS-ended fields, and garbled codes: a clear error each."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twoddoc
from twoddoc import ParseProblem, TwoDDocError
from twoddoc.spec import days_date, identifiers

SIGNATURE = "A" * 103                      # 64 zero bytes in base32, unpadded


def code(header: str, message: str) -> str:
    return header + message + "\x1f" + SIGNATURE


def test_header_dates_count_days_from_2000_and_ffff_is_none() -> None:
    assert days_date("0000") == date(2000, 1, 1)
    assert days_date("0001") == date(2000, 1, 2)
    assert days_date("016D") == date(2000, 12, 31)       # 365: 2000 is a leap year
    assert days_date("1636") == date(2015, 7, 27)
    assert days_date("FFFF") is None
    doc = twoddoc.parse(code("DC03FR000001FFFF180EA301", "AK0000001"))
    assert doc.header.issued is None and doc.header.signed == date(2016, 11, 10)


@pytest.mark.parametrize(("header", "version", "perimeter", "country"), [
    ("DC01FR000001125E125B01", 1, None, None),
    ("DC02FR000001125E125B01", 2, None, None),
    ("DC03FR000001125E125B0101", 3, "01", None),
    ("DC04FR000001125E125B0101FR", 4, "01", "FR"),
])
def test_each_header_version_has_its_length_and_fields(header: str, version: int,
                                                       perimeter: str | None,
                                                       country: str | None) -> None:
    doc = twoddoc.parse(code(header, "26FR"))
    h = doc.header
    assert (h.version, h.authority, h.certificate, h.document_type, h.perimeter, h.country) \
        == (version, "FR00", "0001", "01", perimeter, country)
    assert h.issued == date(2012, 11, 15) and h.signed == date(2012, 11, 12)
    assert h.length == len(header)
    assert doc.field_texts() == {"26": "FR"}
    assert doc.signed_bytes == (header + "26FR").encode()


def test_fixed_fields_have_no_separator_and_variable_ones_end_at_gs_or_their_maximum() -> None:
    ten = identifiers()["10"]
    assert ten.max == 38 and not ten.fixed
    full = "X" * 38
    doc = twoddoc.parse(code("DC02FR000001125E125B01", f"2457000{'10'}{full}25METZ\x1d"))
    assert doc.field_texts() == {"24": "57000", "10": full, "25": "METZ"}


def test_dates_inside_fields_decode_as_the_table_says() -> None:
    doc = twoddoc.parse(code("DC04FR000001198519D31201FR",
                             "96211120170616D3\x1d10M/X\x1d"))
    values = {f.id: f.value for f in doc.fields}
    assert values["96"] == date(2017, 11, 21)        # DDMMYYYY
    assert values["06"] == date(2015, 12, 31)         # 4 hex digits: days since 2000
    assert values["10"] == "M/X"
    assert {f.id: f.display() for f in doc.fields}["96"] == "21/11/2017"


@pytest.mark.parametrize(("text", "problem"), [
    ("", ParseProblem.NOT_2DDOC),
    ("HELLO WORLD", ParseProblem.NOT_2DDOC),
    ("DC09FR000001125E125B01\x1f" + SIGNATURE, ParseProblem.VERSION),
    ("DC03FR0000", ParseProblem.HEADER),
    ("DC03FR000001ZZZZ125B0101\x1f" + SIGNATURE, ParseProblem.HEADER),
    ("DC03FR000001125E125B010126FR", ParseProblem.SIGNATURE),
    ("DC03FR000001125E125B0101%%BAD\x1f" + SIGNATURE, ParseProblem.FIELD),
    ("DC03FR000001125E125B010124570\x1f" + SIGNATURE, ParseProblem.FIELD),
    ("DC03FR000001125E125B010126FR\x1fABCDEF", ParseProblem.SIGNATURE),
    ("DC03FR000001125E125B010126FR\x1f" + "a" * 10, ParseProblem.SIGNATURE),
    ("\xdc\x04FR", ParseProblem.UNSUPPORTED),
])
def test_a_garbled_code_gives_a_parse_error_naming_the_part(text: str,
                                                            problem: ParseProblem) -> None:
    with pytest.raises(TwoDDocError) as error:
        twoddoc.parse(text)
    assert error.value.problem is problem and str(error.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 60))
def test_no_input_crashes_the_parser(noise: bytes, cut: int) -> None:
    base = code("DC04FR000001198519D31201FR", "10M/X\x1d2457000").encode()
    for data in (noise, b"DC03" + noise, base[:cut] + noise, base[:-cut or None]):
        with contextlib.suppress(TwoDDocError):
            twoddoc.parse(data)
