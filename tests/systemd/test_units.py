"""The unit files verify cleanly with systemd-analyze, in a scratch root that looks installed.

``systemd-analyze verify`` exits 0 on an unknown key and only warns (NOTES.md),
so any output at all fails the test.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "systemd").glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


@pytest.fixture(scope="module")
def installed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with systemd's own units, our units, and the programs they start."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    for program in started_programs():
        path = root / program.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root


def started_programs() -> set[str]:
    """Every absolute program an ExecStart line runs (cage's child included)."""
    programs = set()
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                words = line.removeprefix("ExecStart=").split()
                programs.add(words[0])
                if "--" in words:                    # a wrapper such as cage: its child too
                    programs.add(words[words.index("--") + 1])
    return {p for p in programs if p.startswith("/")}


def test_there_are_units_to_check() -> None:
    assert {u.name for u in UNITS} >= {"kiosk.service", "kiosk-uploader.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_a_single_warning(installed_root: Path, unit: Path) -> None:
    result = subprocess.run([ANALYZE, "verify", "--man=no", f"--root={installed_root}", unit.name],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_sandboxed(installed_root: Path, unit: Path) -> None:
    """systemd's own exposure rating of the unit stays in its "OK" band or better (< 3)."""
    result = subprocess.run([ANALYZE, "security", "--offline=true", f"--root={installed_root}",
                             unit.name], capture_output=True, text=True, timeout=60)
    line = next(x for x in result.stdout.splitlines() if "Overall exposure level" in x)
    exposure = float(line.split(":")[1].split()[0])
    assert exposure < 3.0, line


def test_the_watchdog_is_armed_where_the_program_pings_it() -> None:
    for unit in UNITS:
        text = unit.read_text()
        if "kiosk run" in text or "kiosk uploader" in text:
            assert "Type=notify" in text and "WatchdogSec=" in text, unit.name
