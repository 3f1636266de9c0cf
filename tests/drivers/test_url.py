"""Device URLs: the scheme picks the backend; options are typed; errors name the valid values."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceURLError
from drivers.url import Option, parse_options, split_url

OPTIONS = (
    Option.integer("baudrate", 19200, minimum=1),
    Option.boolean("rtscts", False),
    Option.choice("paper", "ok", ["ok", "near-end", "out"]),
    Option.number("timeout", 1.0, minimum=0.0, maximum=60.0),
)


def test_location_and_options_are_split_and_typed() -> None:
    scheme, location, pairs = split_url("printer", "serial:///dev/ttyUSB0?baudrate=9600&rtscts=1",
                                        ["serial", "sim"])
    assert (scheme, location) == ("serial", "/dev/ttyUSB0")
    values = parse_options("printer", "x", pairs, OPTIONS)
    assert values == {"baudrate": 9600, "rtscts": True, "paper": "ok", "timeout": 1.0}


def test_a_pyserial_url_survives_as_the_location() -> None:
    _, location, _ = split_url("printer", "serial://socket://127.0.0.1:9100", ["serial"])
    assert location == "socket://127.0.0.1:9100"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("papr=out", "unknown option 'papr' (valid: baudrate, paper, rtscts, timeout)"),
        ("paper=gone", "paper='gone' is not one of ok, near-end, out"),
        ("baudrate=fast", "baudrate='fast' is not an integer >= 1"),
        ("baudrate=0", "baudrate='0' is not an integer >= 1"),
        ("rtscts=perhaps", "rtscts='perhaps' is not true or false"),
        ("timeout=nan", "timeout='nan' is not a number from 0 to 60"),
        ("paper=ok&paper=out", "option 'paper' given twice"),
    ],
)
def test_bad_options_are_named_with_what_is_accepted(query: str, message: str) -> None:
    raw = f"sim://?{query}"
    _, _, pairs = split_url("printer", raw, ["sim"])
    with pytest.raises(DeviceURLError) as caught:
        parse_options("printer", raw, pairs, OPTIONS)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("lpt://x", "unknown scheme 'lpt' (accepted: serial, sim)"),
        ("/dev/ttyUSB0", "is not of the form scheme://location?options"),
        ("sim://#frag", "fragment"),
    ],
)
def test_bad_urls_are_refused(raw: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as caught:
        split_url("printer", raw, ["serial", "sim"])
    assert message in str(caught.value)
