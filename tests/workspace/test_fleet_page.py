"""The workspace's fleet page in a real browser (Debian's Chromium, driven by Playwright).

A supervisor signs in, follows "Parc des bornes" and reads every kiosk's state, the alerts
that hold and the ratings; an instructor has no such link and is refused the page in French.
The heartbeats are stored as the heartbeat endpoint stores them (tests/backoffice/fleetkit.py).

``WORKSPACE_SCREENSHOTS=DIR`` also saves the page there as ``fleet.png`` (docs/screens/fleet.png
is made that way: ``WORKSPACE_SCREENSHOTS=docs/screens``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backoffice.fleethealth import recent_weeks
from backoffice.roles import Role
from deposit.heartbeat import DeviceHealth, DeviceKind, PaperLevel, Queue, utc
from tests.backoffice.fleetkit import device, healthy, ratings, store_heartbeats
from tests.backoffice.harness import STAFF_PASSPHRASE, enroll
from tests.workspace.conftest import Office

pytestmark = pytest.mark.timeout(180)


def sign_in(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_label("Phrase de passe de votre clé").fill(STAFF_PASSPHRASE.decode())
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/inbox")


def a_fleet(office: Office) -> None:
    """Five more kiosks beside the office's MAIRIE-01, in the states a morning may find."""
    data = office.server.data
    now = datetime.now(UTC)
    for kiosk_id in ("MAIRIE-02", "CAF-01", "CAF-02", "PREFECTURE-01", "MDS-01"):
        enroll(data, kiosk_id, office.root / "bundles" / kiosk_id)
    week = recent_weeks(now)[0]
    recent = now - timedelta(minutes=2)
    store_heartbeats(data, [
        (healthy("MAIRIE-01", recent, ratings=ratings("caf-aide-logement", week, r3=14, r2=3,
                                                      r1=1) + ratings("rsa", week, r3=6)),
         recent),
        (device(healthy("MAIRIE-02", recent, paper=PaperLevel.NEAR_END), DeviceKind.PRINTER,
                DeviceHealth.WARN, "paper near end"), recent),
        (device(healthy("CAF-01", recent), DeviceKind.CAMERA, DeviceHealth.FAIL,
                "no frame in 5 s", now - timedelta(minutes=25)), recent),
        (healthy("CAF-02", recent, out_of_order=True,
                 out_of_order_message="écran remplacé mardi"), recent),
        (healthy("PREFECTURE-01", now - timedelta(hours=3)), now - timedelta(hours=3)),
        (healthy("MDS-01", recent, queue=Queue(5, 11_000_000, utc(now - timedelta(hours=2))),
                 agent_call_since=utc(now - timedelta(minutes=4))), recent),
    ])


def test_a_supervisor_reads_the_fleets_state_alerts_and_ratings(
        office: Office, chromium: Any, tmp_path: Path) -> None:
    a_fleet(office)
    office.staff("paul.martin", Role.SUPERVISOR)
    workspace = office.workspace("paul.martin")
    context = chromium.new_context(viewport={"width": 1500, "height": 900}, locale="fr-FR")
    page = context.new_page()
    try:
        sign_in(page, workspace.url)
        page.get_by_role("link", name="Parc des bornes").click()
        page.wait_for_url("**/fleet")
        assert page.locator("h1").inner_text() == "Parc des bornes"
        rows = page.locator("table.fleet tbody tr")
        assert rows.count() == 6
        alerts = [page.locator("ul.alerts li").nth(i).inner_text()
                  for i in range(page.locator("ul.alerts li").count())]
        assert len(alerts) == 6, alerts
        text = "\n".join(alerts)
        for expected in ("MAIRIE-02 · Papier bientôt épuisé", "CAF-01 · Périphérique en panne "
                         "(Caméra)", "CAF-02 · Hors service (information)",
                         "PREFECTURE-01 · Borne muette", "MDS-01 · Dépôts en attente d'envoi",
                         "MDS-01 · Appel d'un agent en attente"):
            assert expected in text, (expected, alerts)
        mairie = rows.filter(has_text="MAIRIE-01")
        assert "caf-aide-logement : 18 avis, moyenne 2,7 / 3" in mairie.inner_text()
        assert "en service" in mairie.inner_text()
        assert "hors service" in rows.filter(has_text="CAF-02").inner_text()
        assert "Caméra : en panne" in rows.filter(has_text="CAF-01").inner_text()
        assert "sans nouvelles" in rows.filter(has_text="PREFECTURE-01").inner_text()
        page.screenshot(path=str(tmp_path / "fleet.png"), full_page=True)
        folder = os.environ.get("WORKSPACE_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / "fleet.png"), full_page=True)
    finally:
        context.close()
        workspace.stop()


def test_an_instructor_has_no_fleet_link_and_is_refused_the_page(
        office: Office, chromium: Any) -> None:
    office.staff("marie.durand")
    workspace = office.workspace("marie.durand")
    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    try:
        sign_in(page, workspace.url)
        assert page.get_by_role("link", name="Parc des bornes").count() == 0
        answer = page.goto(workspace.base + "/fleet")
        assert answer is not None and answer.status == 403
        assert "Votre rôle ne permet pas cette action." in page.locator(
            "[role=alert]").inner_text()
        assert page.locator("table.fleet").count() == 0
    finally:
        context.close()
        workspace.stop()
