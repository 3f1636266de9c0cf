"""Setting up a back office and its fleet: init, enroll, revoke.

``init`` creates the data folder (CA, server certificate, acknowledgement key,
staff recipients, settings, empty stores) and one staff identity meant for the
staff workstation. ``enroll`` issues everything one kiosk needs as a bundle
folder (see :class:`deposit.bundle.Enrollment`) and records the kiosk (its
certificate's fingerprint, its manifest-signing public key, its fleet code).
``revoke`` marks a kiosk revoked: its next request is refused.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backoffice import notifykeys, pki
from backoffice.errors import EnrollmentError, SetupError
from backoffice.settings import (
    SETTINGS_FILE,
    Settings,
    load_settings,
    parse_listen,
    url_host_port,
)
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import KioskRecord
from backoffice.store.objects import open_objects
from deposit import ack as ackmod
from deposit import envelope, manifest
from deposit.bundle import Enrollment
from deposit.ids import DIGITS

log = logging.getLogger(__name__)

KEY_TYPES = ("mlkem768x25519", "x25519")
#: Fleet codes never handed out: the configuration's demo default.
RESERVED_CODES = frozenset({"D3M0"})


@dataclass(frozen=True)
class Written:
    """One file (or store) ``init``/``enroll`` wrote, shown as ``name: path``."""

    name: str
    path: str


def init(data_dir: Path, *, url: str = "https://localhost:8443", public_url: str | None = None,
         listen: str | None = None, public_listen: str | None = None,
         admin_listen: str | None = None, staff_listen: str | None = None,
         metadata: str | None = None,
         objects: str | None = None, key_type: str = "mlkem768x25519",
         staff_identity: Path | None = None, now: datetime) -> list[Written]:
    """Create a back office in ``data_dir`` (which must be absent or empty).

    Default addresses: the kiosks' listener on ``url``'s host and port, the
    status page on the next port (``public_url`` follows it unless given), the
    administration side on 127.0.0.1 and the port after, the staff API on the
    URL's host and the port after that.
    """
    if key_type not in KEY_TYPES:
        raise SetupError(f"key type {key_type!r} is not one of {', '.join(KEY_TYPES)}")
    host, port = url_host_port(url)
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise SetupError(f"{data_dir} is not empty; init never overwrites keys (choose a new "
                         f"folder)")
    data_dir.mkdir(parents=True, exist_ok=True)
    shown = f"[{host}]" if ":" in host else host
    public_listen = public_listen or f"{shown}:{port + 1}"
    public_port = parse_listen(public_listen)[1]
    settings = Settings(
        data_dir=data_dir, url=url.rstrip("/"),
        public_url=(public_url or f"https://{shown}:{public_port}").rstrip("/"),
        listen=listen or f"{shown}:{port}", public_listen=public_listen,
        admin_listen=admin_listen or f"127.0.0.1:{port + 2}",
        staff_listen=staff_listen or f"{shown}:{port + 3}",
        metadata=metadata or f"sqlite://{data_dir / 'backoffice.sqlite3'}",
        objects=objects or (data_dir / "objects").as_uri())
    ca = pki.create_ca(now)
    server = pki.issue_server(ca, host, now)
    public = pki.placeholder_public_chain(url_host_port(settings.public_url)[0], now)
    pki.write_private(settings.public_key_path, public.key_pem)
    pki.write_public(settings.public_cert_path, public.cert_pem)
    pki.write_private(settings.ca_key, ca.key_pem)
    pki.write_public(settings.ca_cert, ca.cert_pem)
    pki.write_private(settings.server_key, server.key_pem)
    pki.write_public(settings.server_cert, server.cert_pem)
    staff_ca = pki.create_ca(now, name="Deposit back-office staff CA")
    pki.write_private(settings.staff_ca_key, staff_ca.key_pem)
    pki.write_public(settings.staff_ca_cert, staff_ca.cert_pem)
    ack_private, ack_public = ackmod.generate_key()
    pki.write_private(settings.ack_key, ack_private)
    pki.write_public(settings.ack_public, ack_public)
    identity, recipient = envelope.generate_identity(key_type)
    pki.write_public(settings.recipients,
                     f"# age recipients of the back-office staff ({key_type})\n"
                     f"{recipient}\n".encode())
    identity_path = (staff_identity or data_dir / "staff" / "staff-identity.txt").resolve()
    if identity_path.exists():
        raise SetupError(f"{identity_path} exists; init never overwrites an identity")
    pki.write_private(identity_path, envelope.format_identity_file(identity, now).encode())
    notifykeys.ensure(settings, now)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
    finally:
        store.close()
    open_objects(settings.objects)
    pki.write_public(data_dir / SETTINGS_FILE, settings.to_toml().encode())
    load_settings(data_dir)   # what serve will read: refuse now what it would refuse then
    log.info("initialised a back office in %s for %s", data_dir, settings.url)
    return [
        Written("settings", str(data_dir / SETTINGS_FILE)),
        Written("fleet CA certificate", str(settings.ca_cert)),
        Written("fleet CA key", str(settings.ca_key)),
        Written("server certificate", str(settings.server_cert)),
        Written("server key", str(settings.server_key)),
        Written("staff CA certificate", str(settings.staff_ca_cert)),
        Written("staff CA key", str(settings.staff_ca_key)),
        Written("status page certificate (placeholder)", str(settings.public_cert_path)),
        Written("acknowledgement key", str(settings.ack_key)),
        Written("acknowledgement public key", str(settings.ack_public)),
        Written("staff recipients", str(settings.recipients)),
        Written("notifier key", str(settings.notifier_identity)),
        Written("notifier recipient", str(settings.notifier_recipient)),
        Written("metadata", store.describe()),
        Written("objects", settings.objects),
        Written("staff identity", str(identity_path)),
    ]


def new_fleet_code(taken: Callable[[str], bool]) -> str:
    for _ in range(1000):
        code = "".join(secrets.choice(DIGITS) for _ in range(4))
        if code not in RESERVED_CODES and not taken(code):
            return code
    raise EnrollmentError("no free fleet code found (the fleet is nearly full)")


def enroll(data_dir: Path, kiosk_id: str, out: Path, *, now: datetime) -> list[Written]:
    """Issue a bundle for ``kiosk_id`` into ``out`` (absent or empty) and record the kiosk."""
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,31}", kiosk_id):
        raise EnrollmentError(f"kiosk id {kiosk_id!r} is not 1 to 32 capital letters, digits "
                              f"or '-'")
    settings = load_settings(data_dir)
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        raise EnrollmentError(f"{out} is not empty; choose a new folder for the bundle")
    notifykeys.ensure(settings, now)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
        if store.kiosk(kiosk_id) is not None:
            raise EnrollmentError(f"kiosk {kiosk_id} is already enrolled (kiosk ids are never "
                                  f"reused; revoke it and enroll the machine under a new id)")
        ca = pki.Issued(settings.ca_key.read_bytes(), settings.ca_cert.read_bytes())
        tls = pki.issue_kiosk(ca, kiosk_id, now)
        signing = manifest.generate_signing_key()
        # Build the bundle in a sibling temporary folder, then rename: never half a bundle.
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            for _ in range(5):
                code = new_fleet_code(store.fleet_code_taken)
                record = KioskRecord(
                    kiosk_id=kiosk_id, fleet_code=code,
                    cert_fingerprint=pki.fingerprint(tls.cert_pem),
                    cert_serial=format(tls.certificate.serial_number, "x"),
                    signing_key_pem=manifest.public_key_pem(signing).decode(), enrolled_at=now)
                bundle = Enrollment(folder=out, kiosk_id=kiosk_id, fleet_code=code,
                                    upload_url=settings.upload_endpoint,
                                    public_url=settings.public_url)
                _write_bundle(tmp, bundle, tls, signing, settings)
                if store.add_kiosk(record):
                    break
                if store.kiosk(kiosk_id) is not None:
                    raise EnrollmentError(f"kiosk {kiosk_id} was enrolled meanwhile")
            else:
                raise EnrollmentError("could not record the kiosk (fleet code collisions)")
            if out.exists():
                out.rmdir()
            tmp.rename(out)
            pki.sync_dir(out.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        store.close()
    log.info("enrolled kiosk %s with fleet code %s", kiosk_id, code)
    return [
        Written("kiosk", kiosk_id),
        Written("fleet code", code),
        Written("bundle", str(out)),
        Written("TLS key", str(out / Enrollment.CLIENT_KEY)),
        Written("TLS certificate", str(out / Enrollment.CLIENT_CERT)),
        Written("fleet CA certificate", str(out / Enrollment.CA_CERT)),
        Written("manifest signing key", str(out / Enrollment.SIGNING_KEY)),
        Written("staff recipients", str(out / Enrollment.RECIPIENTS)),
        Written("acknowledgement public key", str(out / Enrollment.ACK_KEY)),
        Written("notifier recipient", str(out / Enrollment.NOTIFIER)),
        Written("configuration fragment", str(out / Enrollment.CONFIG)),
        Written("upload URL", settings.upload_endpoint),
        Written("status page URL", settings.public_url + "/suivi/"),
    ]


def _write_bundle(folder: Path, bundle: Enrollment, tls: pki.Issued, signing: Ed25519PrivateKey,
                  settings: Settings) -> None:
    for name in (*Enrollment.FILES, Enrollment.NOTIFIER, Enrollment.BUNDLE, Enrollment.CONFIG):
        (folder / name).unlink(missing_ok=True)
    pki.write_private(folder / Enrollment.CLIENT_KEY, tls.key_pem)
    pki.write_public(folder / Enrollment.CLIENT_CERT, tls.cert_pem)
    pki.write_public(folder / Enrollment.CA_CERT, settings.ca_cert.read_bytes())
    manifest.save_signing_key(signing, folder / Enrollment.SIGNING_KEY)
    pki.write_public(folder / Enrollment.RECIPIENTS, settings.recipients.read_bytes())
    pki.write_public(folder / Enrollment.ACK_KEY, settings.ack_public.read_bytes())
    pki.write_public(folder / Enrollment.NOTIFIER, settings.notifier_recipient.read_bytes())
    pki.write_public(folder / Enrollment.BUNDLE, bundle.to_json().encode())
    pki.write_public(folder / Enrollment.CONFIG, kiosk_fragment(bundle).encode())


def kiosk_fragment(bundle: Enrollment) -> str:
    """The ``kiosk.toml`` lines this enrollment decides."""
    return (
        f"# Written by `backoffice enroll` for kiosk {bundle.kiosk_id}: merge into\n"
        f"# /etc/kiosk/kiosk.toml and copy this folder to {{data_dir}}/enrollment/.\n"
        f"[kiosk]\n"
        f'id = "{bundle.kiosk_id}"\n'
        f'code = "{bundle.fleet_code}"\n'
        f"\n"
        f"[upload]\n"
        f"# The enrollment bundle (this folder); default {{data_dir}}/enrollment.\n"
        f'# bundle = "/var/lib/kiosk/enrollment"\n'
        f"# Upload URL {bundle.upload_url}; status pages under {bundle.public_url}/suivi/\n"
    )


def revoke(data_dir: Path, kiosk_id: str, *, now: datetime) -> KioskRecord:
    """Revoke a kiosk; its next request is refused. Returns the kiosk as now recorded."""
    settings = load_settings(data_dir)
    store = open_metadata(settings.metadata)
    try:
        if not store.revoke(kiosk_id, now):
            raise EnrollmentError(f"no kiosk {kiosk_id} is enrolled")
        record = store.kiosk(kiosk_id)
    finally:
        store.close()
    assert record is not None
    log.warning("revoked kiosk %s", kiosk_id)
    return record
