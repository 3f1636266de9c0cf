"""A real back office for tests and benchmarks: uvicorn over TLS in a thread, on 127.0.0.1.

And a kiosk-side helper that makes genuine deposits (age envelope, signed
manifest, deposit number with the kiosk's fleet code and check character).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from backoffice import fleet, staffaccounts
from backoffice.app import Backoffice
from backoffice.roles import Role
from backoffice.server import Service, bind_all, run_in_loop
from backoffice.settings import load_settings
from backoffice.staffclient import StaffClient
from backoffice.status import DossierStatus
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import ConflictRecord, DepositRecord
from deposit import envelope, manifest
from deposit.bundle import Enrollment
from deposit.delivery import Delivery, Uploader
from deposit.ids import DepositId
from deposit.status import DeliveryOutcome
from deposit.tus import TusClient
from devtools.backoffice import free_port, free_ports
from tests.conftest import REPO

#: The passphrase of every staff key the tests issue.
STAFF_PASSPHRASE = b"correct horse battery staple"


def stored(data: Path) -> dict[str, list[DepositRecord] | list[ConflictRecord]]:
    """What the back office in ``data`` holds, read from its metadata store."""
    store = open_metadata(load_settings(data).metadata)
    try:
        return {"deposits": store.deposits(), "conflicts": store.conflicts()}
    finally:
        store.close()


def init_backoffice(root: Path, port: int, *, metadata: str | None = None,
                    objects: str | None = None, key_type: str = "x25519",
                    public_port: int | None = None, admin_port: int | None = None) -> Path:
    """``backoffice init`` for the kiosks' listener on ``port``; the three others on free
    ports. ``metadata`` and ``objects``: store URLs (default: SQLite and a folder in it)."""
    data = root / "backoffice"
    spare = iter(free_ports(3, besides=(port,)))
    fleet.init(data, url=f"https://127.0.0.1:{port}", metadata=metadata, objects=objects,
               key_type=key_type,
               public_listen=f"127.0.0.1:{public_port or next(spare)}",
               admin_listen=f"127.0.0.1:{admin_port or next(spare)}",
               staff_listen=f"127.0.0.1:{next(spare)}",
               staff_identity=root / "staff-identity.txt", now=datetime.now(UTC))
    return data


class RunningServer:
    """``backoffice serve`` in a thread of this process: the same :class:`Service`, four
    listeners, TLS and mTLS."""

    def __init__(self, data: Path, port: int, clock: Callable[[], datetime] | None = None
                 ) -> None:
        self.data = data
        self.port = port
        settings = load_settings(data)
        self.bo = Backoffice.open(settings, clock) if clock else Backoffice.open(settings)
        self.url = f"https://127.0.0.1:{port}"
        self.public_url = "https://" + settings.public_listen
        self.admin_url = "http://" + settings.admin_listen
        self.staff_url = "https://" + settings.staff_listen
        self.service: Service | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RunningServer:
        settings = self.bo.settings
        sockets = bind_all(dataclasses.replace(settings, listen=f"127.0.0.1:{self.port}"))
        self.service = service = Service(self.bo, sockets, graceful_seconds=2)
        self._sockets = sockets
        self._failure: BaseException | None = None

        def run() -> None:
            try:
                run_in_loop(service)
            except BaseException as exc:  # reported by start() or stop()
                self._failure = exc

        self._thread = threading.Thread(target=run, daemon=True, name="backoffice")
        self._thread.start()
        deadline = time.monotonic() + 20
        while not service.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the back office did not start ({self._failure!r})")
            time.sleep(0.02)
        return self

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        """A GET as a citizen's browser does it, on the public listener: no client certificate."""
        ctx = ssl.create_default_context(cafile=str(self.bo.settings.public_cert_path))
        with httpx.Client(verify=ctx) as client:
            return client.get(self.public_url + path, **kwargs)  # type: ignore[arg-type]

    def admin(self, path: str) -> httpx.Response:
        """A GET on the administration listener (loopback, plain HTTP)."""
        return httpx.get(self.admin_url + path, timeout=10)

    def add_staff(self, folder: Path, name: str, role: Role = Role.INSTRUCTOR,
                  full_name: str = "") -> StaffClient:
        """A staff account and its profile in ``folder``/``name``, signed in."""
        full_name = full_name or name.replace(".", " ").title()
        profile = staffaccounts.add(self.data, name, role, full_name,
                                    folder / name, STAFF_PASSPHRASE, now=datetime.now(UTC),
                                    server=self.staff_url)
        return StaffClient(profile, STAFF_PASSPHRASE)

    def stop(self) -> None:
        if self.service is not None and self._thread is not None:
            # Idle keep-alive connections of clients still alive would wait for
            # their TLS close_notify forever: abort them, as a crash would.
            self.service.stop(abort_connections=True)
            self._thread.join(timeout=20)
            for sock in self._sockets.values():
                sock.close()
        self.bo.close()


