"""The staff API against a real served back office, on SQLite; on PostgreSQL too where the
engine's SQL matters (the inbox's filters, sort and pages, the state machine's transactions,
stale decisions, the audit trail's order, the export).

Staff members are real accounts with personal certificates of the staff CA
(``RunningServer.add_staff``) talking to the staff listener over mutual TLS
through :class:`~backoffice.staffclient.StaffClient`, the client the CLI and
the workspace use. Dossiers are genuine deliveries where the envelope matters
(fetch, the status page) and rows written straight into the store where only
the row does (paging, the state machine).

What is pinned: the inbox's filters, sort and pages, and its refusal of bad
parameters; the dossier view; decisions as the state machine of
backoffice/decisions.py (every pair of statuses), motives, personal data in a
message and stale decisions; line breaks kept end to end; what each role may
do, and that refusals are audited with their author; disabled, foreign and
reissued certificates; the audit trail of a sequence of calls; the CSV export;
envelopes verified against their kiosk-signed manifest.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backoffice import decisions, pki, procedures, staffaccounts
from backoffice.errors import StaffToolError
from backoffice.roles import Role
from backoffice.staffclient import (
    Profile,
    StaffAPIError,
    StaffClient,
    load_profile,
    write_profile,
)
from backoffice.status import DossierStatus
from tests.backoffice.harness import (
    STAFF_PASSPHRASE,
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    enroll,
    store_record,
)
from tests.backoffice.postgres import PrivatePostgres

S = DossierStatus


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for both engines (:data:`BOTH_ENGINES`)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def metadata_url(engine: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Overrides tests/backoffice/conftest.py's: roles, certificates and envelopes behave
    the same on both engines, and a PostgreSQL database per test costs seconds."""
    if engine == "sqlite":
        yield None
        return
    server: PrivatePostgres = request.getfixturevalue("postgres_server")
    with server.database() as url:
        yield url


BOTH_ENGINES = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


@dataclass
class Team:
    """Four accounts of one service: two instructors, a supervisor, an administrator."""

    ines: StaffClient       # instructor
    ivan: StaffClient       # instructor
    sam: StaffClient        # supervisor
    ada: StaffClient        # administrator

    def close(self) -> None:
        for client in (self.ines, self.ivan, self.sam, self.ada):
            client.close()


@pytest.fixture
def team(server: RunningServer, tmp_path: Path) -> Iterator[Team]:
    made = Team(server.add_staff(tmp_path / "profiles", "ines", Role.INSTRUCTOR),
                server.add_staff(tmp_path / "profiles", "ivan", Role.INSTRUCTOR),
                server.add_staff(tmp_path / "profiles", "sam", Role.SUPERVISOR),
                server.add_staff(tmp_path / "profiles", "ada", Role.ADMINISTRATOR))
    yield made
    made.close()


def refused(call: Callable[[], object], status: int) -> str:
    """Run ``call``, expect the staff API to answer ``status``; the error's text."""
    with pytest.raises(StaffAPIError) as caught:
        call()
    assert caught.value.status == status, str(caught.value)
    return str(caught.value)


def delivered(kiosk: FakeKiosk, **make: object) -> MadeDeposit:
    made = kiosk.make(size=5_000, **make)  # type: ignore[arg-type]
    assert kiosk.deliver(made).outcome == "delivered"
    return made


def ids(page: dict[str, object]) -> list[str]:
    rows = page["rows"]
    assert isinstance(rows, list)
    return [r["deposit_id"] for r in rows]


# ---------------------------------------------------------------------- the inbox


