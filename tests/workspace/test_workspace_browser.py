"""The staff workspace in a real browser (Debian's Chromium, driven by Playwright).

A staff member signs in, filters the inbox by procedure, opens a dossier (its
pages decrypted on the workstation and shown), takes it, annotates it, rejects
it without a motive (refused) then with one; afterwards the sentinel written in
the scanned pages is in no file, log or database row of the server, the audit
trail lists every one of those actions with its author, and the workspace's
temporary folder is gone.

``WORKSPACE_SCREENSHOTS=DIR`` also saves the screens there (docs/workspace/ is
made that way).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from backoffice.roles import Role
from backoffice.settings import load_settings
from backoffice.staffclient import StaffClient
from backoffice.store.engines import open_metadata
from tests.backoffice.harness import STAFF_PASSPHRASE
from tests.workspace.conftest import Office

pytestmark = pytest.mark.timeout(180)


def shoot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("WORKSPACE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def every_text_row(office: Office) -> str:
    """Every value of every row of every table of the server's metadata store, as text."""
    store = open_metadata(load_settings(office.server.data).metadata)
    try:
        with store.read() as cur:
            tables = [r["name"] for r in cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'").all()]
            out: list[str] = []
            for table in tables:
                for row in cur.execute(f"SELECT * FROM {table}").all():
                    out.extend(bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview))
                               else str(v) for v in tuple(row))
        return "\n".join(out)
    finally:
        store.close()


def sign_in(page: Any, url: str, passphrase: bytes = STAFF_PASSPHRASE) -> None:
    page.goto(url)
    page.get_by_label("Phrase de passe de votre clé").fill(passphrase.decode())
    page.get_by_role("button", name="Se connecter").click()


