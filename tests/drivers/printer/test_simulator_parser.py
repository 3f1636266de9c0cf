"""The simulator's own ESC/POS parser, fed hand-written bytes and garbage."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.printer.base import Align
from drivers.printer.profiles import load_profile
from drivers.printer.simulator import EscPosParser, PrinterSimulator, SimState, render
from drivers.printer.simulator.parser import PaperCut, PaperFeed, QRSymbol, RasterImage

ESC, GS = b"\x1b", b"\x1d"
PROFILE = load_profile("TM-T88V")


def parse(data: bytes, profile=PROFILE):
    parser = EscPosParser(profile)
    parser.feed(data)
    parser.finish()
    return parser.finished


def test_text_is_decoded_with_the_selected_code_page() -> None:
    (job,) = parse(ESC + b"@" + ESC + b"t\x10" + b"\xe9\x9c\x80\n" + ESC + b"t\x13"
                   + b"\x82\xd5\n")
    assert job.text == "éœ€\né€"
    assert job.code_pages == [16, 19]


def test_after_init_the_code_page_is_pc437_again() -> None:
    jobs = parse(ESC + b"@" + ESC + b"t\x10" + b"\xe9\n" + ESC + b"@" + b"\x82\n")
    assert [job.text for job in jobs] == ["é", "é"]


def test_a_code_page_the_model_lacks_is_ignored_as_printers_do() -> None:
    (job,) = parse(ESC + b"@" + ESC + b"t\x10" + b"\x82\n", profile=load_profile("T-1"))
    assert job.text == "é"  # still PC437: 0x82 is é there
    assert any("ESC t 16" in warning for warning in job.warnings)


def test_styles_come_back_per_run() -> None:
    (job,) = parse(ESC + b"@" + ESC + b"a\x01" + ESC + b"E\x01" + b"Gras" + ESC + b"E\x00"
                   + b" puis " + GS + b"!\x11" + b"grand\n" + ESC + b"!\x80" + GS + b"B\x01"
                   + b"souligne inverse\n")
    first, second = job.lines
    assert first.align is Align.CENTER
    assert [(run.text, run.style.bold, run.style.width) for run in first.runs] == [
        ("Gras", True, 1), (" puis ", False, 1), ("grand", False, 2)]
    assert first.height == 48 and first.advance == 48
    assert second.style.underline == 1 and second.style.invert
    assert second.align is Align.CENTER


def test_a_full_line_wraps_as_on_paper() -> None:
    (job,) = parse(ESC + b"@" + b"x" * 50 + b"\n")
    assert [len(line.text) for line in job.lines] == [42, 8]


def test_qr_code_payload_size_and_level_from_gs_paren_k() -> None:
    data = "https://exemple.fr/é".encode()
    stream = (ESC + b"@" + ESC + b"a\x01" + GS + b"(k\x04\x001A2\x00" + GS + b"(k\x03\x001C\x05"
              + GS + b"(k\x03\x001E3" + GS + b"(k" + bytes([len(data) + 3, 0]) + b"1P0" + data
              + GS + b"(k\x03\x001Q0")
    (job,) = parse(stream)
    assert job.qr_codes == [QRSymbol(data, 5, "H", Align.CENTER, 2)]
    assert job.qr_payloads == ["https://exemple.fr/é"]


def test_raster_image_feeds_and_cut() -> None:
    stream = (ESC + b"@" + GS + b"v0\x00\x01\x00\x02\x00\xf0\x0f" + ESC + b"J\x18"
              + ESC + b"d\x02" + GS + b"V\x01")
    (job,) = parse(stream)
    image, feed, lines, cut = job.elements
    assert isinstance(image, RasterImage)
    assert image.dots.tolist() == [[True] * 4 + [False] * 4, [False] * 4 + [True] * 4]
    assert feed == PaperFeed(24) and lines == PaperFeed(2 * 30)
    assert cut == PaperCut(partial=True)


def test_a_cut_ends_the_job_and_init_after_content_starts_another() -> None:
    jobs = parse(ESC + b"@" + b"un\n" + GS + b"V\x00" + b"deux\n" + ESC + b"@" + b"trois\n")
    assert [job.text for job in jobs] == ["un", "deux", "trois"]
    assert [job.index for job in jobs] == [1, 2, 3]


def test_bytes_arriving_one_at_a_time_parse_the_same() -> None:
    data = b"https://exemple.fr/"
    stream = (ESC + b"@" + ESC + b"t\x10" + b"\xe9t\xe9\n" + GS + b"(k" + bytes([len(data) + 3, 0])
              + b"1P0" + data + GS + b"(k\x03\x001Q0" + GS + b"v0\x00\x01\x00\x01\x00\x80"
              + GS + b"V\x00")
    whole = parse(stream)
    parser = EscPosParser(PROFILE)
    for byte in stream:
        parser.feed(bytes([byte]))
    assert [j.text for j in parser.finished] == [j.text for j in whole] == ["été"]
    assert parser.finished[0].qr_payloads == whole[0].qr_payloads == [data.decode()]


def test_a_status_query_inside_raster_data_is_answered_and_the_image_survives() -> None:
    # What a printer does: it acts on DLE EOT wherever it lands. The driver's encoder
    # avoids sending such data; a simulator must still behave like the printer.
    sim = PrinterSimulator(PROFILE, SimState(paper="near-end"))
    reply = sim.feed(ESC + b"@" + GS + b"v0\x00\x03\x00\x01\x00" + b"\x10\x04\x04" + GS + b"V\x00")
    assert reply == b"\x1e"
    (job,) = sim.jobs
    assert job.images[0].dots.shape == (1, 24)


def test_status_queries_split_across_reads_are_answered_once() -> None:
    sim = PrinterSimulator(PROFILE)
    assert sim.feed(b"\x10") == b""
    assert sim.feed(b"\x04") == b""
    assert sim.feed(b"\x01\x10\x04\x02\x10") == b"\x12\x12"
    assert sim.feed(b"\x04\x04") == b"\x12"


def test_a_declared_length_beyond_any_printer_is_skipped_not_awaited() -> None:
    (job,) = parse(ESC + b"@" + GS + b"v0\x00\xff\xff\xff\xff" + b"apres\n")
    assert job.text == "apres"
    assert any("malformed" in warning for warning in job.warnings)


commands = st.sampled_from([ESC, GS, b"\x1c", b"\x10", b"\n", b"\x1b@", b"\x1d(k", b"\x1dv0",
                            b"\x1dV", b"\x1b!", b"\x1bt", b"\x1b*", b"\x1b&", b"\x1dk"])
streams = st.lists(st.one_of(st.binary(max_size=40), commands), max_size=60).map(b"".join)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=2000)
@given(streams, st.integers(min_value=1, max_value=64))
def test_garbage_never_crashes_or_hangs_the_parser(stream: bytes, chunk: int) -> None:
    started = time.monotonic()
    parser = EscPosParser(PROFILE)
    for at in range(0, len(stream), chunk):
        parser.feed(stream[at:at + chunk])
    parser.finish()
    for job in parser.finished:
        image = render(job, PROFILE)
        assert image.width == 567
    assert time.monotonic() - started < 2


@settings(max_examples=200, deadline=2000)
@given(st.binary(max_size=300))
def test_garbage_through_the_device_answers_only_status_queries(stream: bytes) -> None:
    sim = PrinterSimulator(PROFILE)
    replies = sim.feed(stream)
    assert len(replies) == len(re.findall(rb"\x10\x04[\x01-\x04]", stream))
    assert all(byte & 0x93 == 0x12 for byte in replies)
    sim.finish()


def test_a_rendered_receipt_is_as_wide_as_the_paper_and_shows_the_qr_code() -> None:
    data = b"https://exemple.fr/"
    (job,) = parse(ESC + b"@" + b"Bonjour\n" + GS + b"(k" + bytes([len(data) + 3, 0]) + b"1P0"
                   + data + GS + b"(k\x03\x001Q0" + GS + b"V\x00")
    image = np.asarray(render(job, PROFILE))
    assert image.shape[1] == 567  # 80 mm at 180 dpi
    assert (image == 0).any() and (image == 255).any()


@pytest.mark.soak
@settings(max_examples=20_000, suppress_health_check=[HealthCheck.too_slow], deadline=5000)
@given(streams, st.integers(min_value=1, max_value=512))
def test_soak_garbage_through_the_device_and_renderer(stream: bytes, chunk: int) -> None:
    sim = PrinterSimulator(PROFILE)
    for at in range(0, len(stream), chunk):
        sim.feed(stream[at:at + chunk])
    sim.finish()
    for job in sim.jobs:
        render(job, PROFILE)
