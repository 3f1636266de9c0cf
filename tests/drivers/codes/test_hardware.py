"""A real code reader: ``pytest -m hardware --code-reader-url=serial:///dev/ttyACM0``.

Scan any code within ten seconds of the start of the test.
"""

from __future__ import annotations

import pytest

from drivers import open_code_reader

pytestmark = pytest.mark.hardware


def test_a_real_reader_returns_the_code_scanned(request: pytest.FixtureRequest) -> None:
    url = request.config.getoption("--code-reader-url")
    if not url:
        pytest.skip("no --code-reader-url given")
    reader = open_code_reader(str(url))
    try:
        code = reader.read(timeout=10.0)
        assert code is not None, "scan a code within ten seconds"
        assert code.text and code.format
    finally:
        reader.close()
