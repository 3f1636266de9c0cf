"""An installed kiosk in a scratch root, and a way to run commands as if it were installed.

``installed_kiosk`` (session-scoped) runs ``systemd/install.sh --root DIR --bundle B
--no-start --no-packages`` once, with B enrolled by a real back office
(``backoffice init`` + ``backoffice enroll``), and gives::

    kiosk = installed_kiosk
    kiosk.root          DIR, the scratch root
    kiosk.python        DIR/opt/deposit-kiosk/venv/bin/python (runs here as it is)
    kiosk.config        DIR/etc/kiosk/kiosk.toml
    kiosk.kiosk_id, kiosk.fleet_code     what the bundle says
    kiosk.office, kiosk.office_port      the back office that enrolled it: its data
                        folder, and the port its URL names (free when the install ran;
                        start it with tests.backoffice.harness.RunningServer)
    kiosk.bundle        B, as `backoffice enroll` wrote it

``run_in_root(root, argv, **kw)`` runs ``argv`` in a private mount namespace where
DIR/etc/kiosk, DIR/var/lib/kiosk and DIR/opt/deposit-kiosk are bind-mounted on
/etc/kiosk, /var/lib/kiosk and /opt/deposit-kiosk, so the installed configuration
(data_dir = "/var/lib/kiosk", bundle = "/var/lib/kiosk/enrollment") and the
environment's scripts (#!/opt/deposit-kiosk/venv/bin/python) work as on a kiosk::

    result = run_in_root(kiosk.root, [str(REAL_VENV / "bin" / "kiosk"), "config", "check"],
                         env=os.environ | {"KIOSK_CONFIG": str(REAL_CONFIG)})

Keyword arguments go to :func:`subprocess.run` (capture_output and text default to
True); ``read_only=True`` mounts /etc/kiosk and /opt/deposit-kiosk read-only, as on a
kiosk with a read-only root. ``in_root_argv(root, argv, read_only=...)`` gives the
command line, for Popen. They need root
(``unshare --mount``) and skip the test, saying so, without it. The network and the
rest of the file system are the machine's: a back office on 127.0.0.1 is reachable.
Missing mount points (/etc/kiosk, ...) are created as empty folders on this machine
for the session and removed at its end.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.backoffice.harness import free_port

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"

#: Where the installed things are on a kiosk (and inside run_in_root).
REAL_CONFIG = Path("/etc/kiosk/kiosk.toml")
REAL_STATE = Path("/var/lib/kiosk")
REAL_VENV = Path("/opt/deposit-kiosk/venv")
REAL_PYTHON = REAL_VENV / "bin" / "python"
#: (folder in the scratch root, where it appears) for run_in_root.
MOUNTS = ("etc/kiosk", "var/lib/kiosk", "opt/deposit-kiosk")


@dataclass(frozen=True)
class InstalledKiosk:
    root: Path
    python: Path
    config: Path
    bundle: Path
    kiosk_id: str
    fleet_code: str
    office: Path
    office_port: int
    install_seconds: float
    install_log: str


def stub_programs(root: Path, programs: Sequence[str]) -> None:
    """Executable stand-ins for programs the units start that the root lacks (cage, env):
    ``systemd-analyze verify`` checks that each ExecStart program exists in the root."""
    for program in programs:
        path = root / program.lstrip("/")
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)


@pytest.fixture(scope="session")
def installed_kiosk(tmp_path_factory: pytest.TempPathFactory) -> InstalledKiosk:
    """``install.sh --root`` into a scratch root (once a session, about 30 s)."""
    if shutil.which("systemd-analyze") is None or shutil.which("systemctl") is None:
        pytest.skip("systemd (systemctl, systemd-analyze) is not installed")
    if not Path("/usr/bin/python3").exists():
        pytest.skip("no /usr/bin/python3: install.sh builds the venv from Debian's Python")
    base = tmp_path_factory.mktemp("installed")
    office, bundle, port = base / "office", base / "bundle", free_port()
    for argv in (["init", "--data", str(office), "--url", f"https://127.0.0.1:{port}",
                  "--key-type", "x25519", "--staff-identity", str(base / "staff.txt")],
                 ["enroll", "--data", str(office), "--out", str(bundle), "MAIRIE-TEST-07"]):
        done = subprocess.run([sys.executable, "-m", "backoffice", *argv], capture_output=True,
                              text=True, timeout=120, cwd=REPO,
                              env=os.environ | {"PYTHONPATH": str(REPO)})
        assert done.returncode == 0, done.stderr
    root = base / "root"
    # What an OS image has and install.sh relies on: systemd's own units (for
    # `systemctl --root enable` and `set-default`, and for verifying ours).
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    started = time.monotonic()
    done = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--bundle", str(bundle),
                           "--no-start", "--no-packages"],
                          capture_output=True, text=True, timeout=600, cwd=base)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"install.sh failed:\n{done.stdout}\n{done.stderr}"
    stub_programs(root, ["/usr/bin/cage", "/usr/bin/env"])
    described = json.loads((bundle / "bundle.json").read_text())
    return InstalledKiosk(
        root=root, python=root / str(REAL_PYTHON).lstrip("/"),
        config=root / str(REAL_CONFIG).lstrip("/"), bundle=bundle,
        kiosk_id=described["kiosk_id"], fleet_code=described["fleet_code"], office=office,
        office_port=port, install_seconds=seconds, install_log=done.stdout + done.stderr)


# ------------------------------------------------------------------ run_in_root

_MOUNT_SCRIPT = """set -e
while [ "$1" != -- ]; do
  mount --bind "$2" "$3"
  if [ "$1" = ro ]; then mount -o remount,bind,ro "$3"; fi
  shift 3
done
shift
exec "$@"
"""
_created_mount_points: list[Path] = []


def _remove_created_mount_points() -> None:
    for path in reversed(_created_mount_points):
        with contextlib.suppress(OSError):      # only if still empty
            path.rmdir()


atexit.register(_remove_created_mount_points)


def _need_unshare() -> None:
    if os.geteuid() != 0:
        pytest.skip("run_in_root needs root (unshare --mount and bind mounts); run the "
                    "suite as root, as CI does")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")


def in_root_argv(root: Path, argv: Sequence[str | os.PathLike[str]], *,
                 read_only: bool = False) -> list[str]:
    """The command line that runs ``argv`` with ``root``'s kiosk folders at their real paths
    (with ``read_only``, /etc/kiosk and /opt/deposit-kiosk cannot be written, as on a kiosk
    with a read-only root)."""
    _need_unshare()
    mounts: list[str] = []
    for relative in MOUNTS:
        source, target = root / relative, Path("/") / relative
        if not source.is_dir():
            raise FileNotFoundError(f"{source}: not in the installed root")
        if not target.exists():
            missing = [p for p in (target, *target.parents) if not p.exists()]
            target.mkdir(parents=True)
            _created_mount_points.extend(reversed(missing))
        mode = "ro" if read_only and target != REAL_STATE else "rw"
        mounts += [mode, str(source), str(target)]
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _MOUNT_SCRIPT,
            "sh", *mounts, "--", *map(str, argv)]


def run_in_root(root: Path, argv: Sequence[str | os.PathLike[str]], *, read_only: bool = False,
                **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a private mount namespace where ``root``'s /etc/kiosk,
    /var/lib/kiosk and /opt/deposit-kiosk appear at their real paths (see
    :func:`in_root_argv` for ``read_only``); ``kw`` goes to :func:`subprocess.run`."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    result: subprocess.CompletedProcess[str] = subprocess.run(
        in_root_argv(root, argv, read_only=read_only), **kw)
    return result
