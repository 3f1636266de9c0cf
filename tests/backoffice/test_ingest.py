"""Uploads from an enrolled kiosk to a running back office, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from backoffice.settings import load_settings
from backoffice.status import DossierStatus
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import DepositRecord
from backoffice.store.staffdb import StaffStore
from deposit import ack as ackmod
from tests.backoffice.harness import FakeKiosk, RunningServer

MIB = 1024 * 1024


def stored(server: RunningServer) -> list[DepositRecord]:
    return server.bo.metadata.deposits()


def test_kiosk_delivers_a_deposit_and_holds_a_verified_acknowledgement(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    made = kiosk.make(size=3 * MIB)
    result = kiosk.deliver(made, kiosk.uploader(chunk_size=1 * MIB))

    assert result.outcome == "delivered", result.reason
    assert result.ack is not None
    ack = ackmod.verify(result.ack, kiosk.enrollment.ack_key(), deposit_id=made.deposit_id,
                        envelope_sha256=made.sha256)
    assert ack.kiosk_id == "MAIRIE-01" and ack.envelope_size == made.size
    [record] = stored(server)
    assert record.deposit_id == made.deposit_id and record.status == "received"
    with server.bo.objects.open(record.object_key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == made.sha256
    # 3 MiB and a bit in 1 MiB chunks: four PATCHes, nothing sent twice.
    assert result.bytes_sent == made.size


def test_the_same_deposit_sent_twice_is_one_dossier_with_the_same_acknowledgement(
        server: RunningServer, kiosk: FakeKiosk, tmp_path) -> None:
    made = kiosk.make()
    first = kiosk.deliver(made)
    # A second kiosk process that lost its upload state sends it again from scratch.
    second = kiosk.deliver(replace(made, upload_url=None))

    assert first.outcome == second.outcome == "delivered"
    assert first.ack == second.ack
    assert second.bytes_sent == 0           # the server answered from what it holds
    assert len(stored(server)) == 1
    assert server.bo.ingest.metrics.value("backoffice_deposits_replayed_total") == 1


def test_a_different_envelope_under_a_known_id_is_kept_apart_and_reported(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    first = kiosk.make()
    assert kiosk.deliver(first).outcome == "delivered"
    other = kiosk.make(deposit_id=first.deposit_id)

    result = kiosk.deliver(other)

    assert result.outcome == "conflict"
    [record] = stored(server)
    assert record.envelope_sha256 == first.sha256        # the first is untouched
    [conflict] = server.bo.metadata.conflicts()
    assert conflict.envelope_sha256 == other.sha256
    assert server.bo.objects.sha256(conflict.object_key) == other.sha256
    assert server.bo.ingest.metrics.value("backoffice_conflicts_total") == 1
    server.bo.refresh_gauges()      # what the service does every 15 s
    metrics = server.admin("/metrics").text
    assert "backoffice_conflicts_total 1" in metrics and "backoffice_conflicts 1" in metrics


def test_an_envelope_with_one_bit_flipped_is_refused_and_stays_with_the_kiosk(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    made = kiosk.make(size=100_000)
    raw = bytearray(made.envelope_path.read_bytes())
    raw[5000] ^= 0x10
    made.envelope_path.write_bytes(raw)

    result = kiosk.deliver(made)

    assert result.outcome == "refused" and result.status == 422
    assert "SHA-256" in result.reason
    assert stored(server) == []
    assert made.envelope_path.exists()
    assert server.bo.ingest.metrics.value("backoffice_envelopes_refused_total") == 1
    assert made.upload_url is None        # that upload was discarded: none is resumed


def test_the_store_keeps_every_deposit_across_a_restart(backoffice_data, kiosk) -> None:
    data, port = backoffice_data
    server = RunningServer(data, port).start()
    try:
        made = [kiosk.make(size=50_000) for _ in range(3)]
        for m in made:
            assert kiosk.deliver(m).outcome == "delivered"
    finally:
        server.stop()
    store = open_metadata(load_settings(data).metadata)
    try:
        assert sorted(d.deposit_id for d in store.deposits()) == sorted(m.deposit_id
                                                                         for m in made)
    finally:
        store.close()


@pytest.mark.parametrize("status", [DossierStatus.IN_REVIEW, DossierStatus.ACCEPTED])
def test_status_changes_are_kept_with_their_history(server: RunningServer, kiosk: FakeKiosk,
                                                     status: DossierStatus) -> None:
    from datetime import UTC, datetime

    made = kiosk.make(size=10_000)
    assert kiosk.deliver(made).outcome == "delivered"
    staff = StaffStore(server.bo.metadata)
    path = [DossierStatus.IN_REVIEW, status] if status is not DossierStatus.IN_REVIEW else [status]
    for step in dict.fromkeys(path):
        staff.decide(made.deposit_id, step, "agent", datetime.now(UTC), lambda _current: "ok")
    record = server.bo.metadata.deposit(made.deposit_id)
    assert record is not None and record.status == status
    assert [h.status for h in staff.history(made.deposit_id)] == ["received", *path]
    assert [h.actor for h in staff.history(made.deposit_id)] == [None, *["agent"] * len(path)]
