"""The 2D-Doc trust list travels in the fleet state: the back office sends the list its
operator put in ``{data}/twoddoc/trust-list.xml``, signed; the kiosk keeps it and trusts what
it lists, and refuses a list changed on disk (the shipped list counts then)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import twoddoc
from backoffice.fleetstate import TRUST_LIST_FILE
from deposit import fleetstate
from deposit.fleetstate import FleetState
from devtools.twoddoc_samples import authority, encode
from kiosk import fleetstate as kiosk_fleetstate
from kiosk.config import Config, KioskSection
from kiosk.twoddocs import load_trust
from tests.backoffice.harness import FakeKiosk, RunningServer
from twoddoc import Outcome
from twoddoc.trustlist import to_xml

FIELDS = {"10": "M/DUPONT/JEAN", "24": "75000", "25": "PARIS"}


def production_config(tmp_path: Path) -> Config:
    """A kiosk with a configuration file: no test authority."""
    return Config(kiosk=KioskSection(data_dir=tmp_path / "kiosk"), path=tmp_path / "kiosk.toml")


def test_a_trust_list_put_at_the_back_office_reaches_the_kiosk_and_verifies_its_codes(
        server: RunningServer, kiosk: FakeKiosk, backoffice_data: tuple[Path, int],
        tmp_path: Path) -> None:
    data, _port = backoffice_data
    key, certificate = authority("FR03", "0A7C")
    xml = to_xml([("FR03", "AC FOURNISSEUR D'ENERGIE", certificate, False)],
                 issued=datetime(2026, 12, 1, tzinfo=UTC))
    (data / TRUST_LIST_FILE).parent.mkdir(parents=True, exist_ok=True)
    (data / TRUST_LIST_FILE).write_text(xml, "utf-8")
    code = twoddoc.parse(encode(key, FIELDS, authority="FR03", certificate="0A7C",
                                signed=date(2025, 3, 1)))
    config = production_config(tmp_path)
    status = tmp_path / "kiosk" / "status"
    status.mkdir(parents=True)
    ack = kiosk.enrollment.ack_key()
    before = load_trust(config, status, ack)
    assert twoddoc.verify(code, before).outcome is Outcome.NOT_VERIFIABLE

    with kiosk.enrollment.http_client(timeout=10) as client:
        state = kiosk_fleetstate.refresh(client, kiosk.enrollment.upload_url, ack, status)
    assert state.twoddoc_trust_list == xml
    after = load_trust(config, status, ack)
    assert after.authorities == ["FR03"]
    assert twoddoc.verify(code, after).outcome is Outcome.VALID

    # the file changed on disk (a trusted authority slipped in): refused, the shipped list
    # (no authority) counts again
    held = status / kiosk_fleetstate.FILE
    held.write_bytes(held.read_bytes().replace(b"FR03", b"FR04"))
    assert load_trust(config, status, ack).authorities == []


def test_a_file_that_is_not_a_trust_list_is_not_sent_and_no_file_sends_none(
        server: RunningServer, kiosk: FakeKiosk, backoffice_data: tuple[Path, int],
        tmp_path: Path) -> None:
    data, _port = backoffice_data
    with kiosk.enrollment.http_client(timeout=10) as client:
        assert fetch_state(client, kiosk).twoddoc_trust_list is None
        (data / TRUST_LIST_FILE).parent.mkdir(parents=True, exist_ok=True)
        (data / TRUST_LIST_FILE).write_text("<html>not a list</html>", "utf-8")
        state = fetch_state(client, kiosk)
    assert state.twoddoc_trust_list is None
    # absent, the blob is exactly what a back office without the list signs
    assert "twoddoc_trust_list" not in fleetstate.sign(state, Ed25519PrivateKey.generate()
                                                       ).decode()


def fetch_state(client: httpx.Client, kiosk: FakeKiosk) -> FleetState:
    blob = fleetstate.fetch(client, kiosk.enrollment.upload_url)
    return fleetstate.verify(blob, kiosk.enrollment.ack_key())
