"""The workspace lets in only its own staff member's browser: checked with plain HTTP requests
as another local user, another site or a stale page would make them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.backoffice.harness import STAFF_PASSPHRASE
from tests.workspace.conftest import Office
from tests.workspace.kit import WorkspaceProcess

pytestmark = pytest.mark.timeout(120)


def opened(workspace: WorkspaceProcess) -> httpx.Client:
    """A browser-like client that followed the launch link (it holds the session cookie)."""
    client = httpx.Client(base_url=workspace.base, follow_redirects=False, timeout=30)
    r = client.get(workspace.url)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    return client


def csrf(client: httpx.Client, path: str = "/signin") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def signed_in(workspace: WorkspaceProcess) -> httpx.Client:
    client = opened(workspace)
    r = client.post("/signin", data={"csrf": csrf(client),
                                     "passphrase": STAFF_PASSPHRASE.decode()})
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    return client


@pytest.fixture(scope="module")
def workspace(shared_office: Office) -> Iterator[WorkspaceProcess]:
    """One workspace for the module (each test opens its own session, which ends the one
    before)."""
    shared_office.staff("marie.durand")
    process = shared_office.workspace("marie.durand", "--idle-lock", "2")
    yield process
    process.stop()


def test_nothing_is_served_without_the_launch_link(workspace: WorkspaceProcess) -> None:
    with httpx.Client(base_url=workspace.base) as stranger:
        for path in ("/", "/signin", "/inbox", "/workspace.css"):
            r = stranger.get(path)
            assert r.status_code == 403 and "Ouvrez l'espace agent depuis son lien" in r.text
        assert stranger.get("/open", params={"token": "guessed"}).status_code == 403
        assert stranger.post("/signin", data={"passphrase": "x"}).status_code == 403


def test_a_new_launch_ends_the_previous_session(workspace: WorkspaceProcess) -> None:
    first = signed_in(workspace)
    second = opened(workspace)
    assert first.get("/inbox").status_code == 403
    assert second.get("/signin").status_code == 200
    first.close()
    second.close()


def test_another_host_name_is_refused(workspace: WorkspaceProcess) -> None:
    client = signed_in(workspace)
    r = client.get("/inbox", headers={"Host": "attacker.example:80"})
    assert r.status_code == 421
    port = workspace.base.rsplit(":", 1)[1]
    assert client.get("/inbox", headers={"Host": f"localhost:{port}"}).status_code == 200
    client.close()


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_requests_a_browser_marks_as_from_another_site_are_refused(
        workspace: WorkspaceProcess, site: str) -> None:
    client = signed_in(workspace)
    assert client.get("/inbox", headers={"Sec-Fetch-Site": site}).status_code == 403
    assert client.get("/inbox", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    client.close()


def test_a_form_without_the_session_token_changes_nothing(workspace: WorkspaceProcess) -> None:
    client = signed_in(workspace)
    r = client.post("/signout", data={"csrf": "not-the-token"})
    assert r.status_code == 403
    assert client.get("/inbox").status_code == 200         # still signed in
    client.close()


def test_every_answer_forbids_scripts_framing_and_caching(workspace: WorkspaceProcess) -> None:
    client = signed_in(workspace)
    for path in ("/inbox", "/signin", "/workspace.css"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"
    client.close()


def test_after_the_idle_delay_the_key_is_forgotten_without_waiting_for_a_click(
        workspace: WorkspaceProcess) -> None:
    client = signed_in(workspace)
    assert client.get("/inbox").status_code == 200
    deadline = time.monotonic() + 10
    while not any("locked after" in line for line in workspace.output):
        assert time.monotonic() < deadline, "the workspace did not lock by itself"
        time.sleep(0.1)
    r = client.get("/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    assert "Session verrouillée après inactivité" in client.get("/signin").text
    client.close()


def test_the_workspace_refuses_to_listen_beyond_this_machine(shared_office: Office) -> None:
    shared_office.staff("jean.petit")
    with pytest.raises(RuntimeError, match="loopback address only"):
        shared_office.workspace("jean.petit", "--host", "0.0.0.0")
