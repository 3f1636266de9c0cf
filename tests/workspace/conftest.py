"""Fixtures of the workspace tests: a served back office with real dossiers, a staff profile,
the workspace in its own process, and Chromium."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backoffice.roles import Role
from backoffice.staffclient import StaffClient
from tests.backoffice.harness import (
    STAFF_PASSPHRASE,
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    enroll,
    free_port,
    init_backoffice,
)
from tests.workspace.kit import WorkspaceProcess, real_dossier


@dataclass
class Office:
    server: RunningServer
    kiosk: FakeKiosk
    root: Path
    sentinel: str
    dossiers: list[MadeDeposit]
    log_file: Path
    clients: list[StaffClient] = field(default_factory=list)

    @property
    def identity(self) -> Path:
        return self.root / "staff-identity.txt"

    def staff(self, name: str, role: Role = Role.INSTRUCTOR) -> StaffClient:
        client = self.server.add_staff(self.root / "profiles", name, role)
        self.clients.append(client)
        return client

    def profile(self, name: str) -> Path:
        return self.root / "profiles" / name

    def workspace(self, name: str, *extra: str) -> WorkspaceProcess:
        """The workspace of ``name`` from a folder holding only its profile and the identity."""
        desk = self.root / f"desk-{name}"
        desk.mkdir()
        runtime = self.root / f"runtime-{name}"
        runtime.mkdir(mode=0o700)
        return WorkspaceProcess(desk, self.profile(name), self.identity, runtime, *extra)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    """A back office serving on 127.0.0.1, one kiosk, three dossiers (two procedures) whose
    pages and deposit.json carry a sentinel; every log record of the server goes to a file."""
    with make_office(tmp_path) as made:
        yield made


@pytest.fixture(scope="module")
def shared_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    """The same, for the tests of a module that change nothing of the server's state."""
    with make_office(tmp_path_factory.mktemp("office")) as made:
        yield made


@contextlib.contextmanager
def make_office(tmp_path: Path) -> Iterator[Office]:
    sentinel = "SENTINEL-" + secrets.token_hex(8).upper()
    log_file = tmp_path / "server.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    port = free_port()
    data = init_backoffice(tmp_path, port)
    server = RunningServer(data, port).start()
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    try:
        dossiers = [real_dossier(kiosk, code, sentinel, pages)
                    for code, pages in (("caf-aide-logement", 2), ("rsa", 1), ("rsa", 1))]
        for made in dossiers:
            assert kiosk.deliver(made).outcome == "delivered"
        office = Office(server, kiosk, tmp_path, sentinel, dossiers, log_file)
        yield office
        for client in office.clients:
            client.close()
    finally:
        kiosk.close()
        server.stop()
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


__all__ = ["STAFF_PASSPHRASE", "Office"]
