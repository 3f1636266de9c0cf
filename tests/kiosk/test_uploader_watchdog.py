"""``kiosk uploader`` feeds systemd's watchdog for as long as its loop moves, and stops when it
is stuck.

As systemd sees it, from outside: the real command with ``NOTIFY_SOCKET`` and
``WATCHDOG_USEC``. Over 20 s that hold a slow upload through a throttled link and
waiting for work, a ``WATCHDOG=1`` at least every half interval. Against a server that
drips a byte a second, its request never ends: once that has lasted longer than any
request may (twice ``timeout_s``), the pings stop.

Both scenarios are mostly waiting (about 20 s each of an uploader that sleeps, sends
slowly or is stuck), so one module fixture starts the two at once and each test reads its
own: the pair takes the time of one, not two. Each has its own back office (or dripping
server), kiosk, outbox, notify socket and clock marks; nothing is shared between them.
"""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backoffice.settings import load_settings
from devtools import processes
from tests.backoffice.harness import RunningServer
from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, point_bundle_at, queue
from tests.netfaults import CuttingProxy, DripServer
from tests.watchdog import NotifySocket, gaps

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def start_uploader(config: Path, notify: Path, watchdog_usec: int,
                   log: Path) -> subprocess.Popen[bytes]:
    return processes.start_uploader(config, log, env={
        "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": str(watchdog_usec),
        "WATCHDOG_PID": None})


@dataclass
class Uploading:
    """An uploader sending an 8 MiB and a small dossier through a throttled link, then waiting
    for work (WATCHDOG_USEC 4 s: pings at most 2 s apart)."""

    process: subprocess.Popen[bytes]
    notify: NotifySocket
    log: Path
    server: RunningServer
    slow: CuttingProxy
    ids: list[str]

    def close(self) -> None:
        processes.stop(self.process)
        self.notify.close()
        self.slow.close()
        self.server.stop()


def start_uploading(tmp_path: Path) -> Uploading:
    office = enrolled(tmp_path, "MAIRIE-30")
    bundle, fleet_code = office.bundle, office.fleet_code
    server = RunningServer(office.data, office.port).start()
    slow = CuttingProxy(office.port, delay=0.01)    # ~1.6 MB/s: an 8 MiB dossier takes seconds
    point_bundle_at(bundle, slow.port)
    config = kiosk_config(tmp_path / "kiosk", bundle, upload="chunk_mib = 8\npoll_s = 3")
    with kiosk_outbox(config, bundle) as box:
        ids = queue(box, fleet_code, [8 * MIB, 100_000])
    notify = NotifySocket(tmp_path / "notify")
    process = start_uploader(config, tmp_path / "notify", 4_000_000, tmp_path / "up.log")
    return Uploading(process, notify, tmp_path / "up.log", server, slow, ids)


@dataclass
class Stuck:
    """An uploader whose request is held by a server dripping a byte a second (timeout_s 5,
    WATCHDOG_USEC 2 s: pings at most 1 s apart while it may still be waiting)."""

    process: subprocess.Popen[bytes]
    notify: NotifySocket
    log: Path
    drip: DripServer

    def close(self) -> None:
        # The dripping server first: its end ends the stuck request, so the uploader sees
        # SIGTERM at once (stuck, it would wait out stop()'s 20 s before a SIGKILL).
        self.drip.close()
        processes.stop(self.process)
        self.notify.close()


def start_stuck(tmp_path: Path) -> Stuck:
    office = enrolled(tmp_path, "MAIRIE-31")
    bundle, fleet_code = office.bundle, office.fleet_code
    settings = load_settings(office.data)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.server_cert, settings.server_key)   # the kiosk trusts it
    drip = DripServer(context, every=1.0)
    point_bundle_at(bundle, drip.port)
    config = kiosk_config(tmp_path / "kiosk", bundle, upload="timeout_s = 5")  # stuck: 15 s
    with kiosk_outbox(config, bundle) as box:
        queue(box, fleet_code, [50_000])
    notify = NotifySocket(tmp_path / "notify")
    process = start_uploader(config, tmp_path / "notify", 2_000_000, tmp_path / "up.log")
    return Stuck(process, notify, tmp_path / "up.log", drip)


@pytest.fixture(scope="module")
def running_together(tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[tuple[Uploading, Stuck]]:
    """Both scenarios, started one after the other at once (see the module docstring)."""
    uploading = start_uploading(tmp_path_factory.mktemp("uploading"))
    try:
        stuck = start_stuck(tmp_path_factory.mktemp("stuck"))
        try:
            yield uploading, stuck
        finally:
            stuck.close()
    finally:
        uploading.close()


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def test_the_uploader_pings_at_least_every_half_interval_while_uploading_and_waiting(
        running_together: tuple[Uploading, Stuck]) -> None:
    run = running_together[0]
    ready = run.notify.wait_for("READY=1", 60)
    sleep_until(ready + 20.5)
    assert run.process.poll() is None, run.log.read_text()[-2000:]
    pings = run.notify.pings(ready, ready + 20)
    silences = gaps(pings, ready, ready + 20)
    print(f"{len(pings)} pings in 20 s; longest silence {max(silences):.2f} s")
    assert max(silences) <= 2.0, silences
    # The window held real work: both dossiers went through the slow link.
    assert sorted(d.deposit_id for d in run.server.bo.metadata.deposits()) == sorted(run.ids)


def test_an_uploader_stuck_on_a_dripping_server_stops_pinging(
        running_together: tuple[Uploading, Stuck]) -> None:
    """Its request never times out (a byte a second resets the wait for the next): after
    twice its timeout without a step of the loop, nothing pings, and systemd restarts it."""
    run = running_together[1]
    ready = run.notify.wait_for("READY=1", 60)
    while (stuck := run.drip.first_accepted) is None:      # the moment its request began
        assert time.monotonic() < ready + 30, "the uploader never connected"
        time.sleep(0.05)
    sleep_until(stuck + 21)
    assert run.process.poll() is None
    waiting = run.notify.pings(stuck, stuck + 14)     # a request may last that long
    silent = run.notify.pings(stuck + 16, stuck + 21)
    print(f"{len(waiting)} pings while its request may still be waiting, {len(silent)} "
          f"once it is stuck")
    assert max(gaps(waiting, stuck, stuck + 14)) <= 1.0
    assert silent == [], run.log.read_text()[-3000:]
    assert "watchdog pings stop" in run.log.read_text()
