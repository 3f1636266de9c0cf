"""Issue #13: the public listener as a citizen's phone and ``openssl s_client`` see it.

The status page must be reachable from any phone: a publicly trusted chain,
never a CertificateRequest (a phone asked for a certificate may show a picker
or fail), HSTS on every answer, and nothing served there but ``/suivi/`` and a
``/health`` that says ``ok`` or ``failing`` and nothing more. A realistic chain
is made here (root CA, intermediate CA, leaf for the public host, as an ACME
client installs them), written as ``public_cert``/``public_key`` in the data
folder, and the real back office is started with it; the real ``openssl
s_client`` reads its handshake in TLS 1.2 and 1.3. The same run against the
kiosks' listener shows a CertificateRequest, so the check can fail.

That CertificateRequest names no CA: Python's ``ssl`` has no call for the
client CA list (``SSL_CTX_set_client_CA_list``), so OpenSSL sends none and
``s_client`` says "No client certificate CA names sent". A kiosk holds one
certificate and sends it anyway; the test accepts a CA list only if it names
the fleet CA alone.

Second part: ``deploy/nginx-status-page.conf``, the shipped file with its
placeholders substituted, run by the Debian ``nginx`` in a temporary prefix in
front of a back office whose public listener is plain HTTP on loopback
(``public_tls = false``). Its ``client_header_timeout`` is shortened from the
shipped value so that the slow-header test takes seconds, every other line is
the shipped one.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backoffice import server as server_module
from backoffice.settings import SETTINGS_FILE, load_settings
from tests.backoffice.harness import (
    FakeKiosk,
    MadeDeposit,
    RunningServer,
    enroll,
    free_port,
    free_ports,
    init_backoffice,
)
from tests.tmpfs import tmpfs

REPO = Path(__file__).resolve().parents[2]
NGINX_SITE = REPO / "deploy" / "nginx-status-page.conf"
PUBLIC_HOST = "suivi.depots.example.fr"
HSTS = "max-age=31536000"
OPENSSL = shutil.which("openssl")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: The rendered nginx file's client_header_timeout (the shipped one is 10 s).
TEST_HEADER_TIMEOUT = 2
TLS_VERSIONS = [pytest.param("-tls1_2", "TLSv1.2", id="tls1.2"),
                pytest.param("-tls1_3", "TLSv1.3", id="tls1.3")]

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


# ------------------------------------------------------------------ a realistic public chain
@dataclass(frozen=True)
class Chain:
    """A root CA (what a phone's trust store holds), an intermediate and a leaf."""

    root_pem: bytes
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key_pem: bytes

    @property
    def fullchain_pem(self) -> bytes:
        """Leaf then intermediate: what an ACME client writes as fullchain.pem."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM)
                        for c in (self.leaf, self.intermediate))


def _certificate(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
                 issuer_key: ec.EllipticCurvePrivateKey, now: datetime, *,
                 ca_path_length: int | None, host: str | None = None) -> x509.Certificate:
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=90))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   issuer_key.public_key()), critical=False))
    if host is None:
        builder = (builder
                   .add_extension(x509.BasicConstraints(ca=True, path_length=ca_path_length),
                                  critical=True)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True))
    else:
        builder = (builder
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False,
                       crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]),
                                  critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def make_public_chain(host: str, now: datetime) -> Chain:
    def name(org: str, cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name = name("Example Trust Services", "Example Root X1")
    mid_name = name("Example Trust Services", "Example ACME E1")
    root = _certificate(root_name, root_key, root_name, root_key, now, ca_path_length=1)
    mid = _certificate(mid_name, mid_key, root_name, root_key, now, ca_path_length=0)
    leaf = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]), leaf_key,
                        mid_name, mid_key, now, ca_path_length=None, host=host)
    key_pem = leaf_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    return Chain(root.public_bytes(serialization.Encoding.PEM), mid, leaf, key_pem)


def edit_settings(data: Path, **values: str | bool | int) -> None:
    """Change top-level or ``[limits]`` keys of ``DIR/backoffice.toml``, as an operator does."""
    path = data / SETTINGS_FILE
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        shown = ("true" if value else "false") if isinstance(value, bool) else (
            str(value) if isinstance(value, int) else f'"{value}"')
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {shown}", text)
        assert count == 1, f"{key} is not once in {path}"
    path.write_text(text, encoding="utf-8")


def install_chain(data: Path, chain: Chain) -> None:
    """Where certbot would put them, and ``public_cert``/``public_key`` pointing there."""
    live = data / "public" / "live"
    live.mkdir(parents=True)
    (live / "fullchain.pem").write_bytes(chain.fullchain_pem)
    key = live / "privkey.pem"
    key.touch(mode=0o600)
    key.write_bytes(chain.leaf_key_pem)
    edit_settings(data, public_cert="public/live/fullchain.pem",
                  public_key="public/live/privkey.pem")


def sha256(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


# ------------------------------------------------------------------ what openssl shows
@dataclass(frozen=True)
class Handshake:
    """The output of ``openssl s_client -showcerts -msg``."""

    trace: str

    def messages(self) -> list[str]:
        """Handshake messages the server sent (``<<<``), decrypted ones of TLS 1.3 included."""
        return re.findall(r"(?m)^<<< TLS [\d.]+, Handshake \[length \w+\], (\w+)$", self.trace)

    def certificates(self) -> list[x509.Certificate]:
        """The chain as the server sent it, leaf first."""
        start = self.trace.index("Certificate chain")
        end = self.trace.index("\n---\n", start)
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                            self.trace[start:end + 1], re.S)
        return [x509.load_pem_x509_certificate(block.encode()) for block in blocks]

    def client_ca_names(self) -> list[str] | None:
        """The client CA names the server sent; [] when none (s_client prints "No client
        certificate CA names sent" with or without a CertificateRequest), None if unparsed."""
        if "No client certificate CA names sent" in self.trace:
            return []
        found = re.search(r"Acceptable client certificate CA names\n(.*?)\n(?:Requested|---)",
                          self.trace, re.S)
        return found.group(1).splitlines() if found else None


def s_client(port: int, version: str, servername: str = PUBLIC_HOST) -> Handshake:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts",
                           "-msg", "-servername", servername, version],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False)
    trace = done.stdout.decode("utf-8", "replace")
    assert "ServerHello" in trace, f"no handshake:\n{trace}\n{done.stderr.decode()}"
    return Handshake(trace)


