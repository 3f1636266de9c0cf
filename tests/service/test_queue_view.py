"""The outbox's read-only view (deposit/outboxview.py) and the outbox check built on it.

Deposits are really sealed into a real outbox (as the kiosk seals them); the view
lists them while another connection holds a write transaction, as the uploader
does while it records a delivery, and it shows nothing personal.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deposit.outbox import DB_NAME, Outbox, Sealer
from deposit.outboxview import read_queue
from deposit.status import DeliveryOutcome, OutboxState
from kiosk.service.checks import check_outbox
from kiosk.service.results import CheckName, Outcome
from tests.deposit.conftest import BACKOFFICE_RCPT, KIOSK_ID, KIOSK_KEY, queue_one

FIRST, SECOND, THIRD = "DEMO-0000001", "DEMO-0000002", "DEMO-0000003"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Outbox]:
    outbox = Outbox(tmp_path / "outbox", sealer=Sealer((BACKOFFICE_RCPT,), KIOSK_ID, KIOSK_KEY),
                    reserve_bytes=0, dossier_estimate_bytes=1024 * 1024)
    yield outbox
    outbox.close()


def sealed(box: Outbox, *ids: str) -> None:
    for deposit_id in ids:
        queue_one(box, deposit_id, pdf=b"%PDF-1.7\n" + bytes(5000))


def test_sealed_deposits_are_listed_oldest_first_with_procedure_and_no_attempt_yet(
        box: Outbox) -> None:
    sealed(box, FIRST, SECOND)
    view = read_queue(box.folder)
    assert view.exists and view.pending == 2 and view.refused == 0
    assert [d.deposit_id for d in view.deposits] == [FIRST, SECOND]
    first = view.deposits[0]
    assert (first.procedure, first.state, first.attempts, first.last_outcome) == (
        "carte-grise", OutboxState.SEALED, 0, None)
    assert first.sealed_at == box.get(FIRST).queued_at
    assert view.queued_bytes == box.get(FIRST).envelope_size + box.get(SECOND).envelope_size
    assert view.oldest_sealed_at == first.sealed_at


def test_the_view_reads_while_another_connection_holds_a_write_transaction(box: Outbox) -> None:
    sealed(box, FIRST, SECOND)
    writer = sqlite3.connect(box.folder / DB_NAME, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")      # what the uploader holds while it records
        writer.execute("UPDATE deposits SET state = 'uploading', attempts = 1 "
                       "WHERE deposit_id = ?", (FIRST,))
        started = time.monotonic()
        view = read_queue(box.folder, busy_timeout_ms=200)
        waited = time.monotonic() - started
        # The committed state, at once: the uncommitted change is not seen, nothing waited.
        assert [(d.deposit_id, d.state) for d in view.deposits] == [
            (FIRST, OutboxState.SEALED), (SECOND, OutboxState.SEALED)]
        assert waited < 0.2
        writer.execute("COMMIT")               # the view left no lock behind
    finally:
        writer.close()
    assert read_queue(box.folder).deposits[0].state is OutboxState.UPLOADING


def test_the_view_cannot_write_to_the_outbox(box: Outbox) -> None:
    sealed(box, FIRST)
    before = (box.folder / DB_NAME).read_bytes()
    read_queue(box.folder)
    assert (box.folder / DB_NAME).read_bytes() == before
    # The URI the view opens refuses writes (what keeps it from ever taking a write lock).
    ro = sqlite3.connect(f"file:{box.folder / DB_NAME}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("DELETE FROM deposits")
    finally:
        ro.close()


def test_attempts_and_the_last_outcome_are_shown_but_not_the_error_text(box: Outbox) -> None:
    sealed(box, FIRST, SECOND, THIRD)
    claim = box.claim_next("uploader-1")
    assert claim is not None and claim.deposit_id == FIRST
    box.release(FIRST, "uploader-1", "POST https://bo/files/: 503 Jeanne Dupont",
                outcome=DeliveryOutcome.RETRY)
    claim = box.claim_next("uploader-1", exclude=(FIRST,))
    assert claim is not None and claim.deposit_id == SECOND
    box.refuse(SECOND, "uploader-1", "422 too large")
    view = read_queue(box.folder)
    by_id = {d.deposit_id: d for d in view.deposits}
    assert (by_id[FIRST].attempts, by_id[FIRST].last_outcome) == (1, DeliveryOutcome.RETRY)
    assert by_id[SECOND].state is OutboxState.REFUSED
    assert (view.pending, view.refused) == (2, 1)
    shown = repr([d.to_dict() for d in view.deposits])
    assert "Jeanne" not in shown and "503" not in shown and "too large" not in shown
    assert set(by_id[FIRST].to_dict()) == {"deposit_id", "procedure", "state", "sealed_at",
                                           "envelope_size", "attempts", "last_outcome"}


def test_acknowledged_deposits_leave_the_list_but_stay_counted(box: Outbox) -> None:
    sealed(box, FIRST, SECOND)
    claim = box.claim_next("uploader-1")
    assert claim is not None
    box.mark_acknowledged(FIRST, b"ack", owner="uploader-1", outcome=DeliveryOutcome.DELIVERED)
    view = read_queue(box.folder)
    assert [d.deposit_id for d in view.deposits] == [SECOND]
    assert view.by_state[OutboxState.PURGED] + view.by_state[OutboxState.ACKNOWLEDGED] == 1


def test_no_outbox_yet_is_an_empty_queue_not_an_error(tmp_path: Path) -> None:
    view = read_queue(tmp_path / "outbox")
    assert not view.exists and view.pending == 0 and view.deposits == ()
    assert not (tmp_path / "outbox").exists()      # and the view created nothing
    result = check_outbox(tmp_path / "outbox", now=time.time())
    assert (result.check, result.result) == (CheckName.OUTBOX, Outcome.OK)


def test_a_queue_older_than_the_threshold_warns_and_never_fails(box: Outbox) -> None:
    sealed(box, FIRST)
    now = time.time()
    fresh = check_outbox(box.folder, now=now, warn_after=3600)
    assert fresh.result is Outcome.OK and fresh.data["queued"] == 1
    old = check_outbox(box.folder, now=now + 7200, warn_after=3600)
    assert old.result is Outcome.WARN and "longer than 60 min" in old.detail
    ancient = check_outbox(box.folder, now=now + 400 * 86400, warn_after=3600)
    assert ancient.result is Outcome.WARN
    assert 7100 <= old.data["oldest_age_s"] <= 7300


def test_an_unreadable_outbox_database_fails_the_check_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"this is not a database" * 100)
    result = check_outbox(folder, now=time.time())
    assert result.result is Outcome.FAIL and "cannot read" in result.detail
