"""The whole flow through the command lines, as staff and a technician would run it.

init, enroll, serve; a deposit sealed and queued by the deposit package on the
kiosk side; ``kiosk uploader --once`` delivers it; ``staff add`` gives an
instructor a profile, with which inbox shows it received (through the staff
API); fetch and decrypt with the staff identity give back the dossier; the
status set to accepted shows on the receipt's status page; after revoke, the
next deposit is refused and stays queued on the kiosk; SIGTERM stops the service.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from deposit import manifest as mf
from deposit.bundle import Enrollment
from deposit.outbox import Outbox, Sealer
from tests.backoffice.harness import STAFF_PASSPHRASE, deposit_number, free_ports
from tests.backoffice.harness import ServeProcess as Service
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def parse_lines(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = value
    return out


def kiosk_deposit(box: Outbox, enrollment: Enrollment, sequence: int) -> tuple[str, str, bytes]:
    deposit_id = deposit_number(enrollment.fleet_code, sequence)
    token = mf.new_tracking_token()
    pdf = b"%PDF-1.7\n" + os.urandom(150_000)
    box.seal_and_queue(
        deposit_id=deposit_id, procedure="carte-grise", pdf=pdf, tracking_token=token,
        deposit_json={
            "version": 1, "deposit_id": deposit_id, "kiosk_id": enrollment.kiosk_id,
            "kiosk_place": "Mairie de Démonstration",
            "procedure": {"code": "carte-grise", "title": "Certificat d'immatriculation"},
            "case_reference": None, "language": "fr",
            "created": mf.rfc3339(datetime.now(UTC)),
            "documents": [{"code": "identity", "title": "Pièce d'identité", "pages": 1}],
            "contact": None,
            "consent": {"notice_version": "2025-01", "accepted": True,
                        "at": mf.rfc3339(datetime.now(UTC))}})
    return deposit_id, token, pdf


def staff_profile(data: Path, folder: Path, name: str = "ines") -> list[str]:
    """``backoffice staff add`` of an instructor; the arguments that sign in with the profile."""
    secret = folder / f"{name}.passphrase"
    folder.mkdir(parents=True, exist_ok=True)
    secret.write_text(STAFF_PASSPHRASE.decode() + "\n")
    r = run_cli("backoffice", ["staff", "add", name, "--role", "instructor", "--data", str(data),
                               "--out", str(folder / name), "--passphrase-file", str(secret)])
    assert r.returncode == 0, r.stderr
    return ["--profile", str(folder / name), "--passphrase-file", str(secret)]


def test_init_enroll_serve_deliver_inbox_fetch_decrypt_status_revoke(tmp_path: Path) -> None:
    port, public, admin, staff = free_ports(4)
    data = tmp_path / "bo"
    r = run_cli("backoffice", ["init", "--data", str(data), "--url", f"https://127.0.0.1:{port}",
                               "--public-listen", f"127.0.0.1:{public}",
                               "--admin-listen", f"127.0.0.1:{admin}",
                               "--staff-listen", f"127.0.0.1:{staff}",
                               "--staff-identity", str(tmp_path / "staff" / "identity.txt")])
    assert r.returncode == 0, r.stderr
    written = parse_lines(r.stdout)
    identity = Path(written["staff identity"])
    assert identity.is_file() and oct(identity.stat().st_mode & 0o777) == "0o600"
    assert "staff workstation" in r.stderr

    bundle = tmp_path / "bundle"
    r = run_cli("backoffice", ["enroll", "--data", str(data), "MAIRIE-01", "--out", str(bundle)])
    assert r.returncode == 0, r.stderr
    fleet_code = parse_lines(r.stdout)["fleet code"]
    enrollment = Enrollment.load(bundle)
    assert enrollment.fleet_code == fleet_code
    assert f'code = "{fleet_code}"' in (bundle / "kiosk.toml").read_text()

    kiosk_dir = tmp_path / "kiosk"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        (bundle / "kiosk.toml").read_text().replace(
            "[kiosk]\n", f'[kiosk]\ndata_dir = "{kiosk_dir}"\n').replace(
            "[upload]\n", f'[upload]\nbundle = "{bundle}"\n'))
    sealer = Sealer(recipients=tuple(enrollment.recipients()), kiosk_id="MAIRIE-01",
                    signing_key=enrollment.signing_key())
    box = Outbox(kiosk_dir / "outbox", sealer=sealer, reserve_bytes=0,
                 dossier_estimate_bytes=1024 * 1024)
    signed_in = staff_profile(data, tmp_path / "staff")
    service = Service(data)
    try:
        deposit_id, token, pdf = kiosk_deposit(box, enrollment, 1)

        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(tmp_path / "notify"))   # as systemd would, for Type=notify
            r = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config)],
                        env={"NOTIFY_SOCKET": str(tmp_path / "notify")})
            notify.settimeout(1)
            assert notify.recv(4096).startswith(b"READY=1")
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout.splitlines()[-1])
        assert report["delivered"] == 1 and report["pending"] == 0
        assert box.pending() == []

        r = run_cli("backoffice", ["inbox", *signed_in, "--json"])
        assert r.returncode == 0, r.stderr
        [entry] = json.loads(r.stdout)["rows"]
        assert (entry["deposit_id"], entry["kiosk_id"], entry["procedure"], entry["status"]) \
            == (deposit_id, "MAIRIE-01", "carte-grise", "received")
        assert deposit_id in run_cli("backoffice", ["inbox", *signed_in]).stdout

        fetched = tmp_path / "fetched"
        r = run_cli("backoffice", ["fetch", *signed_in, deposit_id, "-o", str(fetched)])
        assert r.returncode == 0, r.stderr
        envelope = Path(parse_lines(r.stdout)["envelope"])
        out = tmp_path / "opened"
        r = run_cli("backoffice", ["decrypt", "-i", str(identity), str(envelope), "-o", str(out)])
        assert r.returncode == 0, r.stderr
        assert "signature, size and SHA-256 verified" in r.stdout
        assert (out / "dossier.pdf").read_bytes() == pdf
        assert json.loads((out / "deposit.json").read_text())["deposit_id"] == deposit_id

        r = run_cli("backoffice", ["status", *signed_in, deposit_id, "in review"])
        assert r.returncode == 0, r.stderr
        r = run_cli("backoffice", ["status", *signed_in, deposit_id, "accepted",
                                   "--message", "Votre carte grise sera envoyée par courrier."])
        assert r.returncode == 0, r.stderr
        # The status page's own chain (init's placeholder), not the fleet CA.
        ctx = ssl.create_default_context(cafile=str(data / "public" / "public.crt"))
        page = httpx.get(enrollment.tracking_url(deposit_id, token), verify=ctx)
        assert page.status_code == 200
        assert "Accepté" in page.text and "envoyée par courrier" in page.text

        r = run_cli("backoffice", ["revoke", "--data", str(data), "MAIRIE-01"])
        assert r.returncode == 0 and "revoked: MAIRIE-01" in r.stdout
        second, _token, _pdf = kiosk_deposit(box, enrollment, 2)
        r = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config)])
        assert r.returncode == 1
        report = json.loads(r.stdout.splitlines()[-1])
        assert report["kiosk_refused"] == 1 and report["pending"] == 1
        assert report["standing"] == "refused"
        assert "revoked" in report["deposits"][0]["reason"]
        assert [e.deposit_id for e in box.pending()] == [second]
        assert box.get(second).envelope_path.exists()
    finally:
        box.close()
        status = service.stop()
    assert status == 0, "".join(service.log)
    assert any("stopped" in line for line in service.log)


def test_commands_refuse_what_they_cannot_do_with_one_clear_line(tmp_path: Path) -> None:
    r = run_cli("backoffice", ["inbox", "--profile", str(tmp_path / "nothing")])
    assert r.returncode == 2 and "is not a staff profile" in r.stderr
    r = run_cli("backoffice", ["enroll", "--data", str(tmp_path / "nothing"), "K-1", "--out",
                               str(tmp_path / "b0")])
    assert r.returncode == 2 and "not a back-office data folder" in r.stderr
    data = tmp_path / "bo"
    assert run_cli("backoffice", ["init", "--data", str(data), "--key-type", "x25519"]
                   ).returncode == 0
    again = run_cli("backoffice", ["init", "--data", str(data)])
    assert again.returncode == 2 and "not empty" in again.stderr
    r = run_cli("backoffice", ["enroll", "--data", str(data), "bad id", "--out",
                               str(tmp_path / "b")])
    assert r.returncode == 2 and "kiosk id" in r.stderr
    assert run_cli("backoffice", ["enroll", "--data", str(data), "K-1", "--out",
                                  str(tmp_path / "b1")]).returncode == 0
    r = run_cli("backoffice", ["enroll", "--data", str(data), "K-1", "--out",
                               str(tmp_path / "b2")])
    assert r.returncode == 2 and "already enrolled" in r.stderr
    r = run_cli("backoffice", ["revoke", "--data", str(data), "NOPE"])
    assert r.returncode == 2 and "no kiosk NOPE" in r.stderr
    # A staff command against a back office that does not serve (init's default address).
    signed_in = staff_profile(data, tmp_path / "staff")
    r = run_cli("backoffice", ["status", *signed_in, "0000-0000-0000", "accepted"])
    assert r.returncode == 2 and "cannot reach the staff API" in r.stderr
    r = run_cli("backoffice", ["fetch", *signed_in, "garbage", "-o", str(tmp_path / "f")])
    assert r.returncode == 2 and "cannot reach the staff API" in r.stderr


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, public, admin, staff = free_ports(4)
    data = tmp_path / "bo"
    assert run_cli("backoffice", ["init", "--data", str(data), "--url",
                                  f"https://127.0.0.1:{port}", "--key-type", "x25519",
                                  "--public-listen", f"127.0.0.1:{public}",
                                  "--admin-listen", f"127.0.0.1:{admin}",
                                  "--staff-listen", f"127.0.0.1:{staff}"]).returncode == 0
    service = Service(data)
    assert any(f"https://127.0.0.1:{port}" in line for line in service.log)
    assert any(f"public listener on https://127.0.0.1:{public}" in line for line in service.log)
    assert any(f"admin listener on http://127.0.0.1:{admin}" in line for line in service.log)
    assert any(f"staff listener on https://127.0.0.1:{staff}" in line for line in service.log)
    ctx = ssl.create_default_context(cafile=str(data / "public" / "public.crt"))
    health = httpx.get(f"https://127.0.0.1:{public}/health", verify=ctx)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    detailed = httpx.get(f"http://127.0.0.1:{admin}/health")
    assert detailed.status_code == 200 and detailed.json()["checks"]["metadata"]["ok"]
    started = time.monotonic()
    assert service.stop() == 0
    assert time.monotonic() - started < 15
