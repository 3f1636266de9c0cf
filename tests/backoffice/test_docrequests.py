"""Requests for missing documents (CRPA L114-5): the rules one by one, the deemed-decision
date they move, answer() as the complement ingest calls it, the status page and the CLI.

The API tests run a real back office (both store engines where the conftest's fixture
gives them) whose clock the test sets, so that the dates are hand-computed: a dossier of
``caf-aide-logement`` (silence means rejection after 2 months) received on 4 January 2027 is
deemed rejected on 4 March 2027; a request made on 20 January and answered on 30 January
suspends the delay 10 days: 14 March. Under a silence that means acceptance (a test
catalog: no shipped procedure has one) the whole 2 months start again on 30 January:
30 March.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backoffice import deadlines, docrequests, procedures
from backoffice.docrequests import RequestConflict, RequestError, RequestState
from backoffice.errors import DecisionError, Refusal
from backoffice.roles import Action, Role
from backoffice.staffclient import StaffAPIError, StaffClient
from backoffice.status import DossierStatus
from backoffice.store.staffdb import StaffStore
from deposit.legal import Silence
from tests.backoffice.harness import (
    STAFF_PASSPHRASE,
    FakeKiosk,
    RunningServer,
    store_record,
)
from tests.conftest import run_cli

S = DossierStatus
CAF = "caf-aide-logement"
RECEIVED = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
ASKED = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
ANSWERED = datetime(2027, 1, 30, 15, 0, tzinfo=UTC)


class Clock:
    """The back office's clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    server: RunningServer
    kiosk: FakeKiosk
    clock: Clock
    ines: StaffClient          # instructor
    marc: StaffClient          # another instructor
    paula: StaffClient         # supervisor

    def dossier(self, status: DossierStatus = S.IN_REVIEW, procedure: str = CAF) -> str:
        return store_record(self.server.bo, self.kiosk, status=status, procedure=procedure,
                            received=RECEIVED)


@pytest.fixture
def desk(backoffice_data: tuple[Path, int], kiosk: FakeKiosk, tmp_path: Path
         ) -> Iterator[Desk]:
    data, port = backoffice_data
    clock = Clock(ASKED)
    server = RunningServer(data, port, clock).start()
    clients = [server.add_staff(tmp_path / "profiles", name, role) for name, role in (
        ("ines", Role.INSTRUCTOR), ("marc", Role.INSTRUCTOR), ("paula", Role.SUPERVISOR))]
    try:
        yield Desk(server, kiosk, clock, *clients)
    finally:
        for client in clients:
            client.close()
        server.stop()


