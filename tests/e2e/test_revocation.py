"""A kiosk the back office revokes: it stops taking deposits, loses nothing, and its dossiers
reach the back office on removable media (``kiosk export`` then ``backoffice import``).

Real parts: a back office serving on 127.0.0.1 (mutual TLS), ``backoffice revoke`` and
``backoffice import`` as staff run them, ``kiosk uploader`` and ``kiosk export`` as a
technician runs them, and the kiosk's runtime on simulated devices.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backoffice.staffclient import PASSPHRASE_VARIABLE
from deposit.status import OutboxState, Standing
from devtools.headless import start_headless
from kiosk.config import load_config
from kiosk.journey import Action, Refusal, Step
from kiosk.runtime import sealing_keys
from tests.backoffice.harness import STAFF_PASSPHRASE, RunningServer
from tests.conftest import run_cli
from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, queue

pytestmark = pytest.mark.slow


def inbox(profile: Path) -> list[str]:
    """What ``backoffice inbox`` shows an instructor (through the staff API)."""
    done = run_cli("backoffice", ["inbox", "--profile", str(profile), "--json"],
                   env={PASSPHRASE_VARIABLE: STAFF_PASSPHRASE.decode()})
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    assert page["pages"] == 1
    return sorted(d["deposit_id"] for d in page["rows"])


def test_a_revoked_kiosk_refuses_deposits_keeps_its_dossiers_and_delivers_them_on_media(
        tmp_path: Path) -> None:
    office = enrolled(tmp_path, "MAIRIE-07")
    data, bundle = office.data, office.bundle
    config_path = kiosk_config(tmp_path / "kiosk", bundle)
    server = RunningServer(data, office.port).start()
    server.add_staff(tmp_path / "staff", "ines").close()
    profile = tmp_path / "staff" / "ines"
    try:
        with kiosk_outbox(config_path, bundle) as box:
            ids = queue(box, office.fleet_code, [150_000, 40_000, 2_000_000])

        # Staff revoke the kiosk (stolen, then found; or decommissioned).
        done = run_cli("backoffice", ["revoke", "--data", str(data), "MAIRIE-07"])
        assert done.returncode == 0, done.stderr

        # The uploader's first attempt is refused: it records the standing and says why.
        done = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config_path)])
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["kiosk_refused"] == 1 and report["standing"] == "refused"
        assert report["delivered"] == 0 and report["pending"] == 3
        assert "ALERT: the back office refuses kiosk MAIRIE-07" in done.stderr

        # The kiosk application reads it: the welcome screen refuses new deposits.
        config = load_config(config_path)
        kiosk = start_headless(config, sealing_keys(config), code_reader=False)
        try:
            driver = kiosk.driver
            driver.wait_until(lambda: not driver.state.accepting, 20, "the refusal")
            assert driver.state.refusals == (Refusal.KIOSK_REFUSED,)
            driver.tap_action(Action.START)
            assert driver.state.step is Step.WELCOME
            outbox = kiosk.runtime.outbox
            assert outbox is not None
            assert outbox.standing().standing is Standing.REFUSED
            # Nothing queued is lost: every envelope is still there, still queued.
            held = outbox.held()
            assert [e.deposit_id for e in held] == ids
            assert all(e.envelope_path.exists() for e in held)
            assert all(e.state is OutboxState.SEALED for e in held)
        finally:
            kiosk.close()

        # A technician writes them to a USB stick.
        media = tmp_path / "usb"
        media.mkdir()
        done = run_cli("kiosk", ["export", "--to", str(media), "--json", "--config",
                                 str(config_path)])
        assert done.returncode == 0, done.stderr
        exported = json.loads(done.stdout)
        assert exported["exported"] == 3 and exported["skipped"] == 0
        export = Path(exported["export"])
        assert export.parent == media

        # On the way, someone alters one envelope of a copy: refused whole, nothing stored.
        tampered = tmp_path / "usb-tampered"
        shutil.copytree(media, tampered)
        victim = next((tampered / export.name).glob("*.age"))
        raw = bytearray(victim.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        victim.write_bytes(bytes(raw))
        done = run_cli("backoffice", ["import", "--data", str(data), str(tampered)])
        assert done.returncode == 1
        assert victim.name in done.stdout + done.stderr
        assert inbox(profile) == []

        # The genuine medium at the back office: one dossier each, twice imported or not.
        for _ in range(2):
            done = run_cli("backoffice", ["import", "--data", str(data), "--json", str(media)])
            assert done.returncode == 0, done.stdout + done.stderr
            assert inbox(profile) == sorted(ids)

        # Back at the kiosk, the acknowledgements on the stick settle the deposits.
        done = run_cli("kiosk", ["export", "--to", str(media), "--json", "--config",
                                 str(config_path)])
        assert done.returncode == 0, done.stderr
        settled = json.loads(done.stdout)
        assert settled["acknowledged"] == 3 and settled["still_held"] == 0
        assert settled["export"] is None
        with kiosk_outbox(config_path, bundle) as box:
            assert all(box.get(i).state is OutboxState.PURGED for i in ids)
    finally:
        server.stop()


def test_an_idle_uploader_learns_the_kiosks_standing_without_a_dossier_to_send(
        tmp_path: Path) -> None:
    office = enrolled(tmp_path, "MAIRIE-08")
    data = office.data
    config_path = kiosk_config(tmp_path / "kiosk", office.bundle)
    server = RunningServer(data, office.port).start()
    try:
        done = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config_path)])
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["standing"] == "online" and report["deposits"] == []

        run_cli("backoffice", ["revoke", "--data", str(data), "MAIRIE-08"])
        done = run_cli("kiosk", ["uploader", "--once", "--json", "--config", str(config_path)])
        report = json.loads(done.stdout.splitlines()[-1])
        assert report["standing"] == "refused" and "403" in report["standing_reason"]
        assert report["deposits"] == []                # nothing was sent to learn it
    finally:
        server.stop()