# ------------------------------------------------------------------ a back office with the chain
@dataclass
class Site:
    data: Path
    server: RunningServer
    kiosk: FakeKiosk
    delivered: MadeDeposit
    chain: Chain
    trust_store: Path      # the root alone, as on a phone

    @property
    def status_path(self) -> str:
        return f"/suivi/{self.delivered.deposit_id}?t={self.delivered.token}"

    def port(self, which: str) -> int:
        settings = load_settings(self.data)
        address = {"ingest": f"127.0.0.1:{self.server.port}", "public": settings.public_listen,
                   "admin": settings.admin_listen}[which]
        return int(address.rpartition(":")[2])


def browser(trust_store: Path) -> httpx.Client:
    """A phone's browser: trusts the root only, sends no certificate, names the public host."""
    ctx = ssl.create_default_context(cafile=str(trust_store))
    return httpx.Client(verify=ctx, timeout=10, headers={
        "Host": PUBLIC_HOST, "User-Agent": "Mozilla/5.0 (Linux; Android 14) Mobile",
        "Accept-Language": "fr-FR,fr;q=0.9"})


def browse(client: httpx.Client, url: str, method: str = "GET") -> httpx.Response:
    # Connect to 127.0.0.1 but handshake (SNI, certificate check) for the public host.
    return client.request(method, url, extensions={"sni_hostname": PUBLIC_HOST})


@pytest.fixture(scope="module")
def chain() -> Chain:
    return make_public_chain(PUBLIC_HOST, datetime.now(UTC))


def _delivered_site(root: Path, chain: Chain, **settings: str | bool | int
                    ) -> Generator[Site, None, None]:
    """A back office with ``chain`` installed, ``settings`` edited, one deposit delivered."""
    port = free_port()
    data = init_backoffice(root, port)
    install_chain(data, chain)
    if settings:
        edit_settings(data, **settings)
    trust_store = root / "phone-trust-store.pem"
    trust_store.write_bytes(chain.root_pem)
    kiosk = FakeKiosk(enroll(data, "MAIRIE-01", root / "bundle"), root / "kiosk")
    server = RunningServer(data, port).start()
    try:
        made = kiosk.make(size=5_000)
        assert kiosk.deliver(made).outcome == "delivered"
        yield Site(data, server, kiosk, made, chain, trust_store)
    finally:
        kiosk.close()
        server.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chain: Chain) -> Iterator[Site]:
    """A back office serving the status page itself with the realistic chain."""
    yield from _delivered_site(tmp_path_factory.mktemp("public-tls"), chain)


@pytest.fixture
def phone(site: Site) -> Iterator[httpx.Client]:
    with browser(site.trust_store) as client:
        yield client


