"""``backoffice serve --workers N`` behind a real nginx: delivery, the trusted hop, restarts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from backoffice.proxyconf import render
from backoffice.proxyhop import tls_extension
from backoffice.settings import load_settings
from backoffice.workers import answers, bind_unix, socket_path
from deposit.bundle import Enrollment
from deposit.status import DeliveryOutcome
from tests.backoffice.harness import FakeKiosk, enroll, free_port, init_backoffice, stored
from tests.backoffice.nginxkit import nginx_binary, upstreams_by_upload, workers_behind_nginx
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(nginx_binary() is None,
                                reason="nginx is not installed (Debian package nginx)")


def test_kiosks_deliver_through_nginx_to_every_ingest_process(tmp_path: Path) -> None:
    with workers_behind_nginx(tmp_path, 3) as w:
        kiosk = FakeKiosk(enroll(w.data, "K-01", tmp_path / "bundle"), tmp_path / "k")
        made = [kiosk.make(120_000) for _ in range(6)]
        try:
            uploader = kiosk.uploader()
            results = [kiosk.deliver(m, uploader) for m in made]
        finally:
            kiosk.close()
        assert [r.outcome for r in results] == [DeliveryOutcome.DELIVERED] * 6
        by_upload = upstreams_by_upload(w.nginx_root / "access.log")
    held = {d.deposit_id for d in stored(w.data)["deposits"]}
    assert held == {m.deposit_id for m in made}
    used = {up for requests in by_upload.values() for _, _, up in requests}
    assert len(used) == 3, used      # round robin: every process served some request
    assert w.proc.returncode == 0


def test_a_certificate_header_a_client_sends_is_replaced_by_nginx(tmp_path: Path) -> None:
    with workers_behind_nginx(tmp_path, 2) as w:
        owner = FakeKiosk(enroll(w.data, "K-01", tmp_path / "b1"), tmp_path / "k1")
        other = Enrollment.load(enroll(w.data, "K-02", tmp_path / "b2"))
        try:
            made = owner.make(50_000)
            assert owner.deliver(made).outcome is DeliveryOutcome.DELIVERED
            assert made.upload_url is not None
            forged = {"Tus-Resumable": "1.0.0", "X-Client-Verify": "SUCCESS",
                      "X-Client-Cert": quote(owner.enrollment.file(
                          Enrollment.CLIENT_CERT).read_text(), safe="")}
            with other.http_client() as client:
                # K-02's connection claiming K-01's certificate: nginx puts K-02's back.
                assert client.head(made.upload_url, headers=forged).status_code == 404
            with owner.enrollment.http_client() as client:
                mine = client.head(made.upload_url, headers={"Tus-Resumable": "1.0.0"})
                assert mine.status_code == 200
                assert mine.headers["Upload-Offset"] == str(made.size)
        finally:
            owner.close()


def test_an_ingest_process_that_dies_is_started_again(tmp_path: Path) -> None:
    with workers_behind_nginx(tmp_path, 2) as w:
        victim = w.pid_on(1)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(AssertionError):
                if w.pid_on(1) != victim and answers(socket_path(w.socket_dir, 1)):
                    break
            assert time.monotonic() < deadline, "".join(w.log)
            time.sleep(0.1)
        assert any("ingest process 1" in line and "killed by signal 9" in line
                   for line in w.log), "".join(w.log)
        kiosk = FakeKiosk(enroll(w.data, "K-01", tmp_path / "bundle"), tmp_path / "k")
        try:
            made = [kiosk.make(30_000) for _ in range(4)]
            uploader = kiosk.uploader()
            assert all(kiosk.deliver(m, uploader).outcome is DeliveryOutcome.DELIVERED
                       for m in made)
        finally:
            kiosk.close()


def test_the_ingest_processes_stop_with_their_supervisor(tmp_path: Path) -> None:
    with workers_behind_nginx(tmp_path, 2) as w:
        children = w.children()
        assert len(children) == 2
        w.proc.send_signal(signal.SIGTERM)
        assert w.proc.wait(timeout=40) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not any(socket_path(w.socket_dir, i).exists() for i in range(2))


def test_only_a_verified_certificate_becomes_the_tls_extension() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    cert = quote(pem, safe="").encode()
    tls = tls_extension([(b"x-client-verify", b"SUCCESS"), (b"x-client-cert", cert)])
    assert tls is not None and tls["client_cert_chain"] == [pem]
    for verify in (b"NONE", b"FAILED:certificate has expired", b""):
        assert tls_extension([(b"x-client-verify", verify), (b"x-client-cert", cert)]) is None
    assert tls_extension([(b"x-client-verify", b"SUCCESS"),
                          (b"x-client-cert", b"not%20a%20certificate")]) is None
    assert tls_extension([(b"x-client-verify", b"SUCCESS"),
                          (b"x-client-cert", b"A" * 40_000)]) is None


def test_deploy_nginx_ingest_conf_is_what_proxy_config_prints(tmp_path: Path) -> None:
    port = 8443
    data = init_backoffice(tmp_path / "bo", port)
    shown = render(load_settings(data), 3, Path("/run/backoffice"))
    expected = shown.replace(str(data), "/var/lib/backoffice").replace(
        f"127.0.0.1:{port}", "0.0.0.0:443")
    assert (REPO / "deploy" / "nginx-ingest.conf").read_text() == expected, \
        "deploy/nginx-ingest.conf is stale: make it again with backoffice proxy-config"


def test_nginx_accepts_what_proxy_config_prints(tmp_path: Path) -> None:
    data = init_backoffice(tmp_path / "bo", free_port())
    site = render(load_settings(data), 3, tmp_path / "run")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n{site}\n}}\n")
    binary = nginx_binary()
    assert binary is not None
    check = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stderr


def test_a_client_without_a_fleet_certificate_never_reaches_a_process(tmp_path: Path) -> None:
    with workers_behind_nginx(tmp_path, 1) as w:
        url = load_settings(w.data).url
        forged = {"X-Client-Verify": "SUCCESS", "Tus-Resumable": "1.0.0"}
        with httpx.Client(verify=False, timeout=5) as client:    # a stranger: no certificate
            answer = client.post(url + "/files/", headers=forged)
        assert answer.status_code == 400        # nginx: "No required SSL certificate"
        lines = (w.nginx_root / "access.log").read_text().splitlines()
        assert lines and lines[-1].startswith("POST /files/ 400 -"), lines


def test_the_ingest_sockets_are_open_to_nginx_group_only_whatever_the_umask(
        tmp_path: Path) -> None:
    old = os.umask(0o077)          # the service's UMask
    try:
        sock = bind_unix(tmp_path / "run" / "ingest-0.sock")
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o750
        assert stat.S_IMODE((tmp_path / "run" / "ingest-0.sock").stat().st_mode) == 0o660
    finally:
        sock.close()


def test_the_supervisor_tells_systemd_ready_once_every_ingest_process_answers(
        tmp_path: Path) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(address))          # as systemd would, for Type=notify
        notify.settimeout(5)
        with workers_behind_nginx(tmp_path, 2, env={"NOTIFY_SOCKET": str(address)}) as w:
            assert notify.recv(4096) == b"READY=1"
            assert all(answers(socket_path(w.socket_dir, i)) for i in range(2))
            for pid in w.children():    # systemd's variables are the supervisor's alone
                assert b"NOTIFY_SOCKET=" not in Path(f"/proc/{pid}/environ").read_bytes()
            w.proc.send_signal(signal.SIGTERM)
            assert notify.recv(4096) == b"STOPPING=1"
            assert w.proc.wait(timeout=40) == 0
