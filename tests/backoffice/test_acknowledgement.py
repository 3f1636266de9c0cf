"""The accusé de réception: each mention of CRPA R112-5 read back from the PDF with pdftotext,
in the deposit's language then French, frozen once issued, reachable by the citizen with the
token only and by the staff with an audit entry."""

from __future__ import annotations

import logging
import re
import string
import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from backoffice import acknowledgement, legalchain, procedures
from backoffice.acknowledgement_pdf import runs
from backoffice.roles import Action, Outcome, Role
from backoffice.settings import load_settings
from backoffice.staffclient import StaffAPIError
from backoffice.store.acknowledgements import AcknowledgementStore
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import DepositRecord, KioskRecord, MetadataStore
from backoffice.store.staffdb import StaffStore
from deposit.legal import Silence
from tests.backoffice.harness import FakeKiosk, RunningServer

LOCALE = Path(__file__).resolve().parents[2] / "assets" / "locale"
#: 23:41 UTC on 4 December is 00:41 on 5 December in Paris: the day of receipt is the 5th.
RECEIVED = datetime(2026, 12, 4, 23, 41, tzinfo=UTC)
REGISTERED = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
ISSUED = datetime(2026, 12, 4, 23, 41, 5, tzinfo=UTC)
URL = "https://suivi.example.fr"

ACCEPTANCE_TOML = """
code = "autorisation-test"
processing_days = 20

[name]
fr = "Autorisation de voirie (essai)"
ar = "ترخيص الطريق العام (تجربة)"

[service]
postal_address = "Mairie de Sainte-Essai, 1 place de la Mairie, 99999 Sainte-Essai"
email = "voirie@sainte-essai.example.fr"
phone = "01 23 45 67 89"

[service.name]
fr = "Service de la voirie de Sainte-Essai"
ar = "مصلحة الطرق في Sainte-Essai"

[legal]
silence = "acceptance"
decision_delay = "2 months"
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, procedures.ProcedureInfo]:
    """The shipped catalog (silence means rejection or nothing), plus a procedure whose
    silence means acceptance, which no shipped procedure has."""
    folder = tmp_path_factory.mktemp("catalog")
    (folder / "autorisation-test.toml").write_text(ACCEPTANCE_TOML, encoding="utf-8")
    extra = procedures.load(folder)
    assert extra["autorisation-test"].silence is Silence.ACCEPTANCE
    return {**procedures.shipped(), **extra}


def record(procedure: str = "rsa", language: str | None = None,
           deposit_id: str = "MAIR-E01A-0042", deemed_on: date | None = None) -> DepositRecord:
    return DepositRecord(
        deposit_id=deposit_id, kiosk_id="MAIRIE-07", procedure=procedure,
        created_at=REGISTERED, received_at=RECEIVED, envelope_sha256="0" * 64,
        envelope_size=1, tracking_token_sha256="1" * 64, manifest=b"{}",
        object_key="envelopes/x.age", ack=b"", language=language, deemed_on=deemed_on)


def pdf_of(catalog: dict[str, procedures.ProcedureInfo], procedure: str = "rsa",
           language: str | None = None) -> bytes:
    rec = record(procedure, language)
    facts = acknowledgement.facts_for(rec, catalog[procedure], ISSUED)
    return acknowledgement.render_pdf(facts, acknowledgement.status_url(URL, rec.deposit_id))


def pdftotext(pdf: bytes, *pages: int) -> str:
    """The text a reader's tool gets: pdftotext, compatibility forms folded (Arabic letters
    are drawn in their joined presentation forms), direction marks dropped, spaces joined."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    raw = subprocess.run([*args, "-", "-"], input=pdf, capture_output=True, check=True).stdout
    text = unicodedata.normalize("NFKC", raw.decode("utf-8"))
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return re.sub(r"\s+", " ", text)


