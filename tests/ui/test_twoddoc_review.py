"""A page whose 2D-Doc verifies is "authenticated" on the real review screen, and its verified
fields are sealed into deposit.json; nothing the code holds is shown or spoken to the citizen."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from devtools.twoddoc_samples import encode, page_with_code
from kiosk.journey import ReceiptPhase, Step
from tests.twoddoc.kit import fr00_key
from tests.ui.test_journey_ui import citizen, decrypt_payload

pytestmark = pytest.mark.ui

HOLDER = "MME/QZXWSPECIMEN/NATACHA"       # must never reach the screen or the speech
FIELDS = {"10": HOLDER, "22": "145 AVENUE DES SPECIMENS", "24": "75000", "25": "PARIS",
          "26": "FR"}


def texts(screen) -> list[str]:
    return [w.text for w in screen.walk(restrict=True) if isinstance(getattr(w, "text", None),
                                                                    str)]


def test_a_verified_2ddoc_marks_its_document_authenticated_and_goes_into_deposit_json(
        make_kiosk, kiosk_data: Path, twoddoc_data: Path) -> None:
    page = page_with_code(encode(fr00_key(), FIELDS, signed=date(2014, 6, 2),
                                 issued=date(2014, 6, 1), document_type="01"))
    kiosk = make_kiosk()
    person = citizen(kiosk)
    driver = kiosk.driver
    person.tap("start")
    driver.wait_for_step(Step.PROCEDURE)
    person.tap("choose", "listes-electorales")
    person.tap("begin")
    driver.wait_for_step(Step.CAPTURE)
    person.capture_document(["text"])                         # identity: no code
    person.lay_page(page, size_mm=(210.0, 297.0))             # proof of address: a 2D-Doc
    person.tap("next")
    person.clear_tray()
    person.capture_document(["payslip"], last=True)
    driver.wait_for_step(Step.REVIEW)
    driver.wait_until(lambda: any(p.authenticated for p in driver.state.documents[1].pages),
                      30, "the 2D-Doc of the proof of address to be checked")
    assert [any(p.authenticated for p in d.pages) for d in driver.state.documents] == \
        [False, True, False]
    driver.idle(2)
    screen = next(s for s in kiosk.app.root.screens.values()
                  if type(s).__name__ == "ReviewScreen")
    shown = texts(screen)
    assert shown.count("Document authentifié") >= 1
    rows = [w for w in screen.walk(restrict=True) if type(w).__name__ == "ReviewRow"]
    assert [r.authenticated for r in rows] == ["", "Document authentifié", ""]
    assert not any(HOLDER in t or "SPECIMEN" in t for t in shown)

    person.tap("continue")
    person.tap("continue")
    person.tap("send")
    driver.wait_until(lambda: driver.state.receipt is ReceiptPhase.PRINTED, 60,
                      "the receipt to be printed")
    deposit_id = driver.state.deposit.deposit_id
    deposit = json.loads(decrypt_payload(kiosk, deposit_id)["deposit.json"])
    documents = deposit["documents"]
    assert "twoddoc" not in documents[0] and "twoddoc" not in documents[2]
    (record,) = documents[1]["twoddoc"]
    assert record["page"] == 1 and record["signature"] == "valid"
    assert record["fields"] == FIELDS and record["authority"] == "FR00"
    assert record["signed"] == "2014-06-02" and record["document_type"] == "01"
    assert {"id": "10", "name": record["named_fields"][0]["name"], "value": HOLDER} == \
        record["named_fields"][0]
    person.tap("finish")
    person.tap("rate", 3)
    driver.wait_for_step(Step.WELCOME)
    spoken = [p.read_bytes() for p in (kiosk_data / "speech").rglob("*") if p.is_file()]
    assert spoken, "the speech recorded nothing: the check below would prove nothing"
    assert not any(b"QZXW" in s for s in spoken)
