"""Agent calls at the back office: stored once per id in both metadata engines, asked about by
the kiosk that made them only, acknowledged by staff only (``backoffice agents``)."""

from __future__ import annotations

import json
import secrets
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backoffice import agentcalls, fleet
from backoffice.errors import StaffToolError
from backoffice.settings import load_settings
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import AgentCallRecord, KioskRecord, MetadataStore
from deposit.agentcall import CALLS_PATH, AgentCallClient, CallNotFoundError, CallState
from deposit.errors import RefusedError
from tests.backoffice.harness import STAFF_PASSPHRASE, FakeKiosk, RunningServer, enroll
from tests.conftest import run_cli

T0 = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(backoffice_data: tuple[Path, int]) -> Iterator[MetadataStore]:
    data, _port = backoffice_data
    opened = open_metadata(load_settings(data).metadata)
    opened.init_schema()
    opened.add_kiosk(KioskRecord("MAIRIE-07", "7K2P", "f" * 64, "1", "key", T0))
    yield opened
    opened.close()


def call(call_id: str | None = None, *, at: datetime = T0, step: str = "capture"
         ) -> AgentCallRecord:
    return AgentCallRecord(call_id or secrets.token_hex(16), "MAIRIE-07", step, at,
                           at + timedelta(seconds=1))


# ----------------------------------------------------------------------------- the store


def test_a_call_stored_twice_under_its_id_is_one_call_and_keeps_the_first(store) -> None:
    first, created = store.add_agent_call(call("a" * 32, step="capture"))
    again, created_again = store.add_agent_call(call("a" * 32, step="review",
                                                     at=T0 + timedelta(minutes=1)))
    assert created and not created_again
    assert again == first and again.step == "capture"
    assert [c.call_id for c in store.agent_calls()] == ["a" * 32]


def test_open_calls_are_listed_oldest_first_and_leave_the_list_once_seen(store) -> None:
    older, newer = call(at=T0), call(at=T0 + timedelta(seconds=30))
    store.add_agent_call(newer)
    store.add_agent_call(older)
    assert [c.call_id for c in store.agent_calls()] == [older.call_id, newer.call_id]
    seen = store.ack_agent_call(older.call_id, "Awa", T0 + timedelta(minutes=2))
    assert seen is not None and seen.seen and seen.seen_by == "Awa"
    assert seen.seen_at == T0 + timedelta(minutes=2)
    assert [c.call_id for c in store.agent_calls()] == [newer.call_id]
    assert len(store.agent_calls(open_only=False)) == 2
    assert [c.call_id for c in store.agent_calls(open_only=False, received_after=T0 + timedelta(
        seconds=10))] == [newer.call_id]


def test_the_first_acknowledgement_of_a_call_stays(store) -> None:
    c, _ = store.add_agent_call(call())
    store.ack_agent_call(c.call_id, "Awa", T0 + timedelta(minutes=1))
    later = store.ack_agent_call(c.call_id, "Bruno", T0 + timedelta(minutes=5))
    assert later is not None and later.seen_by == "Awa"
    assert later.seen_at == T0 + timedelta(minutes=1)
    assert store.ack_agent_call("b" * 32, "Awa", T0) is None


def test_staff_cannot_acknowledge_without_a_name_or_an_unknown_call(store) -> None:
    c, _ = store.add_agent_call(call())
    with pytest.raises(StaffToolError, match="--by"):
        agentcalls.acknowledge(store, c.call_id, "  ", T0)
    with pytest.raises(StaffToolError, match="no agent call"):
        agentcalls.acknowledge(store, "c" * 32, "Awa", T0)
    listed = agentcalls.open_calls(store, T0 + timedelta(minutes=3, seconds=1))
    assert [(o.kiosk_id, o.fleet_code, o.step, o.line().endswith("3 min ago"))
            for o in listed] == [("MAIRIE-07", "7K2P", "capture", True)]


# ----------------------------------------------------------------------------- the kiosk API


@pytest.fixture
def calls(server: RunningServer, kiosk: FakeKiosk) -> Iterator[AgentCallClient]:
    client = AgentCallClient(kiosk.enrollment.http_client(timeout=10),
                             kiosk.enrollment.upload_url)
    yield client
    client.close()


def test_a_kiosk_posts_a_call_once_and_reads_staffs_acknowledgement(server, calls) -> None:
    call_id = secrets.token_hex(16)
    first = calls.send(call_id, "review", "2025-03-04T10:30:00+01:00")
    again = calls.send(call_id, "review", "2025-03-04T10:30:00+01:00")
    assert first.state is CallState.OPEN and again == first
    stored = server.bo.metadata.agent_calls()
    assert [(c.call_id, c.kiosk_id, c.step, c.called_at) for c in stored] == [
        (call_id, "MAIRIE-01", "review", datetime(2025, 3, 4, 9, 30, tzinfo=UTC))]
    agentcalls.acknowledge(server.bo.metadata, call_id, "Awa", T0)
    seen = calls.status(call_id)
    assert seen.state is CallState.SEEN and seen.seen_by == "Awa"
    assert seen.seen_at == "2025-03-04T09:30:00Z"