# ---------------------------------------------------------------------- the mentions
def test_the_date_of_receipt_is_the_paris_day_with_the_kiosk_and_its_registration(
        catalog) -> None:
    text = pdftotext(pdf_of(catalog))
    assert "Le service a reçu votre demande le 5 décembre 2026." in text
    assert "borne en libre-service (MAIRIE-07)" in text
    assert "Le reçu imprimé par la borne le 5 décembre 2026 à 00:30 en est l'accusé " \
           "d'enregistrement (CRPA L112-11)" in text
    assert "Numéro de dépôt : MAIR-E01A-0042" in text


def test_a_rejection_procedure_states_the_day_it_is_deemed_rejected(catalog) -> None:
    # Received on 5 December, two months: 5 February (deadlines.py counts).
    text = pdftotext(pdf_of(catalog, "rsa"))
    assert "votre demande sera réputée rejetée le 5 février 2027." in text
    assert "réputée acceptée" not in text


def test_an_acceptance_procedure_states_the_day_it_is_deemed_accepted(catalog) -> None:
    text = pdftotext(pdf_of(catalog, "autorisation-test"))
    assert "votre demande sera réputée acceptée le 5 février 2027." in text
    assert "réputée rejetée" not in text


def test_a_procedure_whose_silence_means_nothing_says_no_implicit_decision_arises(
        catalog) -> None:
    text = pdftotext(pdf_of(catalog, "cni-predemande"))
    assert "le silence du service ne vaut pas décision : aucune décision implicite ne " \
           "naît." in text
    assert "le silence ne vaut ni acceptation ni rejet." in text
    assert "réputée" not in text


def test_the_service_name_postal_address_email_and_phone_are_stated(catalog) -> None:
    text = pdftotext(pdf_of(catalog, "autorisation-test"))
    assert "4. Le service chargé de votre demande Service de la voirie de Sainte-Essai" in text
    assert "Adresse postale : Mairie de Sainte-Essai, 1 place de la Mairie, 99999 " \
           "Sainte-Essai" in text
    assert "Adresse électronique : voirie@sainte-essai.example.fr" in text
    assert "Téléphone : 01 23 45 67 89" in text


def test_a_placeholder_contact_is_never_printed_but_sent_to_the_town_hall_and_logged(
        catalog, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="backoffice.acknowledgement"):
        text = pdftotext(pdf_of(catalog, "rsa"))     # the shipped rsa has two placeholders
    assert "à compléter" not in text and "[" not in text
    assert "Adresse postale : à demander à la mairie ou dans un espace France Services." in text
    assert "Adresse électronique : à demander à la mairie ou dans un espace France " \
           "Services." in text
    assert "Téléphone : 3230 (service gratuit + prix d'un appel)" in text
    assert "no postal_address, email for the service of rsa" in caplog.text


def test_whether_silence_means_acceptance_or_rejection_is_stated(catalog) -> None:
    assert "Le silence vaut rejet : 2 mois sans réponse du service valent rejet de votre " \
           "demande." in pdftotext(pdf_of(catalog, "rsa"))
    assert "Le silence vaut acceptation : 2 mois sans réponse du service valent acceptation " \
           "de votre demande." in pdftotext(pdf_of(catalog, "autorisation-test"))


def test_an_implicit_rejection_states_the_means_and_time_limit_of_appeal(catalog) -> None:
    text = pdftotext(pdf_of(catalog, "rsa"))
    assert "5. Comment contester un rejet" in text
    assert "Voies et délais de recours : Recours administratif préalable obligatoire auprès " \
           "du président du conseil départemental" in text
    assert "Délai du premier recours : 2 mois à compter de la décision (y compris un rejet " \
           "implicite)." in text
    assert "attestation" not in text


def test_an_implicit_acceptance_states_the_right_to_the_attestation_of_l232_3(catalog) -> None:
    text = pdftotext(pdf_of(catalog, "autorisation-test"))
    assert "vous pouvez demander au service une attestation de cette acceptation implicite " \
           "(CRPA L232-3)." in text
    assert "recours" not in text


