"""The citizen's contact for notifications, sealed by the kiosk for the back office's notifier.

Why a second sealed object beside the envelope: the contact the citizen leaves
at the kiosk (e-mail, phone) and their consent travel inside the envelope,
which only staff can open on their workstation; the back office server never
reads a dossier. To tell the citizen that their dossier changed, the server
needs the address and the status link (whose token it only knows hashed). So,
when and only when the citizen gave a contact *and* consented, the kiosk seals
this small card, and nothing else, to the **notifier's** age recipient: a key
pair of its own held by the server (``DIR/notifier/``, backoffice/notifykeys.py),
distinct from the staff's. The card is sealed in memory, kept sealed in the
outbox (a column, deposit/outbox_schema.py version 3), sent with the upload
(tus ``Upload-Metadata`` key ``contact``), stored sealed by the back office
(table ``contacts``) and opened in memory only to send a notification.

The card names its deposit: the notifier refuses a card stored under another
deposit (a card copied from one upload to another would otherwise make the
back office write to a stranger about someone else's dossier).

Wire format: an age v1 file (binary) whose payload is UTF-8 JSON::

    {"version": 1, "deposit_id": "...", "email": "..." | null, "phone": "+33..." | null,
     "language": "fr", "status_url": "https://.../suivi/ID?t=TOKEN", "notice_version": "2025-01"}
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from deposit import envelope
from deposit.errors import DecryptionError, DepositError, KeyFormatError, RecipientError

VERSION = 1
#: A sealed card is under 2 KiB (a post-quantum stanza is the bulk); anything far larger is
#: not one (the back office refuses it before storing; tus metadata is capped at 16 KiB).
MAX_SEALED_BYTES = 4096


class ContactError(DepositError):
    """A contact card cannot be sealed or opened (the message says why, never the address)."""


@dataclass(frozen=True)
class ContactCard:
    """What the notifier may know of a citizen: where to write, in which language, which link."""

    deposit_id: str
    email: str | None
    phone: str | None
    language: str
    status_url: str
    notice_version: str

    def __post_init__(self) -> None:
        if not (self.email or self.phone):
            raise ContactError("a contact card needs an e-mail address or a phone number")
        if not self.status_url.startswith(("https://", "http://")):
            # https on a real deployment; the back office sends only links under its own
            # status page's address (backoffice/notify.py), which settings make https.
            raise ContactError("the status link of a contact card must be an http(s) URL")

    def __repr__(self) -> str:   # never the address in a log or a traceback
        return (f"ContactCard(deposit_id={self.deposit_id!r}, email={'***' if self.email else None}"
                f", phone={'***' if self.phone else None}, language={self.language!r})")

    def to_json(self) -> bytes:
        return json.dumps({"version": VERSION, "deposit_id": self.deposit_id,
                           "email": self.email or None, "phone": self.phone or None,
                           "language": self.language, "status_url": self.status_url,
                           "notice_version": self.notice_version},
                          ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ContactCard:
        try:
            raw: Any = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ContactError("the contact card is not JSON") from None
        if not isinstance(raw, dict) or raw.get("version") != VERSION:
            raise ContactError(f"the contact card is not a version {VERSION} card")
        text = ("deposit_id", "language", "status_url", "notice_version")
        if not all(isinstance(raw.get(k), str) and raw[k] for k in text) or not all(
                raw.get(k) is None or isinstance(raw.get(k), str) for k in ("email", "phone")):
            raise ContactError("the contact card lacks a field or has one of the wrong type")
        return cls(deposit_id=raw["deposit_id"], email=raw.get("email") or None,
                   phone=raw.get("phone") or None, language=raw["language"],
                   status_url=raw["status_url"], notice_version=raw["notice_version"])


def seal(card: ContactCard, recipient: str) -> bytes:
    """The card encrypted to the notifier's ``recipient`` (an age string), in memory."""
    out = io.BytesIO()
    try:
        envelope.encrypt(io.BytesIO(card.to_json()), out, [recipient])
    except (KeyFormatError, RecipientError) as exc:
        raise ContactError(f"the notifier's recipient is unusable ({exc})") from None
    return out.getvalue()


def open_sealed(blob: bytes, identities: list[str], *, deposit_id: str) -> ContactCard:
    """The card sealed in ``blob`` for deposit ``deposit_id``; :class:`ContactError` otherwise.

    Decrypts in memory (a seekable source: :func:`deposit.envelope.decrypt` spools nothing).
    """
    if len(blob) > MAX_SEALED_BYTES:
        raise ContactError(f"a sealed contact is at most {MAX_SEALED_BYTES} bytes")
    out = io.BytesIO()
    try:
        envelope.decrypt(io.BytesIO(blob), out, identities)
    except DecryptionError as exc:
        raise ContactError(f"the sealed contact cannot be opened ({exc.kind})") from None
    except KeyFormatError as exc:
        raise ContactError(f"the notifier's identity is unusable ({exc})") from None
    card = ContactCard.from_json(out.getvalue())
    if card.deposit_id != deposit_id:
        raise ContactError(f"the sealed contact names another deposit than {deposit_id}")
    return card
