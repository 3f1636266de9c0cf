"""Both console programs answer --help and --version without a configuration or a device."""

from __future__ import annotations

import pytest

from kiosk import __version__
from tests.conftest import run_cli


@pytest.mark.parametrize("program", ["kiosk", "backoffice"])
def test_help_answers(program: str) -> None:
    result = run_cli(program, ["--help"])
    assert result.returncode == 0, result.stderr
    assert f"usage: {program}" in result.stdout


@pytest.mark.parametrize("program", ["kiosk", "backoffice"])
def test_version_answers(program: str) -> None:
    result = run_cli(program, ["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"{program} {__version__}"