def test_a_request_for_documents_suspends_or_restarts_the_delay(catalog) -> None:
    rejection = pdftotext(pdf_of(catalog, "rsa"))
    assert "le délai est suspendu jusqu'à ce que vous les apportiez, et au plus tard jusqu'à " \
           "la date limite fixée pour les produire (CRPA L114-5)." in rejection
    acceptance = pdftotext(pdf_of(catalog, "autorisation-test"))
    assert "le délai s'arrête. Il repart en entier le jour où le service les reçoit (CRPA " \
           "L114-5)." in acceptance
    for text in (rejection, acceptance):
        assert "Vous pouvez les apporter à n'importe quelle borne" in text


def test_the_status_page_address_is_given_with_the_deposit_number_and_no_token(
        catalog) -> None:
    text = pdftotext(pdf_of(catalog))
    assert "Suivez votre demande sur https://suivi.example.fr/suivi/MAIR-E01A-0042." in text
    assert "?t=" not in text and "Numéro de dépôt : MAIR-E01A-0042." in text


# ---------------------------------------------------------------------- languages
def test_an_arabic_deposit_gets_shaped_arabic_first_then_the_french_text(catalog) -> None:
    pdf = pdf_of(catalog, "rsa", "ar")
    arabic, french = pdftotext(pdf, 1), pdftotext(pdf, 2)
    # The Arabic words in their logical order, as a reader's tool gets them back (where
    # Latin words and punctuation sit between runs, pdftotext has its own ideas: those
    # are checked apart, and on the rendering in docs/legal-chain/).
    for phrase in ("إشعار بالاستلام", "استلمت الإدارة طلبك في",
                   "يعتبر طلبك مرفوضا في 5فبراير", "السكوت يعني الرفض",
                   "صندوق الإعانات العائلية",                     # the catalog's Arabic name
                   "طعن إداري مسبق إلزامي لدى رئيس المجلس الإقليمي",  # and appeal
                   "اطلبه من البلدية أو من مكتب", "France Services", "MAIR-E01A-0042"):
        assert phrase in arabic, phrase
    assert "Accusé de réception" not in arabic.replace("Accusé de réception ·", "")
    assert "Accusé de réception Code des relations" in french
    assert "réputée rejetée le 5 février 2027" in french
    # Shaped: the letters are drawn in their joined forms (presentation forms), not the
    # isolated ones a reader cannot read.
    raw = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-", "-"], input=pdf,
                         capture_output=True, check=True).stdout.decode()
    assert any("\ufe70" <= c <= "\ufeff" for c in raw)


def test_a_right_to_left_line_keeps_latin_words_and_numbers_left_to_right() -> None:
    assert runs("الإجراء: دخل التضامن النشط (RSA)") == [
        ("الإجراء: دخل التضامن النشط (", True), ("RSA", False), (")", True)]
    assert runs("الهاتف: 3230 (service gratuit)") == [
        ("الهاتف: ", True), ("3230 (service gratuit)", False)]
    assert runs("في 5 فبراير 2027.") == [
        ("في ", True), ("5", False), (" فبراير ", True), ("2027", False), (".", True)]


def test_an_easy_read_deposit_gets_the_easy_read_text_then_the_legal_french(catalog) -> None:
    pdf = pdf_of(catalog, "rsa", "fr-falc")
    falc, legal = pdftotext(pdf, 1), pdftotext(pdf, 2, 3)
    assert "Pas de réponse pendant 2 mois ? Cela veut dire non" in falc
    assert "Le silence vaut rejet" in legal


def test_a_french_deposit_gets_french_only(catalog) -> None:
    text = pdftotext(pdf_of(catalog, "rsa", None))
    assert text.count("Accusé de réception Code des relations") == 1
    assert "Acknowledgement" not in text


# ---------------------------------------------------------------------- frozen, issued
@pytest.fixture
def store(backoffice_data: tuple[Path, int]) -> Iterator[MetadataStore]:
    data, _port = backoffice_data
    opened = open_metadata(load_settings(data).metadata)
    opened.init_schema()
    opened.add_kiosk(KioskRecord("MAIRIE-07", "7K2P", "f" * 64, "1", "key", REGISTERED))
    yield opened
    opened.close()