def refusal(call: object, *args: object, **kwargs: object) -> StaffAPIError:
    assert callable(call)
    with pytest.raises(StaffAPIError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------------------- the rules
@pytest.fixture
def caf() -> procedures.ProcedureInfo:
    return procedures.shipped()[CAF]


def test_the_procedure_documents_come_from_the_catalog_with_their_names_by_language(
        caf: procedures.ProcedureInfo) -> None:
    assert [d.code for d in caf.documents] == ["identity", "lease", "rib", "rent-receipt"]
    identity = caf.document("identity")
    assert identity is not None
    assert identity.name("fr") == "Pièce d'identité" and identity.name("ar") == "وثيقة الهوية"
    assert identity.name("de") == "Pièce d'identité"          # no German: the French name


def test_a_document_without_a_code_or_a_french_name_is_left_out_and_the_others_kept(
        tmp_path: Path) -> None:
    (tmp_path / "demo.toml").write_text(
        'code = "demo"\nprocessing_days = 10\nname = { fr = "Démo" }\n'
        '[[documents]]\ncode = "a"\nname = { fr = "Pièce A", en = "Paper A" }\n'
        '[[documents]]\nname = { fr = "Sans code" }\n'
        '[[documents]]\ncode = "c"\nname = { en = "No French" }\n'
        '[[documents]]\ncode = "d"\nname = { fr = "Pièce D" }\n', encoding="utf-8")
    demo = procedures.load(tmp_path)["demo"]
    assert [(d.code, d.name("en")) for d in demo.documents] == [("a", "Paper A"),
                                                                ("d", "Pièce D")]


def test_an_unknown_document_is_refused_naming_its_code(caf: procedures.ProcedureInfo) -> None:
    with pytest.raises(RequestError) as caught:
        docrequests.check_request(caf, ["identity", "passport"], date(2027, 2, 1), "",
                                  date(2027, 1, 20))
    assert caught.value.status == 422 and caught.value.code is Refusal.UNKNOWN_DOCUMENT
    assert "passport" in str(caught.value) and caught.value.details["codes"] == ["passport"]


def test_a_request_names_at_least_one_document(caf: procedures.ProcedureInfo) -> None:
    with pytest.raises(RequestError) as caught:
        docrequests.check_request(caf, [], date(2027, 2, 1), "", date(2027, 1, 20))
    assert caught.value.code is Refusal.NO_DOCUMENT


@pytest.mark.parametrize(("deadline", "allowed"), [
    (date(2027, 1, 20), False),          # today: not in the future
    (date(2027, 1, 19), False),
    (date(2027, 1, 21), True),           # tomorrow
    (date(2027, 4, 20), True),           # three months, the last day allowed
    (date(2027, 4, 21), False),
    (date(2072, 1, 20), False),          # a typo of 2027
])
def test_the_deadline_is_after_today_and_at_most_three_months_ahead(
        caf: procedures.ProcedureInfo, deadline: date, allowed: bool) -> None:
    today = date(2027, 1, 20)
    if allowed:
        assert docrequests.check_request(caf, ["rib"], deadline, "", today).deadline == deadline
        return
    with pytest.raises(RequestError) as caught:
        docrequests.check_request(caf, ["rib"], deadline, "", today)
    assert caught.value.code is Refusal.DEADLINE
    assert caught.value.details["latest"] == ["2027-04-20"]


def test_a_note_with_personal_data_is_refused_with_the_kind_and_without_the_value(
        caf: procedures.ProcedureInfo) -> None:
    with pytest.raises(RequestError) as caught:
        docrequests.check_request(caf, ["rib"], date(2027, 2, 1),
                                  "Écrivez à jean.dupont@example.fr.", date(2027, 1, 20))
    assert caught.value.code is Refusal.PERSONAL_DATA
    assert caught.value.details["kinds"] == ["email"] and "jean.dupont" not in str(caught.value)


def test_the_generated_message_lists_the_documents_the_deadline_and_the_kiosk_then_the_note(
        caf: procedures.ProcedureInfo) -> None:
    asked = docrequests.check_request(caf, ["rib", "identity", "rib"], date(2027, 2, 10),
                                      "  Le RIB doit être à votre nom.  ", date(2027, 1, 20))
    assert asked.documents == ("rib", "identity")               # duplicates once
    assert asked.message == (
        "Pièces manquantes :\n- Relevé d'identité bancaire (RIB)\n- Pièce d'identité\n"
        "À apporter au plus tard le 10 février 2027, à n'importe quelle borne de dépôt : "
        "montrez le code QR de votre reçu.\n\nLe RIB doit être à votre nom.")


@pytest.mark.parametrize(("now", "expired"), [
    (datetime(2027, 2, 10, 22, 59, tzinfo=UTC), False),   # 23:59 in Paris, the last day
    (datetime(2027, 2, 10, 23, 0, tzinfo=UTC), True),     # midnight in Paris: the day after
])
def test_a_request_expires_after_its_deadline_in_the_paris_calendar(
        now: datetime, expired: bool) -> None:
    request = docrequests.DocumentRequest("rq_abcdefgh", "X", ASKED, "ines", date(2027, 2, 10),
                                          ("rib",), "", RequestState.OPEN)
    assert request.expired(now) is expired


# ---------------------------------------------------------------------------- the API
def test_a_request_makes_the_dossier_incomplete_with_the_documents_and_suspends_the_delay(
        desk: Desk) -> None:
    d = desk.dossier(S.RECEIVED)
    before = desk.ines.dossier(d)
    assert before["deemed"] == {"state": "running", "silence": "rejection",
                                "deemed_on": "2027-03-04"}
    assert [x["code"] for x in before["documents"]] == ["identity", "lease", "rib",
                                                         "rent-receipt"]
    made = desk.ines.request_documents(d, ["identity", "rib"], "2027-02-10", "Merci.")
    assert made["request_id"].startswith("rq_") and made["state"] == "open"
    assert [x["name"] for x in made["documents"]] == ["Pièce d'identité",
                                                      "Relevé d'identité bancaire (RIB)"]
    view = desk.ines.dossier(d)
    assert view["status"] == "incomplete" and view["assignee"] == "ines"
    assert view["message"].startswith("Pièces manquantes :\n- Pièce d'identité\n")
    assert view["message"].endswith("\n\nMerci.")
    # From received, the dossier was taken in review first: both steps in its history.
    assert [h["status"] for h in view["history"]] == ["received", "in_review", "incomplete"]
    assert view["requests"] == [made]
    assert view["deemed"] == {"state": "suspended", "silence": "rejection", "deemed_on": None}
    record = desk.server.bo.metadata.deposit(d)
    assert record is not None and record.deemed_on is None


def test_an_unknown_document_through_the_api_is_422_naming_it_and_changes_nothing(
        desk: Desk) -> None:
    d = desk.dossier()
    error = refusal(desk.ines.request_documents, d, ["identity", "birth-certificate"],
                    "2027-02-10")
    assert error.status == 422 and error.code is Refusal.UNKNOWN_DOCUMENT
    assert "birth-certificate" in str(error) and error.details["codes"] == ["birth-certificate"]
    view = desk.ines.dossier(d)
    assert view["status"] == "in_review" and view["requests"] == []


@pytest.mark.parametrize(("deadline", "code"), [
    ("2027-01-20", Refusal.DEADLINE), ("2027-05-01", Refusal.DEADLINE),
])
def test_a_deadline_today_or_too_far_through_the_api_is_422(desk: Desk, deadline: str,
                                                            code: Refusal) -> None:
    error = refusal(desk.ines.request_documents, desk.dossier(), ["rib"], deadline)
    assert error.status == 422 and error.code is code and error.details["latest"] == [
        "2027-04-20"]


def test_no_document_or_a_note_with_personal_data_through_the_api_is_422(desk: Desk) -> None:
    d = desk.dossier()
    assert refusal(desk.ines.request_documents, d, [], "2027-02-10").code is Refusal.NO_DOCUMENT
    error = refusal(desk.ines.request_documents, d, ["rib"], "2027-02-10",
                    "Appelez le 06 12 34 56 78.")
    assert error.status == 422 and error.code is Refusal.PERSONAL_DATA
    assert error.details["kinds"] == ["phone"]
    assert desk.ines.dossier(d)["status"] == "in_review"


def test_a_procedure_whose_silence_means_nothing_has_requests_but_no_deemed_date(
        desk: Desk) -> None:
    d = desk.dossier(procedure="impots-justificatifs")
    assert desk.ines.dossier(d)["deemed"] is None
    code = desk.ines.dossier(d)["documents"][0]["code"]
    desk.ines.request_documents(d, [code], "2027-02-10")
    view = desk.ines.dossier(d)
    assert view["status"] == "incomplete" and view["deemed"] is None


def test_a_procedure_the_catalog_does_not_know_has_no_document_to_ask_for(desk: Desk) -> None:
    d = desk.dossier(procedure="caf-apl")
    view = desk.ines.dossier(d)
    assert view["documents"] == [] and view["deemed"] is None
    error = refusal(desk.ines.request_documents, d, ["identity"], "2027-02-10")
    assert error.code is Refusal.UNKNOWN_DOCUMENT and "none known" in str(error)


def test_a_second_request_while_one_is_open_is_409_withdraw_or_wait(desk: Desk) -> None:
    d = desk.dossier()
    first = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    error = refusal(desk.paula.request_documents, d, ["lease"], "2027-02-10")
    assert error.status == 409 and error.code is Refusal.OPEN_REQUEST
    assert "withdraw" in str(error) and error.details["request"] == [first["request_id"]]


@pytest.mark.parametrize("status", [S.ACCEPTED, S.REJECTED, S.CLOSED, S.INCOMPLETE])
def test_a_request_is_refused_outside_received_and_in_review(desk: Desk,
                                                             status: DossierStatus) -> None:
    d = desk.dossier(status)
    error = refusal(desk.ines.request_documents, d, ["rib"], "2027-02-10")
    assert error.status == 422 and error.code is Refusal.TRANSITION
    assert desk.ines.dossier(d)["requests"] == []


def test_a_request_on_a_stale_view_is_409(desk: Desk) -> None:
    d = desk.dossier(S.RECEIVED)
    error = refusal(desk.ines.request_documents, d, ["rib"], "2027-02-10", "", "in_review")
    assert error.status == 409 and error.code is Refusal.STALE


def test_an_instructor_may_not_withdraw_a_colleagues_request_a_supervisor_may(
        desk: Desk) -> None:
    d = desk.dossier()
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    error = refusal(desk.marc.withdraw_request, d, made["request_id"])
    assert error.status == 403 and error.code is Refusal.ROLE
    assert error.details["requester"] == ["ines"]
    done = desk.paula.withdraw_request(d, made["request_id"])
    assert done["state"] == "withdrawn"
    view = desk.ines.dossier(d)
    assert view["status"] == "in_review" and view["message"] == docrequests.WITHDRAWN_MESSAGE
    # A withdrawn request counts as never made: the date is the one of receipt again.
    assert view["deemed"]["deemed_on"] == "2027-03-04"
    again = refusal(desk.ines.withdraw_request, d, made["request_id"])
    assert again.status == 409 and again.code is Refusal.REQUEST_STATE
    # And a new request may be made.
    assert desk.ines.request_documents(d, ["lease"], "2027-02-10")["state"] == "open"


def test_the_requester_withdraws_their_own_request(desk: Desk) -> None:
    d = desk.dossier()
    made = desk.marc.request_documents(d, ["lease"], "2027-02-10")
    assert desk.marc.withdraw_request(d, made["request_id"])["state"] == "withdrawn"


def test_a_plain_status_change_while_a_request_is_open_is_409(desk: Desk) -> None:
    d = desk.dossier()
    desk.ines.request_documents(d, ["rib"], "2027-02-10")
    for status in ("closed", "in_review"):
        error = refusal(desk.ines.set_status, d, status, "Classé.")
        assert error.status == 409 and error.code is Refusal.OPEN_REQUEST
    assert desk.ines.dossier(d)["status"] == "incomplete"


def test_an_unknown_request_id_is_409_and_a_bad_one_never_reaches_the_store(
        desk: Desk) -> None:
    d = desk.dossier()
    for rid in ("rq_doesnotexist", "x"):
        error = refusal(desk.ines.withdraw_request, d, rid)
        assert error.status == 409 and error.code is Refusal.REQUEST_STATE


def test_every_step_is_audited_with_its_author(desk: Desk) -> None:
    d = desk.dossier()

    def tick() -> None:         # the trail is ordered by time: one step a minute
        desk.clock.now += timedelta(minutes=1)

    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    tick()
    refusal(desk.ines.request_documents, d, ["rib"], "2027-02-10")
    tick()
    desk.ines.withdraw_request(d, made["request_id"])
    tick()
    second = desk.ines.request_documents(d, ["lease"], "2027-02-10")
    docrequests.answer(desk.server.bo.metadata, deposit_id=d,
                       request_id=second["request_id"], complement_id="cp_1", at=ANSWERED)
    trail = [(e.actor, e.action, e.outcome.value) for e in reversed(
        StaffStore(desk.server.bo.metadata).audit_trail(deposit_id=d))]
    steps = [t for t in trail if t[1] in (Action.REQUEST_DOCUMENTS, Action.WITHDRAW_REQUEST,
                                          Action.ANSWER_REQUEST)]
    assert steps == [("ines", Action.REQUEST_DOCUMENTS, "done"),
                     ("ines", Action.REQUEST_DOCUMENTS, "refused"),
                     ("ines", Action.WITHDRAW_REQUEST, "done"),
                     ("ines", Action.REQUEST_DOCUMENTS, "done"),
                     ("kiosk", Action.ANSWER_REQUEST, "done")]
    assert ("kiosk", Action.DECIDE, "done") in trail


# ---------------------------------------------------------------------------- the dates
def test_rejection_the_deemed_date_moves_by_the_days_suspended_once_answered(
        desk: Desk) -> None:
    d = desk.dossier()
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    desk.clock.now = ANSWERED
    assert desk.ines.dossier(d)["deemed"]["state"] == "suspended"
    docrequests.answer(desk.server.bo.metadata, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_1", at=ANSWERED)
    view = desk.ines.dossier(d)
    # 4 March + 10 days suspended (20 to 30 January).
    assert view["deemed"] == {"state": "running", "silence": "rejection",
                              "deemed_on": "2027-03-14"}
    record = desk.server.bo.metadata.deposit(d)
    assert record is not None and record.deemed_on == date(2027, 3, 14)


def test_rejection_an_unanswered_request_suspends_until_its_deadline_only(desk: Desk) -> None:
    d = desk.dossier()
    desk.ines.request_documents(d, ["rib"], "2027-02-10")
    desk.clock.now = datetime(2027, 2, 11, 12, 0, tzinfo=UTC)
    view = desk.ines.dossier(d)
    # 4 March + the 21 days from the request to its deadline.
    assert view["deemed"] == {"state": "running", "silence": "rejection",
                              "deemed_on": "2027-03-25"}
    assert view["requests"][0]["expired"] is True


@pytest.fixture
def acceptance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A test catalog beside the shipped one: a procedure whose silence means acceptance after
    2 months (none ships). The back office runs in this process and reads the catalog through
    procedures.shipped(), so the test catalog is handed over there."""
    folder = tmp_path / "catalog"
    folder.mkdir()
    text = (Path(procedures.__file__).parents[1] / "assets" / "catalog" / f"{CAF}.toml"
            ).read_text(encoding="utf-8")
    text = text.replace(f'code = "{CAF}"', 'code = "test-accord"', 1).replace(
        'silence = "rejection"', 'silence = "acceptance"', 1)
    (folder / "test-accord.toml").write_text(text, encoding="utf-8")
    catalog = {**procedures.load(), **procedures.load(folder)}
    assert catalog["test-accord"].silence is Silence.ACCEPTANCE
    monkeypatch.setattr(procedures, "shipped", lambda: catalog)
    return "test-accord"


def test_acceptance_the_whole_delay_starts_again_from_the_answer(desk: Desk,
                                                                 acceptance: str) -> None:
    d = desk.dossier(procedure=acceptance)
    assert desk.ines.dossier(d)["deemed"]["deemed_on"] == "2027-03-04"
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    assert desk.ines.dossier(d)["deemed"] == {"state": "suspended", "silence": "acceptance",
                                              "deemed_on": None}
    desk.clock.now = ANSWERED
    docrequests.answer(desk.server.bo.metadata, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_1", at=ANSWERED)
    view = desk.ines.dossier(d)
    assert view["deemed"] == {"state": "running", "silence": "acceptance",
                              "deemed_on": "2027-03-30"}      # 30 January + 2 months
    record = desk.server.bo.metadata.deposit(d)
    assert record is not None and record.deemed_on == date(2027, 3, 30)


def test_acceptance_past_the_deadline_without_documents_has_no_date(desk: Desk,
                                                                   acceptance: str) -> None:
    d = desk.dossier(procedure=acceptance)
    desk.ines.request_documents(d, ["rib"], "2027-02-10")
    desk.clock.now = datetime(2027, 3, 20, tzinfo=UTC)
    assert desk.ines.dossier(d)["deemed"] == {"state": "documents_overdue",
                                              "silence": "acceptance", "deemed_on": None}


# ---------------------------------------------------------------------------- answer()
def test_answer_marks_the_request_answered_and_the_dossier_in_review_by_the_kiosk(
        desk: Desk) -> None:
    d = desk.dossier()
    made = desk.ines.request_documents(d, ["rib", "lease"], "2027-02-10")
    store = desk.server.bo.metadata
    assert docrequests.open_request(store, d) is not None
    docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_123", at=ANSWERED)
    assert docrequests.open_request(store, d) is None
    [request] = docrequests.requests_of(store, d)
    assert request.state is RequestState.ANSWERED and request.complement_id == "cp_123"
    assert request.answered_at == ANSWERED and request.documents == ("rib", "lease")
    last = StaffStore(store).history(d)[-1]
    assert (last.status, last.actor, last.message) == (S.IN_REVIEW, "kiosk",
                                                       docrequests.ANSWERED_MESSAGE)


def test_answer_refuses_a_request_that_is_not_open_or_not_the_dossiers(desk: Desk) -> None:
    store = desk.server.bo.metadata
    d, other = desk.dossier(), desk.dossier()
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    with pytest.raises(RequestConflict, match="has no request"):
        docrequests.answer(store, deposit_id=other, request_id=made["request_id"],
                           complement_id="cp_1", at=ANSWERED)
    docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_1", at=ANSWERED)
    with pytest.raises(RequestConflict, match="is answered, not open"):
        docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                           complement_id="cp_2", at=ANSWERED)
    [request] = docrequests.requests_of(store, d)
    assert request.complement_id == "cp_1"               # the first answer stays


def test_answer_refused_by_the_state_machine_writes_nothing(desk: Desk) -> None:
    """A dossier made incomplete by hand meanwhile cannot happen through the API; written
    straight into the store, the state machine still guards the answer."""
    store = desk.server.bo.metadata
    d = desk.dossier()
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    with store.transaction() as cur:
        cur.execute("UPDATE deposits SET status = 'accepted' WHERE deposit_id = ?", (d,))
    with pytest.raises(DecisionError):
        docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                           complement_id="cp_1", at=ANSWERED)
    assert docrequests.requests_of(store, d)[0].state is RequestState.OPEN


def test_the_deemed_date_stored_follows_each_step(desk: Desk) -> None:
    store = desk.server.bo.metadata
    d = desk.dossier()
    with store.transaction() as cur:
        assert docrequests.recompute_deemed_on(cur, d) == date(2027, 3, 4)
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    record = store.deposit(d)
    assert record is not None and record.deemed_on is None           # suspended
    docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_1", at=ANSWERED)
    with store.transaction() as cur:
        assert docrequests.recompute_deemed_on(cur, d) == date(2027, 3, 14)
    assert deadlines.receipt_date(ANSWERED) == date(2027, 1, 30)


# ---------------------------------------------------------------------------- status page
@pytest.fixture
def incomplete(server: RunningServer, kiosk: FakeKiosk, tmp_path: Path):
    """A delivered caf-aide-logement deposit (clock: now) with an open request for the
    identity document and the RIB, due in ten days."""
    made = kiosk.make(size=1000, procedure=CAF)
    assert kiosk.deliver(made).outcome == "delivered"
    deadline = (datetime.now(UTC) + timedelta(days=10)).date()
    with server.add_staff(tmp_path / "profiles", "ines") as ines:
        ines.request_documents(made.deposit_id, ["identity", "rib"], deadline.isoformat())
    return made, deadline


def test_the_status_page_lists_the_documents_in_french_with_the_deadline_and_the_kiosk(
        server: RunningServer, incomplete) -> None:
    made, deadline = incomplete
    r = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token})
    text = html.unescape(r.text)
    assert r.status_code == 200 and "Pièces demandées" in text
    assert "<li>Pièce d'identité</li>" in text
    assert "<li>Relevé d'identité bancaire (RIB)</li>" in text
    assert "n'importe quelle borne de dépôt" in text and "code QR de votre reçu" in text
    from babel.dates import format_date
    assert f"au plus tard le {format_date(deadline, 'long', locale='fr')}" in text
    assert "Le délai est suspendu jusqu'à l'arrivée des pièces." in text


def test_the_status_page_shows_the_staff_note_once_and_not_the_french_message_again(
        server: RunningServer, kiosk: FakeKiosk, tmp_path: Path) -> None:
    """The request's section lists the documents in the page's language: the message the
    request generated (in French, for the history) is not shown again below it; the staff's
    note is."""
    made = kiosk.make(size=1000, procedure=CAF)
    assert kiosk.deliver(made).outcome == "delivered"
    deadline = (datetime.now(UTC) + timedelta(days=10)).date()
    with server.add_staff(tmp_path / "profiles", "ines") as ines:
        ines.request_documents(made.deposit_id, ["rib"], deadline.isoformat(),
                               note="Le RIB doit être à votre nom.")
    record = server.bo.metadata.deposit(made.deposit_id)
    assert record is not None and "Pièces manquantes" in record.status_message
    r = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token, "lang": "es"})
    text = html.unescape(r.text)
    assert "Pièces manquantes" not in text
    assert text.count("Le RIB doit être à votre nom.") == 1


def test_the_status_page_lists_the_documents_in_arabic(server: RunningServer,
                                                       incomplete) -> None:
    made, _deadline = incomplete
    r = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token, "lang": "ar"})
    assert '<html lang="ar" dir="rtl">' in r.text
    assert "الوثائق المطلوبة" in r.text                       # documents requested
    assert "<li>وثيقة الهوية</li>" in r.text and "<li>كشف الهوية البنكية (RIB)</li>" in r.text
    assert "رمز QR" in r.text and "المهلة معلّقة إلى حين وصول الوثائق." in r.text


def test_the_status_page_shows_the_deemed_date_and_no_documents_without_a_request(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    made = kiosk.make(size=1000, procedure=CAF)
    assert kiosk.deliver(made).outcome == "delivered"
    r = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token, "lang": "en"})
    assert "Documents requested" not in r.text
    record = server.bo.metadata.deposit(made.deposit_id)
    assert record is not None and record.deemed_on is not None
    from babel.dates import format_date
    assert (f"Your request will be deemed rejected on "
            f"{format_date(record.deemed_on, 'long', locale='en')}.") in r.text


# ---------------------------------------------------------------------------- CLI
@pytest.mark.slow
def test_the_request_command_asks_lists_and_withdraws(server: RunningServer, kiosk: FakeKiosk,
                                                      tmp_path: Path) -> None:
    server.add_staff(tmp_path / "issued", "ines").close()
    folder = tmp_path / "desk"
    folder.mkdir()
    shutil.copytree(tmp_path / "issued" / "ines", folder / "profile")
    env = {"BACKOFFICE_PROFILE": "profile",
           "BACKOFFICE_STAFF_PASSPHRASE": STAFF_PASSPHRASE.decode()}
    d = store_record(server.bo, kiosk, status=S.IN_REVIEW, procedure=CAF)
    deadline = (datetime.now(UTC) + timedelta(days=15)).date().isoformat()
    done = run_cli("backoffice", ["request", "ask", d, "identity", "passport", "--deadline",
                                  deadline], env=env, cwd=folder)
    assert done.returncode == 2 and "passport" in done.stderr
    done = run_cli("backoffice", ["request", "ask", d, "identity", "--deadline", deadline],
                   env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "asks for Pièce d'identité by " + deadline in done.stdout
    request_id = done.stdout.split()[1]
    listed = run_cli("backoffice", ["request", "list", d], env=env, cwd=folder)
    assert f"{request_id}  open" in listed.stdout and "rent-receipt" in listed.stdout
    done = run_cli("backoffice", ["request", "withdraw", d, request_id], env=env, cwd=folder)
    assert done.returncode == 0 and f"{request_id} withdrawn" in done.stdout


def test_a_history_the_rules_cannot_count_gets_no_date_and_the_answer_still_goes_through(
        desk: Desk) -> None:
    """A request written by hand with a date before the receipt (deadlines.py refuses such a
    timeline): the complement is still recorded, and no deemed date rather than a wrong one."""
    store = desk.server.bo.metadata
    d = desk.dossier()
    made = desk.ines.request_documents(d, ["rib"], "2027-02-10")
    with store.transaction() as cur:
        cur.execute("UPDATE document_requests SET requested_at = ? WHERE request_id = ?",
                    ("2026-12-01T00:00:00.000000Z", made["request_id"]))
    docrequests.answer(store, deposit_id=d, request_id=made["request_id"],
                       complement_id="cp_1", at=ANSWERED)
    record = store.deposit(d)
    assert record is not None and record.status is S.IN_REVIEW and record.deemed_on is None
    assert desk.ines.dossier(d)["deemed"] is None
