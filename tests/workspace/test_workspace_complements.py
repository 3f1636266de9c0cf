"""Documents brought at a kiosk in answer to a request reach the staff: the staff API lists a
dossier's complements and serves each one's envelope and signed manifest (audited); the staff
client checks them against their own kiosk's signature and the dossier they name; the
workspace decrypts them on the workstation and shows their pages under the dossier's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from backoffice.roles import Role
from backoffice.staffclient import StaffAPIError
from tests.backoffice.harness import STAFF_PASSPHRASE, MadeDeposit
from tests.workspace.conftest import Office
from tests.workspace.kit import real_dossier

pytestmark = pytest.mark.timeout(180)


def bring(office: Office, original: MadeDeposit, pages: int = 1) -> tuple[str, MadeDeposit]:
    """A request for the RIB, answered by a complement delivered from the office's kiosk."""
    ines = office.staff("ines.martin")
    deadline = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    asked = ines.request_documents(original.deposit_id, ["rib"], deadline)
    complement = real_dossier(office.kiosk, "caf-aide-logement", office.sentinel + "-RIB",
                              pages, complement_of=original.deposit_id,
                              request_id=asked["request_id"], token=original.token)
    assert office.kiosk.deliver(complement).outcome == "delivered"
    return asked["request_id"], complement


def test_the_dossier_view_lists_its_complements_and_serves_them_audited(office: Office) -> None:
    original = office.dossiers[0]
    request_id, complement = bring(office, original)
    ines = office.clients[0]
    view = ines.dossier(original.deposit_id)
    (listed,) = view["complements"]
    assert (listed["complement_id"], listed["request_id"], listed["envelope_sha256"]) == \
        (complement.deposit_id, request_id, complement.sha256)
    fetched = ines.fetch_complement_bytes(original.deposit_id, listed)
    assert fetched.envelope is not None and len(fetched.envelope) == complement.size
    supervisor = office.staff("sam.chef", Role.SUPERVISOR)
    trail = supervisor.get("/audit", {"deposit": original.deposit_id})["entries"]
    assert any(e["actor"] == "ines.martin" and e["action"] == "fetch" and
               e["detail"] == f"complement {complement.deposit_id}: {complement.size} bytes"
               for e in trail)
    on_disk = ines.fetch_to(original.deposit_id, office.root / "fetched")
    assert [f.deposit_id for f in on_disk] == [original.deposit_id, complement.deposit_id]
    assert all(f.envelope_path is not None and f.envelope_path.exists() for f in on_disk)
    other = office.dossiers[1].deposit_id
    with pytest.raises(StaffAPIError) as missing:
        ines.get(f"/dossiers/{other}/complements/{complement.deposit_id}/manifest")
    assert missing.value.status == 404


def test_the_workspace_shows_the_pages_brought_under_the_dossier_s(office: Office) -> None:
    original = office.dossiers[0]
    _request_id, complement = bring(office, original, pages=2)
    workspace = office.workspace("ines.martin")
    try:
        with httpx.Client(base_url=workspace.base, follow_redirects=False, timeout=60) as web:
            assert web.get(workspace.url).status_code == 303
            token = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text)
            assert token is not None
            assert web.post("/signin", data={"csrf": token.group(1), "passphrase":
                                             STAFF_PASSPHRASE.decode()}).status_code == 303
            page = web.get(f"/dossiers/{original.deposit_id}").text
            assert "Pièces apportées à une borne" in page
            assert complement.deposit_id in page
            sources = re.findall(rf'src="(/dossiers/{re.escape(complement.deposit_id)}'
                                 r'/pages/\d+)"', page)
            assert len(sources) == 2
            image = web.get(sources[0])
            assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"   # JPEG
            assert (office.sentinel + "-RIB page 1").encode() in image.content   # its comment
    finally:
        assert workspace.stop() == 0
