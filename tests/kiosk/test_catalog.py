"""The procedure catalog: every shipped file is valid; a bad file names its file and key.

It loads with any set of languages (a missing translation shows the French);
only real mistakes stop it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import assets
from deposit.legal import Delay, DelayUnit, Silence
from kiosk.catalog import (
    ConvocationError,
    convocation_url,
    load_catalog,
    parse_procedure,
)
from kiosk.errors import CatalogError
from kiosk.legalfacts import Legal
from tests.conftest import run_cli

GOOD = """
code = "demo"
processing_days = 5
icon = "form"
[name]
fr = "Démo"
en = "Demo"
[summary]
fr = "Résumé"
en = "Summary"
[service]
name = { fr = "Mairie", en = "Town hall" }
contact = "01 23 45 67 89"
postal_address = "Mairie, 1 place de la République, 38000 Grenoble"
email = "etat-civil@mairie.example.fr"
phone = "01 23 45 67 89"
[legal]
silence = "rejection"
decision_delay = "2 months"
appeal_delay = "2 months"
appeal = { fr = "Recours devant le tribunal administratif", en = "Appeal to the court" }
[[documents]]
code = "identity"
required = true
icon = "identity"
name = { fr = "Pièce d'identité", en = "Proof of identity" }
hint = { fr = "Recto et verso", en = "Both sides" }
"""


SHIPPED_LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")


def test_the_shipped_catalog_has_realistic_procedures_in_every_language() -> None:
    catalog = load_catalog(languages=SHIPPED_LANGUAGES)
    codes = [p.code for p in catalog]
    assert len(codes) >= 5
    assert {"caf-aide-logement", "cni-predemande", "rsa", "impots-justificatifs",
            "listes-electorales"} <= set(codes)
    for procedure in catalog:
        assert procedure.name.get("fr") != procedure.name.get("en")
        assert 1 <= procedure.processing_days <= 365
        assert procedure.service.contact
        assert (assets.path("icons") / f"{procedure.icon}.png").is_file()
        for doc in procedure.documents:
            assert (assets.path("icons") / f"{doc.icon}.png").is_file()
            assert doc.name.get("en") and doc.hint.get("fr")
    assert codes == sorted(codes, key=lambda c: catalog.get(c).order)  # type: ignore[union-attr]
    for language in SHIPPED_LANGUAGES:
        assert catalog.missing(language) == [], language


def test_every_procedure_has_its_own_pictogram() -> None:
    icons = [p.icon for p in load_catalog()]
    assert len(set(icons)) == len(icons)


@pytest.mark.parametrize("languages", [("fr",), SHIPPED_LANGUAGES, ("de",), ("fr", "de", "xx")])
def test_the_catalog_loads_with_any_languages(languages: tuple[str, ...]) -> None:
    catalog = load_catalog(languages=languages)
    rsa = catalog.get("rsa")
    assert rsa is not None
    assert rsa.name.get("de") == rsa.name.get("fr") == "Revenu de solidarité active (RSA)"
    assert rsa.name.get("es") == "Renta de solidaridad activa (RSA)"


def test_a_language_nobody_wrote_is_listed_as_missing_and_logged(caplog) -> None:
    catalog = load_catalog(languages=("fr", "de"))
    texts = sum(1 for p in catalog for _ in p.texts())
    assert len(catalog.missing("de")) == texts > 50
    assert catalog.missing("fr") == []
    assert "not written in 'de' show their French" in caplog.text
    assert "'fr'" not in caplog.text


def test_the_review_state_of_each_language_is_listed() -> None:
    """The team wrote es, ar and fr-falc: no file claims a review of them yet."""
    catalog = load_catalog()
    codes = [p.code for p in catalog]
    counts = {lang: len(catalog.unreviewed(lang)) for lang in SHIPPED_LANGUAGES}
    print("procedures with unreviewed texts per language:", counts)
    assert catalog.unreviewed("fr") == catalog.unreviewed("en") == []
    for language in ("es", "ar", "fr-falc"):
        assert catalog.unreviewed(language) == codes
    assert catalog.unreviewed("de") == []      # nothing written, so nothing to review


def test_a_review_flag_is_read_per_file_and_language() -> None:
    text = GOOD.replace("[name]", "[reviewed]\nfr = true\nen = false\n[name]")
    assert parse_procedure(text, "demo.toml").reviewed == frozenset({"fr"})
    assert parse_procedure(GOOD, "demo.toml").reviewed == frozenset()


def test_a_text_falls_back_to_french() -> None:
    procedure = parse_procedure(GOOD.replace('en = "Demo"\n', ""), "demo.toml")
    assert procedure.name.get("de") == procedure.name.get("en") == "Démo"
    assert not procedure.name.has("en") and procedure.summary.has("en")
    assert procedure.documents[0].max_pages == 10


@pytest.mark.parametrize(("change", "expected"), [
    (lambda t: t.replace('code = "demo"', 'code = "Demo!"'), "demo.toml: code: 'Demo!' is not"),
    (lambda t: t.replace("processing_days = 5", "processing_days = 0"),
     "demo.toml: processing_days: 0 is not from 1 to 365"),
    (lambda t: t.replace("processing_days = 5", 'processing_days = "5"'),
     "demo.toml: processing_days: must be an integer"),
    (lambda t: t.replace('fr = "Démo"\n', ""), "demo.toml: name: no text in French (fr)"),
    (lambda t: t.replace('fr = "Mairie", ', ""), "demo.toml: service.name: no text in French"),
    (lambda t: t.replace('en = "Demo"', 'EN = "Demo"'),
     "demo.toml: name.EN: 'EN' is not a language code"),
    (lambda t: t.replace('en = "Demo"', 'en_GB = "Demo"'),
     "demo.toml: name.en_GB: 'en_GB' is not a language code"),
    (lambda t: t.replace('icon = "identity"', 'icon = "nothing"'),
     "demo.toml: documents[0].icon: no icon 'nothing'"),
    (lambda t: t.replace('icon = "form"', 'icon = "nothing"'),
     "demo.toml: icon: no icon 'nothing'"),
    (lambda t: t.replace('icon = "form"\n', ""), "demo.toml: icon: missing"),
    (lambda t: t.replace("[name]", "[reviewed]\nfr = 1\n[name]"),
     "demo.toml: reviewed.fr: must be true or false"),
    (lambda t: t.replace("[name]", "[reviewed]\nFrench = true\n[name]"),
     "demo.toml: reviewed.French: 'French' is not a language code"),
    (lambda t: t.replace("required = true", "required = 1"),
     "demo.toml: documents[0].required: must be true or false"),
    (lambda t: t.replace("required = true", "required = false"),
     "demo.toml: documents: at least one document must be required"),
    (lambda t: "colour = 3\n" + t, "demo.toml: colour: unknown key"),
    (lambda t: t + "colour = 3\n", "demo.toml: documents[0].colour: unknown key"),
    (lambda t: t.replace('contact = "01 23 45 67 89"', ""), "demo.toml: service.contact: missing"),
    (lambda t: t.replace("[summary]", "[summry]"), "demo.toml: summry: unknown key"),
    (lambda t: t + "[[documents]]\ncode = \"identity\"\n",
     "demo.toml: documents[1].code: 'identity' appears twice"),
    (lambda t: t.replace('fr = "Mairie"', 'fr = " "'),
     "demo.toml: service.name.fr: must be a non-empty string"),
    (lambda t: t.replace("[name]", "[name"), "demo.toml: not valid TOML"),
    (lambda t: t.replace('silence = "rejection"', 'silence = "maybe"'),
     "demo.toml: legal.silence: 'maybe' is not one of acceptance, rejection, none"),
    (lambda t: t.replace('silence = "rejection"', "silence = true"),
     "demo.toml: legal.silence: must be a string"),
    (lambda t: t.replace('silence = "rejection"\n', ""), "demo.toml: legal.silence: missing"),
    (lambda t: t.replace('decision_delay = "2 months"', 'decision_delay = "2 mois"'),
     "demo.toml: legal.decision_delay: '2 mois' is not a delay such as '2 months'"),
    (lambda t: t.replace('decision_delay = "2 months"', 'decision_delay = "0 days"'),
     "demo.toml: legal.decision_delay: '0 days' is not a delay"),
    (lambda t: t.replace('decision_delay = "2 months"', 'decision_delay = "400 days"'),
     "demo.toml: legal.decision_delay: '400 days' is longer than 365 days"),
    (lambda t: t.replace('decision_delay = "2 months"\n', ""),
     "demo.toml: legal.decision_delay: missing: silence means rejection only after a delay"),
    (lambda t: t.replace('appeal_delay = "2 months"', 'appeal_delay = "two months"'),
     "demo.toml: legal.appeal_delay: 'two months' is not a delay"),
    (lambda t: t.replace('appeal_delay = "2 months"\n', ""),
     "demo.toml: legal.appeal_delay: missing: an implicit rejection must state"),
    (lambda t: re.sub(r"appeal = \{.*\}\n", "", t),
     "demo.toml: legal.appeal: missing: an implicit rejection must state"),
    (lambda t: re.sub(r"appeal = \{.*\}\n", 'appeal = { en = "Court" }\n', t),
     "demo.toml: legal.appeal: no text in French (fr)"),
    (lambda t: t.replace('silence = "rejection"', 'silence = "none"')
     .replace(re.search(r"appeal = \{.*\}\n", t).group(0), ""),  # type: ignore[union-attr]
     "demo.toml: legal.appeal: missing: appeal_delay is given without the means"),
    (lambda t: t.replace('silence = "rejection"', 'silence = "rejection"\nhint = 1'),
     "demo.toml: legal.hint: unknown key"),
    (lambda t: t.replace("[legal]", "[lega]"), "demo.toml: lega: unknown key"),
    (lambda t: t.replace('email = "etat-civil@mairie.example.fr"', 'email = "mairie"'),
     "demo.toml: service.email: 'mairie' is not an e-mail address"),
    (lambda t: t.replace('email = "etat-civil@mairie.example.fr"\n', ""),
     "demo.toml: service.email: missing"),
    (lambda t: t.replace('phone = "01 23 45 67 89"', 'phone = "mairie"'),
     "demo.toml: service.phone: 'mairie' has fewer than 4 digits"),
    (lambda t: t.replace('phone = "01 23 45 67 89"', 'phone = " "'),
     "demo.toml: service.phone: must not be empty"),
    (lambda t: t.replace("postal_address = \"Mairie,", "postal_address = \"[à compléter] Mairie,"),
     "demo.toml: service.postal_address: '[à compléter] Mairie, 1 place de la République, 38000 "
     "Grenoble': a placeholder is the whole value"),
    (lambda t: t.replace("postal_address", "address"), "demo.toml: service.address: unknown key"),
])
def test_a_bad_catalog_file_names_the_file_and_the_key(change, expected: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_procedure(change(GOOD), "demo.toml")
    assert str(caught.value).startswith(expected), str(caught.value)


#: The legal facts of each shipped procedure, with the rule each file's comment sources.
SHIPPED_LEGAL = {
    "caf-aide-logement": (Silence.REJECTION, "2 months"),   # CRPA L231-4 3°: financial
    "rsa": (Silence.REJECTION, "2 months"),                 # CRPA L231-4 3°: financial
    "mdph": (Silence.REJECTION, "4 months"),                # CASF R241-33
    "listes-electorales": (Silence.NONE, "5 days"),         # Code électoral L18: mayor, 5 days
    "cni-predemande": (Silence.NONE, None),                 # prepares an appointment
    "impots-justificatifs": (Silence.NONE, None),           # papers, not a request
}


def test_every_shipped_procedure_states_its_legal_facts() -> None:
    catalog = load_catalog()
    found = {p.code: (p.legal.silence, p.legal.decision_delay and str(p.legal.decision_delay))
             for p in catalog}
    assert found == SHIPPED_LEGAL
    for procedure in catalog:
        legal, service = procedure.legal, procedure.service
        if legal.silence is Silence.REJECTION:
            assert legal.appeal is not None and legal.appeal_delay is not None, procedure.code
        assert legal.appeal is not None and legal.appeal.has("fr"), procedure.code
        assert service.postal_address and service.email and service.phone, procedure.code


def test_national_numbers_are_real_and_local_channels_are_placeholders(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog"):
        catalog = load_catalog()
    assert catalog.get("caf-aide-logement").service.phone.startswith("3230")  # type: ignore[union-attr]
    assert catalog.get("impots-justificatifs").service.phone.startswith("0 809 401 401")  # type: ignore[union-attr]
    placeholders = catalog.placeholders()
    assert "mdph: service.phone" in placeholders
    assert "rsa: service.postal_address" in placeholders
    assert "rsa: service.phone" not in placeholders
    assert f"catalog: {len(placeholders)} service contact(s) still" in caplog.text
    assert "mdph: service.phone" in caplog.text


def test_a_deployment_with_real_channels_has_no_placeholder(tmp_path: Path, caplog) -> None:
    (tmp_path / "demo.toml").write_text(GOOD, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog"):
        assert load_catalog(tmp_path).placeholders() == []
    assert "service contact(s)" not in caplog.text


def test_a_placeholder_loads_and_is_listed() -> None:
    text = GOOD.replace('phone = "01 23 45 67 89"',
                        'phone = "[à compléter : téléphone de la mairie]"')
    procedure = parse_procedure(text, "demo.toml")
    assert procedure.service.placeholders() == ["service.phone"]


def test_appeal_texts_are_catalog_texts_that_fall_back_to_french() -> None:
    procedure = parse_procedure(GOOD, "demo.toml")
    assert dict(procedure.texts())["legal.appeal"].get("de") == \
        "Recours devant le tribunal administratif"


def test_silence_none_needs_no_delay_and_no_appeal() -> None:
    text = re.sub(r"decision_delay = .*\n|appeal_delay = .*\n|appeal = \{.*\}\n", "",
                  GOOD.replace('silence = "rejection"', 'silence = "none"'))
    legal = parse_procedure(text, "demo.toml").legal
    assert legal == Legal(Silence.NONE, None, None, None)


def test_acceptance_needs_a_delay_but_no_appeal() -> None:
    text = re.sub(r"appeal_delay = .*\n|appeal = \{.*\}\n", "",
                  GOOD.replace('silence = "rejection"', 'silence = "acceptance"'))
    legal = parse_procedure(text, "demo.toml").legal
    assert (legal.silence, legal.decision_delay, legal.appeal) == \
        (Silence.ACCEPTANCE, Delay(2, DelayUnit.MONTHS), None)


@pytest.mark.parametrize(("text", "delay", "shown"), [
    ("2 months", Delay(2, DelayUnit.MONTHS), "2 months"),
    ("1 month", Delay(1, DelayUnit.MONTHS), "1 month"),
    ("5 days", Delay(5, DelayUnit.DAYS), "5 days"),
    ("1 day", Delay(1, DelayUnit.DAYS), "1 day"),
    ("24 months", Delay(24, DelayUnit.MONTHS), "24 months"),
])
def test_a_delay_reads_days_or_months_and_writes_them_back(text: str, delay: Delay,
                                                            shown: str) -> None:
    assert Delay.parse(text) == delay
    assert str(delay) == shown


@pytest.mark.parametrize("text", ["", "2", "months", "2months", "2  months", "02 months",
                                  "2 weeks", "2 mois", "-1 days", "25 months", "366 days",
                                  " 2 months"])
def test_anything_else_is_not_a_delay(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a delay|longer than"):
        Delay.parse(text)


def test_loading_a_folder_checks_the_file_name_and_refuses_an_empty_folder(tmp_path: Path
                                                                           ) -> None:
    with pytest.raises(CatalogError, match="no procedure"):
        load_catalog(tmp_path)
    (tmp_path / "other.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"other\.toml: code: 'demo' differs"):
        load_catalog(tmp_path)
    (tmp_path / "other.toml").rename(tmp_path / "demo.toml")
    assert [p.code for p in load_catalog(tmp_path)] == ["demo"]
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(CatalogError, match=r"bad\.toml: cannot be read"):
        load_catalog(tmp_path)


def test_a_convocation_round_trips() -> None:
    catalog = load_catalog()
    url = convocation_url("rdv.mairie.fr", "cni-predemande", "CNI-2025-000123",
                          ["photo", "address"])
    convocation = catalog.parse_convocation(url)
    assert convocation.procedure == "cni-predemande"
    assert convocation.case_reference == "CNI-2025-000123"
    assert convocation.documents == ("photo", "address")
    assert catalog.parse_convocation(url.replace("https", "HTTPS")).procedure == "cni-predemande"


def test_unknown_query_keys_are_tolerated_for_later_versions_of_letters() -> None:
    catalog = load_catalog()
    url = convocation_url("x.fr", "rsa", "R1") + "&utm=letter"
    assert catalog.parse_convocation(url).procedure == "rsa"


@given(st.text(max_size=700))
def test_parsing_any_text_raises_only_convocation_errors(text: str) -> None:
    catalog = load_catalog()
    with contextlib.suppress(ConvocationError):
        catalog.parse_convocation(text)


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80))
def test_parsing_garbage_after_a_valid_prefix_raises_only_convocation_errors(tail: str) -> None:
    catalog = load_catalog()
    with contextlib.suppress(ConvocationError):
        catalog.parse_convocation("https://x.fr/convocation?v=1&p=rsa&" + tail)


def test_config_check_passes_and_warns_of_contacts_still_placeholders(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("", encoding="utf-8")
    result = run_cli("kiosk", ["config", "check", "--config", str(config)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{config}: ok"
    warning = [line for line in result.stderr.splitlines() if "service contact(s)" in line]
    assert len(warning) == 1 and "mdph: service.phone" in warning[0], result.stderr
