"""The kiosk's programs as processes of their own, as systemd runs them: started with their
output in a log file, stopped with SIGTERM (then SIGKILL if they do not end)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def kiosk_command(*args: str) -> list[str]:
    """``python -m kiosk ARGS`` with this interpreter."""
    return [sys.executable, "-m", "kiosk", *args]


def start(argv: Sequence[str], log: Path, *, env: Mapping[str, str | None] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """``argv`` in its own process, stdout and stderr to ``log``, the checkout importable;
    ``env`` is added to (or, with a None value, removed from) this process's environment."""
    full = dict(os.environ, PYTHONPATH=str(REPO))
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    with log.open("wb") as out:
        return subprocess.Popen(list(argv), env=full, cwd=cwd or REPO, stdout=out,
                                stderr=subprocess.STDOUT)


def start_uploader(config: Path, log: Path, *,
                   env: Mapping[str, str | None] | None = None) -> subprocess.Popen[bytes]:
    """``kiosk uploader --config CONFIG``, as kiosk-uploader.service runs it."""
    return start(kiosk_command("uploader", "--config", str(config)), log, env=env)


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, as systemd stops a unit; SIGKILL if it has not ended after ``timeout`` s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
