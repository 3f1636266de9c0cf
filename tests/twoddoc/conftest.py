"""The 2D-Doc tests need ../shared/data/2ddoc for the samples, the test key and certificate."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.twoddoc.kit import DATA


@pytest.fixture
def twoddoc_data() -> Path:
    if not (DATA / "test_key.pem").is_file():
        pytest.skip(f"2D-Doc test data not found at {DATA} (clone ../shared beside the "
                    "checkout or set KIOSK_SHARED)")
    return DATA
