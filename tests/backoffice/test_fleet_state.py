"""The fleet state at the back office: the badges revoked and not yet expired, signed with the
acknowledgement key under its own context, served to enrolled kiosks only, in both metadata
engines; and the badges' table behind it (``backoffice badge revoke``)."""

from __future__ import annotations

import base64
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backoffice import badges, fleet
from backoffice.badges import BadgeIssueError
from backoffice.settings import load_settings
from backoffice.store.badgesdb import BadgeState, BadgeStore
from backoffice.store.engines import open_metadata
from deposit import ack as ackmod
from deposit import badge as badgemod
from deposit import fleetstate
from deposit.errors import RefusedError
from deposit.fleetstate import (
    FLEET_STATE_PATH,
    FleetState,
    FleetStateError,
    FleetStateProblem,
)
from deposit.manifest import canonical_json
from tests.backoffice.harness import FakeKiosk, RunningServer

PIN = "2468013"


def ack_private(data: Path) -> Ed25519PrivateKey:
    return ackmod.load_private_key(load_settings(data).ack_key.read_bytes())


def test_fleet_state_lists_the_badges_revoked_and_not_expired_only(
        server: RunningServer, kiosk: FakeKiosk, backoffice_data: tuple[Path, int]) -> None:
    data, _port = backoffice_data
    now = datetime.now(UTC)
    long_ago = badges.issue(data, "Ancien Technicien", 1, PIN, issued_by="test",
                            now=now - timedelta(days=3)).record
    revoked = badges.issue(data, "Jeanne Martin", 30, PIN, issued_by="test", now=now).record
    valid = badges.issue(data, "Paul Durand", 30, PIN, issued_by="test", now=now).record
    for record in (long_ago, revoked):
        badges.revoke(data, record.badge_id, now=now)
    with kiosk.enrollment.http_client(timeout=10) as client:
        blob = fleetstate.fetch(client, kiosk.enrollment.upload_url)
    state = fleetstate.verify(blob, kiosk.enrollment.ack_key())
    assert state.revoked_badges == {revoked.badge_id}
    assert abs(state.issued() - now) < timedelta(minutes=1)
    states = {r.badge_id: r.state(now) for r in badges.badges(data)}
    assert states == {long_ago.badge_id: BadgeState.REVOKED,
                      revoked.badge_id: BadgeState.REVOKED, valid.badge_id: BadgeState.VALID}


def test_fleet_state_is_refused_to_a_revoked_kiosk_and_to_one_without_certificate(
        server: RunningServer, kiosk: FakeKiosk, backoffice_data: tuple[Path, int]) -> None:
    server_only = ssl.create_default_context(cafile=str(server.bo.settings.ca_cert))
    with httpx.Client(verify=server_only) as anonymous, pytest.raises(httpx.TransportError):
        anonymous.get(server.url + FLEET_STATE_PATH)
    data, _port = backoffice_data
    fleet.revoke(data, "MAIRIE-01", now=datetime.now(UTC))
    with kiosk.enrollment.http_client(timeout=10) as client, \
            pytest.raises(RefusedError) as refused:
        fleetstate.fetch(client, kiosk.enrollment.upload_url)
    assert refused.value.status == 403


def test_revoking_a_badge_twice_keeps_the_first_time_and_an_unknown_one_is_an_error(
        backoffice_data: tuple[Path, int]) -> None:
    data, _port = backoffice_data
    now = datetime.now(UTC)
    record = badges.issue(data, "Jeanne Martin", 7, PIN, issued_by="test", now=now).record
    first = badges.revoke(data, record.badge_id, now=now)
    again = badges.revoke(data, record.badge_id.upper(), now=now + timedelta(hours=1))
    assert first.revoked_at == again.revoked_at == now
    with pytest.raises(BadgeIssueError, match="no badge 0123456789abcdef"):
        badges.revoke(data, "0123456789abcdef", now=now)
    store = open_metadata(load_settings(data).metadata)
    try:
        assert BadgeStore(store).revoked_unexpired(now + timedelta(days=7)) == []
    finally:
        store.close()


def test_a_badge_holder_name_is_normalised_and_the_signature_is_the_ack_key(
        backoffice_data: tuple[Path, int]) -> None:
    data, _port = backoffice_data
    issued = badges.issue(data, "  Hélène   Dupré ", 2, PIN, issued_by="root",
                          now=datetime.now(UTC))
    key = ack_private(data).public_key()
    badge = badgemod.decode(issued.text, key)
    assert badge.holder == issued.record.holder == "Hélène Dupré"
    assert badge.pin.matches(PIN) and not badge.pin.matches("2468014")
    assert (badge.pin.log2_n, badge.pin.r, badge.pin.p) == (badgemod.LOG2_N, badgemod.R,
                                                            badgemod.P)


# ---------------------------------------------------------------------- the wire format


def _signed_under(context: bytes, body: dict[str, object], key: Ed25519PrivateKey
                  ) -> bytes:
    signature = base64.b64encode(key.sign(context + canonical_json(body))).rstrip(b"=")
    return canonical_json({"fleet_state": body, "signature": signature.decode()})


def test_a_fleet_state_never_passes_for_an_acknowledgement_nor_the_reverse(tmp_path: Path
                                                                           ) -> None:
    key = ackmod.load_private_key(ackmod.generate_key()[0])
    state = FleetState(issued_at="2026-12-05T09:00:00Z", revoked_badges=frozenset({"ab" * 8}))
    body = state.to_dict()
    for context in (ackmod.DOMAIN, badgemod.SIGNING_CONTEXT):
        with pytest.raises(FleetStateError) as refused:
            fleetstate.verify(_signed_under(context, body, key), key.public_key())
        assert refused.value.problem is FleetStateProblem.SIGNATURE
    blob = fleetstate.sign(state, key)
    assert fleetstate.verify(blob, key.public_key()) == state
    as_ack = json.loads(blob)["fleet_state"]
    with pytest.raises(Exception, match="keys must be exactly"):
        ackmod.verify(json.dumps(as_ack).encode(), key.public_key())


def test_fields_a_later_back_office_adds_are_kept_and_the_rest_still_read() -> None:
    key = ackmod.load_private_key(ackmod.generate_key()[0])
    body = {"issued_at": "2026-12-05T09:00:00Z", "revoked_badges": ["cd" * 8],
            "trust_2ddoc": [{"authority": "FR00", "certificate": "0001"}], "version": 1}
    state = fleetstate.verify(_signed_under(fleetstate.SIGNING_CONTEXT, body, key),
                              key.public_key())
    assert state.revoked_badges == {"cd" * 8}
    assert state.to_dict() == body


@pytest.mark.parametrize("body", [
    {"issued_at": "2026-12-05T09:00:00Z", "revoked_badges": ["not-an-id"], "version": 1},
    {"issued_at": "2026-12-05 09:00", "revoked_badges": [], "version": 1},
    {"issued_at": "2026-12-05T09:00:00Z", "revoked_badges": [], "version": 2},
    {"revoked_badges": [], "version": 1},
])
def test_a_malformed_fleet_state_is_refused_even_when_signed(body: dict[str, object]) -> None:
    key = ackmod.load_private_key(ackmod.generate_key()[0])
    with pytest.raises(FleetStateError) as refused:
        fleetstate.verify(_signed_under(fleetstate.SIGNING_CONTEXT, body, key),
                          key.public_key())
    assert refused.value.problem is FleetStateProblem.FORMAT
