"""Fixtures every test package may use.

``shared_data`` is ``../shared/data`` beside the checkout (CI has it there); tests
that need it skip with a clear reason when it is absent. Hardware tests run
only when a device URL is given on the command line.

The suite runs on two pytest-xdist workers (``-n 2 --dist loadfile`` in pyproject.toml;
``-n 0`` runs it in this process). :func:`pytest_xdist_make_scheduler` hands each worker
whole units, as ``loadfile`` does, but some files make one unit together:

- ``kivy``: everything that draws the real interface (tests/ui, tests/accessibility, the
  demo). Kivy renders with Mesa's llvmpipe, which already spreads each frame over every
  core: two interfaces at once on two cores ran slower than one after the other, and their
  UI drivers' waits ran out (measured: 2 failures, 355 s instead of about 340 s). One worker
  draws, in the serial run's order (tests/accessibility before tests/ui); the other runs
  the rest meanwhile.
- ``systemd``: the installed-kiosk tests share one session fixture (``install.sh``, ~20 s).
- otherwise the test's file, so module- and session-scoped fixtures are built once.

Units start longest first (:data:`FIRST_UNITS`, measured), so that both workers end together.

xdist's own ``--dist loadgroup`` cannot do this with pytest 9: it renames the tests'
node ids, which pytest 9 no longer lets a plugin do (the renaming is silently lost).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KIOSK_SHARED", REPO.parent / "shared"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hardware", "real devices (tests marked 'hardware')")
    group.addoption("--printer-url", default=None, help="run printer tests on this device URL")
    group.addoption("--camera-url", default=None, help="run camera tests on this device URL")
    group.addoption("--code-reader-url", default=None,
                    help="run code-reader tests on this device URL")


#: Folders (under tests/) and files whose tests draw the real Kivy interface.
KIVY_GROUP = ("ui/", "accessibility/", "e2e/test_demo.py", "e2e/test_complement.py")
#: Units started first, the longest first, so that no long unit is left for the end: after
#: ``kivy`` and ``systemd``, the files that took 25 s or more of a full run (measured with
#: ``--junitxml``, summed per file). Without this, xdist starts the units with the most tests
#: first, so files of a few long tests (test_end_to_end: 3 tests, ~65 s loaded) came last and
#: one worker ran them alone while the other had finished. A file missing here only starts
#: later; keep the list to the measured long ones.
FIRST_UNITS = (
    "kivy",
    "systemd",
    "tests/service/test_camera_focus.py",
    "tests/backoffice/test_docrequests.py",
    "tests/backoffice/test_agent_calls.py",
    "tests/backoffice/test_end_to_end.py",
    "tests/backoffice/test_staff_cli.py",
    "tests/security/test_ingest_attacks.py",
    "tests/e2e/test_agent_call.py",
    "tests/scanner/test_detect.py",
    "tests/backoffice/test_heartbeats.py",
    "tests/backoffice/test_staff_api.py",
    "tests/backoffice/test_tus.py",
    "tests/backoffice/test_complements.py",
    "tests/service/test_diag.py",
    "tests/e2e/test_revocation.py",
    "tests/kiosk/test_journey_app.py",
    "tests/scanner/test_quality.py",
    "tests/scanner/test_pipeline.py",
    "tests/scanner/test_trayprior.py",
    "tests/service/test_mode.py",
    "tests/kiosk/test_uploader_watchdog.py",
    "tests/workspace/test_workspace_browser.py",
)


def work_unit_of(nodeid: str) -> str:
    """The unit of work (see the module docstring) a test belongs to."""
    path = nodeid.split("::", 1)[0]
    inside = path.removeprefix("tests/")
    if inside.startswith(KIVY_GROUP):
        return "kivy"
    if inside.startswith("systemd/"):
        return "systemd"
    return path


@pytest.hookimpl(optionalhook=True)     # a hook of pytest-xdist, absent without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """``loadfile`` with the units of :func:`work_unit_of`, FIRST_UNITS first."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            for unit in reversed(FIRST_UNITS):
                if unit in self.workqueue:
                    self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return UnitScheduling(config, log)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Any:
    """Commands run in-process (``cli.main``) install root handlers on the stderr pytest captured
    for that test; left in place, a later test's log line is written to a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright, one per worker process: two sync Playwright
    instances cannot live in one thread (the second sees the first's event loop running), so
    every test that needs a browser shares this one (tests/workspace, tests/e2e)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (bin/setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox"] if os.geteuid() == 0
                                             else [])
        yield browser
        browser.close()


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
def twoddoc_data() -> Path:
    """``../shared/data/2ddoc``: 2D-Doc samples, the ANTS tables, the test authority's key."""
    return _need(SHARED / "data" / "2ddoc" / "test_key.pem").parent


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
