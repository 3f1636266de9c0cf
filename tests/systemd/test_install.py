"""``systemd/install.sh --root DIR --bundle B --no-start --no-packages`` into a scratch root,
with B from a real back office: what a technician's first kiosk would get.

The install runs once a session (``installed_kiosk`` in conftest.py, about 30 s
once pip's cache holds the wheels). Tests that need the installed paths at their
real places (/etc/kiosk, /var/lib/kiosk, /opt/deposit-kiosk) use ``run_in_root``,
which needs root and skips without it.
"""

from __future__ import annotations

import configparser
import filecmp
import json
import marshal
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from devtools.xvfb import Xvfb
from kiosk.config import parse_config
from tests.systemd.conftest import (
    REAL_CONFIG,
    REAL_STATE,
    REAL_VENV,
    InstalledKiosk,
    in_root_argv,
    run_in_root,
)
from tests.systemd.test_units import ANALYZE, EXPOSURE_LIMITS, exposure, verify

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INSTALLED_UNITS = ("kiosk.service", "kiosk-uploader.service")
#: Distributions that must never reach a kiosk: test, lint, type and server tools.
FORBIDDEN = {"pytest", "pytest-timeout", "hypothesis", "ruff", "mypy", "tuspy", "starlette",
             "uvicorn", "psycopg", "psycopg-binary"}
#: The top-level packages pyproject's [tool.setuptools.packages.find] puts in the wheel.
OUR_PACKAGES = {"drivers", "scanner", "printer", "deposit", "twoddoc", "kiosk", "backoffice",
                "assets"}


def venv_of(kiosk: InstalledKiosk) -> Path:
    return kiosk.root / str(REAL_VENV).lstrip("/")


def site_packages(kiosk: InstalledKiosk) -> Path:
    (site,) = venv_of(kiosk).glob("lib/python3.*/site-packages")
    return site


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_install_is_quick_enough(installed_kiosk: InstalledKiosk) -> None:
    print(f"install.sh --root took {installed_kiosk.install_seconds:.1f} s")
    assert installed_kiosk.install_seconds < 150, installed_kiosk.install_log


