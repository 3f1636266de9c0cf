"""Complements at the back office: a request's documents brought at a kiosk are stored beside
their dossier and answer the request; a forged, expired or unrequested one is refused and
nothing of it is kept; a kiosk's lookup of a receipt tells what is asked and nothing else."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from backoffice import docrequests
from backoffice.docrequests import RequestState
from backoffice.status import DossierStatus
from backoffice.store.complementsdb import ComplementStore
from backoffice.store.metadata import iso
from deposit.status import DeliveryOutcome
from tests.backoffice.harness import FakeKiosk, MadeDeposit, RunningServer, deposit_number

PROCEDURE = "caf-aide-logement"
LOOKUP = "/kiosk/v1/complements/lookup"


def deliver_original(server: RunningServer, kiosk: FakeKiosk) -> MadeDeposit:
    made = kiosk.make(procedure=PROCEDURE, size=2000)
    assert kiosk.deliver(made).outcome is DeliveryOutcome.DELIVERED
    return made


def ask_for(server: RunningServer, deposit_id: str, *, deadline: date,
            documents: tuple[str, ...] = ("lease", "rib"),
            at: datetime | None = None) -> str:
    """An open request for documents, written straight into its table so that it may be of the
    past (the staff API refuses a deadline that has passed; its rules are pinned in
    test_docrequests.py)."""
    request_id = "rq_" + secrets.token_urlsafe(12)
    with server.bo.metadata.transaction() as cur:
        if at is not None:    # a request of the past: the dossier arrived before it
            cur.execute("UPDATE deposits SET received_at = ?, created_at = ? "
                        "WHERE deposit_id = ?", (iso(at - timedelta(days=1)),) * 2 +
                        (deposit_id,))
        cur.execute(
            "INSERT INTO document_requests (request_id, deposit_id, requested_at, requested_by, "
            "deadline, documents, note, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (request_id, deposit_id, iso(at or datetime.now(UTC) - timedelta(minutes=5)),
             "ines.martin", deadline.isoformat(), json.dumps(list(documents)), "",
             RequestState.OPEN.value))
    return request_id


def complement_of(kiosk: FakeKiosk, original: MadeDeposit, request_id: str, *,
                  token: str | None = None, created: datetime | None = None,
                  procedure: str = PROCEDURE) -> MadeDeposit:
    return kiosk.make(procedure=procedure, size=1500, complement_of=original.deposit_id,
                      request_id=request_id, token=token or original.token, created=created)


def nothing_kept(server: RunningServer, made: MadeDeposit) -> None:
    store = server.bo.metadata
    assert ComplementStore(store).get(made.deposit_id) is None
    assert store.deposit(made.deposit_id) is None
    objects = list((server.data / "objects").rglob(f"{made.sha256}*")) \
        if (server.data / "objects").exists() else []
    assert objects == []


def lookup(kiosk: FakeKiosk, deposit_id: str, token: str) -> httpx.Response:
    client = kiosk.enrollment.http_client(timeout=10)
    with client:
        base = kiosk.enrollment.upload_url.split("/files")[0]
        return client.post(base + LOOKUP, json={"deposit_id": deposit_id, "token": token})


TOMORROW = (datetime.now(UTC) + timedelta(days=2)).date()


def test_a_requested_complement_is_stored_beside_its_dossier_and_answers_the_request(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    arrived = server.bo.metadata.deposit(original.deposit_id)
    assert arrived is not None and arrived.deemed_on is not None   # silence means rejection
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    complement = complement_of(kiosk, original, request_id)
    result = kiosk.deliver(complement)
    assert result.outcome is DeliveryOutcome.DELIVERED, result.reason
    stored = ComplementStore(server.bo.metadata).of_deposit(original.deposit_id)
    assert [(c.complement_id, c.request_id, c.envelope_sha256) for c in stored] == \
        [(complement.deposit_id, request_id, complement.sha256)]
    (request,) = docrequests.requests_of(server.bo.metadata, original.deposit_id)
    assert request.state is RequestState.ANSWERED
    assert request.complement_id == complement.deposit_id
    dossier = server.bo.metadata.deposit(original.deposit_id)
    assert dossier is not None and dossier.status is DossierStatus.IN_REVIEW
    # Suspended from the request (5 minutes ago) to the documents (now): the same day, or
    # one day more across midnight (Paris).
    assert dossier.deemed_on is not None
    assert 0 <= (dossier.deemed_on - arrived.deemed_on).days <= 1
    # The inbox knows one dossier: the complement is not a dossier of its own.
    assert server.bo.metadata.deposit(complement.deposit_id) is None


def test_a_complement_sent_again_gets_its_first_acknowledgement(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    complement = complement_of(kiosk, original, ask_for(server, original.deposit_id,
                                                        deadline=TOMORROW))
    first = kiosk.deliver(complement)
    complement.upload_url = None
    again = kiosk.deliver(complement)
    assert (first.outcome, again.outcome) == (DeliveryOutcome.DELIVERED,) * 2
    assert again.ack == first.ack
    assert len(ComplementStore(server.bo.metadata).of_deposit(original.deposit_id)) == 1


def test_a_complement_with_a_forged_token_is_refused_and_nothing_is_kept(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    forged = complement_of(kiosk, original, request_id, token="x" * 32)
    result = kiosk.deliver(forged)
    assert result.outcome is DeliveryOutcome.REFUSED
    assert "original" in result.reason
    nothing_kept(server, forged)
    (request,) = docrequests.requests_of(server.bo.metadata, original.deposit_id)
    assert request.state is RequestState.OPEN


def test_a_complement_for_a_number_that_does_not_exist_is_refused(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    ghost = MadeDeposit(deposit_number(kiosk.enrollment.fleet_code, 999_999), Path("-"), b"",
                        original.token, "", 0)
    forged = complement_of(kiosk, ghost, request_id)
    result = kiosk.deliver(forged)
    assert result.outcome is DeliveryOutcome.REFUSED and "original" in result.reason
    nothing_kept(server, forged)


def test_a_complement_the_dossier_did_not_ask_for_is_refused(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    unasked = complement_of(kiosk, original, "rq_" + secrets.token_urlsafe(12))
    result = kiosk.deliver(unasked)
    assert result.outcome is DeliveryOutcome.REFUSED and "not_requested" in result.reason
    nothing_kept(server, unasked)


def test_a_second_complement_for_an_answered_request_is_refused(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    assert kiosk.deliver(complement_of(kiosk, original, request_id)).outcome is \
        DeliveryOutcome.DELIVERED
    late = complement_of(kiosk, original, request_id)
    result = kiosk.deliver(late)
    assert result.outcome is DeliveryOutcome.REFUSED and "not_requested" in result.reason
    nothing_kept(server, late)


def test_a_complement_sealed_after_the_deadline_is_refused(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    asked = datetime.now(UTC) - timedelta(days=20)
    request_id = ask_for(server, original.deposit_id, at=asked,
                         deadline=(asked + timedelta(days=10)).date())
    expired = complement_of(kiosk, original, request_id)
    result = kiosk.deliver(expired)
    assert result.outcome is DeliveryOutcome.REFUSED and "expired" in result.reason
    nothing_kept(server, expired)


def test_a_complement_sealed_in_time_but_delivered_after_the_deadline_is_stored(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    """A kiosk offline for days still delivers what the citizen brought in time: the date
    that counts is the one the kiosk signed."""
    original = deliver_original(server, kiosk)
    asked = datetime.now(UTC) - timedelta(days=20)
    request_id = ask_for(server, original.deposit_id, at=asked,
                         deadline=(asked + timedelta(days=10)).date())
    in_time = complement_of(kiosk, original, request_id, created=asked + timedelta(days=3))
    assert kiosk.deliver(in_time).outcome is DeliveryOutcome.DELIVERED


def test_a_complement_of_another_procedure_is_refused(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    other = complement_of(kiosk, original, request_id, procedure="rsa")
    result = kiosk.deliver(other)
    assert result.outcome is DeliveryOutcome.REFUSED and "procedure" in result.reason
    nothing_kept(server, other)


# ---------------------------------------------------------------- the kiosks' lookup

def test_the_lookup_tells_a_kiosk_what_the_receipt_s_dossier_asks_for(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    assert lookup(kiosk, original.deposit_id, original.token).json() == {"state": "none"}
    request_id = ask_for(server, original.deposit_id, deadline=TOMORROW)
    answer = lookup(kiosk, original.deposit_id.lower(), original.token)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"state": "open", "request_id": request_id, "procedure": PROCEDURE,
                             "documents": ["lease", "rib"], "deadline": TOMORROW.isoformat(),
                             "note": ""}


def test_the_lookup_answers_alike_for_a_wrong_token_and_an_unknown_number(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    ask_for(server, original.deposit_id, deadline=TOMORROW)
    unknown = deposit_number(kiosk.enrollment.fleet_code, 999_998)
    answers = [lookup(kiosk, original.deposit_id, "y" * 32),
               lookup(kiosk, unknown, original.token),
               lookup(kiosk, "not a number", original.token)]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"state": "none"})] * 3


def test_the_lookup_tells_the_token_s_holder_that_the_deadline_has_passed(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    original = deliver_original(server, kiosk)
    asked = datetime.now(UTC) - timedelta(days=20)
    deadline = (asked + timedelta(days=10)).date()
    ask_for(server, original.deposit_id, at=asked, deadline=deadline)
    assert lookup(kiosk, original.deposit_id, original.token).json() == \
        {"state": "expired", "deadline": deadline.isoformat()}


@pytest.mark.parametrize("body", [b"", b"[]", b'{"deposit_id": "A"}', b"{" * 2000,
                                  b'{"deposit_id": 1, "token": "t"}',
                                  b'{"deposit_id": "A", "token": "t", "more": 1}'])
def test_a_malformed_lookup_is_refused_with_400(server: RunningServer, kiosk: FakeKiosk,
                                                body: bytes) -> None:
    client = kiosk.enrollment.http_client(timeout=10)
    with client:
        base = kiosk.enrollment.upload_url.split("/files")[0]
        answer = client.post(base + LOOKUP, content=body)
    assert answer.status_code in (400, 413)


def test_the_lookup_needs_a_kiosk_certificate(server: RunningServer) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.post(server.url + LOOKUP, json={"deposit_id": "A", "token": "t"}, verify=False,
                   timeout=5)
