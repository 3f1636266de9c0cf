"""The fleet's certificate authority: the server certificate and one client certificate per kiosk.

Keys are ECDSA P-256 (every TLS stack, browsers included, speaks it; Ed25519
server certificates are refused by browsers, and citizens open the status
page in theirs). Kiosk certificates carry the kiosk id as their common name
and are marked for client authentication only; the server certificate names
the host of the service URL (plus localhost and 127.0.0.1 by default).

A certificate proves only that the fleet CA issued it. Whether its kiosk may
still deliver is decided per request against the metadata store (revocation),
by the SHA-256 fingerprint of the certificate.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 20
SERVER_YEARS = 5
KIOSK_YEARS = 10
#: A staff certificate lasts as long as a password policy would let a password live at most;
#: ``backoffice staff reissue`` gives a new one.
STAFF_YEARS = 2


@dataclass(frozen=True)
class Issued:
    """A key and its certificate, both PEM."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Deposit kiosk fleet"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def create_ca(now: datetime, name: str = "Deposit kiosk fleet CA") -> Issued:
    """A self-signed CA allowed to sign end-entity certificates only (path length 0)."""
    key = _new_key()
    subject = _name(name)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def _issue(ca: Issued, common_name: str, now: datetime, years: int,
           usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]) -> Issued:
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an ECDSA key")
    ca_cert = ca.certificate
    key = _new_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=365 * years), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def server_names(host: str) -> list[x509.GeneralName]:
    """Subject alternative names for ``host``, plus localhost and 127.0.0.1."""
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys([host, "localhost", "127.0.0.1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return names


def issue_server(ca: Issued, host: str, now: datetime) -> Issued:
    """The TLS server certificate of the back office for ``host``."""
    return _issue(ca, host, now, SERVER_YEARS, ExtendedKeyUsageOID.SERVER_AUTH,
                  server_names(host))


def placeholder_public_chain(host: str, now: datetime) -> Issued:
    """A certificate chain for the status page until a publicly trusted one is installed.

    Issued by a CA of its own (never the fleet CA: browsers are not to be shown
    the fleet's CA, and a kiosk must never trust the status page's issuer).
    ``cert_pem`` holds the leaf then that CA, the order a server sends a chain in.
    Phones will not trust it: ``backoffice init`` says so, docs/backoffice.md
    says what replaces it.
    """
    ca = create_ca(now, name="Deposit status page placeholder CA (not publicly trusted)")
    leaf = issue_server(ca, host, now)
    return Issued(leaf.key_pem, leaf.cert_pem + ca.cert_pem)


def issue_kiosk(ca: Issued, kiosk_id: str, now: datetime) -> Issued:
    """A client certificate whose common name is the kiosk id."""
    return _issue(ca, kiosk_id, now, KIOSK_YEARS, ExtendedKeyUsageOID.CLIENT_AUTH, [])


def issue_staff(ca: Issued, name: str, now: datetime, passphrase: bytes) -> Issued:
    """A staff member's client certificate (common name: the account name), from the staff CA.

    The key comes back encrypted with ``passphrase`` (PKCS#8, the best encryption
    the library offers): the file alone does not sign anyone in, nor does the
    passphrase alone (docs/workspace.md, "Accounts").
    """
    issued = _issue(ca, name, now, STAFF_YEARS, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    key = serialization.load_pem_private_key(issued.key_pem, password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(passphrase))
    return Issued(encrypted, issued.cert_pem)


def serial_hex(cert_pem: bytes) -> str:
    return format(x509.load_pem_x509_certificate(cert_pem).serial_number, "x")


def fingerprint(cert_der_or_pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex."""
    if cert_der_or_pem.lstrip().startswith(b"-----BEGIN"):
        der = x509.load_pem_x509_certificate(cert_der_or_pem).public_bytes(
            serialization.Encoding.DER)
    else:
        der = cert_der_or_pem
    return hashlib.sha256(der).hexdigest()


def common_name(cert_pem: bytes) -> str:
    """The common name of a PEM certificate ("" when it has none)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else ""
    return value if isinstance(value, str) else value.decode()


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only, durably (fsync, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    sync_dir(path.parent)


def write_public(path: Path, data: bytes) -> None:
    """Write a non-secret file durably (fsync, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    sync_dir(path.parent)


def sync_dir(folder: Path) -> None:
    """fsync a directory so that a rename in it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
