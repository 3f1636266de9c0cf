"""Fixtures every test package may use.

``shared_data`` is ``../shared/data`` beside the checkout (CI has it there); tests
that need it skip with a clear reason when it is absent. Hardware tests run
only when a device URL is given on the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KIOSK_SHARED", REPO.parent / "shared"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hardware", "real devices (tests marked 'hardware')")
    group.addoption("--printer-url", default=None, help="run printer tests on this device URL")
    group.addoption("--camera-url", default=None, help="run camera tests on this device URL")
    group.addoption("--code-reader-url", default=None,
                    help="run code-reader tests on this device URL")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (clone ../shared beside the "
                    f"checkout or set KIOSK_SHARED)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real document photos, code samples, 2D-Doc codes."""
    return _need(SHARED / "data")


@pytest.fixture(scope="session")
def shared_vectors() -> Path:
    """``../shared/vectors``: the age conformance vectors and the HPKE PQ vectors."""
    return _need(SHARED / "vectors")


def run_cli(program: str, args: Sequence[str], *, env: dict[str, str] | None = None,
            timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kiosk`` or ``python -m backoffice`` as a user would, capturing output."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", program, *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd or REPO)