@BOTH_ENGINES
def test_an_instructor_filters_the_inbox_by_procedure_status_kiosk_assignee_and_due_date(
        server: RunningServer, kiosk: FakeKiosk, team: Team, tmp_path: Path) -> None:
    enroll(server.data, "GARE-02", tmp_path / "bundle-2")
    day = datetime(2030, 3, 10, tzinfo=UTC)
    apl = store_record(server.bo, kiosk, procedure="caf-apl", due=day)
    grise = store_record(server.bo, kiosk, procedure="carte-grise", due=day + timedelta(days=5),
                         status=S.IN_REVIEW, assignee="ines")
    gare = store_record(server.bo, kiosk, procedure="caf-apl", kiosk_id="GARE-02",
                        status=S.IN_REVIEW, assignee="ivan", due=day + timedelta(days=20))
    undated = store_record(server.bo, kiosk, procedure="carte-grise")

    def matching(**params: str) -> set[str]:
        return set(ids(team.ines.inbox(**params)))

    assert matching() == {apl, grise, gare, undated}
    assert matching(procedure="carte-grise") == {grise, undated}
    assert matching(status="in_review") == {grise, gare}
    assert matching(kiosk="GARE-02") == {gare}
    assert matching(assignee="@me") == {grise}
    assert matching(assignee="ivan") == {gare}
    assert matching(assignee="@none") == {apl, undated}
    assert matching(due_before="2030-03-15") == {apl}               # strictly before
    assert matching(due_after="2030-03-15") == {grise, gare}        # at or after
    assert matching(due_after="2030-03-11", due_before="2030-03-20") == {grise}
    assert matching(procedure="caf-apl", status="received", kiosk=kiosk.enrollment.kiosk_id) \
        == {apl}
    assert matching(procedure="nothing-like-it") == set()


@BOTH_ENGINES
def test_the_inbox_sorts_by_each_key_both_ways_with_undated_dossiers_last(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    early = store_record(server.bo, kiosk, received=start, due=start + timedelta(days=60),
                         procedure="carte-grise")
    late = store_record(server.bo, kiosk, received=start + timedelta(hours=1),
                        due=start + timedelta(days=10), procedure="caf-apl")
    undated = store_record(server.bo, kiosk, received=start + timedelta(hours=2),
                           procedure="impots-justificatifs")

    assert ids(team.ines.inbox(sort="received")) == [early, late, undated]
    assert ids(team.ines.inbox(sort="received", order="desc")) == [undated, late, early]
    assert ids(team.ines.inbox(sort="due")) == [late, early, undated]
    assert ids(team.ines.inbox(sort="due", order="desc")) == [early, late, undated]
    assert ids(team.ines.inbox(sort="procedure")) == [late, early, undated]
    assert ids(team.ines.inbox(sort="deposit")) == sorted([early, late, undated])


@BOTH_ENGINES
def test_the_inbox_pages_every_dossier_once_and_says_how_many_pages(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    made = [store_record(server.bo, kiosk, received=start + timedelta(minutes=n))
            for n in range(12)]
    pages = [team.ines.inbox(per_page=5, page=n) for n in (1, 2, 3)]
    assert [(p["total"], p["pages"], p["page"], len(p["rows"])) for p in pages] == \
        [(12, 3, 1, 5), (12, 3, 2, 5), (12, 3, 3, 2)]
    assert [i for p in pages for i in ids(p)] == made
    beyond = team.ines.inbox(per_page=5, page=4)
    assert beyond["rows"] == [] and beyond["total"] == 12


@pytest.mark.parametrize(("params", "named"), [
    ({"colour": "red"}, "colour"),
    ({"status": "finished"}, "status"),
    ({"sort": "size"}, "sort"),
    ({"order": "sideways"}, "order"),
    ({"page": "two"}, "page"),
    ({"page": "0"}, "page"),
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "501"}, "per_page"),
    ({"due_before": "10/03/2030"}, "due_before"),
    ({"due_after": "2030-13-01"}, "due_after"),
    ({"assignee": "Not A Name"}, "assignee"),
])
def test_the_inbox_refuses_an_unknown_parameter_or_a_bad_value_naming_it(
        server: RunningServer, team: Team, params: dict[str, str], named: str) -> None:
    error = refused(lambda: team.ines.inbox(**params), 400)
    assert named in error


# ---------------------------------------------------------------------- one dossier