# ------------------------------------------------------------------ the handshake
@needs_openssl
@pytest.mark.parametrize(("flag", "protocol"), TLS_VERSIONS)
def test_openssl_sees_no_certificate_request_and_the_configured_chain_on_the_public_listener(
        site: Site, flag: str, protocol: str) -> None:
    shown = s_client(site.port("public"), flag)
    assert f"New, {protocol}," in shown.trace
    messages = shown.messages()
    assert "Certificate" in messages and "Finished" in messages, messages
    assert "CertificateRequest" not in messages
    assert "CertificateRequest" not in shown.trace
    certificates = shown.certificates()
    assert [sha256(c) for c in certificates] == [sha256(site.chain.leaf),
                                                 sha256(site.chain.intermediate)]
    assert certificates[0].subject.rfc4514_string() == f"CN={PUBLIC_HOST}"
    assert certificates[1].subject == site.chain.intermediate.subject
    assert certificates[0].issuer == certificates[1].subject


@needs_openssl
@pytest.mark.parametrize("flag", ["-tls1_2", "-tls1_3"])
def test_openssl_sees_a_certificate_request_on_the_kiosks_listener(site: Site, flag: str
                                                                   ) -> None:
    shown = s_client(site.port("ingest"), flag, servername="127.0.0.1")
    assert "CertificateRequest" in shown.messages()
    fleet_ca = x509.load_pem_x509_certificate(load_settings(site.data).ca_cert.read_bytes())
    ca_name = fleet_ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(ca_name, str)
    assert shown.certificates()[0].issuer == fleet_ca.subject
    names = shown.client_ca_names()
    assert names is not None, "no client CA section in the trace"
    # Python's ssl cannot send a CA list (module docstring); if it ever does, the fleet CA only.
    assert names == [] or (len(names) == 1 and f"CN = {ca_name}" in names[0]), names


# ------------------------------------------------------------------ what each listener serves
def test_a_browser_without_a_certificate_gets_the_status_page_with_hsts(
        site: Site, phone: httpx.Client) -> None:
    r = browse(phone, site.server.public_url + site.status_path)
    assert r.status_code == 200
    assert "Reçu" in r.text and site.delivered.deposit_id in r.text
    assert r.headers.get_list("strict-transport-security") == [HSTS]


@pytest.mark.parametrize("path", ["/metrics", "/files/", "/", "/suivi/", "/healthz",
                                  "/kiosk/v1/agent-calls", "/admin", "/favicon.ico",
                                  "/.well-known/security.txt"])
def test_the_public_listener_answers_404_with_hsts_outside_the_status_page(
        site: Site, phone: httpx.Client, path: str) -> None:
    r = browse(phone, site.server.public_url + path)
    assert r.status_code == 404
    assert r.headers.get_list("strict-transport-security") == [HSTS]
    assert "backoffice_" not in r.text


# Starlette's redirect_slashes (on by default) answered these with a 307 whose Location was
# built from the Host header, tracking token included.
@pytest.mark.parametrize("path", ["/health/", "/suivi/{id}/?t={token}"])
def test_the_public_listener_never_redirects_to_the_host_a_request_names(
        site: Site, phone: httpx.Client, path: str) -> None:
    url = site.server.public_url + path.format(id=site.delivered.deposit_id,
                                               token=site.delivered.token)
    r = phone.get(url, headers={"Host": "evil.example"},
                  extensions={"sni_hostname": PUBLIC_HOST})
    assert "evil.example" not in r.headers.get("location", "")
    assert r.status_code == 404


def test_the_public_listener_takes_no_upload_on_the_status_page(
        site: Site, phone: httpx.Client) -> None:
    r = browse(phone, site.server.public_url + site.status_path, method="POST")
    assert r.status_code == 405
    assert r.headers.get_list("strict-transport-security") == [HSTS]


def test_the_kiosks_listener_has_no_status_page_nor_health_nor_metrics(site: Site) -> None:
    with site.kiosk.enrollment.http_client(timeout=10) as kiosk:
        for path in (site.status_path, "/health", "/metrics"):
            assert kiosk.get(site.server.url + path).status_code == 404, path


def test_the_admin_listener_has_the_metrics_and_the_detailed_health(site: Site) -> None:
    assert site.server.admin_url.startswith("http://127.0.0.1:")
    r = site.server.admin("/metrics")
    assert r.status_code == 200 and "backoffice_" in r.text
    health = site.server.admin("/health").json()
    assert health["status"] == "ok" and set(health["checks"]) == {"metadata", "objects",
                                                                  "objects_space"}


