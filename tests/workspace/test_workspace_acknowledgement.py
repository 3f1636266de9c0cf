"""The workspace's dossier page links to the accusé de réception the citizen got, which the
workspace fetches from the staff API (no decryption involved)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.backoffice.harness import STAFF_PASSPHRASE
from tests.workspace.conftest import Office
from tests.workspace.kit import WorkspaceProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def workspace(shared_office: Office) -> Iterator[WorkspaceProcess]:
    shared_office.staff("lea.martin")
    process = shared_office.workspace("lea.martin")
    yield process
    process.stop()


def test_the_dossier_page_links_to_the_accuse_de_reception_pdf(
        shared_office: Office, workspace: WorkspaceProcess) -> None:
    rsa = shared_office.dossiers[1]
    with httpx.Client(base_url=workspace.base, follow_redirects=False, timeout=60) as client:
        assert client.get(workspace.url).status_code == 303
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
        assert token is not None
        r = client.post("/signin", data={"csrf": token.group(1),
                                         "passphrase": STAFF_PASSPHRASE.decode()})
        assert r.status_code == 303
        page = client.get(f"/dossiers/{rsa.deposit_id}").text
        href = f"/dossiers/{rsa.deposit_id}/accuse-de-reception.pdf"
        assert f'href="{href}"' in page
        pdf = client.get(href)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == \
        f'inline; filename="accuse-reception-{rsa.deposit_id}.pdf"'
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                          check=True).stdout.decode()
    assert rsa.deposit_id in text and "Accusé de réception" in text
