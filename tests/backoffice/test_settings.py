"""``backoffice.toml``: what init writes is what serve reads, and what serve refuses, it says."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from backoffice import fleet
from backoffice.errors import SetupError
from backoffice.server import check_tls_files
from backoffice.settings import Limits, load_settings
from tests.conftest import run_cli


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "bo"
    fleet.init(folder, url="https://depots.example.fr:8443", key_type="x25519",
               staff_identity=tmp_path / "id.txt", now=datetime.now(UTC))
    return folder


def edit(data: Path, pattern: str, replacement: str) -> None:
    path = data / "backoffice.toml"
    text, n = re.subn(pattern, replacement, path.read_text(), flags=re.M)
    assert n == 1
    path.write_text(text)


def test_init_gives_four_listeners_and_a_status_page_chain_of_its_own(data: Path) -> None:
    settings = load_settings(data)
    assert settings.listen == "depots.example.fr:8443"
    assert settings.public_listen == "depots.example.fr:8444"
    assert settings.public_url == "https://depots.example.fr:8444"
    assert settings.admin_listen == "127.0.0.1:8445"
    assert settings.staff_listen == "depots.example.fr:8446"
    assert settings.staff_url == "https://depots.example.fr:8446"
    staff_ca = x509.load_pem_x509_certificate(settings.staff_ca_cert.read_bytes())
    assert staff_ca.subject != x509.load_pem_x509_certificate(
        settings.ca_cert.read_bytes()).subject      # a kiosk certificate is no staff one
    assert settings.limits == Limits()
    chain = x509.load_pem_x509_certificates(settings.public_cert_path.read_bytes())
    fleet_ca = x509.load_pem_x509_certificate(settings.ca_cert.read_bytes())
    assert len(chain) == 2 and chain[0].issuer == chain[1].subject
    assert fleet_ca.subject not in (chain[0].issuer, chain[1].subject)   # never the fleet CA


def test_a_settings_file_from_before_the_listeners_is_refused_with_what_to_add(data: Path
                                                                              ) -> None:
    edit(data, r"^public_listen = .*\n", "")
    edit(data, r"^admin_listen = .*\n", "")
    edit(data, r"^staff_listen = .*\n", "")
    with pytest.raises(SetupError) as refused:
        load_settings(data)
    assert "public_listen" in str(refused.value) and "admin_listen" in str(refused.value)
    assert "staff_listen" in str(refused.value)
    assert "docs/backoffice.md" in str(refused.value)


@pytest.mark.parametrize(("pattern", "replacement", "says"), [
    (r'^admin_listen = .*$', 'admin_listen = "0.0.0.0:8445"', "loopback"),
    (r'^public_tls = .*$', "public_tls = false", "reverse proxy"),
    (r'^public_listen = .*$', 'public_listen = "depots.example.fr:8443"', "four different"),
    (r'^staff_listen = .*$', 'staff_listen = "127.0.0.1:8445"', "four different"),
    (r'^max_open_uploads = .*$', "max_open_uploads = 0", "must be positive"),
    (r'^header_timeout = .*$', 'header_timeout = "15"', "is not a float"),
    (r'^\[limits\]$', "[limits]\nrate = 3", "unknown key 'rate' in [limits]"),
])
def test_settings_that_would_open_a_hole_are_refused_at_start(data: Path, pattern: str,
                                                              replacement: str, says: str
                                                              ) -> None:
    edit(data, pattern, replacement)
    with pytest.raises(SetupError) as refused:
        load_settings(data)
    assert says in str(refused.value)


def test_plain_http_for_the_status_page_is_allowed_on_loopback_behind_a_proxy(data: Path
                                                                              ) -> None:
    edit(data, r"^public_listen = .*$", 'public_listen = "127.0.0.1:8080"')
    edit(data, r"^public_tls = .*$", "public_tls = false")
    assert load_settings(data).public_tls is False


def test_serve_names_the_certificate_it_cannot_read_and_exits_2(data: Path) -> None:
    (data / "public" / "public.crt").unlink()
    with pytest.raises(SetupError) as refused:
        check_tls_files(load_settings(data))
    assert "public_cert" in str(refused.value) and "public.crt" in str(refused.value)
    done = run_cli("backoffice", ["serve", "--data", str(data)])
    assert done.returncode == 2 and "public.crt cannot be read" in done.stderr