def test_the_configuration_names_the_bundles_kiosk(installed_kiosk: InstalledKiosk) -> None:
    kiosk = installed_kiosk
    text = kiosk.config.read_text(encoding="utf-8")
    config = parse_config(text, where=str(kiosk.config))
    assert config.kiosk.id == kiosk.kiosk_id == "MAIRIE-TEST-07"
    assert config.kiosk.code == kiosk.fleet_code
    assert config.kiosk.data_dir == REAL_STATE
    assert config.upload.bundle == REAL_STATE / "enrollment"
    # Made from the example: its comments are all there.
    example = (REPO / "kiosk.example.toml").read_text(encoding="utf-8")
    comments = [ln for ln in example.splitlines() if ln.startswith("# ") and "=" not in ln]
    assert all(c in text.splitlines() for c in comments)
    check = subprocess.run([kiosk.python, "-I", "-B", "-m", "kiosk", "config", "check",
                            "--config", kiosk.config], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stderr


def test_the_bundle_is_in_place_and_private(installed_kiosk: InstalledKiosk) -> None:
    kiosk = installed_kiosk
    installed = kiosk.root / "var/lib/kiosk/enrollment"
    compared = filecmp.dircmp(kiosk.bundle, installed)
    assert not compared.left_only and not compared.right_only and not compared.diff_files
    assert not compared.subdirs["tls"].diff_files
    for path in [installed, *installed.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path} is {mode:o}"
    assert (kiosk.root / "var/lib/kiosk").stat().st_mode & 0o777 == 0o700


def test_the_environment_holds_only_what_the_kiosk_runs(installed_kiosk: InstalledKiosk) -> None:
    kiosk = installed_kiosk
    listed = subprocess.run([kiosk.python, "-m", "pip", "list", "--format", "json",
                             "--disable-pip-version-check"], capture_output=True, text=True,
                            timeout=120, env=os.environ | {"PIP_CONFIG_FILE": os.devnull,
                                                           "PYTHONDONTWRITEBYTECODE": "1"})
    assert listed.returncode == 0, listed.stderr
    installed = {canonical(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    bad = {n for n in installed if n in FORBIDDEN or n.startswith("types-")}
    assert not bad, f"test or server packages on the kiosk: {sorted(bad)}"
    # Everything else comes from the lock, at its version.
    lock = (REPO / "requirements" / "kiosk.txt").read_text()
    pinned: dict[str, set[str]] = {}          # a release per environment marker
    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, re.M):
        pinned.setdefault(canonical(m[1]), set()).add(m[2])
    for name, version in installed.items():
        if name in ("pip", "deposit-kiosk"):
            continue
        assert version in pinned.get(name, ()), f"{name} {version} is not from the lock"
    assert {"kivy", "numpy", "opencv-python-headless", "cryptography", "deposit-kiosk"} <= set(
        installed)
    # The project: a wheel of its own packages, not an editable checkout.
    site = site_packages(kiosk)
    (record,) = site.glob("deposit_kiosk-*.dist-info/RECORD")
    tops = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    tops = {t for t in tops if not t.endswith(".dist-info") and t != ".."}
    assert tops == OUR_PACKAGES
    assert not list(site.glob("__editable__*")) and not list(site.glob("*.egg-link"))
    # No tests, benchmarks or development tools as packages, from us or anyone.
    # (python-barcode's wheel leaves a tests/test_outputs/.gitignore: a folder, no code.)
    for name in ("tests", "benchmarks", "devtools"):
        folder = site / name
        assert not folder.exists() or not list(folder.rglob("*.py")), f"{folder} holds code"


def test_the_environment_is_made_for_its_final_path(installed_kiosk: InstalledKiosk) -> None:
    kiosk = installed_kiosk
    venv = venv_of(kiosk)
    scratch = str(kiosk.root).encode()
    named = [p for p in venv.rglob("*") if p.is_file() and not p.is_symlink()
             and scratch in p.read_bytes()]
    assert not named, f"files naming the scratch root: {named[:5]}"
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            first = script.read_bytes().split(b"\n", 1)[0]
            if first.startswith(b"#!"):
                assert first.startswith(f"#!{REAL_VENV}/bin/python".encode()), script
    assert f"{REAL_VENV}" in (venv / "pyvenv.cfg").read_text()
    # Compiled at install, under the final path, checked by hash (a copy keeps it valid).
    site = site_packages(kiosk)
    for source in (site / "kiosk").rglob("*.py"):
        compiled = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
        data = compiled.read_bytes()
        assert int.from_bytes(data[4:8], "little") == 0b11, f"{compiled}: not checked-hash"
        code = marshal.loads(data[16:])
        assert code.co_filename == f"{REAL_VENV}/{source.relative_to(venv)}"


def test_the_scripts_run_at_the_real_paths(installed_kiosk: InstalledKiosk) -> None:
    kiosk = installed_kiosk
    result = run_in_root(kiosk.root, [REAL_VENV / "bin" / "kiosk", "config", "check"],
                         env=os.environ | {"KIOSK_CONFIG": str(REAL_CONFIG)}, read_only=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{REAL_CONFIG}: ok"


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", INSTALLED_UNITS)
def test_the_installed_units_verify_and_rate_within_their_limits(
        installed_kiosk: InstalledKiosk, unit: str) -> None:
    root = installed_kiosk.root
    assert (root / "etc/systemd/system" / unit).read_bytes() == (
        REPO / "systemd" / unit).read_bytes()
    result = verify(root, unit)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    level, line = exposure(root, unit)
    assert level <= EXPOSURE_LIMITS[unit], line


def test_the_system_files_are_installed(installed_kiosk: InstalledKiosk) -> None:
    root = installed_kiosk.root
    watchdog = root / "etc/systemd/system.conf.d/kiosk-watchdog.conf"
    parser = configparser.ConfigParser()
    parser.read(watchdog)
    assert parser["Manager"]["RuntimeWatchdogSec"] and parser["Manager"]["RebootWatchdogSec"]
    assert "pam_systemd.so" in (root / "etc/pam.d/kiosk-ui").read_text()
    assert (root / "usr/lib/sysusers.d/kiosk.conf").is_file()
    assert (root / "usr/lib/tmpfiles.d/kiosk.conf").is_file()
    assert (root / "etc/udev/rules.d/99-kiosk.rules").is_file()
    assert (root / "etc/systemd/system/graphical.target.wants/kiosk.service").is_symlink()
    assert (root / "etc/systemd/system/multi-user.target.wants/kiosk-uploader.service"
            ).is_symlink()
    assert os.readlink(root / "etc/systemd/system/default.target").endswith("graphical.target")
    # Only the environment and the technician's documents: no checkout, no .venv.
    assert sorted(p.name for p in (root / "opt/deposit-kiosk").iterdir()) == ["doc", "venv"]


def test_installing_again_keeps_the_configuration(installed_kiosk: InstalledKiosk,
                                                  tmp_path: Path) -> None:
    """An upgrade without --bundle: the technician's edits stay, the environment is rebuilt."""
    root = tmp_path / "root"
    shutil.copytree(installed_kiosk.root, root, symlinks=True)
    config = root / "etc/kiosk/kiosk.toml"
    edited = config.read_text().replace('place = "Démonstration"', 'place = "Mairie, hall B"')
    config.write_text(edited)
    done = subprocess.run(["bash", REPO / "systemd/install.sh", "--root", root, "--no-start",
                           "--no-packages"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert config.read_text() == edited
    assert (root / "var/lib/kiosk/enrollment/bundle.json").read_bytes() == (
        installed_kiosk.bundle / "bundle.json").read_bytes()
    assert not (root / "opt/deposit-kiosk/venv.new").exists()


def test_a_broken_bundle_changes_nothing(installed_kiosk: InstalledKiosk, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(installed_kiosk.root, root, symlinks=True)
    broken = Path(shutil.copytree(installed_kiosk.bundle, tmp_path / "broken"))
    (broken / "tls" / "kiosk.key").unlink()
    before = (root / "etc/kiosk/kiosk.toml").read_bytes()
    done = subprocess.run(["bash", REPO / "systemd/install.sh", "--root", root, "--bundle",
                           broken, "--no-start", "--no-packages"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode != 0
    assert "lacks tls/kiosk.key" in done.stderr
    assert (root / "etc/kiosk/kiosk.toml").read_bytes() == before
    assert (root / "var/lib/kiosk/enrollment/tls/kiosk.key").is_file()
    assert not (root / "var/lib/kiosk/enrollment.new").exists()


@pytest.mark.ui
def test_the_interface_starts_with_the_units_environment_on_a_read_only_root(
        installed_kiosk: InstalledKiosk, tmp_path: Path) -> None:
    """``kiosk run`` from the installed environment, as kiosk.service runs it (its
    Environment=, SDL's x11 driver) but under Xvfb instead of cage and Xwayland, with
    /etc/kiosk and /opt/deposit-kiosk read-only: it says READY=1 and pings the watchdog,
    and writes nothing but under /var/lib/kiosk."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    kiosk = installed_kiosk
    unit = (REPO / "systemd/kiosk.service").read_text()
    environment = dict(word.split("=", 1) for line in unit.splitlines()
                       if line.startswith("Environment=")
                       for word in line.removeprefix("Environment=").split())
    notify = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify))
    listener.settimeout(1)
    env = {"PATH": os.environ["PATH"], "NOTIFY_SOCKET": str(notify),
           "WATCHDOG_USEC": "30000000", "LANG": "C.UTF-8", **environment}
    assert env["SDL_VIDEODRIVER"] == "x11"

    def snapshot() -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in kiosk.root.rglob("*")
                if not p.is_symlink() and not p.is_relative_to(kiosk.root / "var/lib/kiosk")}

    argv = in_root_argv(kiosk.root, [REAL_VENV / "bin/kiosk", "run"], read_only=True)
    before = snapshot()
    # -displayfd: a display number no other run holds, and ready once it is told (a fixed
    # display number and a second's sleep were a guess on two busy workers).
    server = Xvfb(1280, 800)
    env["DISPLAY"] = server.start()
    app = None
    try:
        app = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        said: list[str] = []

        def heard(line: str) -> bool:
            return any(line in m.splitlines() for m in said)

        # Both, in either order: a first frame slower than the 1 s heartbeat pings before
        # READY=1 (seen on two busy workers), and reading stopped at that ping.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (heard("READY=1") and heard("WATCHDOG=1")):
            try:
                said.append(listener.recv(4096).decode())
            except TimeoutError:
                if app.poll() is not None:
                    break
        assert heard("READY=1") and heard("WATCHDOG=1"), (said, app.poll())
    finally:
        if app is not None:
            app.terminate()
            output = app.communicate(timeout=30)[0].decode(errors="replace")
            print(output[-3000:])
        server.stop()
        listener.close()
    assert snapshot() == before
    state = kiosk.root / "var/lib/kiosk"
    assert (state / "cache").is_dir() and (state / "kivy").is_dir()