def test_the_dossier_view_has_facts_manifest_history_with_actors_annotations_and_next_steps(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    made = delivered(kiosk, procedure="impots-justificatifs")
    team.ines.set_status(made.deposit_id, "in_review")
    team.ivan.annotate(made.deposit_id, "Pièce d'identité floue,\nà revoir.")
    team.ines.set_status(made.deposit_id, "incomplete", "Il manque le justificatif de domicile.")

    view = team.sam.dossier(made.deposit_id)
    assert (view["deposit_id"], view["kiosk_id"], view["procedure"], view["status"]) == \
        (made.deposit_id, "MAIRIE-01", "impots-justificatifs", "incomplete")
    assert view["procedure_name"] == procedures.shipped()["impots-justificatifs"].name
    assert (view["envelope_size"], view["envelope_sha256"]) == (made.size, made.sha256)
    assert view["assignee"] == "ines"                   # taking it in review assigned it
    assert view["received"].endswith("Z") and view["message"] == \
        "Il manque le justificatif de domicile."
    assert view["manifest"]["deposit_id"] == made.deposit_id
    assert view["manifest"]["envelope_sha256"] == made.sha256
    assert "tracking_token_sha256" not in view["manifest"]     # what the receipt's link holds
    assert view["kiosk_signing_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert [(h["status"], h["actor"]) for h in view["history"]] == \
        [("received", None), ("in_review", "ines"), ("incomplete", "ines")]
    assert [(n["author"], n["text"]) for n in view["annotations"]] == \
        [("ivan", "Pièce d'identité floue,\nà revoir.")]
    assert view["next"] == [s.value for s in decisions.allowed(S.INCOMPLETE)]
    assert set(view["needs_motive"]) == {"rejected", "incomplete"}
    assert {("ines", "decide"), ("ivan", "annotate")} <= \
        {(e["actor"], e["action"]) for e in view["audit"]}


def test_an_unknown_or_malformed_deposit_number_is_404(server: RunningServer,
                                                       team: Team) -> None:
    assert "not a deposit number" in refused(lambda: team.ines.dossier("garbage"), 404)
    assert "no deposit" in refused(lambda: team.ines.dossier("0000-0000-0000"), 404)


# ---------------------------------------------------------------------- decisions


@BOTH_ENGINES
def test_every_transition_outside_the_state_machine_is_refused_and_changes_nothing(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    # Every pair of statuses on one served back office (a dossier of its own for each).
    for current, new in itertools.product(S, S):
        deposit_id = store_record(server.bo, kiosk, status=current, message="avant")
        before = team.ines.dossier(deposit_id)
        if new in decisions.TRANSITIONS[current]:
            answer = team.ines.set_status(deposit_id, new.value, "Motif de la décision.")
            assert answer["status"] == new.value, (current, new)
            assert team.ines.dossier(deposit_id)["status"] == new.value, (current, new)
            continue
        def move(d: str = deposit_id, n: DossierStatus = new) -> object:
            return team.ines.set_status(d, n.value, "Motif.")

        error = refused(move, 422)
        assert f"cannot become {new.words}" in error, (current, new)
        after = team.ines.dossier(deposit_id)
        assert (after["status"], after["message"], after["status_at"], after["history"]) == \
            (before["status"], before["message"], before["status_at"], before["history"]), \
            (current, new)


@pytest.mark.parametrize("decision", sorted(decisions.NEEDS_MOTIVE))
def test_a_rejection_or_an_incomplete_dossier_needs_a_motive(
        server: RunningServer, kiosk: FakeKiosk, team: Team, decision: DossierStatus) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.IN_REVIEW)
    for blank in ("", "  \n\t "):
        error = refused(lambda m=blank: team.ines.set_status(  # type: ignore[misc]
            deposit_id, decision.value, m), 422)
        assert "needs a message" in error
    assert team.ines.dossier(deposit_id)["status"] == "in_review"
    answer = team.ines.set_status(deposit_id, decision.value, "  Le justificatif manque.  ")
    assert (answer["status"], answer["message"]) == (decision.value, "Le justificatif manque.")


@pytest.mark.parametrize(("message", "kind"), [
    ("Écrivez-nous à jean.dupont@example.fr pour la suite.", "e-mail address"),
    ("Rappelez le 06 12 34 56 78 aux heures d'ouverture.", "phone number"),
    # A valid IBAN (and RIB key) whose digits hold nothing that looks like a phone number.
    ("Le virement ira sur FR76 1234 5678 9112 3456 7891 253.", "IBAN"),
])
def test_a_message_carrying_personal_data_is_refused_naming_its_kind(
        server: RunningServer, kiosk: FakeKiosk, team: Team, message: str, kind: str) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.IN_REVIEW)
    error = refused(lambda: team.ines.set_status(deposit_id, "rejected", message), 422)
    assert kind in error
    view = team.ines.dossier(deposit_id)
    assert (view["status"], view["message"]) == ("in_review", "")


@BOTH_ENGINES
def test_a_decision_on_a_dossier_someone_changed_meanwhile_is_409_and_changes_nothing(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.RECEIVED)
    team.ivan.set_status(deposit_id, "in_review", expected="received")
    error = refused(lambda: team.ines.set_status(deposit_id, "in_review", expected="received"),
                    409)
    assert "someone changed it meanwhile" in error
    assert team.ines.dossier(deposit_id)["assignee"] == "ivan"
    answer = team.ines.set_status(deposit_id, "accepted", "Dossier complet.",
                                  expected="in_review")
    assert answer["status"] == "accepted"


def test_a_message_keeps_its_line_breaks_in_the_answer_the_inbox_and_the_status_page(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    made = delivered(kiosk)
    team.ines.set_status(made.deposit_id, "in_review")
    sent = "Il manque :\r\n- le justificatif de domicile\r\n- le dernier avis d'imposition"
    kept = sent.replace("\r\n", "\n")
    assert team.ines.set_status(made.deposit_id, "incomplete", sent)["message"] == kept
    [row] = team.ines.inbox(status="incomplete")["rows"]
    assert row["message"] == kept
    assert team.ines.dossier(made.deposit_id)["history"][-1]["message"] == kept
    page = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token})
    assert page.status_code == 200
    assert ("Il manque :\n- le justificatif de domicile\n- le dernier avis "
            "d&#x27;imposition</blockquote>") in page.text
    assert "white-space:pre-wrap" in page.text    # the browser shows the breaks


