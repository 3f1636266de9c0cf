"""The back office reads the catalog's legal facts on its own, leniently.

backoffice/procedures.py may not import kiosk/catalog.py (DESIGN.md), so it
reads the same keys again; these tests hold the two readers to the same shipped
files and the same Silence values, and pin what the back office does with a
file whose legal facts are missing or malformed: it keeps the procedure and its
due date, and states no legal fact rather than a wrong one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backoffice import procedures
from deposit.legal import Delay, DelayUnit, Silence
from kiosk import catalog as kiosk_catalog
from kiosk import legalfacts

GOOD = """
code = "demo"
processing_days = 5
icon = "form"
[name]
fr = "Démo"
[service]
name = { fr = "Mairie", en = "Town hall" }
contact = "01 23 45 67 89"
postal_address = "Mairie, 1 place de la République, 38000 Grenoble"
email = "[à compléter : adresse électronique de la mairie]"
phone = "01 23 45 67 89"
[legal]
silence = "rejection"
decision_delay = "2 months"
appeal_delay = "2 months"
appeal = { fr = "Recours devant le tribunal administratif", en = "Appeal to the court" }
"""


def load_one(tmp_path: Path, text: str) -> procedures.ProcedureInfo:
    (tmp_path / "demo.toml").write_text(text, encoding="utf-8")
    return procedures.load(tmp_path)["demo"]


def test_every_shipped_procedure_reads_the_same_legal_facts_as_the_kiosk() -> None:
    shipped = procedures.load()
    kiosk = kiosk_catalog.load_catalog()
    assert set(shipped) == {p.code for p in kiosk}
    for procedure in kiosk:
        info, legal, service = shipped[procedure.code], procedure.legal, procedure.service
        assert info.silence == Silence(legal.silence.value), procedure.code
        assert info.decision_delay == legal.decision_delay
        assert info.appeal_delay == legal.appeal_delay
        assert info.appeal == (dict(legal.appeal.values) if legal.appeal else {})
        assert info.service_name == dict(service.name.values)
        for key in ("postal_address", "email", "phone"):
            kiosk_value = getattr(service, key)
            expected = None if legalfacts.is_placeholder(kiosk_value) else kiosk_value
            assert getattr(info, key) == expected, (procedure.code, key)


def test_the_rules_the_accuse_de_reception_will_state() -> None:
    shipped = procedures.load()
    assert (shipped["mdph"].silence, shipped["mdph"].decision_delay) == \
        (Silence.REJECTION, Delay(4, DelayUnit.MONTHS))
    assert (shipped["rsa"].silence, shipped["rsa"].decision_delay) == \
        (Silence.REJECTION, Delay(2, DelayUnit.MONTHS))
    assert shipped["cni-predemande"].silence is Silence.NONE
    assert shipped["cni-predemande"].decision_delay is None
    assert "tribunal administratif" in shipped["rsa"].appeal["fr"]
    assert "tribunal judiciaire" in shipped["listes-electorales"].appeal["fr"]
    assert shipped["caf-aide-logement"].phone is not None
    assert shipped["caf-aide-logement"].phone.startswith("3230")


def test_a_file_reads_with_its_legal_facts_and_a_placeholder_reads_as_none(
        tmp_path: Path) -> None:
    info = load_one(tmp_path, GOOD)
    assert info.silence is Silence.REJECTION
    assert (info.decision_delay, info.appeal_delay) == (Delay(2, DelayUnit.MONTHS),) * 2
    assert info.appeal == {"fr": "Recours devant le tribunal administratif",
                           "en": "Appeal to the court"}
    assert info.service_name == {"fr": "Mairie", "en": "Town hall"}
    assert info.postal_address == "Mairie, 1 place de la République, 38000 Grenoble"
    assert info.email is None
    assert info.phone == "01 23 45 67 89"


@pytest.mark.parametrize(("change", "logged"), [
    (lambda t: t.replace('"rejection"', '"maybe"'), "'maybe' is not a valid Silence"),
    (lambda t: t.replace('decision_delay = "2 months"', 'decision_delay = "2 mois"'),
     "legal.decision_delay: '2 mois' is not a delay"),
    (lambda t: t.replace('decision_delay = "2 months"\n', ""),
     "legal.decision_delay is missing"),
    (lambda t: t.replace('appeal_delay = "2 months"', "appeal_delay = 2"),
     "legal.appeal_delay: 2 is not a delay"),
    (lambda t: re.sub(r"appeal = \{.*\}", 'appeal = { en = "Court" }', t),
     "not a table of texts by language with French"),
    (lambda t: t.replace('phone = "01 23 45 67 89"\n', ""), "service.phone is missing"),
    (lambda t: t.replace("[legal]", "[other]"), "no [service] or no [legal] table"),
])
def test_malformed_legal_facts_keep_the_procedure_without_them(tmp_path: Path, change,
                                                               logged: str, caplog) -> None:
    info = load_one(tmp_path, change(GOOD))
    assert (info.code, info.processing_days) == ("demo", 5)
    assert info.silence is None and info.appeal == {} and info.decision_delay is None
    assert info.postal_address is None and info.service_name == {}
    assert "demo.toml has no usable legal facts" in caplog.text
    assert logged in caplog.text


def test_silence_none_reads_without_delay_or_appeal(tmp_path: Path) -> None:
    text = re.sub(r"decision_delay = .*\n|appeal_delay = .*\n|appeal = \{.*\}\n", "",
                  GOOD.replace('"rejection"', '"none"'))
    info = load_one(tmp_path, text)
    assert (info.silence, info.decision_delay, info.appeal, info.appeal_delay) == \
        (Silence.NONE, None, {}, None)
