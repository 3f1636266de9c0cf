"""The tus 1.0 protocol as the back office speaks it, request by request, and who may speak it."""

from __future__ import annotations

import base64
import hashlib
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backoffice import pki
from tests.backoffice.harness import FakeKiosk, MadeDeposit, RunningServer, enroll

TUS = {"Tus-Resumable": "1.0.0"}


def create(client: httpx.Client, kiosk: FakeKiosk, made: MadeDeposit,
           length: int | None = None) -> httpx.Response:
    meta = (f"deposit_id {base64.b64encode(made.deposit_id.encode()).decode()},"
            f"manifest {base64.b64encode(made.manifest).decode()}")
    return client.post(kiosk.enrollment.upload_url, headers={
        **TUS, "Upload-Length": str(made.size if length is None else length),
        "Upload-Metadata": meta})


def patch(client: httpx.Client, url: str, offset: int, data: bytes,
          checksum: str | None = "sha256", **headers: str) -> httpx.Response:
    h = {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    if checksum:
        digest = base64.b64encode(hashlib.new(checksum, data).digest()).decode()
        h["Upload-Checksum"] = f"{checksum} {digest}"
    return client.patch(url, content=data, headers={**h, **headers})


@pytest.fixture
def client(server: RunningServer, kiosk: FakeKiosk):
    with kiosk.enrollment.http_client() as c:
        c.base_url = server.url   # Location is a path
        yield c


def test_options_advertises_version_extensions_checksums_and_maximum(server, client) -> None:
    r = client.options(server.url + "/files/")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {"creation", "checksum", "termination",
                                                          "expiration"}
    assert {"sha256", "sha1"} <= set(r.headers["Tus-Checksum-Algorithm"].split(","))
    assert int(r.headers["Tus-Max-Size"]) == server.bo.settings.max_upload_bytes


def test_a_request_without_tus_resumable_gets_412_and_the_supported_version(client, kiosk
                                                                            ) -> None:
    r = client.post(kiosk.enrollment.upload_url, headers={"Upload-Length": "10"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"


def test_creation_head_and_patch_follow_the_offsets(client, kiosk) -> None:
    made = kiosk.make(size=300_000)
    r = create(client, kiosk, made)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    assert "Upload-Expires" in r.headers
    head = client.head(url, headers=TUS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(made.size)
    assert head.headers["Cache-Control"] == "no-store"
    assert "deposit_id" in head.headers["Upload-Metadata"]
    data = made.envelope_path.read_bytes()
    r = patch(client, url, 0, data[:100_000])
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "100000"
    assert "Upload-Expires" in r.headers
    r = patch(client, url, 100_000, data[100_000:], checksum="sha1")
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(made.size)
    assert "Deposit-Ack" in r.headers


def test_patch_at_a_wrong_offset_gets_409_and_changes_nothing(client, kiosk) -> None:
    made = kiosk.make(size=50_000)
    url = create(client, kiosk, made).headers["Location"]
    data = made.envelope_path.read_bytes()
    assert patch(client, url, 0, data[:1000]).status_code == 204
    r = patch(client, url, 500, data[500:2000])
    assert r.status_code == 409
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "1000"


def test_patch_whose_checksum_does_not_match_gets_460_and_keeps_nothing(client, kiosk) -> None:
    made = kiosk.make(size=50_000)
    url = create(client, kiosk, made).headers["Location"]
    data = made.envelope_path.read_bytes()
    bad = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    r = patch(client, url, 0, data[:4096], checksum=None, **{"Upload-Checksum": f"sha256 {bad}"})
    assert r.status_code == 460
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    r = patch(client, url, 0, data[:4096], checksum=None, **{"Upload-Checksum": "md5 AAAA"})
    assert r.status_code == 400


def test_more_bytes_than_the_declared_length_are_refused(client, kiosk) -> None:
    made = kiosk.make(size=20_000)
    url = create(client, kiosk, made).headers["Location"]
    data = made.envelope_path.read_bytes()
    r = patch(client, url, 0, data + b"extra bytes")
    assert r.status_code == 413
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"

    # Without Content-Length (chunked): refused while reading, nothing kept.
    def chunks() -> Iterator[bytes]:
        yield data
        yield b"one byte too many"

    r = client.patch(url, content=chunks(), headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 413
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    assert patch(client, url, 0, data).status_code == 204      # the right bytes still go in


def test_patch_needs_the_tus_content_type(client, kiosk) -> None:
    made = kiosk.make(size=5_000)
    url = create(client, kiosk, made).headers["Location"]
    r = client.patch(url, content=b"x", headers={**TUS, "Upload-Offset": "0",
                                                  "Content-Type": "text/plain"})
    assert r.status_code == 415


def test_terminated_uploads_are_gone_and_unknown_ones_not_found(client, kiosk, server) -> None:
    made = kiosk.make(size=5_000)
    url = create(client, kiosk, made).headers["Location"]
    assert client.delete(url, headers=TUS).status_code == 204
    assert client.head(url, headers=TUS).status_code == 410
    assert patch(client, url, 0, b"abc").status_code == 410
    assert client.head(server.url + "/files/" + "0" * 32, headers=TUS).status_code == 404
    # X-HTTP-Method-Override, for clients that cannot send DELETE or PATCH.
    url2 = create(client, kiosk, kiosk.make(size=5_000)).headers["Location"]
    r = client.post(url2, headers={**TUS, "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204


def test_an_upload_past_its_expiry_is_gone_and_swept(backoffice_data, kiosk) -> None:
    data_dir, port = backoffice_data
    now = [datetime.now(UTC)]
    server = RunningServer(data_dir, port, clock=lambda: now[0]).start()
    try:
        with kiosk.enrollment.http_client() as client:
            client.base_url = server.url   # Location is a path
            made = kiosk.make(size=5_000)
            r = create(client, kiosk, made)
            url = r.headers["Location"]
            upload_id = url.rsplit("/", 1)[1]
            partial = Path(server.bo.objects.root) / "partial" / upload_id  # type: ignore[attr-defined]
            assert partial.exists()
            now[0] += timedelta(hours=server.bo.settings.upload_expiry_hours, seconds=1)
            assert client.head(url, headers=TUS).status_code == 410
            assert server.bo.ingest.sweep_expired() == 1
            assert not partial.exists()
            # The kiosk starts a new upload of the same deposit: accepted.
            assert create(client, kiosk, made).status_code == 201
    finally:
        server.stop()


def test_offsets_survive_a_restart_of_the_server(backoffice_data, kiosk) -> None:
    data_dir, port = backoffice_data
    made = kiosk.make(size=100_000)
    data = made.envelope_path.read_bytes()
    server = RunningServer(data_dir, port).start()
    try:
        with kiosk.enrollment.http_client() as client:
            client.base_url = server.url   # Location is a path
            url = create(client, kiosk, made).headers["Location"]
            assert patch(client, url, 0, data[:60_000]).status_code == 204
    finally:
        server.stop()
    server = RunningServer(data_dir, port).start()
    try:
        with kiosk.enrollment.http_client() as client:
            client.base_url = server.url   # Location is a path
            assert client.head(url, headers=TUS).headers["Upload-Offset"] == "60000"
            assert patch(client, url, 60_000, data[60_000:]).status_code == 204
        assert server.bo.metadata.deposit(made.deposit_id) is not None
    finally:
        server.stop()


def all_bytes_in(server: RunningServer, client: httpx.Client, kiosk: FakeKiosk
                 ) -> tuple[MadeDeposit, str, str]:
    """An upload as a PATCH of every byte leaves it just before completing: the bytes
    durable, the offset moved. The deposit, the upload's URL and its id."""
    made = kiosk.make(size=50_000)
    data = made.envelope_path.read_bytes()
    url = create(client, kiosk, made).headers["Location"]
    upload_id = url.rsplit("/", 1)[1]
    writer = server.bo.objects.open_partial(upload_id, 0)
    writer.write(data)
    assert writer.commit() == len(data)
    assert server.bo.metadata.advance(upload_id, 0, len(data),
                                      datetime.now(UTC) + timedelta(hours=1))
    return made, url, upload_id


def test_an_envelope_published_before_a_crash_is_recorded_when_the_kiosk_asks_again(
        server, client, kiosk) -> None:
    """A process that published the envelope and died before recording it (SIGKILL, power
    cut): the kiosk's HEAD, on any process, records it from the published object."""
    # What the dead process did: every byte durable, the offset committed, then published.
    made, url, upload_id = all_bytes_in(server, client, kiosk)
    bo = server.bo
    bo.objects.publish(upload_id, f"envelopes/{made.sha256[:2]}/{made.sha256}.age")
    assert bo.metadata.deposit(made.deposit_id) is None

    answer = client.head(url, headers=TUS)
    assert answer.status_code == 200
    assert "Deposit-Ack" in answer.headers
    stored = bo.metadata.deposit(made.deposit_id)
    assert stored is not None and stored.envelope_sha256 == made.sha256


def test_an_upload_whose_bytes_are_gone_and_never_published_is_refused(
        server, client, kiosk) -> None:
    made, url, upload_id = all_bytes_in(server, client, kiosk)
    bo = server.bo
    bo.objects.delete_partial(upload_id)
    assert client.head(url, headers=TUS).status_code == 422
    assert bo.metadata.deposit(made.deposit_id) is None


# ------------------------------------------------------------------ who may upload

def test_a_connection_without_a_client_certificate_fails_the_handshake(server, kiosk) -> None:
    ctx = ssl.create_default_context(cafile=str(server.bo.settings.ca_cert))
    with httpx.Client(verify=ctx) as anonymous, pytest.raises(httpx.TransportError) as failed:
        create(anonymous, kiosk, kiosk.make(size=1000))
    # TLS 1.3: the server checks the client's certificate after the client's Finished,
    # so the client learns it from an alert, or from the connection closing unanswered.
    assert "CERTIFICATE_REQUIRED" in str(failed.value).upper() or \
        "disconnected" in str(failed.value)


def test_a_certificate_from_another_ca_fails_the_handshake(server, kiosk) -> None:
    now = datetime.now(UTC)
    other_ca = pki.create_ca(now, "Some other CA")
    impostor = pki.issue_kiosk(other_ca, "MAIRIE-01", now)
    folder = kiosk.folder / "impostor"
    folder.mkdir()
    (folder / "k.pem").write_bytes(impostor.key_pem)
    (folder / "c.pem").write_bytes(impostor.cert_pem)
    ctx = ssl.create_default_context(cafile=str(server.bo.settings.ca_cert))
    ctx.load_cert_chain(folder / "c.pem", folder / "k.pem")
    with httpx.Client(verify=ctx) as client, pytest.raises(httpx.TransportError):
        create(client, kiosk, kiosk.make(size=1000))
    assert server.bo.metadata.deposits() == []


def test_a_revoked_kiosk_is_refused_at_its_next_request_on_the_same_connection(
        server, kiosk, client) -> None:
    from backoffice import fleet

    made = kiosk.make(size=10_000)
    r = create(client, kiosk, made)
    assert r.status_code == 201
    fleet.revoke(server.data, "MAIRIE-01", now=datetime.now(UTC))
    r2 = client.head(r.headers["Location"], headers=TUS)      # same keep-alive connection
    assert r2.status_code == 403
    r3 = create(client, kiosk, kiosk.make(size=1000))
    assert r3.status_code == 403 and "revoked" in r3.text


def test_a_kiosk_cannot_touch_another_kiosks_upload_nor_sign_for_it(server, kiosk, tmp_path,
                                                                   client) -> None:
    other = FakeKiosk(enroll(server.data, "MAIRIE-02", tmp_path / "b2"), tmp_path / "k2")
    try:
        url = create(client, kiosk, kiosk.make(size=1000)).headers["Location"]
        with other.enrollment.http_client() as c2:
            c2.base_url = server.url   # Location is a path
            assert c2.head(url, headers=TUS).status_code == 404
            # A manifest of kiosk 1 presented with kiosk 2's certificate: refused.
            r = create(c2, kiosk, kiosk.make(size=1000))
            assert r.status_code == 422
    finally:
        other.close()


def test_a_manifest_that_does_not_match_the_declared_length_is_refused(client, kiosk) -> None:
    made = kiosk.make(size=1000)
    r = create(client, kiosk, made, length=made.size + 1)
    assert r.status_code == 422 and "Upload-Length" in r.text