# ---------------------------------------------------------------------- roles


def test_an_administrator_can_neither_view_nor_decide_but_reads_the_audit(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.RECEIVED)
    assert "administrator" in refused(lambda: team.ada.inbox(), 403)
    refused(lambda: team.ada.dossier(deposit_id), 403)
    refused(lambda: team.ada.set_status(deposit_id, "in_review"), 403)
    refused(lambda: team.ada.fetch_bytes(deposit_id), 403)
    assert team.ada.get("/audit")["entries"]
    assert team.ines.dossier(deposit_id)["status"] == "received"


def test_an_instructor_takes_a_dossier_but_cannot_give_it_to_someone_else(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk)
    refused(lambda: team.ines.assign(deposit_id, "ivan"), 403)
    assert team.ines.dossier(deposit_id)["assignee"] is None
    assert team.ines.assign(deposit_id, "ines")["assignee"] == "ines"
    assert team.ines.assign(deposit_id, None)["assignee"] is None     # gives it up
    assert team.ines.dossier(deposit_id)["assignee"] is None
    refused(lambda: team.ines.get("/audit"), 403)


def test_a_supervisor_assigns_to_anyone_but_not_to_an_unknown_or_disabled_account(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk)
    assert team.sam.assign(deposit_id, "ivan")["assignee"] == "ivan"
    assert team.sam.assign(deposit_id, "ines")["assignee"] == "ines"
    assert "nobody-here" in refused(lambda: team.sam.assign(deposit_id, "nobody-here"), 400)
    staffaccounts.disable(server.data, "ivan", now=datetime.now(UTC))
    refused(lambda: team.sam.assign(deposit_id, "ivan"), 400)
    assert team.sam.dossier(deposit_id)["assignee"] == "ines"
    assert team.sam.get("/audit")["entries"]