def test_the_public_health_says_ok_and_nothing_else(site: Site, phone: httpx.Client) -> None:
    r = browse(phone, site.server.public_url + "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"
    assert r.headers.get_list("strict-transport-security") == [HSTS]


# ------------------------------------------------------------------ a failing public /health
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs, mounted for this test (root only)."""
    with tmpfs(tmp_path / "objects-disk", 8192, mode="0700") as mount:
        yield mount


def _wait_for_status(client: httpx.Client, url: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        r = browse(client, url)
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_the_public_health_says_failing_with_503_and_no_detail_when_the_envelope_disk_fills(
        tmp_path: Path, chain: Chain, small_disk: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The service's own periodic refresh, every 0.1 s instead of 15 s.
    monkeypatch.setattr(server_module, "GAUGE_INTERVAL", 0.1)
    store = small_disk / "objects"
    sites = _delivered_site(tmp_path, chain, objects=store.as_uri(), min_free_bytes=2 * 2**20)
    site = next(sites)
    try:
        with browser(site.trust_store) as phone:
            url = site.server.public_url + "/health"
            assert _wait_for_status(phone, url, 200).json() == {"status": "ok"}
            free = shutil.disk_usage(small_disk).free
            ballast = small_disk / "ballast"
            with ballast.open("wb") as f:       # leave 1 MiB, under the 2 MiB floor
                f.write(b"\0" * (free - 2**20))
            r = _wait_for_status(phone, url, 503)
            assert r.status_code == 503
            assert r.json() == {"status": "failing"}
            assert str(small_disk) not in r.text and "MiB" not in r.text
            assert r.headers.get_list("strict-transport-security") == [HSTS]
            # The detail is on the administration side only.
            admin = site.server.admin("/health").json()
            assert admin["checks"]["objects_space"]["ok"] is False
            assert "MiB free" in admin["checks"]["objects_space"]["detail"]
            ballast.unlink()
            assert _wait_for_status(phone, url, 200).json() == {"status": "ok"}
    finally:
        sites.close()


# ------------------------------------------------------------------ nginx in front
@dataclass
class Proxy:
    site: Site
    https_port: int
    http_port: int
    error_log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"


def render_nginx_site(values: dict[str, str], header_timeout: int) -> str:
    """The shipped file with its placeholders replaced and client_header_timeout shortened."""
    text = NGINX_SITE.read_text(encoding="utf-8")
    config = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    placeholders = set(re.findall(r"@[A-Z_]+@", config))
    assert placeholders == set(values), placeholders ^ set(values)
    for name, value in values.items():
        text = text.replace(name, value)
    text, count = re.subn(r"(?m)^(\s*client_header_timeout) \d+s;",
                          rf"\1 {header_timeout}s;", text)
    assert count == 1, "client_header_timeout is not once in the shipped file"
    return text


NGINX_MAIN = """
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {site};
}}
"""


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, chain: Chain) -> Iterator[Proxy]:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (Debian package nginx)")
    root = tmp_path_factory.mktemp("nginx")
    sites = _delivered_site(root, chain, public_tls=False)
    site = next(sites)
    https_port, http_port = free_ports(2)
    live = site.data / "public" / "live"
    (root / "site.conf").write_text(render_nginx_site({
        "@SERVER_NAME@": PUBLIC_HOST, "@HTTPS_LISTEN@": f"127.0.0.1:{https_port}",
        "@HTTP_LISTEN@": f"127.0.0.1:{http_port}",
        "@PUBLIC_LISTEN@": load_settings(site.data).public_listen,
        "@CERTIFICATE@": str(live / "fullchain.pem"),
        "@CERTIFICATE_KEY@": str(live / "privkey.pem")}, TEST_HEADER_TIMEOUT))
    main = root / "nginx.conf"
    main.write_text(NGINX_MAIN.format(user="user root;" if os.geteuid() == 0 else "",
                                      root=root, site=root / "site.conf"))
    process = subprocess.Popen([NGINX, "-p", str(root), "-c", str(main), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.fail(f"nginx did not start: {process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not listen within 10 s")
                time.sleep(0.05)
        yield Proxy(site, https_port, http_port, root / "error.log")
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()
        sites.close()


@pytest.fixture
def proxied_phone(proxy: Proxy) -> Iterator[httpx.Client]:
    with browser(proxy.site.trust_store) as client:
        yield client


def test_the_back_office_behind_nginx_serves_plain_http_on_loopback_only(proxy: Proxy) -> None:
    settings = load_settings(proxy.site.data)
    assert settings.public_tls is False
    r = httpx.get(f"http://{settings.public_listen}/health", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_nginx_serves_the_status_page_over_https_with_hsts_once(
        proxy: Proxy, proxied_phone: httpx.Client) -> None:
    r = browse(proxied_phone, proxy.url + proxy.site.status_path)
    assert r.status_code == 200
    assert "Reçu" in r.text and proxy.site.delivered.deposit_id in r.text
    assert r.headers.get_list("strict-transport-security") == [HSTS]
    assert r.headers["server"] == "nginx"           # server_tokens off: no version
    assert r.headers["content-security-policy"]      # the back office's own headers pass
    r = browse(proxied_phone, proxy.url + "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@needs_openssl
@pytest.mark.parametrize(("flag", "protocol"), TLS_VERSIONS)
def test_nginx_sends_the_configured_chain_and_no_certificate_request(
        proxy: Proxy, flag: str, protocol: str) -> None:
    shown = s_client(proxy.https_port, flag)
    assert f"New, {protocol}," in shown.trace
    assert "CertificateRequest" not in shown.messages()
    assert [sha256(c) for c in shown.certificates()] == [
        sha256(proxy.site.chain.leaf), sha256(proxy.site.chain.intermediate)]


def _tls_socket(proxy: Proxy, alpn: list[str]) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(proxy.site.trust_store))
    ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=PUBLIC_HOST)


def test_nginx_offers_http2(proxy: Proxy) -> None:
    with _tls_socket(proxy, ["h2", "http/1.1"]) as tls:
        assert tls.selected_alpn_protocol() == "h2"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_nginx_refuses_every_method_but_get_and_head(
        proxy: Proxy, proxied_phone: httpx.Client, method: str) -> None:
    r = browse(proxied_phone, proxy.url + proxy.site.status_path, method=method)
    assert r.status_code == 405
    assert "<center>nginx</center>" in r.text       # nginx's own page: never passed on
    assert r.headers.get_list("strict-transport-security") == [HSTS]
    assert browse(proxied_phone, proxy.url + proxy.site.status_path,
                  method="HEAD").status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/files/", "/", "/kiosk/v1/agent-calls"])
def test_nginx_passes_only_the_status_page_paths(
        proxy: Proxy, proxied_phone: httpx.Client, path: str) -> None:
    r = browse(proxied_phone, proxy.url + path)
    assert r.status_code == 404
    assert "<center>nginx</center>" in r.text       # nginx's own page: never passed on
    assert r.headers.get_list("strict-transport-security") == [HSTS]


def test_nginx_redirects_plain_http_to_the_configured_name(proxy: Proxy) -> None:
    r = httpx.get(f"http://127.0.0.1:{proxy.http_port}/suivi/X?t=1",
                  headers={"Host": "evil.example"}, timeout=10)
    assert r.status_code == 301
    assert r.headers["location"] == f"https://{PUBLIC_HOST}/suivi/X?t=1"


def test_nginx_cuts_a_client_that_trickles_its_headers(proxy: Proxy) -> None:
    with _tls_socket(proxy, ["http/1.1"]) as tls:
        tls.sendall(f"GET /health HTTP/1.1\r\nHost: {PUBLIC_HOST}\r\n".encode())
        start = time.monotonic()
        tls.settimeout(0.3)
        received = b""
        closed_after: float | None = None
        n = 0
        while time.monotonic() - start < TEST_HEADER_TIMEOUT + 8:
            try:
                n += 1
                tls.sendall(f"X-Slow-{n}: 1\r\n".encode())    # a byte or so, never the end
                chunk = tls.recv(4096)
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                closed_after = time.monotonic() - start
                break
            received += chunk
            if not chunk:
                closed_after = time.monotonic() - start
                break
    assert closed_after is not None, "nginx kept a trickling client past its header timeout"
    assert TEST_HEADER_TIMEOUT - 0.5 <= closed_after <= TEST_HEADER_TIMEOUT + 3, closed_after
    assert b"200 OK" not in received


def test_nginx_limits_the_request_rate_of_one_address(
        proxy: Proxy, proxied_phone: httpx.Client) -> None:
    # Last of the file: it spends this address's burst (5 r/s, burst 20 in the shipped file).
    # The tests before may have used part of the burst, not all of it.
    statuses = [browse(proxied_phone, proxy.url + "/health").status_code for _ in range(60)]
    assert statuses[:5] == [200] * 5, statuses
    assert statuses.count(429) >= 10, statuses
    assert set(statuses) == {200, 429}, statuses
