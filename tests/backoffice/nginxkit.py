"""A real nginx (Debian's) for tests and benchmarks, on 127.0.0.1, stopped by itself.

:func:`nginx` runs ``nginx -g "daemon off;"`` with a main configuration of its
own (pid, logs and temporary files in the test's folder, one worker unless
asked) around a site block such as ``backoffice proxy-config`` prints, and
an access log that names the upstream each request went to
(:func:`upstreams_by_upload`). nginx is stopped when the block ends, and by a
watchdog thread after ``lifetime`` seconds even if the test hangs.
:func:`workers_behind_nginx` is the scale-out back office: ``backoffice serve
--workers N`` with nginx in front, configured by ``backoffice proxy-config``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backoffice.proxyconf import render
from backoffice.settings import load_settings
from backoffice.workers import socket_path
from tests.backoffice.harness import free_port, init_backoffice
from tests.conftest import REPO

MAIN = """\
{user}
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {root}/access.log upstreams;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{site}
}}
"""


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).exists() else None


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def nginx(root: Path, site: str, port: int, *, workers: int = 1,
          lifetime: float = 900.0) -> Iterator[subprocess.Popen[bytes]]:
    """nginx serving ``site`` (listening on 127.0.0.1:``port``) until the block ends."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx)")
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(MAIN.format(user="user root;" if os.geteuid() == 0 else "", root=root,
                                workers=workers, site=site))
    proc = subprocess.Popen([binary, "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(lifetime):
            proc.kill()

    threading.Thread(target=watchdog, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"nginx ended at start: {err.strip()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield proc
    finally:
        done.set()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


_LINE = re.compile(r"^(?P<method>\S+) /files/(?P<upload>[^/\s]+) (?P<status>\d{3}) (?P<up>.*)$")


def upstreams_by_upload(access_log: Path) -> dict[str, list[tuple[str, int, str]]]:
    """For each upload id, its requests in order: (method, status, upstream(s) nginx tried)."""
    out: dict[str, list[tuple[str, int, str]]] = {}
    for line in access_log.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            out.setdefault(m["upload"], []).append((m["method"], int(m["status"]), m["up"]))
    return out


@dataclass
class Workers:
    """``serve --workers`` as a subprocess, its log collected, and nginx in front of it."""

    data: Path
    socket_dir: Path
    count: int
    proc: subprocess.Popen[str]
    log: list[str]
    nginx_root: Path

    def children(self) -> list[int]:
        """The ingest processes' pids, from /proc: the children of any of the supervisor's
        threads (a process started again is the watching thread's child)."""
        out: list[int] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(p) for p in (task / "children").read_text().split()]
        return out

    def pid_on(self, index: int) -> int:
        """The pid of the process serving socket ``index``."""
        wanted = str(socket_path(self.socket_dir, index))
        for pid in self.children():
            with contextlib.suppress(OSError):
                if wanted in Path(f"/proc/{pid}/cmdline").read_bytes().decode():
                    return pid
        raise AssertionError(f"no process on {wanted}")


@contextlib.contextmanager
def workers_behind_nginx(root: Path, count: int, *, metadata: str | None = None,
                         objects: str | None = None,
                         env: dict[str, str] | None = None) -> Iterator[Workers]:
    """A back office with ``count`` ingest processes behind nginx on a free port."""
    port = free_port()
    data = init_backoffice(root / "bo", port, metadata=metadata, objects=objects)
    socket_dir = root / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backoffice", "serve", "--data", str(data), "--workers",
         str(count), "--socket-dir", str(socket_dir)],
        stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    log: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            if "ingest processes on" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(90):
            raise AssertionError("serve --workers did not start:\n" + "".join(log))
        site = render(load_settings(data), count, socket_dir)
        with nginx(root / "nginx", site, port):
            yield Workers(data, socket_dir, count, proc, log, root / "nginx")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
