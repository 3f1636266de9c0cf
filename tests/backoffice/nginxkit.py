"""A real nginx (Debian's) for tests and benchmarks, on 127.0.0.1, stopped by itself.

:func:`nginx` runs ``nginx -g "daemon off;"`` with a main configuration of its
own (pid, logs and temporary files in the test's folder, one worker unless
asked) around a site block such as ``backoffice proxy-config`` prints, and
an access log that names the upstream each request went to
(:func:`upstreams_by_upload`). nginx is stopped when the block ends, and by a
watchdog thread after ``lifetime`` seconds even if the test hangs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