class ServeProcess:
    """``backoffice serve`` as a subprocess, its log collected."""

    def __init__(self, data: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen([sys.executable, "-m", "backoffice", "serve", "--data",
                                      str(data)], stderr=subprocess.PIPE, text=True, env=env,
                                     cwd=REPO)
        self.log: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self.ready.wait(30):
            self.proc.kill()
            self.stop()
            raise AssertionError("serve did not start:\n" + "".join(self.log))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            if "listening on https://" in line:
                self.ready.set()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return status



@dataclass
class MadeDeposit:
    """A sealed deposit outside any outbox; ``upload_url`` and ``attempts`` play the outbox
    row's (the tus upload being resumed, the attempts so far)."""

    deposit_id: str
    envelope_path: Path
    manifest: bytes
    token: str
    sha256: str
    size: int
    upload_url: str | None = None
    attempts: int = 0
    contact: bytes | None = None      # sealed for the notifier (deposit/contact.py)


def deposit_number(fleet_code: str, sequence: int) -> str:
    return str(DepositId(fleet_code, sequence))


class FakeKiosk:
    """Seals deposits the way the kiosk does (age envelope + signed manifest) from a bundle."""

    def __init__(self, bundle: Path, folder: Path) -> None:
        self.enrollment = Enrollment.load(bundle)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.sequence = int(time.time()) % 1_000_000
        self.key = self.enrollment.signing_key()
        self._uploaders: list[Uploader] = []

    def close(self) -> None:
        for uploader in self._uploaders:
            uploader.close()
        self._uploaders.clear()

    def make(self, size: int = 200_000, *, payload: bytes | None = None,
             deposit_id: str | None = None, procedure: str = "caf-apl",
             created: datetime | None = None, language: str = "fr",
             complement_of: str | None = None, request_id: str | None = None,
             token: str | None = None) -> MadeDeposit:
        """A deposit sealed as the kiosk seals it (manifest version 2); with ``complement_of``
        and ``request_id``, a complement whose ``token`` is the original receipt's."""
        self.sequence += 1
        deposit_id = deposit_id or deposit_number(self.enrollment.fleet_code, self.sequence)
        data = payload if payload is not None else os.urandom(size)
        path = self.folder / f"{deposit_id}.{self.sequence}.age"
        with path.open("wb") as dst:
            envelope.encrypt(io.BytesIO(data), dst, self.enrollment.recipients())
        raw = path.read_bytes()
        token = token or manifest.new_tracking_token()
        m = manifest.Manifest(
            deposit_id=deposit_id, kiosk_id=self.enrollment.kiosk_id, procedure=procedure,
            created=manifest.rfc3339(created or datetime.now(UTC)), envelope_size=len(raw),
            envelope_sha256=hashlib.sha256(raw).hexdigest(),
            tracking_token_sha256=manifest.tracking_token_sha256(token), version=2,
            language=language, complement_of=complement_of, request_id=request_id)
        return MadeDeposit(deposit_id, path, manifest.sign(m, self.key), token,
                           m.envelope_sha256, len(raw))

    def uploader(self, *, chunk_size: int = 4 * 1024 * 1024, timeout: float = 30.0,
                 endpoint: str | None = None) -> Uploader:
        client = self.enrollment.http_client(timeout=timeout)
        tus = TusClient(client, endpoint or self.enrollment.upload_url)
        uploader = Uploader(tus, kiosk_id=self.enrollment.kiosk_id,
                            ack_key=self.enrollment.ack_key(), chunk_size=chunk_size)
        self._uploaders.append(uploader)
        return uploader

    def deliver(self, made: MadeDeposit, uploader: Uploader | None = None, *,
                attempts: int = 1, pause: float = 0.05) -> Delivery:
        """Deliver ``made`` as the uploader service does, up to ``attempts`` attempts while
        the outcome is RETRY, remembering the tus URL between attempts as the outbox does."""
        uploader = uploader or self.uploader()

        def remember(url: str | None) -> None:
            made.upload_url = url

        sent = 0
        while True:
            made.attempts += 1
            result = uploader.deliver(made, remember_url=remember)
            sent += result.bytes_sent
            if result.outcome is not DeliveryOutcome.RETRY or made.attempts >= attempts:
                result.bytes_sent = sent
                return result
            time.sleep(pause)


def enroll(data: Path, kiosk_id: str, out: Path) -> Path:
    fleet.enroll(data, kiosk_id, out, now=datetime.now(UTC))
    return out



def store_record(bo: Backoffice, kiosk: FakeKiosk, *, status: DossierStatus =
                 DossierStatus.RECEIVED, message: str = "", procedure: str = "caf-apl",
                 kiosk_id: str | None = None, received: datetime | None = None,
                 due: datetime | None = None, assignee: str | None = None) -> str:
    """A dossier written straight into ``bo``'s metadata store, in any state, without an
    envelope (inbox, decisions and paging need only its row); its deposit number.

    The manifest is genuine (signed by ``kiosk``'s key) so that the dossier view parses it;
    ``kiosk_id`` must name an enrolled kiosk (the store keeps the reference).
    """
    kiosk.sequence += 1
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence)
    when = received or datetime.now(UTC)
    m = manifest.Manifest(
        deposit_id=deposit_id, kiosk_id=kiosk_id or kiosk.enrollment.kiosk_id,
        procedure=procedure, created=manifest.rfc3339(when), envelope_size=1,
        envelope_sha256=hashlib.sha256(b"-").hexdigest(),
        tracking_token_sha256=manifest.tracking_token_sha256(manifest.new_tracking_token()))
    bo.metadata.store_deposit(DepositRecord(
        deposit_id=deposit_id, kiosk_id=m.kiosk_id, procedure=procedure, created_at=when,
        received_at=when, envelope_sha256=m.envelope_sha256, envelope_size=1,
        tracking_token_sha256=m.tracking_token_sha256, manifest=manifest.sign(m, kiosk.key),
        object_key=f"envelopes/{deposit_id}.age", ack=b"", status=status,
        status_message=message, assignee=assignee, due_at=due), upload_id="none")
    return deposit_id


__all__ = ["FakeKiosk", "RunningServer", "enroll", "free_port", "free_ports", "init_backoffice",
           "store_record"]
