"""Requests for missing documents from the staff workspace, in a real browser (Debian's
Chromium), and what the citizen then reads on the status page of a phone.

An instructor ticks nothing (refused in French), then writes a note with an e-mail address
(refused, what was typed kept), then asks for two documents of the dossier's procedure with a
deadline: the dossier becomes incomplete, the request shows with its documents and a
button to withdraw it. The citizen's status page, on a phone-sized screen, lists the two
documents by name with the deadline and how to bring them; withdrawn, the dossier is back in
review.

``WORKSPACE_SCREENSHOTS=DIR`` also saves the screens there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.workspace.conftest import Office
from tests.workspace.test_workspace_browser import shoot, sign_in

pytestmark = pytest.mark.timeout(180)


def test_a_staff_member_asks_for_two_documents_and_the_citizen_sees_them_on_a_phone(
        office: Office, chromium: Any, tmp_path: Path) -> None:
    office.staff("marie.durand")
    workspace = office.workspace("marie.durand")
    target = office.dossiers[0]                              # caf-aide-logement
    deadline = (datetime.now(UTC) + timedelta(days=14)).date()
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        sign_in(page, workspace.url)
        page.wait_for_url("**/inbox")
        page.goto(f"{workspace.base}/dossiers/{target.deposit_id}")
        form = page.locator("form.request")
        assert "Décision implicite (rejet)" in page.locator("p.deemed").inner_text()

        # Nothing ticked: refused in French.
        form.get_by_label("Date limite (incluse)").fill(deadline.isoformat())
        form.get_by_role("button", name="Demander les pièces").click()
        assert "Cochez au moins une pièce" in page.locator("[role=alert]").first.inner_text()

        # A note with an e-mail address: refused, the ticks, date and note kept.
        form = page.locator("form.request")
        form.get_by_label("Pièce d'identité").check()
        form.get_by_label("Relevé d'identité bancaire (RIB)").check()
        form.get_by_label("Date limite (incluse)").fill(deadline.isoformat())
        leaky = "Ou écrivez à marie.durand@caf.fr."
        form.get_by_label("Note à l'usager").fill(leaky)
        form.get_by_role("button", name="Demander les pièces").click()
        alert = page.locator("[role=alert]").first.inner_text()
        assert "contient une adresse électronique" in alert and "caf.fr" not in alert
        form = page.locator("form.request")
        assert form.get_by_label("Pièce d'identité").is_checked()
        assert form.get_by_label("Relevé d'identité bancaire (RIB)").is_checked()
        assert not form.get_by_label("Bail ou contrat de location").is_checked()
        assert form.get_by_label("Date limite (incluse)").input_value() == deadline.isoformat()
        assert form.get_by_label("Note à l'usager").input_value() == leaky
        shoot(page, tmp_path, "request-documents-refused")

        # Without it: asked; the dossier is incomplete and shows the open request.
        form.get_by_label("Note à l'usager").fill("Le RIB doit être à votre nom.")
        form.get_by_role("button", name="Demander les pièces").click()
        page.get_by_text("Pièces demandées (2)").wait_for()
        page.wait_for_load_state("load")
        assert "incomplet" in page.locator("p .status").inner_text()
        request = page.locator(".request.open").inner_text()
        assert "Pièce d'identité" in request and "Relevé d'identité bancaire (RIB)" in request
        assert deadline.strftime("%d/%m/%Y") in request
        assert "délai suspendu" in page.locator("p.deemed").inner_text()
        assert page.get_by_role("button", name="Enregistrer la décision").count() == 0
        shoot(page, tmp_path, "request-documents")

        # The citizen's phone: the documents, the deadline, how to bring them.
        phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR",
                                     ignore_https_errors=True, device_scale_factor=2)
        try:
            status = phone.new_page()
            status.goto(f"{office.server.public_url}/suivi/{target.deposit_id}?t={target.token}")
            section = status.locator("section.documents").inner_text()
            assert "Pièce d'identité" in section and "Relevé d'identité bancaire (RIB)" in section
            assert "n'importe quelle borne de dépôt" in section
            assert "suspendu" in status.locator("dd.deemed").inner_text()
            shoot(status, tmp_path, "status-page-documents-requested")
            status.goto(f"{office.server.public_url}/suivi/{target.deposit_id}?t={target.token}"
                        "&lang=ar")
            assert "الوثائق المطلوبة" in status.locator("section.documents").inner_text()
            shoot(status, tmp_path, "status-page-documents-requested-ar")
        finally:
            phone.close()

        # Withdrawn: back in review, the form to ask again is there.
        page.get_by_role("button", name="Retirer la demande").click()
        page.get_by_text("Demande de pièces retirée").wait_for()
        assert "en cours d'instruction" in page.locator("p .status").inner_text()
        assert page.locator("form.request").count() == 1
        assert "retirée" in page.locator(".request.past").inner_text()
    finally:
        context.close()
        assert workspace.stop() == 0