def test_a_staff_member_filters_opens_assigns_annotates_and_rejects_with_a_motive(
        office: Office, chromium: Any, tmp_path: Path) -> None:
    office.staff("marie.durand")
    supervisor = office.staff("paul.martin", Role.SUPERVISOR)
    workspace = office.workspace("marie.durand")
    runtime_dirs = list((office.root / "runtime-marie.durand").iterdir())
    assert len(runtime_dirs) == 1 and runtime_dirs[0].stat().st_mode & 0o077 == 0
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        # A wrong passphrase opens nothing; the right one signs in.
        sign_in(page, workspace.url, b"not the passphrase at all")
        assert "n'ouvre pas votre clé" in page.locator("[role=alert]").inner_text()
        shoot(page, tmp_path, "signin")
        page.get_by_label("Phrase de passe de votre clé").fill(STAFF_PASSPHRASE.decode())
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/inbox")
        assert page.locator("table.inbox tbody tr").count() == 3

        # Filter by procedure: the two RSA dossiers only.
        page.get_by_label("Démarche", exact=True).select_option("rsa")
        page.get_by_role("button", name="Filtrer").click()
        page.wait_for_url("**/inbox?*procedure=rsa*")
        rows = page.locator("table.inbox tbody tr")
        assert rows.count() == 2
        assert all("RSA" in rows.nth(i).inner_text() for i in range(2))
        shoot(page, tmp_path, "inbox")

        # Open one: its page is decrypted here and shown.
        target = office.dossiers[1].deposit_id
        page.get_by_role("link", name=target).click()
        page.wait_for_url(f"**/dossiers/{target}")
        image = page.get_by_role("img", name="Page 1 du dossier")
        image.wait_for()
        assert page.evaluate("i => i.naturalWidth", image.element_handle()) == 827
        assert office.sentinel in page.locator("dl.facts").first.inner_text()   # deposit.json

        # Take it, annotate it.
        page.get_by_label("Attribuer à").fill("@me")
        page.get_by_role("button", name="Attribuer", exact=True).click()
        assert "Attribution enregistrée" in page.locator("[role=status]").first.inner_text()
        assert "marie.durand" in page.locator("section.side dl.facts").inner_text()
        page.get_by_label("Ajouter une annotation").fill("Vu avec la CAF.\nÀ rappeler lundi.")
        page.get_by_role("button", name="Annoter").click()
        assert "À rappeler lundi." in page.locator("blockquote.note").inner_text()

        # In review, then a rejection without a motive: refused, and what was chosen is kept.
        page.get_by_label("en cours d'instruction").check()
        page.get_by_role("button", name="Enregistrer la décision").click()
        page.get_by_text("Le dossier est maintenant en cours d'instruction.").wait_for()
        assert "en cours d'instruction" in page.locator("p .status").inner_text()
        page.get_by_label("refusé (motif obligatoire)").check()
        page.get_by_role("button", name="Enregistrer la décision").click()
        refusal = page.locator("[role=alert]").first.inner_text()
        assert "Un refus doit être motivé" in refusal
        assert page.get_by_label("refusé (motif obligatoire)").is_checked()
        assert "en cours d'instruction" in page.locator("p .status").inner_text()
        shoot(page, tmp_path, "decision-refused")

        # A motive that gives an e-mail address: refused in French, what was typed kept.
        leaky = "Écrivez à marie.durand@caf.fr pour la suite."
        page.get_by_label("refusé (motif obligatoire)").check()
        page.get_by_label("Message à l'usager").fill(leaky)
        page.get_by_role("button", name="Enregistrer la décision").click()
        alert = page.locator("[role=alert]").first.inner_text()
        assert "contient une adresse électronique" in alert and "caf.fr" not in alert
        assert page.get_by_label("Message à l'usager").input_value() == leaky

        # With a motive of two lines: rejected, the lines kept.
        motive = ("Le justificatif de domicile date de plus de trois mois.\n"
                  "Merci de déposer un justificatif récent.")
        page.get_by_label("refusé (motif obligatoire)").check()
        page.get_by_label("Message à l'usager").fill(motive)
        page.get_by_role("button", name="Enregistrer la décision").click()
        page.get_by_text("Le dossier est maintenant refusé.").wait_for()
        page.wait_for_load_state("load")        # the stylesheet too: it keeps the line breaks
        assert "refusé" in page.locator("p .status").inner_text()
        assert supervisor.dossier(target)["message"] == motive
        assert motive in page.locator("ol.history").inner_text()
        shoot(page, tmp_path, "dossier")
    finally:
        context.close()
        assert workspace.stop() == 0

    # The workspace took its temporary folder with it.
    assert not runtime_dirs[0].exists()

    # The sentinel never reached the server: not in a file, a log line or a row.
    data = office.server.data
    for path in data.rglob("*"):
        if path.is_file():
            assert office.sentinel.encode() not in path.read_bytes(), path
    assert office.sentinel not in office.log_file.read_text(errors="replace")
    assert office.sentinel not in every_text_row(office)

    # The audit trail has every action of the browser, with its author, in order.
    trail = supervisor.get("/audit", {"actor": "marie.durand", "limit": 500})["entries"]
    done = [(e["action"], e["outcome"], e["deposit_id"]) for e in reversed(trail)]
    expected = [("sign_in", "done", None), ("inbox", "done", None),
                ("view", "done", target), ("fetch", "done", target),
                ("assign", "done", target), ("annotate", "done", target),
                ("decide", "done", target), ("decide", "refused", target),
                ("decide", "refused", target), ("decide", "done", target)]
    remaining = iter(done)
    assert all(step in remaining for step in expected), done      # in that order
    assert any(e["detail"] == "in_review -> rejected" for e in trail)


def test_a_disabled_account_cannot_sign_in(office: Office, chromium: Any) -> None:
    from datetime import UTC, datetime

    from backoffice import staffaccounts

    office.staff("lea.bernard")
    staffaccounts.disable(office.server.data, "lea.bernard", now=datetime.now(UTC))
    workspace = office.workspace("lea.bernard")
    page = chromium.new_page()
    try:
        sign_in(page, workspace.url)
        alert = page.locator("[role=alert]").inner_text()
        assert "Ce compte est désactivé" in alert
        assert page.url.endswith("/signin")
    finally:
        page.close()
        workspace.stop()


def test_an_administrator_signs_in_but_neither_reads_dossiers_nor_decides(
        office: Office, chromium: Any) -> None:
    admin: StaffClient = office.staff("it.admin", Role.ADMINISTRATOR)
    assert "decide" not in admin.me()["permissions"]
    workspace = office.workspace("it.admin")
    page = chromium.new_page()
    try:
        sign_in(page, workspace.url)
        page.wait_for_url("**/inbox")
        assert "Votre rôle ne permet pas cette action" in page.locator("[role=alert]").inner_text()
    finally:
        page.close()
        workspace.stop()
