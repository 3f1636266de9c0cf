"""The staff commands run from a workstation that holds none of the server's files.

A back office serves (SQLite); the staff member's machine is a
fresh folder holding only a copy of their profile and of the staff identity.
``python -m backoffice inbox|fetch|decrypt|status`` run there as subprocesses,
found through ``BACKOFFICE_PROFILE`` and ``BACKOFFICE_STAFF_PASSPHRASE``, with no
argument naming the data folder: whatever they show came through the staff
API. ``backoffice staff add|list|disable`` run on the server's side, with its
data folder, as an administrator does.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from backoffice.roles import Action, Role
from backoffice.store.staffdb import StaffStore
from deposit import payload
from tests.backoffice.harness import (
    STAFF_PASSPHRASE,
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    deposit_number,
)
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


@dataclass
class Workstation:
    """The staff member's machine: a folder with ``profile/`` and ``identity.txt`` only."""

    folder: Path
    env: dict[str, str]

    def run(self, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return run_cli("backoffice", list(args), env={**self.env, **(env or {})},
                       cwd=self.folder)


def workstation(tmp_path: Path, profile: Path, name: str = "workstation") -> Workstation:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copytree(profile, folder / "profile")
    shutil.copy(tmp_path / "staff-identity.txt", folder / "identity.txt")   # init_backoffice's
    return Workstation(folder, {"BACKOFFICE_PROFILE": "profile",
                                "BACKOFFICE_STAFF_PASSPHRASE": STAFF_PASSPHRASE.decode()})


@pytest.fixture
def metadata_url() -> None:
    """SQLite only (overrides tests/backoffice/conftest.py's): the commands talk to the staff
    API, whose store engines tests/backoffice/test_staff_api.py runs both."""
    return None


@pytest.fixture
def desk(server: RunningServer, tmp_path: Path) -> Workstation:
    """Ines's workstation (an instructor), her account made on the server."""
    server.add_staff(tmp_path / "issued", "ines", Role.INSTRUCTOR).close()
    return workstation(tmp_path, tmp_path / "issued" / "ines")


def sealed_dossier(kiosk: FakeKiosk, sequence: int) -> tuple[MadeDeposit, bytes]:
    """A delivered deposit whose envelope holds a real payload (deposit.json, dossier.pdf)."""
    deposit_id = deposit_number(kiosk.enrollment.fleet_code, 900_000 + sequence)
    pdf = b"%PDF-1.7\n" + bytes([sequence]) * 20_000
    archive = b"".join(bytes(piece) for piece in payload.pack(
        {"version": 1, "deposit_id": deposit_id, "kiosk_id": kiosk.enrollment.kiosk_id}, pdf))
    made = kiosk.make(payload=archive, deposit_id=deposit_id)
    assert kiosk.deliver(made).outcome == "delivered"
    return made, pdf


def lines_naming(text: str, deposit_id: str) -> list[str]:
    return [line for line in text.splitlines() if deposit_id in line]


def test_inbox_fetch_decrypt_and_status_work_from_a_folder_with_only_the_profile_and_identity(
        server: RunningServer, kiosk: FakeKiosk, desk: Workstation) -> None:
    (first, first_pdf), (second, _pdf) = sealed_dossier(kiosk, 1), sealed_dossier(kiosk, 2)
    a, b = first.deposit_id, second.deposit_id

    done = desk.run("status", a, "in-review")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{a}: in review"
    done = desk.run("status", a, "incomplete", "--expected", "in review",
                    "--message", "Il manque :\n- le justificatif de domicile")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{a}: incomplete"

    done = desk.run("inbox")
    assert done.returncode == 0, done.stderr
    [row_a] = lines_naming(done.stdout, a)            # one dossier, one line, whatever its
    [row_b] = lines_naming(done.stdout, b)            # message
    assert "incomplete (Il manque : ⏎ - le justificatif de domicile)" in row_a
    assert row_a.split()[5] == "ines"                 # taking it in review assigned it
    assert row_b.split()[-1] == "received"
    assert "page 1 of 1, 2 dossiers" in done.stdout

    done = desk.run("inbox", "--json", "--status", "incomplete")
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    assert [(r["deposit_id"], r["message"]) for r in page["rows"]] == \
        [(a, "Il manque :\n- le justificatif de domicile")]
    assert page["conflicts"] == []

    done = desk.run("inbox", "--csv", "inbox.csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "csv: inbox.csv (2 dossiers)"
    rows = list(csv.DictReader(io.StringIO((desk.folder / "inbox.csv").read_text())))
    assert sorted(r["deposit_id"] for r in rows) == sorted([a, b])

    done = desk.run("fetch", a, b, "-o", "fetched")
    assert done.returncode == 0, done.stderr
    assert "[2/2]" in done.stderr
    for made in (first, second):
        assert (desk.folder / "fetched" / f"{made.deposit_id}.age").read_bytes() == \
            made.envelope_path.read_bytes()

    done = desk.run("decrypt", "-i", "identity.txt", f"fetched/{a}.age", "-o", "opened")
    assert done.returncode == 0, done.stderr
    assert "verified: manifest signature, size and SHA-256 verified" in done.stdout
    assert (desk.folder / "opened" / "dossier.pdf").read_bytes() == first_pdf
    assert json.loads((desk.folder / "opened" / "deposit.json").read_text())["deposit_id"] == a

    assert sorted(p.name for p in desk.folder.iterdir()) == \
        ["fetched", "identity.txt", "inbox.csv", "opened", "profile"]
    # And the server knows who did it.
    actions = {e.action for e in StaffStore(server.bo.metadata).audit_trail(actor="ines")}
    assert {Action.INBOX, Action.EXPORT, Action.FETCH, Action.DECIDE} <= actions


def test_status_with_a_refused_message_or_transition_exits_2_saying_why(
        server: RunningServer, kiosk: FakeKiosk, desk: Workstation) -> None:
    made, _pdf = sealed_dossier(kiosk, 3)
    d = made.deposit_id
    done = desk.run("status", d, "accepted", "--message", "Bravo.")
    assert done.returncode == 2
    assert "cannot become accepted" in done.stderr and "in review" in done.stderr
    assert desk.run("status", d, "in_review").returncode == 0
    done = desk.run("status", d, "rejected", "--message",
                    "Écrivez à jean.dupont@example.fr pour la suite.")
    assert done.returncode == 2
    assert done.stderr.startswith("backoffice: ") and "e-mail address" in done.stderr
    assert "jean.dupont" not in done.stderr           # the value is never repeated
    done = desk.run("status", d, "rejected")
    assert done.returncode == 2 and "needs a message" in done.stderr
    done = desk.run("status", d, "in-review", "--expected", "received")
    assert done.returncode == 2 and "meanwhile" in done.stderr
    assert done.stdout == ""


def test_a_wrong_passphrase_exits_2_with_a_clear_message(
        server: RunningServer, desk: Workstation) -> None:
    done = desk.run("inbox", env={"BACKOFFICE_STAFF_PASSPHRASE": "not the passphrase"})
    assert done.returncode == 2
    assert "the passphrase does not open the staff key" in done.stderr
    assert "Traceback" not in done.stderr
    (desk.folder / "pass.txt").write_text("still not it\n")
    done = desk.run("inbox", "--passphrase-file", "pass.txt")
    assert done.returncode == 2 and "passphrase does not open" in done.stderr
    (desk.folder / "pass.txt").write_text(STAFF_PASSPHRASE.decode() + "\n")
    assert desk.run("inbox", "--passphrase-file", "pass.txt",
                    env={"BACKOFFICE_STAFF_PASSPHRASE": "wrong"}).returncode == 0


def test_without_a_profile_the_commands_say_what_they_need(
        server: RunningServer, desk: Workstation) -> None:
    for command in (["inbox"], ["fetch", "0000-0000-0000", "-o", "out"],
                    ["status", "0000-0000-0000", "accepted"]):
        done = desk.run(*command, env={"BACKOFFICE_PROFILE": ""})
        assert done.returncode == 2, command
        assert "--profile DIR is needed" in done.stderr and "BACKOFFICE_PROFILE" in done.stderr
    done = desk.run("inbox", "--profile", ".")
    assert done.returncode == 2 and "is not a staff profile" in done.stderr
    assert "backoffice staff add" in done.stderr


def test_staff_add_list_and_disable_on_the_server_side_and_the_profile_works_elsewhere(
        server: RunningServer, kiosk: FakeKiosk, tmp_path: Path) -> None:
    data = str(server.data)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(STAFF_PASSPHRASE.decode() + "\n")
    done = run_cli("backoffice", ["staff", "add", "marie.durand", "--role", "supervisor",
                                  "--full-name", "Marie Durand", "--data", data,
                                  "--out", str(tmp_path / "marie"),
                                  "--passphrase-file", str(secret)])
    assert done.returncode == 0, done.stderr
    assert "account: marie.durand (supervisor)" in done.stdout
    assert f"server: {server.staff_url}" in done.stdout
    assert oct((tmp_path / "marie").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "marie" / "staff.key").stat().st_mode & 0o777) == "0o600"

    done = run_cli("backoffice", ["staff", "add", "marie.durand", "--role", "instructor",
                                  "--data", data, "--out", str(tmp_path / "again"),
                                  "--passphrase-file", str(secret)])
    assert done.returncode == 2 and "exists already" in done.stderr
    secret.write_text("short\n")
    done = run_cli("backoffice", ["staff", "add", "paul", "--role", "instructor",
                                  "--data", data, "--out", str(tmp_path / "paul"),
                                  "--passphrase-file", str(secret)])
    assert done.returncode == 2 and "at least 12 characters" in done.stderr

    done = run_cli("backoffice", ["staff", "list", "--data", data])
    assert done.returncode == 0, done.stderr
    [line] = lines_naming(done.stdout, "marie.durand")
    assert line.split()[:3] == ["marie.durand", "supervisor", "active"]
    assert line.endswith("Marie Durand")

    sealed_dossier(kiosk, 4)
    desk = workstation(tmp_path, tmp_path / "marie")
    done = desk.run("inbox", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 1

    done = run_cli("backoffice", ["staff", "disable", "marie.durand", "--data", data])
    assert done.returncode == 0 and done.stdout.strip() == "marie.durand: disabled"
    listed = json.loads(run_cli("backoffice", ["staff", "list", "--data", data, "--json"]
                                ).stdout)
    [marie] = [a for a in listed if a["name"] == "marie.durand"]
    assert (marie["role"], marie["active"], marie["full_name"]) == \
        ("supervisor", False, "Marie Durand")
    assert marie["disabled"] is not None

    done = desk.run("inbox")
    assert done.returncode == 2
    assert "the account marie.durand is disabled" in done.stderr
    done = run_cli("backoffice", ["staff", "disable", "nobody", "--data", data])
    assert done.returncode == 2 and "no account named 'nobody'" in done.stderr