def stored(store: MetadataStore, rec: DepositRecord) -> DepositRecord:
    return store.store_deposit(rec, upload_id="none")


def test_the_pdf_is_the_same_bytes_dated_when_it_was_issued(catalog) -> None:
    first, second = pdf_of(catalog), pdf_of(catalog)
    assert first == second
    assert b"/CreationDate (D:20261204234105+00'00')" in first


def test_a_later_change_of_the_deemed_date_does_not_change_the_issued_document(
        store, catalog) -> None:
    rec = stored(store, record(deemed_on=date(2027, 2, 5)))
    legalchain.arrived(store, rec, ISSUED)     # the shipped catalog: rsa
    before = acknowledgement.pdf_for(store, rec, ISSUED, URL)
    # A request for documents moved the date; the dossier is read again later.
    with store.transaction() as cur:
        cur.execute("UPDATE deposits SET deemed_on = ? WHERE deposit_id = ?",
                    ("2027-03-01", rec.deposit_id))
    moved = store.deposit(rec.deposit_id)
    assert moved is not None and moved.deemed_on == date(2027, 3, 1)
    later = datetime(2027, 1, 10, tzinfo=UTC)
    assert acknowledgement.pdf_for(store, moved, later, URL) == before
    assert acknowledgement.issue(store, moved, later).issued_at == ISSUED   # the first stays
    assert "5 février 2027" in pdftotext(before)


def test_arrived_issues_it_once_and_an_unknown_procedure_gets_none_logged(
        store, caplog: pytest.LogCaptureFixture) -> None:
    rec = stored(store, record())
    legalchain.arrived(store, rec, ISSUED)
    row = AcknowledgementStore(store).get(rec.deposit_id)
    assert row is not None and row.issued_at == ISSUED
    facts = acknowledgement.Facts.from_json(row.facts)
    assert facts.deemed_on == date(2027, 2, 5) and facts.silence is Silence.REJECTION
    unknown = stored(store, record("caf-apl", deposit_id="MAIR-E01A-0043"))
    with caplog.at_level(logging.WARNING, logger="backoffice.legalchain"):
        legalchain.arrived(store, unknown, ISSUED)
    assert AcknowledgementStore(store).get(unknown.deposit_id) is None
    assert "no accusé de réception can be issued" in caplog.text
    with pytest.raises(acknowledgement.AcknowledgementError, match="not in the catalog"):
        acknowledgement.pdf_for(store, unknown, ISSUED, URL)


def test_a_dossier_stored_before_acknowledgements_gets_one_on_first_request(
        store, caplog: pytest.LogCaptureFixture) -> None:
    rec = stored(store, record())          # no arrived(): as before schema version 3
    assert AcknowledgementStore(store).get(rec.deposit_id) is None
    asked = datetime(2027, 1, 2, 8, 0, tzinfo=UTC)
    with caplog.at_level(logging.INFO, logger="backoffice.acknowledgement"):
        pdf = acknowledgement.pdf_for(store, rec, asked, URL)
    assert "issued now" in caplog.text
    row = AcknowledgementStore(store).get(rec.deposit_id)
    assert row is not None and row.issued_at == asked
    # The deemed day is still counted from the day of receipt, not from the request.
    assert "réputée rejetée le 5 février 2027" in pdftotext(pdf)
    assert "Émis le 2 janvier 2027 à 09:00." in pdftotext(pdf)


def test_the_facts_read_back_from_json_are_the_ones_written(catalog) -> None:
    facts = acknowledgement.facts_for(record("rsa", "ar"), catalog["rsa"], ISSUED)
    assert acknowledgement.Facts.from_json(facts.to_json()) == facts
    with_none = replace(facts, deemed_on=None, decision_delay=None, appeal_delay=None)
    assert acknowledgement.Facts.from_json(with_none.to_json()) == with_none