def test_every_refusal_of_a_role_is_in_the_audit_trail_with_its_author(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.IN_REVIEW)
    refused(lambda: team.ada.dossier(deposit_id), 403)
    refused(lambda: team.ada.set_status(deposit_id, "accepted", "ok"), 403)
    refused(lambda: team.ines.assign(deposit_id, "ivan"), 403)
    refused(lambda: team.ivan.get("/audit"), 403)
    refused(lambda: team.ivan.set_status(deposit_id, "received"), 422)

    entries = team.sam.get("/audit", {"limit": 1000})["entries"]
    refusals = [(e["actor"], e["action"], e["deposit_id"]) for e in entries
                if e["outcome"] == "refused"]
    assert sorted(refusals, key=str) == sorted([
        ("ada", "view", deposit_id), ("ada", "decide", deposit_id),
        ("ines", "assign", deposit_id), ("ivan", "audit", None),
        ("ivan", "decide", deposit_id)], key=str)
    details = {e["actor"] + ":" + e["action"]: e["detail"] for e in entries
               if e["outcome"] == "refused"}
    assert "administrator" in details["ada:view"] and "cannot become" in details["ivan:decide"]


# ---------------------------------------------------------------------- certificates


def handshake(url: str, context: ssl.SSLContext) -> str | None:
    """None when a TLS handshake with ``url`` over ``context`` completes, else its error.

    TLS 1.2 only: there the server judges the client certificate inside the handshake (TLS
    1.3 finishes the client's side first and drops the connection after).
    """
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    host, port = url.removeprefix("https://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host):
                return None
        except (ssl.SSLError, ConnectionError) as exc:
            return str(exc) or type(exc).__name__


def profile_context(profile: Profile) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(profile.server_ca))
    context.load_cert_chain(str(profile.cert), str(profile.key), password=STAFF_PASSPHRASE)
    return context


def test_a_disabled_account_is_refused_at_its_next_request_though_its_handshake_works(
        server: RunningServer, team: Team) -> None:
    assert team.ivan.me()["name"] == "ivan"
    staffaccounts.disable(server.data, "ivan", now=datetime.now(UTC))
    assert "disabled" in refused(team.ivan.me, 403)
    profile = load_profile(team.ivan.profile.folder)
    assert handshake(server.staff_url, profile_context(profile)) is None
    with StaffClient(profile, STAFF_PASSPHRASE) as fresh:    # a new connection, same answer
        assert "disabled" in refused(fresh.me, 403)
    assert team.ines.me()["name"] == "ines"


