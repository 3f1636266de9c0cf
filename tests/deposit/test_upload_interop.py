"""Interoperability with independent tus implementations, on 127.0.0.1.

- The kiosk uploader uploads to, and resumes against, the reference server
  ``@tus/server`` (Node; installed with npm into a cache folder outside the
  repository on first run; the test skips, saying why, only if node or npm
  are missing).
- The back office accepts and resumes uploads from the official Python client
  ``tuspy``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backoffice import pki
from deposit.tus import MIB
from tests.backoffice.harness import FakeKiosk, RunningServer, enroll, free_port, init_backoffice
from tests.netfaults import CuttingProxy

INTEROP = Path(__file__).resolve().parents[1] / "backoffice" / "interop"


def npm_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256((INTEROP / "package.json").read_bytes()
                            + (INTEROP / "tus-reference-server.mjs").read_bytes()).hexdigest()
    return base / "deposit-kiosk" / f"tus-reference-{digest[:12]}"


def install_reference_server() -> Path:
    """The folder with the server script and its node_modules (installed once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed for the @tus/server interoperability test "
                    "(Debian packages nodejs npm)")
    folder = npm_cache()
    if not (folder / "node_modules" / "@tus" / "server").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(INTEROP / "package.json", folder / "package.json")
        result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"],
                                cwd=folder, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.fail(f"npm install @tus/server failed: {result.stderr[-2000:]}")
    shutil.copy(INTEROP / "tus-reference-server.mjs", folder / "tus-reference-server.mjs")
    return folder


class ReferenceServer:
    def __init__(self, folder: Path, store: Path, key: Path, cert: Path, ca: Path) -> None:
        self.proc = subprocess.Popen(
            ["node", "tus-reference-server.mjs", str(store), str(key), str(cert), str(ca)],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"@tus/server did not start: {line} {err}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.store = store

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[tuple[Path, int, FakeKiosk]]:
    port = free_port()
    data = init_backoffice(tmp_path, port)
    fake = FakeKiosk(enroll(data, "MAIRIE-01", tmp_path / "bundle"), tmp_path / "kiosk")
    yield data, port, fake
    fake.close()


@pytest.fixture
def reference(kiosk, tmp_path: Path) -> Iterator[ReferenceServer]:
    data, _port, _fake = kiosk
    folder = install_reference_server()
    ca = pki.Issued((data / "ca" / "ca.key").read_bytes(), (data / "ca" / "ca.crt").read_bytes())
    issued = pki.issue_server(ca, "127.0.0.1", datetime.now(UTC))
    tls = tmp_path / "ref-tls"
    tls.mkdir()
    (tls / "key.pem").write_bytes(issued.key_pem)
    (tls / "cert.pem").write_bytes(issued.cert_pem)
    store = tmp_path / "ref-store"
    store.mkdir()
    server = ReferenceServer(folder, store, tls / "key.pem", tls / "cert.pem",
                             data / "ca" / "ca.crt")
    yield server
    server.stop()


def stored_upload(store: Path) -> bytes:
    [upload] = [p for p in store.iterdir() if not p.name.endswith(".json")]
    return upload.read_bytes()


def test_the_uploader_uploads_to_the_reference_tus_server(
        kiosk: tuple[Path, int, FakeKiosk], reference: ReferenceServer) -> None:
    _data, _port, fake = kiosk
    made = fake.make(size=3 * MIB)
    uploader = fake.uploader(chunk_size=1 * MIB, endpoint=reference.url + "/files")
    caps = uploader.caps()
    assert "creation" in caps.extensions
    result = fake.deliver(made, uploader)
    # The bytes are all there; without the back office's acknowledgement the
    # deposit rightly stays queued on the kiosk.
    assert result.outcome == "retry" and "no acknowledgement" in result.reason
    assert result.bytes_sent == made.size
    assert stored_upload(reference.store) == made.envelope_path.read_bytes()


def test_the_uploader_resumes_against_the_reference_server_after_a_cut(
        kiosk: tuple[Path, int, FakeKiosk], reference: ReferenceServer) -> None:
    _data, _port, fake = kiosk
    made = fake.make(size=4 * MIB)
    proxy = CuttingProxy(reference.port, cut_after=int(1.5 * MIB))
    try:
        uploader = fake.uploader(chunk_size=1 * MIB,
                                 endpoint=f"https://127.0.0.1:{proxy.port}/files")
        heads: list[str] = []
        original_head = uploader.tus.head

        def counting_head(url: str):
            heads.append(url)
            return original_head(url)

        uploader.tus.head = counting_head  # type: ignore[method-assign]
        result = fake.deliver(made, uploader, attempts=3)
        assert proxy.cuts == 1
        assert heads, "the uploader must ask the offset with HEAD before resuming"
        assert "no acknowledgement" in result.reason
        assert stored_upload(reference.store) == made.envelope_path.read_bytes()
    finally:
        proxy.close()


def test_the_back_office_accepts_and_resumes_uploads_from_tuspy(kiosk, monkeypatch) -> None:
    from tusclient import client as tus_client

    data, port, fake = kiosk
    server = RunningServer(data, port).start()
    try:
        made = fake.make(size=3 * MIB)
        bundle = fake.enrollment
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle.file(bundle.CA_CERT)))
        client = tus_client.TusClient(
            bundle.upload_url, client_cert=(str(bundle.file(bundle.CLIENT_CERT)),
                                            str(bundle.file(bundle.CLIENT_KEY))))
        metadata = {"deposit_id": made.deposit_id, "manifest": made.manifest.decode()}
        # (file_stream, not file_path: tuspy leaves the files it opens unclosed.)
        with made.envelope_path.open("rb") as f:
            first = client.uploader(file_stream=f, chunk_size=MIB, metadata=metadata,
                                    upload_checksum=True)
            first.upload(stop_at=2 * MIB)                   # then the "connection" is gone
        assert server.bo.metadata.deposits() == []
        # A new tuspy uploader resumes from the URL: it asks the offset with HEAD.
        with made.envelope_path.open("rb") as f:
            second = client.uploader(file_stream=f, url=first.url, chunk_size=MIB,
                                     upload_checksum=True)
            assert second.offset == 2 * MIB
            second.upload()
        [record] = server.bo.metadata.deposits()
        assert record.deposit_id == made.deposit_id
        assert server.bo.objects.sha256(record.object_key) == made.sha256
    finally:
        server.stop()


def test_tuspy_parallel_clients_make_one_dossier(kiosk, monkeypatch) -> None:
    from tusclient import client as tus_client

    data, port, fake = kiosk
    server = RunningServer(data, port).start()
    try:
        made = fake.make(size=MIB)
        bundle = fake.enrollment
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle.file(bundle.CA_CERT)))
        metadata = {"deposit_id": made.deposit_id, "manifest": made.manifest.decode()}
        errors: list[BaseException] = []

        def send() -> None:
            try:
                client = tus_client.TusClient(bundle.upload_url, client_cert=(
                    str(bundle.file(bundle.CLIENT_CERT)), str(bundle.file(bundle.CLIENT_KEY))))
                with made.envelope_path.open("rb") as f:
                    client.uploader(file_stream=f, chunk_size=256 * 1024, metadata=metadata,
                                    retries=5, retry_delay=0).upload()
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)

        threads = [threading.Thread(target=send) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(errors) < len(threads), errors           # at least one got through
        assert len(server.bo.metadata.deposits()) == 1
        assert server.bo.metadata.conflicts() == []
    finally:
        server.stop()