# ---------------------------------------------------------------------- catalogs
@pytest.mark.parametrize("lang", acknowledgement.LANGUAGES)
def test_message_catalogs_are_complete_compiled_and_keep_placeholders(lang: str) -> None:
    folder = LOCALE / acknowledgement.CATALOG_NAMES.get(lang, lang) / "LC_MESSAGES"
    with (folder / "acknowledgement.po").open("rb") as f:
        po = read_po(f)
    with (folder / "acknowledgement.mo").open("rb") as f:
        mo = read_mo(f)
    messages = {m.id: m.string for m in po if m.id}
    assert messages and all(messages.values()), "untranslated messages"
    assert {m.id: m.string for m in mo if m.id} == messages, "the .mo is out of date"
    for msgid, text in messages.items():
        assert fields(text) == fields(msgid), (msgid, text)
    import ast

    tree = ast.parse(Path(acknowledgement.__file__).read_text(encoding="utf-8"))
    used = {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr"
            and node.args and isinstance(node.args[0], ast.Constant)}
    assert len(used) > 30 and used <= set(messages), used - set(messages)


def fields(text: object) -> set[str]:
    assert isinstance(text, str)
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# ---------------------------------------------------------------------- through the server
@pytest.fixture
def delivered(server: RunningServer, kiosk: FakeKiosk):
    made = kiosk.make(size=5_000, procedure="rsa")
    assert kiosk.deliver(made).outcome == "delivered"
    return made


def test_the_status_page_links_to_the_pdf_which_the_token_opens(server, delivered) -> None:
    page = server.get(f"/suivi/{delivered.deposit_id}", params={"t": delivered.token})
    link = re.search(r'href="(/suivi/[^"]*accuse-de-reception\.pdf\?[^"]*)"', page.text)
    assert link is not None and "Accusé de réception (PDF)" in page.text
    r = server.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == \
        f'inline; filename="accuse-reception-{delivered.deposit_id}.pdf"'
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" in r.headers
    text = pdftotext(r.content)
    assert f"Numéro de dépôt : {delivered.deposit_id}" in text
    assert "réputée rejetée le" in text


def test_a_wrong_token_gets_no_pdf_and_the_same_answer_as_a_number_not_arrived(
        server, kiosk, delivered) -> None:
    path = f"/suivi/{delivered.deposit_id}/accuse-de-reception.pdf"
    wrong = server.get(path, params={"t": "not-the-token"})
    page = server.get(f"/suivi/{delivered.deposit_id}", params={"t": "not-the-token"})
    assert wrong.status_code == page.status_code == 200
    assert wrong.headers["content-type"].startswith("text/html")
    assert wrong.text == page.text and not wrong.content.startswith(b"%PDF")
    absent = kiosk.make(size=100, procedure="rsa")      # well formed, never delivered
    unknown = server.get(f"/suivi/{absent.deposit_id}/accuse-de-reception.pdf",
                         params={"t": "not-the-token"})
    assert unknown.status_code == wrong.status_code
    assert unknown.text == wrong.text.replace(delivered.deposit_id, absent.deposit_id)
    assert server.get("/suivi/garbage/accuse-de-reception.pdf").status_code == 404


def test_staff_read_the_pdf_through_the_api_with_an_audit_entry(
        server, delivered, tmp_path) -> None:
    with server.add_staff(tmp_path, "ines", Role.INSTRUCTOR) as ines:
        pdf = ines.acknowledgement_pdf(delivered.deposit_id)
    assert pdf.startswith(b"%PDF") and delivered.deposit_id in pdftotext(pdf)
    trail = StaffStore(server.bo.metadata).audit_trail(deposit_id=delivered.deposit_id)
    assert any(e.actor == "ines" and e.action is Action.VIEW and e.outcome is Outcome.DONE
               and e.detail == "accusé de réception" for e in trail)
    with server.add_staff(tmp_path, "root", Role.ADMINISTRATOR) as admin, \
            pytest.raises(StaffAPIError) as refused:
        admin.acknowledgement_pdf(delivered.deposit_id)
    assert refused.value.status == 403
