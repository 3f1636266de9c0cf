"""Technicians' badges on the back office: issue one (a signed QR code), list them, revoke one.

A badge opens a kiosk's service mode together with its holder's PIN
(deposit/badge.py has the format and the threat note; kiosk/service/access.py
the kiosk's side). The back office signs it with its acknowledgement key, the
key every kiosk already trusts, under the badge's own signing context.

- :func:`issue` records the badge (holder, issued and expiry times, the OS user
  who issued it) in the ``badges`` table and returns its QR text; the command
  writes that text as a PNG ready to print on a card (:func:`write_png`).
- :func:`revoke` marks it revoked: the fleet state (backoffice/fleetstate.py)
  lists it from then on, and each kiosk refuses it once its uploader has
  fetched that state (with its next heartbeat, every few minutes).
- A badge lives 1 to :data:`MAX_DAYS` days. Ninety at most because revocation
  reaches only the kiosks that are online: expiry is the one limit every kiosk
  applies by itself, and it also bounds how long an offline PIN search on a
  lost badge nobody reported can pay off. A quarter covers a technician's
  usual assignment; a new card is one command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image
from reportlab.graphics.barcode import qrencoder

from backoffice.errors import BackofficeError
from backoffice.settings import load_settings
from backoffice.store.badgesdb import BadgeRecord, BadgeStore
from backoffice.store.engines import open_metadata
from deposit import ack as ackmod
from deposit import badge as badgemod

log = logging.getLogger(__name__)

MIN_DAYS = 1
MAX_DAYS = 90


class BadgeIssueError(BackofficeError):
    """A badge cannot be issued or revoked: a bad name, PIN or duration, an unknown badge."""


@dataclass(frozen=True)
class IssuedBadge:
    record: BadgeRecord
    text: str               # the QR code's text (deposit/badge.py)


def issue(data_dir: Path, holder: str, days: int, pin: str, *, issued_by: str,
          now: datetime) -> IssuedBadge:
    """A new badge for ``holder`` valid ``days`` days from ``now``, recorded and signed."""
    holder = " ".join(holder.split())
    if not holder or len(holder) > badgemod.MAX_HOLDER or not holder.isprintable():
        raise BadgeIssueError(f"the holder's name must be 1 to {badgemod.MAX_HOLDER} printable "
                              f"characters")
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise BadgeIssueError(f"--days must be from {MIN_DAYS} to {MAX_DAYS} (a badge is "
                              f"short-lived: expiry is the one limit every kiosk applies, "
                              f"online or not)")
    if not badgemod.valid_pin(pin):
        raise BadgeIssueError("the PIN must be 6 to 8 digits")
    settings = load_settings(data_dir)
    key = ackmod.load_private_key(settings.ack_key.read_bytes())
    issued_at = now.replace(microsecond=0)
    verifier = badgemod.PinVerifier.make(pin)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
        badges = BadgeStore(store)
        for _ in range(5):
            badge = badgemod.Badge(
                badge_id=badgemod.new_badge_id(), holder=holder, issued_at=issued_at,
                expires_at=issued_at + timedelta(days=days), pin=verifier,
                issuer=settings.url)
            record = BadgeRecord(badge.badge_id, holder, badge.issued_at, badge.expires_at,
                                 issued_by)
            if badges.add(record):
                break
        else:  # pragma: no cover - five collisions of 64 random bits
            raise BadgeIssueError("could not draw a free badge id")
    finally:
        store.close()
    text = badgemod.encode(badge, key)
    log.warning("badge %s issued to %s by %s, valid until %s", badge.badge_id, holder,
                issued_by, f"{badge.expires_at:%Y-%m-%dT%H:%M:%SZ}")
    return IssuedBadge(record, text)


def badges(data_dir: Path) -> list[BadgeRecord]:
    """Every badge issued, the most recent first."""
    store = open_metadata(load_settings(data_dir).metadata)
    try:
        return BadgeStore(store).all()
    finally:
        store.close()


def revoke(data_dir: Path, badge_id: str, *, now: datetime) -> BadgeRecord:
    """Revoke a badge; kiosks refuse it once they fetched the next fleet state."""
    store = open_metadata(load_settings(data_dir).metadata)
    try:
        record = BadgeStore(store).revoke(badge_id.strip().lower(), now)
    finally:
        store.close()
    if record is None:
        raise BadgeIssueError(f"no badge {badge_id} was issued here")
    log.warning("badge %s of %s revoked", record.badge_id, record.holder)
    return record


def write_png(text: str, path: Path, *, module_px: int = 6) -> Path:
    """The QR code of ``text`` as a PNG to print on a card: error correction M (a worn card
    still reads), ``module_px`` pixels a module, the standard quiet zone of 4 modules.

    A badge's text is about 490 characters: a version 17 code, 85 modules. At 6 pixels a
    module and 300 dpi that is 4.7 cm square with its quiet zone (modules of 0.5 mm), which
    fits a card of 85 x 54 mm beside the holder's name.

    Drawn with reportlab's QR encoder and Pillow, both already on the back office
    (the ``qrcode`` package is the kiosk's, not in requirements/backoffice.txt).
    """
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    count = code.moduleCount
    dark = code.modules       # rows of booleans once made
    quiet = 4
    side = count + 2 * quiet
    image = Image.new("1", (side, side), 1)
    image.putdata([0 if quiet <= r < quiet + count and quiet <= c < quiet + count
                   and dark[r - quiet][c - quiet] else 1
                   for r in range(side) for c in range(side)])
    image = image.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, "PNG")
    tmp.replace(path)
    return path
