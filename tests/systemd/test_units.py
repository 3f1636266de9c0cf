"""The unit files verify cleanly with systemd-analyze, in a scratch root that looks installed,
and each rates within its own exposure limit.

``systemd-analyze verify`` exits 0 on an unknown key and only warns (NOTES.md),
so any output at all fails the test. What systemd cannot check offline (the
display stack, the PAM service, the socket both kiosk services share) is
checked on the files themselves.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")

#: The highest `systemd-analyze security --offline=true` exposure each unit may have.
EXPOSURE_LIMITS = {
    "kiosk.service": 2.0,            # cage needs DRM, input, a TTY, a logind session
    "kiosk-uploader.service": 1.5,
    "backoffice.service": 1.5,
}

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def started_programs(units: list[Path]) -> set[str]:
    """Every absolute program an ExecStart line runs: the program, what env(1) runs,
    and a wrapper's child after '--' (cage's)."""
    programs = set()
    for unit in units:
        for line in unit.read_text().splitlines():
            if not line.startswith("ExecStart="):
                continue
            words = line.removeprefix("ExecStart=").lstrip("-@:+!").split()
            programs.add(words[0])
            if Path(words[0]).name == "env":
                programs.add(next(w for w in words[1:] if "=" not in w and
                                  not w.startswith("-")))
            if "--" in words:
                programs.add(words[words.index("--") + 1])
    return {p for p in programs if p.startswith("/")}


@pytest.fixture(scope="module")
def installed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with systemd's own units, our units, and the programs they start."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, root / "etc/systemd/system" / unit.name)
    for program in started_programs(UNITS):
        path = root / program.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, "verify", "--man=no", f"--root={root}", unit],
                          capture_output=True, text=True, timeout=60)


def exposure(root: Path, unit: str) -> tuple[float, str]:
    """systemd's exposure rating of ``unit`` in ``root`` (0 = best, 10 = worst), and its line."""
    assert ANALYZE is not None
    result = subprocess.run([ANALYZE, "security", "--offline=true", f"--root={root}", unit],
                            capture_output=True, text=True, timeout=60)
    line = next(x for x in result.stdout.splitlines() if "Overall exposure level" in x)
    return float(line.split(":")[1].split()[0]), line


def settings(unit: Path) -> dict[str, list[str]]:
    """Every Key=value of a unit file, values of repeated keys in order."""
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_there_are_units_to_check() -> None:
    assert {u.name for u in UNITS} >= {"kiosk.service", "kiosk-uploader.service"}
    assert {u.name for u in UNITS} == set(EXPOSURE_LIMITS), "give every unit its limit"


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_a_single_warning(installed_root: Path, unit: Path) -> None:
    result = verify(installed_root, unit.name)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_is_sandboxed_within_its_limit(installed_root: Path, unit: Path) -> None:
    level, line = exposure(installed_root, unit.name)
    assert level <= EXPOSURE_LIMITS[unit.name], line


def test_the_watchdog_is_armed_where_the_program_pings_it() -> None:
    for unit in UNITS:
        text = unit.read_text()
        if "kiosk run" in text or "kiosk uploader" in text:
            assert "Type=notify" in text and "WatchdogSec=" in text, unit.name
    ui, uploader = settings(SYSTEMD / "kiosk.service"), settings(SYSTEMD / "kiosk-uploader.service")
    assert ui["WatchdogSec"] == ["30"] and ui["NotifyAccess"] == ["all"]
    assert "KIOSK_WATCHDOG_CHILD=1" in ui["Environment"]    # kiosk is cage's child
    assert uploader["WatchdogSec"] == ["600"]


def test_the_interface_runs_under_cage_and_xwayland_with_a_writable_runtime_dir() -> None:
    ui = settings(SYSTEMD / "kiosk.service")
    (exec_start,) = ui["ExecStart"]
    words = exec_start.split()
    cage = words.index("/usr/bin/cage")
    assert "-s" not in words[cage:words.index("--")], "-s would allow switching to a console"
    assert words[words.index("--") + 1:] == ["/opt/deposit-kiosk/venv/bin/kiosk", "run"]
    # The Kivy wheel's SDL2 has no Wayland driver: it must be told x11 (Xwayland).
    assert any("SDL_VIDEODRIVER=x11" in e.split() for e in ui["Environment"])
    # pam_systemd would point XDG_RUNTIME_DIR at /run/user/<uid>, hidden by ProtectHome=:
    # env(1) sets it, after PAM, to the unit's own RuntimeDirectory=.
    (runtime,) = ui["RuntimeDirectory"]
    assert words[:cage] == ["/usr/bin/env", f"XDG_RUNTIME_DIR=/run/{runtime}"]
    assert ui["ProtectSystem"] == ["strict"] and ui["ProtectHome"] == ["yes"]
    # A logind session on seat0 for cage's devices: our own PAM service with pam_systemd.
    (pam_name,) = ui["PAMName"]
    pam = (SYSTEMD / f"{pam_name}.pam").read_text()
    assert re.search(r"^session\s+required\s+pam_systemd\.so", pam, re.M)
    assert not re.search(r"^auth\s+\S+\s+pam_permit", pam, re.M), "anyone could log in"
    assert ui["TTYPath"] == ["/dev/tty7"]


def test_nothing_is_written_outside_var_lib_kiosk_at_run_time() -> None:
    for name in ("kiosk.service", "kiosk-uploader.service"):
        unit = settings(SYSTEMD / name)
        environment = " ".join(unit["Environment"]).split()
        assert "PYTHONDONTWRITEBYTECODE=1" in environment, name
        assert unit["ProtectSystem"] == ["strict"], name
        for key in ("ReadWritePaths", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory"):
            assert key not in unit, f"{name}: {key} writes outside /var/lib/kiosk"
    ui = " ".join(settings(SYSTEMD / "kiosk.service")["Environment"]).split()
    for variable in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "KIVY_HOME"):
        value = next(v.split("=", 1)[1] for v in ui if v.startswith(variable + "="))
        assert Path(value).is_relative_to("/var/lib/kiosk"), variable


def test_both_kiosk_services_can_use_the_uploader_socket() -> None:
    """/var/lib/kiosk/uploader.sock: the uploader binds it, the interface sends to it."""
    for name in ("kiosk.service", "kiosk-uploader.service"):
        unit = settings(SYSTEMD / name)
        assert unit["User"] == ["kiosk"] and unit["Group"] == ["kiosk"], name
        assert unit["StateDirectory"] == ["kiosk"], name
        assert "DynamicUser" not in unit, name
        families = " ".join(unit["RestrictAddressFamilies"]).split()
        assert "AF_UNIX" in families and not families[0].startswith("~"), name
        for key in ("InaccessiblePaths", "ReadOnlyPaths", "TemporaryFileSystem"):
            assert not any("/var/lib" in v for v in unit.get(key, [])), f"{name}: {key}"


def test_file_descriptor_limits() -> None:
    assert settings(SYSTEMD / "backoffice.service")["LimitNOFILE"] == ["65536"]
    for name in ("kiosk.service", "kiosk-uploader.service"):
        assert "LimitNOFILE" not in settings(SYSTEMD / name), name


def test_the_hardware_watchdog_drop_in() -> None:
    parser = configparser.ConfigParser()
    parser.read(SYSTEMD / "kiosk-watchdog.conf")
    runtime = parser["Manager"]["RuntimeWatchdogSec"]
    assert runtime.endswith("s") and 0 < int(runtime.removesuffix("s")) <= 15   # bcm2835 max
    assert parser["Manager"]["RebootWatchdogSec"]
