"""The back office seen from the kiosk: network, clock, certificate and enrollment checks.

Against the real back office of the tests (tests/backoffice/harness.py: uvicorn over
TLS, mutual TLS on the kiosks' listener) with a kiosk enrolled as a technician does it
(tests/e2e/fleet.py): reachable, then stopped; the clock's skew read from the answer's
``Date`` header, with the kiosk's clock driven by the test.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backoffice import fleet
from backoffice.settings import load_settings
from kiosk.config import Config, load_config
from kiosk.service.checks import run_checks
from kiosk.service.netchecks import (
    check_certificate,
    check_clock,
    check_enrollment,
    check_network,
    probe_back_office,
)
from kiosk.service.results import CheckName, Outcome
from tests.backoffice.harness import RunningServer
from tests.conftest import run_cli
from tests.e2e.fleet import enrolled, kiosk_config, point_bundle_at


@dataclass
class Kiosk:
    config_path: Path
    config: Config
    server: RunningServer
    running: bool = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.stop()


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    office = enrolled(tmp_path, "MAIRIE-40")
    server = RunningServer(office.data, office.port).start()
    path = kiosk_config(tmp_path / "kiosk", office.bundle)
    kiosk = Kiosk(path, load_config(path), server)
    try:
        yield kiosk
    finally:
        kiosk.stop()


def test_an_enrolled_kiosk_reaches_its_back_office_and_its_clock_agrees(kiosk: Kiosk) -> None:
    probe = probe_back_office(kiosk.config, timeout=10)
    # The uploader's probe: a HEAD of an upload that does not exist, 404 to an accepted kiosk.
    assert probe.answered and probe.status == 404, probe.problem
    network = check_network(probe)
    assert network.result is Outcome.OK and network.detail.startswith("back office answered in")
    assert 0 <= network.data["latency_ms"] < 10_000
    clock = check_clock(probe)
    assert clock.result is Outcome.OK and abs(clock.data["skew_s"]) <= 2
    enrollment = check_enrollment(kiosk.config)
    assert enrollment.result is Outcome.OK and enrollment.data["kiosk_id"] == "MAIRIE-40"


@pytest.mark.parametrize(("offset", "outcome", "side"), [
    (120, Outcome.WARN, "ahead of"), (-120, Outcome.WARN, "behind"),
    (400, Outcome.FAIL, "ahead of"), (-400, Outcome.FAIL, "behind")])
def test_the_clock_skew_is_read_from_the_back_offices_date(kiosk: Kiosk, offset: float,
                                                           outcome: Outcome, side: str) -> None:
    probe = probe_back_office(kiosk.config, clock=lambda: time.time() + offset)
    result = check_clock(probe)
    assert result.result is outcome and side in result.detail
    assert abs(result.data["skew_s"] - offset) <= 2


def test_a_stopped_back_office_fails_the_network_check_and_the_clock_cannot_compare(
        kiosk: Kiosk) -> None:
    kiosk.stop()
    results = {r.check: r for r in run_checks(
        kiosk.config, only=[CheckName.NETWORK, CheckName.CLOCK], network_timeout=3)}
    network, clock = results[CheckName.NETWORK], results[CheckName.CLOCK]
    assert network.result is Outcome.FAIL
    assert "cannot be reached" in network.detail
    assert network.data["standing"] == "unreachable"
    assert clock.result is Outcome.WARN and clock.detail.startswith("cannot compare the clock")


def test_a_revoked_kiosk_fails_the_network_check_as_refused(kiosk: Kiosk) -> None:
    fleet.revoke(kiosk.server.data, "MAIRIE-40", now=datetime.now(UTC))
    result = check_network(probe_back_office(kiosk.config, timeout=10))
    assert result.result is Outcome.FAIL
    assert result.detail.startswith("the back office refuses this kiosk")
    assert result.data["standing"] == "refused"


class FailingBackOffice:
    """An HTTPS server with the back office's certificate that answers 503 to everything
    (a back office whose storage is down behind a working TLS front)."""

    def __init__(self, data: Path) -> None:
        settings = load_settings(data)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.server_cert, settings.server_key)

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_back_office_answering_errors_fails_the_network_check_as_such(kiosk: Kiosk) -> None:
    failing = FailingBackOffice(kiosk.server.data)
    try:
        bundle = kiosk.config.upload.bundle
        assert bundle is not None
        point_bundle_at(bundle, failing.port)
        probe = probe_back_office(kiosk.config, timeout=10)
    finally:
        failing.close()
    result = check_network(probe)
    assert result.result is Outcome.FAIL and result.data["status"] == 503
    assert result.detail.startswith("the back office answers with an error") and "503" in \
        result.detail
    assert check_clock(probe).result is Outcome.OK     # it answered: its Date still counts


def test_the_certificate_warns_within_30_days_of_its_end_and_fails_after(kiosk: Kiosk) -> None:
    now = time.time()
    fresh = check_certificate(kiosk.config, now=now)
    assert fresh.result is Outcome.OK and fresh.data["days_left"] > 30
    days_left = fresh.data["days_left"]
    soon = check_certificate(kiosk.config, now=now + (days_left - 10) * 86400)
    assert soon.result is Outcome.WARN and "renew" in soon.detail
    late = check_certificate(kiosk.config, now=now + (days_left + 1) * 86400)
    assert late.result is Outcome.FAIL and "expired" in late.detail


def test_a_kiosk_not_enrolled_fails_network_enrollment_and_certificate_with_a_clear_detail(
        tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(f"[kiosk]\ndata_dir = {json.dumps(str(tmp_path / 'data'))}\n")
    results = {r.check: r for r in run_checks(
        load_config(path), only=[CheckName.NETWORK, CheckName.ENROLLMENT, CheckName.CERTIFICATE,
                                 CheckName.CLOCK])}
    for name in (CheckName.NETWORK, CheckName.ENROLLMENT):
        assert results[name].result is Outcome.FAIL
        assert results[name].detail.startswith("not enrolled: enrollment bundle")
        assert "backoffice enroll" in results[name].detail
    assert results[CheckName.CERTIFICATE].result is Outcome.FAIL
    assert results[CheckName.CLOCK].result is Outcome.WARN


def test_kiosk_diag_from_the_command_line_passes_against_a_running_back_office(
        kiosk: Kiosk) -> None:
    done = run_cli("kiosk", ["diag", "--json", "--config", str(kiosk.config_path), "--only",
                             "network", "clock", "certificate", "enrollment", "printer"])
    results = {r["check"]: r for r in json.loads(done.stdout)}
    assert done.returncode == 0, done.stdout + done.stderr
    assert {name: r["result"] for name, r in results.items()} == {
        "network": "ok", "clock": "ok", "certificate": "ok", "enrollment": "ok",
        "printer": "ok"}