def test_a_kiosk_cannot_acknowledge_a_call_over_its_api(server, calls, kiosk) -> None:
    call_id = secrets.token_hex(16)
    calls.send(call_id, "welcome", "2025-03-04T10:30:00+01:00")
    with kiosk.enrollment.http_client() as client:
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            r = client.request(method, f"{calls.endpoint}/{call_id}",
                               json={"state": "seen", "seen_by": "the kiosk"})
            assert r.status_code == 405, method
    assert calls.status(call_id).state is CallState.OPEN


def test_a_kiosk_never_sees_another_kiosks_call(server, calls, backoffice_data, tmp_path
                                                ) -> None:
    call_id = secrets.token_hex(16)
    calls.send(call_id, "welcome", "2025-03-04T10:30:00+01:00")
    data, _port = backoffice_data
    other = FakeKiosk(enroll(data, "MAIRIE-02", tmp_path / "bundle2"), tmp_path / "k2")
    theirs = AgentCallClient(other.enrollment.http_client(), other.enrollment.upload_url)
    try:
        with pytest.raises(CallNotFoundError):
            theirs.status(call_id)
        with pytest.raises(RefusedError) as refused:
            theirs.send(call_id, "welcome", "2025-03-04T10:30:00+01:00")
        assert refused.value.status == 409
    finally:
        theirs.close()
        other.close()
    assert [c.kiosk_id for c in server.bo.metadata.agent_calls()] == ["MAIRIE-01"]


def test_a_revoked_kiosk_or_one_without_a_certificate_is_refused(server, calls, kiosk,
                                                                  backoffice_data) -> None:
    server_only = ssl.create_default_context(cafile=str(server.bo.settings.ca_cert))
    with httpx.Client(verify=server_only) as anonymous, \
            pytest.raises(httpx.TransportError):   # no client certificate: no TLS session
        anonymous.post(calls.endpoint, json={"id": "a" * 32, "step": "welcome",
                                             "called_at": "2025-03-04T10:30:00+01:00"})
    data, _port = backoffice_data
    fleet.revoke(data, "MAIRIE-01", now=datetime.now(UTC))
    with pytest.raises(RefusedError) as refused:
        calls.send(secrets.token_hex(16), "welcome", "2025-03-04T10:30:00+01:00")
    assert refused.value.status == 403
    assert server.bo.metadata.agent_calls() == []


@pytest.mark.parametrize("body", [
    b"not json", b"[]", json.dumps({"id": "XYZ", "step": "welcome",
                                    "called_at": "2025-03-04T10:30:00+01:00"}).encode(),
    json.dumps({"id": "a" * 32, "step": "Robert'); DROP TABLE",
                "called_at": "2025-03-04T10:30:00+01:00"}).encode(),
    json.dumps({"id": "a" * 32, "step": "welcome", "called_at": "2025-03-04T10:30:00"}).encode(),
])
def test_a_malformed_call_is_refused_with_400_and_nothing_stored(server, kiosk, body) -> None:
    with kiosk.enrollment.http_client() as client:
        r = client.post(server.url + CALLS_PATH, content=body,
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert server.bo.metadata.agent_calls(open_only=False) == []


# ----------------------------------------------------------------------------- the staff CLI


def test_backoffice_agents_lists_open_calls_and_ack_marks_one_seen(server, calls,
                                                                   tmp_path) -> None:
    server.add_staff(tmp_path / "profiles", "awa.diallo").close()
    env = {"BACKOFFICE_PROFILE": str(tmp_path / "profiles" / "awa.diallo"),
           "BACKOFFICE_STAFF_PASSPHRASE": STAFF_PASSPHRASE.decode()}
    call_id = secrets.token_hex(16)
    calls.send(call_id, "capture", datetime.now(UTC).isoformat())
    listed = run_cli("backoffice", ["agents", "--json"], env=env)
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["kiosk_id"], entry["step"], entry["state"]) == \
        (call_id, "MAIRIE-01", "capture", "open")
    assert 0 <= entry["waiting_s"] < 60
    text = run_cli("backoffice", ["agents"], env=env)
    assert f"{call_id}  kiosk MAIRIE-01" in text.stdout and "s ago" in text.stdout

    acked = run_cli("backoffice", ["agents", "ack", call_id], env=env)
    assert acked.returncode == 0, acked.stderr
    assert "seen by Awa Diallo" in acked.stdout          # the account's full name
    assert calls.status(call_id).state is CallState.SEEN
    empty = run_cli("backoffice", ["agents"], env=env)
    assert empty.stdout.strip() == "no open agent call"
    unknown = run_cli("backoffice", ["agents", "ack", "d" * 32, "--by", "Awa"], env=env)
    assert unknown.returncode == 2 and "no agent call" in unknown.stderr
