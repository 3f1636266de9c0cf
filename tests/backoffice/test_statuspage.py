"""The citizen's status page: language, status and message shown; nothing told to a wrong token."""

from __future__ import annotations

import html
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from backoffice import statuspage
from backoffice.status import DossierStatus
from backoffice.store.staffdb import StaffStore
from printer.receipt import status_link
from tests.backoffice.harness import FakeKiosk, RunningServer

LOCALE = Path(__file__).resolve().parents[2] / "assets" / "locale"


@pytest.fixture
def delivered(server: RunningServer, kiosk: FakeKiosk):
    made = kiosk.make(size=5_000)
    assert kiosk.deliver(made).outcome == "delivered"
    return made


def test_the_receipt_url_shows_the_status_in_french_by_default(server, kiosk, delivered) -> None:
    url = kiosk.enrollment.tracking_url(delivered.deposit_id, delivered.token)
    r = server.get(url.removeprefix(server.public_url))
    assert r.status_code == 200
    assert '<html lang="fr" dir="ltr">' in r.text
    assert "Reçu" in r.text and delivered.deposit_id in r.text
    for tag in ("en", "es", "ar", "fr-x-falc"):      # the links to the other languages
        assert f'hreflang="{tag}"' in r.text, tag
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]


def test_english_comes_from_accept_language_or_the_lang_link(server, delivered) -> None:
    path = f"/suivi/{delivered.deposit_id}"
    r = server.get(path, params={"t": delivered.token},
                   headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en" dir="ltr">' in r.text and "Received" in r.text
    r = server.get(path, params={"t": delivered.token, "lang": "en"},
                   headers={"Accept-Language": "fr"})
    assert '<html lang="en" dir="ltr">' in r.text
    r = server.get(path, params={"t": delivered.token}, headers={"Accept-Language": "de, it"})
    assert '<html lang="fr" dir="ltr">' in r.text


def test_the_receipt_link_of_an_arabic_session_opens_the_page_in_arabic_right_to_left(
        server, kiosk, delivered) -> None:
    # The URL as the Arabic receipt prints it and encodes it in its QR code.
    url = status_link(kiosk.enrollment.tracking_url(delivered.deposit_id, delivered.token), "ar")
    r = server.get(url.removeprefix(server.public_url), headers={"Accept-Language": "fr-FR,fr"})
    assert r.status_code == 200
    assert '<html lang="ar" dir="rtl">' in r.text
    assert r.headers["Content-Language"] == "ar"
    assert "تم الاستلام" in r.text and "رقم الإيداع" in r.text     # received, deposit number
    assert f'<dd class="number" dir="ltr">{delivered.deposit_id}</dd>' in r.text
    assert 'hreflang="fr"' in r.text and ">Français<" in r.text


@pytest.mark.parametrize(("lang", "html_lang", "words"), [
    ("es", "es", ["Recibido", "Su expediente ha llegado al servicio."]),
    ("fr-falc", "fr-x-falc", ["Reçu", "Le service a bien reçu votre dossier."]),
])
def test_spanish_and_easy_read_french_come_from_the_receipt_link(
        server, kiosk, delivered, lang: str, html_lang: str, words: list[str]) -> None:
    url = status_link(kiosk.enrollment.tracking_url(delivered.deposit_id, delivered.token), lang)
    r = server.get(url.removeprefix(server.public_url), headers={"Accept-Language": "en"})
    assert f'<html lang="{html_lang}" dir="ltr">' in r.text
    assert r.headers["Content-Language"] == html_lang
    for text in words:
        assert text in r.text, text


def test_arabic_and_spanish_phones_get_their_language_without_a_lang_link(
        server, delivered) -> None:
    path = f"/suivi/{delivered.deposit_id}"
    r = server.get(path, params={"t": delivered.token},
                   headers={"Accept-Language": "ar-MA,fr;q=0.5"})
    assert '<html lang="ar" dir="rtl">' in r.text
    r = server.get(path, params={"t": delivered.token}, headers={"Accept-Language": "es-ES"})
    assert '<html lang="es" dir="ltr">' in r.text
    r = server.get(path, params={"t": delivered.token, "lang": "xx"},
                   headers={"Accept-Language": "es-ES"})
    assert '<html lang="es" dir="ltr">' in r.text     # an unknown lang falls back to the header


def test_staff_status_and_message_show_on_the_page_escaped(server, delivered) -> None:
    staff = StaffStore(server.bo.metadata)
    staff.decide(delivered.deposit_id, DossierStatus.IN_REVIEW, "agent", datetime.now(UTC),
                 lambda _current: "")
    staff.decide(delivered.deposit_id, DossierStatus.INCOMPLETE, "agent", datetime.now(UTC),
                 lambda _current: "Merci d'apporter <b>le justificatif</b> de domicile.")
    r = server.get(f"/suivi/{delivered.deposit_id}", params={"t": delivered.token})
    assert "Incomplet" in r.text
    assert "&lt;b&gt;le justificatif&lt;/b&gt;" in r.text and "<b>" not in r.text


def test_a_wrong_token_answers_exactly_as_the_same_address_did_before_the_dossier_arrived(
        server, kiosk) -> None:
    made = kiosk.make(size=1000)
    before = [server.get(f"/suivi/{made.deposit_id}", params={"t": "x" * 32}),
              server.get(f"/suivi/{made.deposit_id}")]
    assert kiosk.deliver(made).outcome == "delivered"
    after = [server.get(f"/suivi/{made.deposit_id}", params={"t": "x" * 32}),
             server.get(f"/suivi/{made.deposit_id}")]
    for was, now in zip(before, after, strict=True):
        assert was.status_code == now.status_code == 200
        assert was.text == now.text                    # the page never tells it arrived
        assert "En route vers le service" in now.text
        assert "Historique" not in now.text and "Démarche" not in now.text


def test_a_well_formed_number_not_arrived_yet_is_on_its_way_and_garbage_is_not_found(
        server, kiosk) -> None:
    unknown_id = kiosk.make(size=1000).deposit_id          # sealed on the kiosk, never sent
    on_its_way = server.get(f"/suivi/{unknown_id}", params={"t": "x" * 32}, headers={
        "Accept-Language": "en"})
    assert on_its_way.status_code == 200
    assert "On its way to the service" in on_its_way.text and unknown_id in on_its_way.text
    garbage = server.get("/suivi/not-a-number", params={"t": "x" * 32})
    assert garbage.status_code == 404 and "Dépôt introuvable" in garbage.text


def test_the_page_shows_the_procedure_the_expected_date_the_service_and_the_history(
        server, kiosk) -> None:
    made = kiosk.make(size=1000, procedure="rsa")
    assert kiosk.deliver(made).outcome == "delivered"
    staff = StaffStore(server.bo.metadata)
    staff.decide(made.deposit_id, DossierStatus.IN_REVIEW, "ines.q7", datetime.now(UTC),
                 lambda _current: "")
    r = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token})
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "Revenu de solidarité active (RSA)" in text
    assert "Réponse prévue d'ici le" in text            # received + the catalog's 30 days
    assert "3230" in text                                # the CAF's national number
    assert "à compléter" not in text                     # placeholders are never shown
    assert "Historique" in text and text.count('<li><span class="when">') == 2
    assert "ines.q7" not in text                         # who set a status is not said
    english = server.get(f"/suivi/{made.deposit_id}", params={"t": made.token, "lang": "en"})
    assert "Earned income supplement (RSA)" in english.text and "History" in english.text


