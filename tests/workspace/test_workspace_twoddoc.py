"""The staff workspace shows each page's 2D-Doc beside it (verdict, issuer, dates, the signed
fields by name) and flags a document whose code is INVALID; in Debian's Chromium.

``WORKSPACE_SCREENSHOTS=DIR`` also saves the screen there; ``python -m
devtools.twoddoc_screens`` makes docs/2ddoc/workspace-2ddoc.png that way.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cv2
import pytest
from PIL import Image

from deposit import payload
from devtools.twoddoc_samples import encode, page_with_code
from kiosk.twoddocs import read_codes
from printer.dossier import DossierDocument, DossierInfo, dossier_pdf
from tests.backoffice.harness import MadeDeposit, deposit_number
from tests.twoddoc.kit import fr00_key, fr00_trust
from tests.workspace.conftest import Office
from tests.workspace.kit import ScannedPage
from tests.workspace.test_workspace_browser import shoot, sign_in

pytestmark = pytest.mark.timeout(180)

ADDRESS = {"10": "MME/SPECIMEN/NATACHA", "21": "BAT 2 ETG 3", "22": "145 AVENUE DES SPECIMENS",
           "24": "75000", "25": "PARIS", "26": "FR"}
TAX = {"41": "24500", "43": "2", "44": "1541234567890", "42": "MARIE"}


def scanned(picture: Any) -> ScannedPage:
    """The page as the kiosk's scanner would hand it to the dossier: grey JPEG, 100 dpi."""
    grey = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)
    small = Image.fromarray(grey).resize((827, 1169), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=85)
    return ScannedPage(out.getvalue(), small.width, small.height)


def dossier_with_codes(office: Office) -> MadeDeposit:
    """A proof of address whose 2D-Doc verifies, a tax notice whose code was tampered with:
    the records in deposit.json come from the kiosk's own reader run on the pictures."""
    kiosk = office.kiosk
    key = fr00_key()
    good = page_with_code(encode(key, ADDRESS, signed=date(2014, 6, 2), issued=date(2014, 6, 1),
                                 document_type="01"))
    forged_payload = encode(key, TAX, signed=date(2015, 2, 10), issued=date(2015, 2, 9),
                            document_type="04").replace(b"4124500", b"4112500")
    forged = page_with_code(forged_payload, page="tax-notice")
    trust = fr00_trust()
    records = []
    for picture in (good, forged):
        reading = read_codes(picture, trust)
        assert len(reading.codes) >= 1
        records.append([{"page": 1, **c.record()} for c in reading.codes
                        if c.doc.header.authority == "FR00"])
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, kiosk.sequence + 1)
    info = DossierInfo(deposit_id=deposit_id, procedure_code="caf-aide-logement",
                       procedure_title="Aide au logement", created=datetime.now(UTC),
                       kiosk_id=kiosk.enrollment.kiosk_id, kiosk_place="Mairie")
    pdf = dossier_pdf(info, [DossierDocument("Justificatif de domicile", [scanned(good)],
                                             "address"),
                             DossierDocument("Avis d'imposition", [scanned(forged)], "income")])
    deposit_json = {"version": 1, "deposit_id": deposit_id, "kiosk_id": kiosk.enrollment.kiosk_id,
                    "procedure": {"code": "caf-aide-logement", "title": "Aide au logement"},
                    "documents": [
                        {"code": "address", "title": "Justificatif de domicile", "pages": 1,
                         "twoddoc": records[0]},
                        {"code": "income", "title": "Avis d'imposition", "pages": 1,
                         "twoddoc": records[1]}]}
    archive = b"".join(bytes(c) for c in payload.pack(deposit_json, pdf))
    made = kiosk.make(payload=archive, deposit_id=deposit_id, procedure="caf-aide-logement")
    assert kiosk.deliver(made).outcome == "delivered"
    return made


def test_the_workspace_shows_a_verified_2ddoc_beside_its_page_and_flags_an_invalid_one(
        office: Office, chromium: Any, tmp_path: Path, twoddoc_data: Path) -> None:
    made = dossier_with_codes(office)
    office.staff("marie.durand")
    workspace = office.workspace("marie.durand")
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    try:
        sign_in(page, workspace.url)
        page.wait_for_url("**/inbox")
        page.goto(f"{workspace.base}/dossiers/{made.deposit_id}")
        page.get_by_role("img", name="Page 1 du dossier").wait_for()
        valid = page.locator("aside.twoddoc.valid")
        assert valid.count() == 1
        text = valid.inner_text()
        assert "document authentifié" in text and "MME/SPECIMEN/NATACHA" in text
        assert "FR00" in text and "2014-06-02" in text
        assert "Ligne 1 de la norme adresse postale" in text        # the field's ANTS name
        # beside page 1, in the same row as its picture
        row = page.locator(".page-row", has=page.get_by_role("img", name="Page 1 du dossier"))
        assert row.locator("aside.twoddoc.valid").count() == 1
        invalid = page.locator("aside.twoddoc.invalid")
        assert invalid.count() == 1 and "INVALIDE" in invalid.inner_text()
        flag = page.locator("p.flash.error[role=alert]").first.inner_text()
        assert "Code 2D-Doc invalide" in flag and "Avis d'imposition" in flag
        assert "Justificatif de domicile" not in flag
        page.locator("aside.twoddoc.valid").scroll_into_view_if_needed()
        shoot(page, tmp_path, "workspace-2ddoc")
    finally:
        context.close()
        workspace.stop()
