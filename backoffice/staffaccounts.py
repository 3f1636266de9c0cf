"""Staff accounts, managed on the back office's machine (``backoffice staff``).

Adding an account issues a personal client certificate from the staff CA
(``DIR/staff-ca/``, made by ``init``, or here for a data folder older than
accounts), encrypts its key with the staff member's passphrase and writes a
profile folder (backoffice/staffclient.py) to hand over. The server keeps the
certificate's fingerprint, never the key nor the passphrase. Disabling an
account refuses its certificate at the next request; ``reissue`` replaces a
lost or expired certificate (the old one stops working).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from backoffice import pki
from backoffice.errors import AccountError
from backoffice.roles import NAME, Role
from backoffice.settings import Settings, load_settings
from backoffice.staffclient import Profile, write_profile
from backoffice.store.engines import open_metadata
from backoffice.store.staffdb import StaffRecord, StaffStore

log = logging.getLogger(__name__)

#: A passphrase shorter than this is refused (NIST SP 800-63B asks at least 8 characters
#: of a memorised secret; it protects a key that is also needed, so 12 leaves room).
MIN_PASSPHRASE = 12


def staff_ca(settings: Settings, now: datetime) -> pki.Issued:
    """The staff CA of ``settings``, created the first time it is needed."""
    if not settings.staff_ca_cert.exists():
        ca = pki.create_ca(now, name="Deposit back-office staff CA")
        pki.write_private(settings.staff_ca_key, ca.key_pem)
        pki.write_public(settings.staff_ca_cert, ca.cert_pem)
        log.info("created the staff CA in %s", settings.staff_ca_cert.parent)
        return ca
    try:
        return pki.Issued(settings.staff_ca_key.read_bytes(), settings.staff_ca_cert.read_bytes())
    except OSError as exc:
        raise AccountError(f"the staff CA cannot be read ({exc})") from None


def _check(name: str, passphrase: bytes) -> None:
    if not NAME.fullmatch(name):
        raise AccountError(f"{name!r} is not an account name (1-64 lowercase letters, digits, "
                           f"'.', '_' or '-', starting with a letter or digit)")
    if len(passphrase) < MIN_PASSPHRASE:
        raise AccountError(f"the passphrase needs at least {MIN_PASSPHRASE} characters")


@contextlib.contextmanager
def _accounts(data_dir: Path) -> Iterator[tuple[Settings, StaffStore]]:
    """The settings of ``data_dir`` and its accounts, the schema brought up to date."""
    settings = load_settings(data_dir)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
        yield settings, StaffStore(store)
    finally:
        store.close()


def _issue(settings: Settings, name: str, out: Path, passphrase: bytes, now: datetime,
           server: str | None) -> tuple[Profile, pki.Issued]:
    """A new certificate for ``name`` and the profile folder that carries it."""
    issued = pki.issue_staff(staff_ca(settings, now), name, now, passphrase)
    profile = write_profile(out, name, server or settings.staff_url, issued.cert_pem,
                            issued.key_pem, settings.ca_cert.read_bytes())
    return profile, issued


def add(data_dir: Path, name: str, role: Role, full_name: str, out: Path, passphrase: bytes, *,
        now: datetime, server: str | None = None) -> Profile:
    """Create an account and write its profile into ``out`` (absent or empty)."""
    _check(name, passphrase)
    with _accounts(data_dir) as (settings, staff):
        if staff.account(name) is not None:
            raise AccountError(f"an account named {name!r} exists already (reissue gives it a "
                               f"new certificate)")
        profile, issued = _issue(settings, name, out, passphrase, now, server)
        staff.add(StaffRecord(name=name, full_name=full_name.strip() or name, role=role,
                              cert_fingerprint=pki.fingerprint(issued.cert_pem),
                              cert_serial=pki.serial_hex(issued.cert_pem), created_at=now))
    log.info("added the staff account %s (%s)", name, role)
    return profile


def reissue(data_dir: Path, name: str, out: Path, passphrase: bytes, *, now: datetime,
            server: str | None = None) -> Profile:
    _check(name, passphrase)
    with _accounts(data_dir) as (settings, staff):
        if staff.account(name) is None:
            raise AccountError(f"no account named {name!r}")
        profile, issued = _issue(settings, name, out, passphrase, now, server)
        staff.reissue(name, pki.fingerprint(issued.cert_pem), pki.serial_hex(issued.cert_pem),
                      now)
    return profile


def accounts(data_dir: Path) -> list[StaffRecord]:
    with _accounts(data_dir) as (_settings, staff):
        return staff.accounts()


def disable(data_dir: Path, name: str, *, now: datetime) -> StaffRecord:
    with _accounts(data_dir) as (_settings, staff):
        return staff.disable(name, now)
