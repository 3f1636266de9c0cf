"""The sample receipt's number is a real deposit number (the printer does not import deposit)."""

from __future__ import annotations

from deposit.ids import DepositId
from printer.samples import SAMPLE_ID


def test_the_sample_number_is_a_valid_deposit_number_with_its_check_character() -> None:
    parsed = DepositId.parse(str(SAMPLE_ID))
    assert parsed == DepositId("D3M0", 59_756_220)
    assert parsed.groups == SAMPLE_ID.groups
