"""A private PostgreSQL server for tests and benchmarks: initdb in a temporary folder.

Uses the Debian ``postgresql`` package's binaries (``initdb``, ``pg_ctl``);
listens on 127.0.0.1 and a free port only, with its socket in the same
folder; runs as the ``postgres`` user when we are root (the server refuses
root), through ``runuser``. Stopped (``pg_ctl stop -m fast``) and deleted at
the end.

``durable=False`` (the test suite's server) turns off what only matters when PostgreSQL
itself crashes: fsync, the WAL flush at each commit and full-page writes. No test crashes
that server, and a commit is visible to every other session as soon as it returns either
way; each back office's ``init`` (its schema) takes about half the time. The benchmarks
keep the default, a server that syncs as a production one does.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devtools.backoffice import free_port


def find_binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").is_file() and Path(folder, "pg_ctl").is_file():
            return Path(folder)
    return None


def reachable_temp_folder() -> str:
    """A temporary folder the ``postgres`` user can reach when we run as root.

    Other tests may point TMPDIR at a private (0700) folder of their own; the
    server, run as ``postgres``, could not enter a folder made inside it.
    """
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in [base, *base.parents]):
        return str(base)
    return "/tmp"


class PrivatePostgres:
    def __init__(self, bindir: Path, root: Path, *, durable: bool = True) -> None:
        self.bindir = bindir
        self.root = root
        self.durable = durable
        self.data = root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self._n = 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr.strip()}")

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self._options(),
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def _options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.root} -c max_connections=200 " +
                ("-c fsync=on" if self.durable else
                 "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"))

    def restart(self) -> None:
        """Stop the server as an operator would (``-m fast``: every session is ended) and
        start it again on the same port, with the same data."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", self._options(),
                  "-l", str(self.root / "server.log"), "-m", "fast", "-w", "-t", "60",
                  "restart")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                      "stop", timeout=60)

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def new_database(self, prefix: str = "test") -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        self._n += 1
        name = f"{prefix}_{os.getpid()}_{self._n}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    @contextlib.contextmanager
    def database(self, prefix: str = "test") -> Iterator[str]:
        """A fresh database (its URL) for a block, dropped after it, connections still open
        or not: each is a copy of template1 (~8 MB, ~300 files), and a session's hundred
        left in place made the final clean-up minutes long on a busy disk."""
        import psycopg

        url = self.new_database(prefix)
        try:
            yield url
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextlib.contextmanager
def private_postgres(*, durable: bool = True) -> Iterator[PrivatePostgres]:
    """Start a private server (see the module docstring for ``durable``); raises RuntimeError
    (with why) if it cannot."""
    bindir = find_binaries()
    if bindir is None:
        raise RuntimeError("the PostgreSQL server binaries (initdb, pg_ctl) are not installed "
                           "(Debian package postgresql)")
    root = Path(tempfile.mkdtemp(prefix="kiosk-pg-", dir=reachable_temp_folder()))
    root.chmod(0o755)
    server = PrivatePostgres(bindir, root, durable=durable)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
