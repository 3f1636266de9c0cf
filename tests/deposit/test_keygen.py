"""``backoffice keygen``: identity files that the project and the age command both use."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deposit import envelope
from tests.conftest import run_cli


def test_post_quantum_keygen_round_trip(tmp_path: Path) -> None:
    key = tmp_path / "backoffice.key"
    done = run_cli("backoffice", ["keygen", "-o", str(key)])
    assert done.returncode == 0, done.stderr
    recipient = done.stdout.strip()
    assert recipient.startswith("age1pq1")
    assert key.stat().st_mode & 0o777 == 0o600
    lines = key.read_text().splitlines()
    assert lines[0].startswith("# created: ") and lines[1] == f"# public key: {recipient}"
    assert lines[2].startswith("AGE-SECRET-KEY-PQ-1")
    data = os.urandom(100_000)
    sealed = io.BytesIO()
    envelope.encrypt(io.BytesIO(data), sealed, [recipient])
    out = io.BytesIO()
    sealed.seek(0)
    envelope.decrypt(sealed, out, envelope.load_identities(key))
    assert out.getvalue() == data


def test_keygen_refuses_to_overwrite_an_identity(tmp_path: Path) -> None:
    key = tmp_path / "backoffice.key"
    key.write_text("precious\n")
    done = run_cli("backoffice", ["keygen", "--type", "x25519", "-o", str(key)])
    assert done.returncode == 2
    assert "already exists" in done.stderr
    assert key.read_text() == "precious\n"


@pytest.mark.skipif(shutil.which("age") is None, reason="the age command is not installed")
def test_x25519_keygen_identity_works_with_the_age_command_both_ways(tmp_path: Path) -> None:
    key = tmp_path / "backoffice.key"
    done = run_cli("backoffice", ["keygen", "--type", "x25519", "-o", str(key)])
    recipient = done.stdout.strip()
    assert recipient.startswith("age1") and not recipient.startswith("age1pq")
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(150_000))
    # age encrypts, the project decrypts
    subprocess.run(["age", "-r", recipient, "-o", str(tmp_path / "by-age.age"), str(plain)],
                   check=True)
    with (tmp_path / "by-age.age").open("rb") as src:
        envelope.decrypt_to_file(src, tmp_path / "a.out", envelope.load_identities(key))
    assert (tmp_path / "a.out").read_bytes() == plain.read_bytes()
    # the project encrypts, age decrypts with the keygen file as it is
    with plain.open("rb") as src, (tmp_path / "by-us.age").open("wb") as dst:
        envelope.encrypt(src, dst, [recipient])
    by_age = subprocess.run(["age", "-d", "-i", str(key), str(tmp_path / "by-us.age")],
                            capture_output=True, check=True)
    assert by_age.stdout == plain.read_bytes()
