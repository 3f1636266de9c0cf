"""The kiosks' listener attacked as a real adversary (or a failing 4G link) would: each finding
of the attack on the back office, reproduced and shown handled.

Every test starts a real back office (three listeners, TLS, mutual TLS) on
127.0.0.1 and speaks to it over real sockets; limits are shortened in its
``backoffice.toml`` where the shipped ones would make a test wait (the
shipped values are checked against the issue's figures separately).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import resource
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backoffice import fleet
from backoffice.logs import SafeFormatter
from backoffice.settings import Limits
from tests.backoffice.harness import FakeKiosk, RunningServer, enroll, free_port, init_backoffice
from tests.security.ingest_kit import (
    TUS,
    Office,
    made_from,
    metadata_header,
    read_response,
    request_head,
    set_limits,
    set_setting,
    signed_claim,
    start_office,
    tls_socket,
    upload_path,
)
from tests.tmpfs import tmpfs

MIB = 1024 * 1024


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    running = start_office(tmp_path, body_idle_timeout=3.0, upload_lease=3.0,
                           header_timeout=3.0)
    yield running
    running.stop()


def client(office: Office) -> httpx.Client:
    c = office.kiosk.enrollment.http_client()
    c.base_url = office.server.url
    return c


def create(c: httpx.Client, office: Office, made: object, **headers: str) -> httpx.Response:
    return c.post("/files/", headers={**TUS, "Upload-Length": str(made.size),  # type: ignore[attr-defined]
                                      "Upload-Metadata": metadata_header(made),  # type: ignore[arg-type]
                                      **headers})


def stalled_patch(office: Office, path: str, body: bytes, sent: int) -> object:
    """A PATCH announcing ``body`` whole, of which only ``sent`` bytes leave: then silence."""
    sock = tls_socket(office.kiosk, office.port)
    sock.sendall(request_head("PATCH", path, {
        "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(len(body))}))
    sock.sendall(body[:sent])
    return sock


# ----------------------------------------------------------------------------- stalls

def test_a_stalled_patch_keeps_what_arrived_and_the_same_kiosk_resumes_within_90_s(
        office: Office) -> None:
    made = office.kiosk.make(size=300_000)
    body = made.envelope_path.read_bytes()
    with client(office) as c:
        path = upload_path(create(c, office, made).headers["Location"])
        started = time.monotonic()
        sock = stalled_patch(office, path, body, 100_000)
        time.sleep(1.0)
        busy = c.patch(path, content=body, headers={
            **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        # While the writer is recent, the lock is its: come back later, and when.
        assert busy.status_code == 423 and int(busy.headers["Retry-After"]) >= 1
        while True:       # as the kiosk does: HEAD, then resume from the offset it gets
            offset = int(c.head(path, headers=TUS).headers["Upload-Offset"])
            if offset:
                break
            assert time.monotonic() - started < 90
            time.sleep(0.5)
        assert offset == 100_000                 # what arrived before the stall was kept
        done = c.patch(path, content=body[offset:], headers={
            **TUS, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream"})
        resumed_after = time.monotonic() - started
    assert done.status_code == 204 and "Deposit-Ack" in done.headers
    assert resumed_after < 90
    # The stalled request itself was answered 408 and its connection closed.
    status, headers = read_response(sock)  # type: ignore[arg-type]
    assert status == 408 and headers.get("connection") == "close"
    sock.close()  # type: ignore[attr-defined]
    [stored] = office.server.bo.metadata.deposits()
    assert stored.envelope_sha256 == made.sha256


def test_a_newer_request_of_the_same_kiosk_takes_a_stalled_upload_over(tmp_path: Path) -> None:
    # The body timeout far away: only the lease can free the upload.
    office = start_office(tmp_path, body_idle_timeout=60.0, upload_lease=2.0)
    try:
        made = office.kiosk.make(size=300_000)
        body = made.envelope_path.read_bytes()
        with client(office) as c:
            path = upload_path(create(c, office, made).headers["Location"])
            sock = stalled_patch(office, path, body, 120_000)
            time.sleep(2.5)                               # the lease has run out
            started = time.monotonic()
            r = c.patch(path, content=body, headers={
                **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
            assert time.monotonic() - started < 5
            # The stalled writer kept its bytes, so offset 0 is stale now: 409, HEAD, go on.
            assert r.status_code == 409
            offset = int(c.head(path, headers=TUS).headers["Upload-Offset"])
            assert offset == 120_000
            done = c.patch(path, content=body[offset:], headers={
                **TUS, "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"})
        assert done.status_code == 204 and "Deposit-Ack" in done.headers
        assert office.server.bo.ingest.metrics.value("backoffice_uploads_taken_over_total") == 1
        sock.close()  # type: ignore[attr-defined]
    finally:
        office.stop()


def test_the_shipped_limits_let_a_stalled_upload_resume_within_90_s() -> None:
    limits = Limits()
    # A stalled body ends after body_idle_timeout (+ one poll of 0.5 s); a newer request
    # may take over after upload_lease; the kiosk's own timeout is 30 s.
    assert limits.body_idle_timeout + 0.5 < 90 and limits.upload_lease < 90
    assert limits.body_idle_timeout < 30 and limits.header_timeout < 30


def test_the_expiry_sweep_can_take_an_upload_a_stalled_request_held(office: Office) -> None:
    made = office.kiosk.make(size=200_000)
    body = made.envelope_path.read_bytes()
    with client(office) as c:
        path = upload_path(create(c, office, made).headers["Location"])
        sock = stalled_patch(office, path, body, 50_000)
        time.sleep(4.5)                           # body_idle_timeout 3 s + a poll
    bo = office.server.bo
    upload_id = path.rsplit("/", 1)[1]
    later = datetime.now(UTC) + timedelta(hours=bo.settings.upload_expiry_hours + 1)
    bo.ingest.clock = lambda: later
    assert bo.ingest.sweep_expired() == 1
    upload = bo.metadata.upload(upload_id)
    assert upload is not None and upload.state == "expired"
    sock.close()  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- connections

def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"this machine's hard limit of open files ({hard}) is under {needed}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def test_1100_idle_connections_do_not_stop_an_upload_and_are_closed_at_the_deadline(
        office: Office) -> None:
    # Client and server live in this process: 1100 sockets each, and room for the rest.
    _raise_fd_limit(4 * 1100 + 1024)
    idle: list[socket.socket] = []
    handshaken = []
    try:
        for _ in range(1000):          # connected, never a byte (not even a TLS hello)
            idle.append(socket.create_connection(("127.0.0.1", office.port), timeout=10))
        for _ in range(100):           # TLS done with a kiosk certificate, then nothing
            handshaken.append(tls_socket(office.kiosk, office.port))
        made = office.kiosk.make(size=200_000)
        uploader = office.kiosk.uploader()
        started = time.monotonic()
        result = office.kiosk.deliver(made, uploader)
        took = time.monotonic() - started
        assert result.outcome == "delivered", result.reason
        assert took < 2.0, took
        # Every idle connection is closed once header_timeout (3 s here) has passed: the TLS
        # ones at the header deadline, the silent ones at the handshake deadline.
        time.sleep(3.5)
        closed = 0
        for sock in [*handshaken, *idle]:
            sock.settimeout(0.5)
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:            # still open: not closed
                pass
            except OSError:                 # reset or TLS alert: closed
                closed += 1
        assert closed == len(handshaken) + len(idle)
    finally:
        for plain in idle:
            plain.close()
        for tls in handshaken:
            tls.close()


def test_a_slowloris_trickling_its_headers_is_cut_at_the_header_deadline(office: Office
                                                                         ) -> None:
    sock = tls_socket(office.kiosk, office.port)
    started = time.monotonic()
    cut_after = None
    try:
        sock.sendall(b"HEAD /files/" + b"a" * 32 + b" HTTP/1.1\r\n")
        for i in range(20):
            time.sleep(0.5)
            try:
                sock.sendall(f"X-Slow-{i}: 1\r\n".encode())
            except OSError:
                cut_after = time.monotonic() - started
                break
        else:
            sock.settimeout(2)
            if sock.recv(1) == b"":
                cut_after = time.monotonic() - started
    finally:
        sock.close()
    assert cut_after is not None and cut_after < 3.0 + 1.5


def test_the_connection_cap_closes_the_longest_idle_connection_for_a_new_one(
        tmp_path: Path) -> None:
    office = start_office(tmp_path, max_connections=20, header_timeout=60.0)
    held = []
    try:
        for _ in range(20):
            held.append(tls_socket(office.kiosk, office.port))
            time.sleep(0.01)
        made = office.kiosk.make(size=50_000)
        result = office.kiosk.deliver(made, office.kiosk.uploader())
        assert result.outcome == "delivered", result.reason
        held[0].settimeout(2)
        assert held[0].recv(1) == b""             # the oldest idle one made room
    finally:
        for sock in held:
            sock.close()
        office.stop()


# ----------------------------------------------------------------------------- quotas

def test_300_creations_declaring_512_mib_each_are_refused_before_the_cap_is_passed(
        office: Office) -> None:
    bo = office.server.bo
    cap = bo.settings.limits.max_bytes_in_flight
    size = bo.settings.max_upload_bytes                 # 512 MiB, the most one may declare
    claims = [signed_claim(office.kiosk, size) for _ in range(300)]
    room = Limits().min_free_bytes

    def one(claim: object) -> httpx.Response:
        with client(office) as c:
            return create(c, office, claim)

    free = bo.objects.free_bytes()
    if free < size + room:
        pytest.skip(f"{free // MIB} MiB free here: a 512 MiB creation would be refused for "
                    f"space (507) before the quota is reached")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, claims))
    statuses = [r.status_code for r in answers]
    assert statuses.count(201) == cap // size == 4
    refused = [r for r in answers if r.status_code != 201]
    assert {r.status_code for r in refused} == {429}
    assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
    with bo.metadata.read() as cur:
        row = cur.execute("SELECT COALESCE(SUM(length), 0) AS b FROM uploads "
                          "WHERE state = 'open'").one()
    declared = int(row["b"]) if row is not None else -1
    assert declared <= cap
    assert len(os.listdir(Path(bo.settings.objects.removeprefix("file://")) / "partial")) == 4


def test_a_kiosk_cannot_hold_more_open_uploads_than_its_quota(office: Office) -> None:
    limit = office.server.bo.settings.limits.max_open_uploads
    with client(office) as c:
        answers = [create(c, office, signed_claim(office.kiosk, 1000))
                   for _ in range(limit + 3)]
    assert [r.status_code for r in answers] == [201] * limit + [429] * 3
    assert "unfinished uploads" in answers[-1].text


def test_only_the_protocols_metadata_keys_are_accepted_and_the_header_kept_is_rebuilt(
        office: Office) -> None:
    made = office.kiosk.make(size=10_000)
    with client(office) as c:
        junk = create(c, office, made, **{
            "Upload-Metadata": metadata_header(made) + ",email " + "QUJD" * 3000})
        assert junk.status_code in (400, 431)
        named = create(c, office, made, **{
            "Upload-Metadata": metadata_header(made) + ",filename ZXZpbC5leGU="})
        assert named.status_code == 400 and "not accepted" in named.text
        assert office.server.bo.metadata.find_upload(
            "MAIRIE-01", made.deposit_id, made.sha256, ("open", "complete")) is None
        spaced = metadata_header(made).replace(",", " , ")
        r = create(c, office, made, **{"Upload-Metadata": spaced})
        assert r.status_code == 201
        head = c.head(upload_path(r.headers["Location"]), headers=TUS)
    assert head.headers["Upload-Metadata"] == metadata_header(made)


# ----------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("value", ["²", "١٢", "+10", "-1", "1e3", "1 0", "0x10",
                                   "99999999999999999999"])
def test_upload_length_other_than_ascii_digits_is_a_400_not_a_crash(office: Office,
                                                                     value: str) -> None:
    made = office.kiosk.make(size=1000)
    with client(office) as c:
        r = c.post("/files/", headers=[(b"Tus-Resumable", b"1.0.0"),
                                       (b"Upload-Length", value.encode()),
                                       (b"Upload-Metadata", metadata_header(made).encode())])
    assert r.status_code == 400, r.text


def test_location_is_built_from_the_configured_url_never_the_host_header(office: Office
                                                                         ) -> None:
    made = office.kiosk.make(size=1000)
    with client(office) as c:
        r = create(c, office, made, Host="evil.example:666")
    assert r.status_code == 201
    assert r.headers["Location"].startswith("/files/")
    assert "evil" not in r.headers["Location"]
    with client(office) as c:          # no slash redirect built from the Host header either
        slashless = c.post("/files", headers={**TUS, "Host": "evil.example"})
    assert slashless.status_code == 404 and "location" not in slashless.headers


def test_log_lines_escape_control_characters_a_client_sent() -> None:
    record = logging.LogRecord("backoffice.tus", logging.INFO, __file__, 1,
                               "POST %s: 400 %s", ("/files/\x1b[2J", "key 'a\nFAKE ok'"), None)
    line = SafeFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "\x1b" not in line
    assert "\\x1b[2J" in line and "\\x0aFAKE" in line


# ----------------------------------------------------------------------------- envelopes

def test_a_signed_manifest_over_bytes_that_are_not_an_age_file_is_refused_and_stays(
        office: Office) -> None:
    for raw in (os.urandom(50_000), b"age-encryption.org/v1\n-> scrypt c2FsdA 10\n\n--- "
                + b"A" * 43 + b"\n" + os.urandom(100)):
        made = made_from(office.kiosk, raw)
        result = office.kiosk.deliver(made)
        assert result.outcome == "refused" and result.status == 422, result.reason
        assert "not an age envelope" in result.reason
    assert office.server.bo.metadata.deposits() == []


def test_a_signed_manifest_over_zero_bytes_is_refused(office: Office) -> None:
    made = made_from(office.kiosk, b"")
    with client(office) as c:
        r = create(c, office, made)
    assert r.status_code == 422 and "Deposit-Ack" not in r.headers
    assert office.server.bo.metadata.deposits() == []


def test_a_kiosk_revoked_while_its_patch_streams_is_refused_at_completion(
        office: Office) -> None:
    made = office.kiosk.make(size=300_000)
    body = made.envelope_path.read_bytes()
    with client(office) as c:
        path = upload_path(create(c, office, made).headers["Location"])
    sock = tls_socket(office.kiosk, office.port)
    try:
        sock.sendall(request_head("PATCH", path, {
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(body))}))
        sock.sendall(body[:150_000])
        time.sleep(0.5)
        fleet.revoke(office.data, "MAIRIE-01", now=datetime.now(UTC))
        sock.sendall(body[150_000:])
        status, headers = read_response(sock)
    finally:
        sock.close()
    assert status == 422 and "deposit-ack" not in headers
    assert office.server.bo.metadata.deposits() == []


# ----------------------------------------------------------------------------- storage

@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "objects", 4096) as point:
        yield point


def test_a_disk_filling_during_a_patch_answers_507_and_keeps_none_of_its_bytes(
        tmp_path: Path, tiny_disk: Path) -> None:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    set_setting(data, "objects", tiny_disk.as_uri())
    set_limits(data, min_free_bytes=1)
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    server = RunningServer(data, port).start()
    try:
        made = kiosk.make(size=1_500_000)
        body = made.envelope_path.read_bytes()
        with kiosk.enrollment.http_client() as c:
            c.base_url = server.url
            path = upload_path(c.post("/files/", headers={
                **TUS, "Upload-Length": str(made.size),
                "Upload-Metadata": metadata_header(made)}).headers["Location"])
        sock = tls_socket(kiosk, port)
        sock.sendall(request_head("PATCH", path, {
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(body))}))
        sock.sendall(body[:200_000])
        time.sleep(0.3)
        # Another program takes every free byte while the upload is under way.
        with (tiny_disk / "other.bin").open("wb", buffering=0) as filler, \
                pytest.raises(OSError):
            while True:
                filler.write(b"\0" * 65536)
        sock.sendall(body[200_000:])
        status, headers = read_response(sock)
        sock.close()
        assert status == 507 and int(headers["retry-after"]) > 0
        partial = tiny_disk / "partial" / path.rsplit("/", 1)[1]
        assert partial.stat().st_size == 0          # nothing of the failed request stays
        with kiosk.enrollment.http_client() as c:
            c.base_url = server.url
            head = c.head(path, headers=TUS)
            assert head.headers["Upload-Offset"] == "0"
        # Space comes back: the same upload completes.
        (tiny_disk / "other.bin").unlink()
        result = kiosk.deliver(made, kiosk.uploader())
        result_ok = result.outcome
    finally:
        kiosk.close()
        server.stop()
    assert result_ok == "delivered"


def test_an_upload_is_refused_with_507_when_it_would_pass_the_free_space_floor(
        office: Office) -> None:
    # More than the whole disk: the floor holds even when parallel tests free space meanwhile
    # (free + 1 MiB let an upload through once another test removed its files).
    disk = shutil.disk_usage(office.data).total
    set_limits(office.data, min_free_bytes=disk + MIB)
    office.server.stop()
    server = RunningServer(office.data, office.port).start()
    office.server = server
    made = office.kiosk.make(size=10_000)
    with client(office) as c:
        r = create(c, office, made)
    assert r.status_code == 507 and int(r.headers["Retry-After"]) > 0
    detailed = server.admin("/health")          # "ok" with a full disk, no more
    assert detailed.status_code == 503
    assert detailed.json()["checks"]["objects_space"]["ok"] is False


# ----------------------------------------------------------------------------- read paths

def test_reads_and_scrapes_go_on_while_another_writer_holds_the_database(office: Office
                                                                         ) -> None:
    made = office.kiosk.make(size=10_000)
    with client(office) as c:
        path = upload_path(create(c, office, made).headers["Location"])
        office.server.bo.refresh_gauges()
        db = sqlite3.connect(office.data / "backoffice.sqlite3", timeout=1, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")                 # the write lock, held
        try:
            started = time.monotonic()
            head = c.head(path, headers=TUS)
            metrics = office.server.admin("/metrics")
            took = time.monotonic() - started
        finally:
            db.execute("ROLLBACK")
            db.close()
    assert head.status_code == 200 and metrics.status_code == 200
    assert "backoffice_uploads_open 1" in metrics.text
    assert took < 2.0


def test_metrics_and_health_are_not_served_to_kiosks(office: Office) -> None:
    with client(office) as c:
        assert c.get("/metrics").status_code == 404
        assert c.get("/health").status_code == 404
        assert c.get("/suivi/D3M0-0000-0000").status_code == 404


def test_the_gauges_are_counted_in_the_background_not_per_scrape(office: Office) -> None:
    bo = office.server.bo
    office.kiosk.deliver(office.kiosk.make(size=10_000), office.kiosk.uploader())
    before = office.server.admin("/metrics").text
    bo.refresh_gauges()
    after = office.server.admin("/metrics").text
    assert 'backoffice_deposits{status="received"} 0' in before
    assert 'backoffice_deposits{status="received"} 1' in after


# ----------------------------------------------------------------------------- agent calls

def test_a_kiosk_flooding_agent_calls_is_held_to_its_hourly_quota(office: Office) -> None:
    from backoffice.agentcalls import MAX_CALLS_PER_HOUR
    from deposit.agentcall import CALLS_PATH

    def post(call_id: str) -> httpx.Response:
        return c.post(CALLS_PATH, json={"id": call_id, "step": "welcome",
                                        "called_at": "2025-03-04T10:30:00+01:00"})

    ids = [f"{i:032x}" for i in range(MAX_CALLS_PER_HOUR + 2)]
    with client(office) as c:
        answers = [post(call_id) for call_id in ids]
        again = post(ids[0])                          # a call sent again still gets its answer
    assert [r.status_code for r in answers] == [201] * MAX_CALLS_PER_HOUR + [429, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert again.status_code == 200
    assert len(office.server.bo.metadata.agent_calls()) == MAX_CALLS_PER_HOUR


def test_the_expiry_sweep_runs_until_nothing_expired_is_left(tmp_path: Path) -> None:
    office = start_office(tmp_path, max_open_uploads=400)
    try:
        with client(office) as c:
            made = [create(c, office, signed_claim(office.kiosk, 1000)) for _ in range(250)]
        assert {r.status_code for r in made} == {201}
        bo = office.server.bo
        later = datetime.now(UTC) + timedelta(hours=bo.settings.upload_expiry_hours + 1)
        bo.ingest.clock = lambda: later
        assert bo.ingest.sweep_expired() == 250          # more than one batch of 100
        assert bo.metadata.expired_uploads(later) == []
    finally:
        office.stop()
