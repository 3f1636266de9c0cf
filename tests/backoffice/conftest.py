"""Fixtures of the back-office tests: a private PostgreSQL, a private SeaweedFS (S3),
initialised data folders, servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backoffice.harness import FakeKiosk, RunningServer, enroll, free_port, init_backoffice
from tests.backoffice.postgres import PrivatePostgres, private_postgres
from tests.backoffice.seaweed import SeaweedFS, WeedMissing, private_seaweed


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL for the whole session (skips, saying why, if it cannot start);
    not durable against its own crash, which no test causes (tests/backoffice/postgres.py)."""
    try:
        with private_postgres(durable=False) as server:
            yield server
    except RuntimeError as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A private SeaweedFS with its S3 gateway, once per xdist worker (tests/backoffice/
    seaweed.py); skips, saying why, when its ``weed`` binary is not installed. A test may
    restart it; each test uses buckets of its own."""
    try:
        with private_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
            yield server
    except WeedMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (SQLite in the data folder, the default) or a fresh PostgreSQL database, dropped
    after the test."""
    if request.param == "sqlite":
        yield None
        return
    server: PrivatePostgres = request.getfixturevalue("postgres_server")
    with server.database() as url:
        yield url


@pytest.fixture
def backoffice_data(tmp_path: Path, metadata_url: str | None) -> tuple[Path, int]:
    port = free_port()
    return init_backoffice(tmp_path, port, metadata=metadata_url), port


@pytest.fixture
def server(backoffice_data: tuple[Path, int]) -> Iterator[RunningServer]:
    data, port = backoffice_data
    running = RunningServer(data, port).start()
    yield running
    running.stop()


@pytest.fixture
def kiosk(backoffice_data: tuple[Path, int], tmp_path: Path) -> Iterator[FakeKiosk]:
    data, _port = backoffice_data
    bundle = enroll(data, "MAIRIE-01", tmp_path / "bundle")
    fake = FakeKiosk(bundle, tmp_path / "kiosk")
    yield fake
    fake.close()