def test_the_deposit_number_is_read_whatever_the_case_and_dashes(server, delivered) -> None:
    loose = delivered.deposit_id.replace("-", "").lower()
    r = server.get(f"/suivi/{loose}", params={"t": delivered.token})
    assert r.status_code == 200


def test_token_comparison_uses_the_hash_in_constant_time() -> None:
    import inspect

    source = inspect.getsource(statuspage.lookup)
    assert "compare_digest" in source and "_DUMMY_HASH" in source


@pytest.mark.parametrize(("header", "expected"), [
    (None, "fr"), ("en", "en"), ("en-US,fr;q=0.8", "en"), ("fr-FR,en;q=0.8", "fr"),
    ("de;q=1,en;q=0.1", "en"), ("en;q=0", "fr"), ("*", "fr"), ("ar", "ar"),
    ("es-419,en;q=0.5", "es"), ("de,ar-DZ;q=0.3", "ar"),
])
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert statuspage.choose_language(None, header) == expected


@pytest.mark.parametrize("lang", statuspage.LANGUAGES)
def test_message_catalogs_are_complete_and_compiled(lang: str) -> None:
    folder = LOCALE / statuspage.CATALOG_NAMES.get(lang, lang) / "LC_MESSAGES"
    with (folder / "backoffice.po").open("rb") as f:
        po = read_po(f)
    with (folder / "backoffice.mo").open("rb") as f:
        mo = read_mo(f)
    po_messages = {m.id: m.string for m in po if m.id}
    assert po_messages and all(po_messages.values()), "untranslated messages"
    assert {m.id: m.string for m in mo if m.id} == po_messages, "the .mo is out of date"
    import ast

    tree = ast.parse((Path(statuspage.__file__)).read_text())
    used = {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_"
            and node.args and isinstance(node.args[0], ast.Constant)}
    assert used <= set(po_messages), f"missing from the catalog: {used - set(po_messages)}"


@pytest.mark.parametrize("lang", statuspage.LANGUAGES)
def test_translations_keep_the_placeholders_of_their_message(lang: str) -> None:
    folder = LOCALE / statuspage.CATALOG_NAMES.get(lang, lang) / "LC_MESSAGES"
    with (folder / "backoffice.po").open("rb") as f:
        po = read_po(f)
    for message in po:
        if message.id:
            assert fields(message.string) == fields(message.id), (message.id, message.string)
    assert "{date} at {time}" in po   # the check is not empty


def fields(text: object) -> set[str | None]:
    assert isinstance(text, str)
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
