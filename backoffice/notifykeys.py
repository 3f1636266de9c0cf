"""The notifier's key pair: what kiosks seal citizens' contact cards to (deposit/contact.py).

Why a key of its own: the server must read a contact to write to the citizen, and must
never read a dossier. The staff's identity stays on staff workstations; this one lives in
the data folder (``DIR/notifier/notifier.key``, mode 0600) and opens contact cards only,
since kiosks seal nothing else to its recipient (``DIR/notifier/notifier.txt``, copied
into every enrollment bundle as ``notifier.txt``).

``backoffice init`` makes it; a data folder made before notifications gets it the first
time it is needed (``serve``, ``enroll``), logged. Kiosks enrolled before then keep
sending no contact until enrolled again (their bundle has no recipient).
"""

from __future__ import annotations

import logging
from datetime import datetime

from backoffice import pki
from backoffice.errors import SetupError
from backoffice.settings import Settings
from deposit import envelope
from deposit.errors import KeyFormatError

log = logging.getLogger(__name__)

#: The kind of the notifier's key: post-quantum hybrid, as the staff's by default (a
#: contact card may be stored for a year; DESIGN.md, "Dossier format and security").
KIND = "mlkem768x25519"


def ensure(settings: Settings, now: datetime) -> bool:
    """Make the notifier's key pair if the data folder has none; True when made now."""
    if settings.notifier_identity.exists():
        if not settings.notifier_recipient.exists():
            pki.write_public(settings.notifier_recipient,
                             _recipient_file(recipient_of(identities(settings)[0])))
        return False
    identity, recipient = envelope.generate_identity(KIND)
    pki.write_private(settings.notifier_identity,
                      envelope.format_identity_file(identity, now).encode())
    pki.write_public(settings.notifier_recipient, _recipient_file(recipient))
    log.info("made the notifier's key %s", settings.notifier_identity)
    return True


def _recipient_file(recipient: str) -> bytes:
    return (f"# the back office notifier's age recipient: kiosks seal citizens' contact "
            f"cards to it\n{recipient}\n").encode()


def recipient_of(identity: str) -> str:
    return envelope.recipient_of(identity)


def identities(settings: Settings) -> list[str]:
    """The notifier's identity strings; :class:`SetupError` when unreadable."""
    try:
        found = envelope.load_identities(settings.notifier_identity)
    except KeyFormatError as exc:
        raise SetupError(f"the notifier's key: {exc}") from None
    if not found:
        raise SetupError(f"{settings.notifier_identity} holds no identity")
    return found


def recipient(settings: Settings) -> str:
    """The notifier's recipient (one line of ``notifier.txt``)."""
    try:
        text = settings.notifier_recipient.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"{settings.notifier_recipient} cannot be read ({exc.strerror})"
                         ) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if len(lines) != 1:
        raise SetupError(f"{settings.notifier_recipient} must hold one recipient")
    return lines[0]
