"""Deposit numbers: unique, strictly increasing per kiosk, and a check character that
catches every single-character error and every swap of neighbours."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deposit.errors import DepositIdError, DepositIdExhaustedError, DepositIdProblem
from deposit.ids import (
    CHECK_SYMBOLS,
    DIGITS,
    SEQUENCE_EPOCH,
    SEQUENCE_LENGTH,
    SEQUENCE_MAX,
    DepositId,
    DepositIdGenerator,
    check_symbol,
)

NOW = SEQUENCE_EPOCH + 60_000_000.0   # late 2025


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def sample_ids() -> list[DepositId]:
    """Numbers covering the edges (first and last sequence, every digit in every place)
    and a deterministic spread in between."""
    rng = random.Random(1)
    fleets = ["0000", "ZZZZ", "D3M0", "K012", "9XMV"]
    sequences = [0, 1, 31, 32, SEQUENCE_MAX, SEQUENCE_MAX - 1, 59_756_220]
    sequences += [sum(DIGITS.index(c) * 32 ** i for i, c in enumerate(reversed(DIGITS[k:k + 7])))
                  for k in range(25)]
    sequences += [rng.randrange(SEQUENCE_MAX + 1) for _ in range(20)]
    return [DepositId(f, s) for f in fleets for s in sequences]


def test_a_number_reads_back_from_its_printed_form() -> None:
    deposit_id = DepositId("D3M0", 59_756_220)
    assert str(deposit_id) == "D3M0-01RZ-KNWS"
    assert DepositId.parse("D3M0-01RZ-KNWS") == deposit_id
    assert len(deposit_id.compact) == 12 and deposit_id.compact == "D3M001RZKNWS"


@settings(deadline=None)   # a shared, loaded machine: no per-example deadline
@given(st.text(alphabet=DIGITS, min_size=4, max_size=4), st.integers(0, SEQUENCE_MAX))
def test_every_number_round_trips(fleet: str, sequence: int) -> None:
    deposit_id = DepositId(fleet, sequence)
    assert DepositId.parse(str(deposit_id)) == deposit_id
    assert DepositId.parse(deposit_id.compact) == deposit_id
    assert deposit_id.check == check_symbol(deposit_id.body)


def test_reading_is_lenient_as_crockford_intends() -> None:
    expected = DepositId.parse("D3M0-01RZ-KNWS")
    for typed in ["d3m0-01rz-knws", "D3MO 0IRZ KNWS", "d3mo.olrz.knws", " D3M0 01RZ KNWS ",
                  "D3M001RZKNWS", "D3M0\u00a001RZ\u2013KNWS", "d3m0_01rz_knws"]:
        assert DepositId.parse(typed) == expected, typed


@pytest.mark.parametrize(("typed", "reason", "position"), [
    ("", DepositIdProblem.EMPTY, None),
    (" - ", DepositIdProblem.EMPTY, None),
    ("D3M0-01RZ-KNW", DepositIdProblem.WRONG_LENGTH, None),
    ("D3M0-01RZ-KNWSA", DepositIdProblem.WRONG_LENGTH, None),
    ("D3M0-01RZ-KN#S", DepositIdProblem.BAD_CHARACTER, 10),
    ("D3M0-U1RZ-KNWS", DepositIdProblem.BAD_CHARACTER, 4),
    ("D3M0-01RZ-K*WS", DepositIdProblem.BAD_CHARACTER, 9),
    ("D3M0-01RZ-KNWT", DepositIdProblem.CHECK_MISMATCH, None),
    ("D3M0-10RZ-KNWS", DepositIdProblem.CHECK_MISMATCH, None),
])
def test_a_mistyped_number_gets_an_error_that_says_why(typed: str, reason: DepositIdProblem,
                                                       position: int | None) -> None:
    with pytest.raises(DepositIdError) as caught:
        DepositId.parse(typed)
    assert caught.value.reason is reason
    assert caught.value.position == position
    assert str(caught.value)   # a message for the log


def test_modulus_37_changes_under_every_single_digit_change_and_every_neighbour_swap() -> None:
    """The proof behind the check character, over *all* numbers: the remainder mod 37 of
    the 11-digit body moves by (d * 32**i) for a digit changed by d, and by
    ((a - b) * 31 * 32**i) for neighbours a, b swapped; neither is ever 0 mod 37."""
    for weight in range(11):
        for d in range(1, 32):
            assert (d * 32 ** weight) % 37 != 0
            assert (-d * 32 ** weight) % 37 != 0
            assert (d * 31 * 32 ** weight) % 37 != 0
    # The last data digit swapped with the check symbol: it would need 2c = 2a (mod 37).
    for a, c in itertools.product(range(32), range(37)):
        if a != c:
            assert (2 * c - 2 * a) % 37 != 0


def test_every_single_character_error_is_caught_exhaustively() -> None:
    checked = 0
    for deposit_id in sample_ids():
        text = deposit_id.compact
        for position in range(12):
            for symbol in CHECK_SYMBOLS:
                if symbol == text[position]:
                    continue
                typo = text[:position] + symbol + text[position + 1:]
                with pytest.raises(DepositIdError) as caught:
                    DepositId.parse(typo)
                assert caught.value.reason in (DepositIdProblem.CHECK_MISMATCH,
                                               DepositIdProblem.BAD_CHARACTER)
                checked += 1
    assert checked == len(sample_ids()) * 12 * 36


def test_every_swap_of_two_neighbouring_characters_is_caught_exhaustively() -> None:
    checked = 0
    for deposit_id in sample_ids():
        text = deposit_id.compact
        for position in range(11):
            a, b = text[position], text[position + 1]
            if a == b:
                continue
            swapped = text[:position] + b + a + text[position + 2:]
            assert not DepositId.is_valid(swapped), (text, swapped)
            checked += 1
    assert checked > len(sample_ids()) * 9


@pytest.mark.slow
def test_a_million_numbers_never_collide() -> None:
    """Four kiosks, a clock that jumps back and forth, bursts within one second."""
    rng = random.Random(7)
    seen: set[str] = set()
    total = 0
    for fleet in ("D3M0", "K012", "0000", "ZZZZ"):
        clock = Clock(NOW)
        generator = DepositIdGenerator(fleet, clock)
        previous = -1
        for _ in range(250_000):
            step = rng.random()
            if step < 0.05:
                clock.t -= rng.uniform(0, 86_400)      # clock set back up to a day
            elif step < 0.5:
                clock.t += rng.uniform(0, 600)
            deposit_id = generator.next()
            assert deposit_id.sequence > previous
            previous = deposit_id.sequence
            seen.add(deposit_id.compact)
            total += 1
    assert total == 1_000_000
    assert len(seen) == total


def test_the_sequence_follows_the_clock_in_seconds_since_2024() -> None:
    generator = DepositIdGenerator("D3M0", Clock(SEQUENCE_EPOCH + 1234.9))
    assert generator.next() == DepositId("D3M0", 1234)


def test_numbers_keep_increasing_when_the_clock_goes_back() -> None:
    clock = Clock(NOW)
    generator = DepositIdGenerator("D3M0", clock)
    first = generator.next()
    clock.t -= 3600
    second = generator.next()
    assert second.sequence == first.sequence + 1
    clock.t = NOW + 100
    assert generator.next().sequence == first.sequence + 100


def test_a_restart_continues_after_the_last_number_issued() -> None:
    clock = Clock(NOW)
    before = DepositIdGenerator("D3M0", clock)
    issued = [before.next() for _ in range(5)]
    clock.t = 0   # a Raspberry Pi without a real-time clock boots in 1970
    after = DepositIdGenerator("D3M0", clock, last_issued=str(issued[-1]))
    assert after.last_issued == issued[-1]
    assert after.next().sequence == issued[-1].sequence + 1


def test_a_last_number_of_another_fleet_code_does_not_constrain_the_new_one() -> None:
    generator = DepositIdGenerator("K012", Clock(NOW), last_issued=DepositId("D3M0", SEQUENCE_MAX))
    assert generator.next().sequence == int(NOW - SEQUENCE_EPOCH)


def test_a_clock_beyond_the_range_is_not_used() -> None:
    clock = Clock(SEQUENCE_EPOCH + 40e9)   # the year 3300: a broken clock
    generator = DepositIdGenerator("D3M0", clock, last_issued=DepositId("D3M0", 500))
    assert generator.next().sequence == 501


def test_an_exhausted_sequence_is_an_error_not_a_reused_number() -> None:
    generator = DepositIdGenerator("D3M0", Clock(NOW), last_issued=DepositId("D3M0", SEQUENCE_MAX))
    with pytest.raises(DepositIdExhaustedError):
        generator.next()


def test_the_fleet_code_is_read_leniently_and_checked() -> None:
    assert DepositIdGenerator("d3mo", Clock(NOW)).fleet == "D3M0"
    for bad in ["D3M", "D3M0X", "D3U0", "D3M*"]:
        with pytest.raises(DepositIdError) as caught:
            DepositIdGenerator(bad, Clock(NOW))
        assert caught.value.reason is DepositIdProblem.WRONG_FLEET_CODE


def test_the_sequence_takes_seven_characters() -> None:
    assert SEQUENCE_LENGTH == 7 and SEQUENCE_MAX == 32 ** 7 - 1
    assert str(DepositId("0000", SEQUENCE_MAX)).startswith("0000-ZZZZ-ZZZ")