def test_a_certificate_of_another_staff_ca_is_refused_at_the_handshake(
        server: RunningServer, team: Team, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    rogue_ca = pki.create_ca(now, name="Deposit back-office staff CA")   # same name, other key
    issued = pki.issue_staff(rogue_ca, "ines", now, STAFF_PASSPHRASE)
    profile = write_profile(tmp_path / "rogue", "ines", server.staff_url, issued.cert_pem,
                            issued.key_pem, server.bo.settings.ca_cert.read_bytes())
    with StaffClient(profile, STAFF_PASSPHRASE) as rogue, \
            pytest.raises(StaffToolError) as caught:
        rogue.me()
    assert not isinstance(caught.value, StaffAPIError)   # no HTTP answer at all
    assert "cannot reach the staff API" in str(caught.value)
    assert handshake(server.staff_url, profile_context(profile)) is not None
    assert handshake(server.staff_url, profile_context(team.ines.profile)) is None


def test_a_kiosk_certificate_is_refused_at_the_staff_handshake(
        server: RunningServer, kiosk: FakeKiosk) -> None:
    assert handshake(server.staff_url, kiosk.enrollment.ssl_context()) is not None
    # The same certificate opens the kiosks' listener: the staff listener is what refused it.
    assert handshake(server.url, kiosk.enrollment.ssl_context()) is None


def test_a_reissued_certificate_works_and_the_old_one_is_refused(
        server: RunningServer, team: Team, tmp_path: Path) -> None:
    old = team.ines
    profile = staffaccounts.reissue(server.data, "ines", tmp_path / "ines-new",
                                    STAFF_PASSPHRASE, now=datetime.now(UTC))
    with StaffClient(profile, STAFF_PASSPHRASE) as new:
        assert new.me()["name"] == "ines"
        assert "belongs to no account" in refused(old.me, 403)
        assert new.me()["role"] == "instructor"


# ---------------------------------------------------------------------- the audit trail


@BOTH_ENGINES
def test_the_audit_trail_lists_every_action_of_a_sequence_with_author_and_time_in_order(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    made = delivered(kiosk)
    started = datetime.now(UTC)
    team.ines.me()
    team.ines.inbox(status="received")
    team.ines.dossier(made.deposit_id)
    team.ines.assign(made.deposit_id, "ines")
    team.ines.annotate(made.deposit_id, "Vu.")
    team.ines.set_status(made.deposit_id, "in_review")
    refused(lambda: team.ines.set_status(made.deposit_id, "rejected"), 422)
    team.ines.set_status(made.deposit_id, "rejected", "Le document n'est pas lisible.")
    team.ines.fetch_bytes(made.deposit_id)
    team.ines.export_csv()
    ended = datetime.now(UTC)

    entries = list(reversed(team.sam.get("/audit", {"actor": "ines"})["entries"]))
    d = made.deposit_id
    assert [(e["action"], e["outcome"], e["deposit_id"]) for e in entries] == [
        ("sign_in", "done", None), ("inbox", "done", None), ("view", "done", d),
        ("assign", "done", d), ("annotate", "done", d), ("decide", "done", d),
        ("decide", "refused", d), ("decide", "done", d),
        ("view", "done", d), ("fetch", "done", d),        # fetch_bytes: facts, then envelope
        ("export", "done", None)]
    assert {e["actor"] for e in entries} == {"ines"}
    times = [datetime.strptime(e["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
             for e in entries]
    assert times == sorted(times)
    assert started.replace(microsecond=0) <= times[0] and times[-1] <= ended
    assert "in_review -> rejected" in entries[7]["detail"]
    assert "status=received" in entries[1]["detail"]
    # The supervisor's own reading is in it too, after the rest.
    assert team.sam.get("/audit", {"actor": "sam"})["entries"][-1]["action"] == "audit"


# ---------------------------------------------------------------------- CSV export


@BOTH_ENGINES
def test_the_csv_export_holds_every_filtered_row_of_every_page_and_neutralises_formulas(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    wanted = [store_record(server.bo, kiosk, procedure="carte-grise",
                           received=start + timedelta(minutes=n)) for n in range(130)]
    store_record(server.bo, kiosk, procedure="caf-apl")
    formula = store_record(server.bo, kiosk, procedure="carte-grise", status=S.REJECTED,
                           message='=HYPERLINK("http://evil.example","cliquez")',
                           received=start + timedelta(days=1))
    assert team.ines.inbox(procedure="carte-grise", per_page=50)["pages"] == 3

    raw = team.ines.export_csv(procedure="carte-grise", per_page=50, page=1)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert [r["deposit_id"] for r in rows] == [*wanted, formula]
    assert {r["procedure"] for r in rows} == {"carte-grise"}
    last = rows[-1]
    assert last["message"] == '\'=HYPERLINK("http://evil.example","cliquez")'
    assert (last["status"], last["received"]) == ("rejected", "2030-01-02T00:00:00Z")


def test_the_csv_export_keeps_a_multi_line_message_in_one_cell(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.INCOMPLETE,
                              message="Il manque :\n- la page 2")
    rows = list(csv.DictReader(io.StringIO(team.ines.export_csv().decode("utf-8"))))
    assert [(r["deposit_id"], r["message"]) for r in rows] == \
        [(deposit_id, "Il manque :\n- la page 2")]


# ---------------------------------------------------------------------- envelopes


def test_fetch_bytes_and_fetch_to_give_the_envelope_verified_against_its_signed_manifest(
        server: RunningServer, kiosk: FakeKiosk, team: Team, tmp_path: Path) -> None:
    made = delivered(kiosk)
    fetched = team.ines.fetch_bytes(made.deposit_id)
    assert fetched.envelope == made.envelope_path.read_bytes()
    assert fetched.manifest == made.manifest
    assert "signature, size and SHA-256 verified" in fetched.verified

    out = tmp_path / "fetched"
    (on_disk,) = team.ines.fetch_to(made.deposit_id, out)     # no complement: one envelope
    assert on_disk.envelope_path is not None
    assert on_disk.envelope_path.read_bytes() == made.envelope_path.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{made.deposit_id}{suffix}" for suffix in (".age", ".manifest.json", ".kiosk-key.pem"))
    with pytest.raises(StaffToolError, match="never overwrites"):
        team.ines.fetch_to(made.deposit_id, out)


def test_an_envelope_altered_in_the_object_store_is_refused_by_the_client_and_nothing_kept(
        server: RunningServer, kiosk: FakeKiosk, team: Team, tmp_path: Path) -> None:
    made = delivered(kiosk)
    record = server.bo.metadata.deposit(made.deposit_id)
    assert record is not None
    stored_file = server.data / "objects" / record.object_key
    raw = bytearray(stored_file.read_bytes())
    raw[len(raw) // 2] ^= 0x01                    # same size, one bit flipped
    stored_file.write_bytes(bytes(raw))

    with pytest.raises(StaffToolError, match="does not match its signed manifest"):
        team.ines.fetch_bytes(made.deposit_id)
    out = tmp_path / "fetched"
    with pytest.raises(StaffToolError, match="not kept"):
        team.ines.fetch_to(made.deposit_id, out)
    assert list(out.iterdir()) == []              # no envelope, no temporary file


def test_the_manifest_an_envelope_is_checked_against_is_the_one_the_kiosk_signed(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    made = delivered(kiosk)
    # Someone with write access to the metadata store swaps in a manifest of their own
    # (claiming the altered envelope's digest): it is not signed by the kiosk's key.
    forged = json.loads(made.manifest)
    forged["manifest"]["envelope_sha256"] = "0" * 64
    with server.bo.metadata.transaction() as cur:
        cur.execute("UPDATE deposits SET manifest = ? WHERE deposit_id = ?",
                    (json.dumps(forged, separators=(",", ":"), sort_keys=True).encode(),
                     made.deposit_id))
    with pytest.raises(StaffToolError, match="fails verification"):
        team.ines.fetch_bytes(made.deposit_id)




def test_a_disabled_accounts_attempt_is_in_the_audit_trail_with_its_author(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.IN_REVIEW)
    staffaccounts.disable(server.data, "ivan", now=datetime.now(UTC))
    refused(lambda: team.ivan.set_status(deposit_id, "accepted", "ok"), 403)
    [entry] = team.sam.get("/audit", {"actor": "ivan"})["entries"]
    assert (entry["action"], entry["outcome"], entry["deposit_id"]) == \
        ("decide", "refused", deposit_id)
    assert "disabled" in entry["detail"]


def test_a_stale_decision_and_an_assignment_to_nobody_known_are_audited_as_refused(
        server: RunningServer, kiosk: FakeKiosk, team: Team) -> None:
    deposit_id = store_record(server.bo, kiosk, status=S.IN_REVIEW)
    refused(lambda: team.ines.set_status(deposit_id, "accepted", "ok", expected="received"),
            409)
    refused(lambda: team.sam.assign(deposit_id, "nobody-here"), 400)
    entries = team.sam.get("/audit", {"deposit": deposit_id})["entries"]
    assert {(e["actor"], e["action"], e["outcome"]) for e in entries} == \
        {("ines", "decide", "refused"), ("sam", "assign", "refused")}
