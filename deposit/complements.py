"""Answering a request for missing documents at a kiosk: the receipt's QR code, and the lookup.

A citizen whose dossier is incomplete (CRPA L114-5) brings the missing papers
to any kiosk and shows the QR code of their receipt. That code holds the
status page's address, ``{public_url}/suivi/{deposit id}?t={token}`` (plus
``&lang=xx`` when the receipt was not in French; printer/receipt.py writes
it). :func:`parse_receipt_code` reads it strictly: this back office's public
address, our path, a deposit number whose check character holds, a token of
the shape ``deposit.manifest.new_tracking_token`` makes, and nothing else; so
a code from another service, a hand-made URL or a mistyped number never
reaches the network.

The kiosk then asks its back office what, if anything, is awaited from that
dossier, on the kiosk listener (mutual TLS with the kiosk's certificate, as
for uploads; backoffice/complements.py answers)::

    POST /kiosk/v1/complements/lookup   {"deposit_id": "...", "token": "..."}
    200 {"state": "open", "request_id": "rq_...", "procedure": "<code>",
         "documents": ["<doc code>", ...], "deadline": "YYYY-MM-DD", "note": "..."}
    200 {"state": "none"}        unknown number, wrong token, or nothing requested
    200 {"state": "expired", "deadline": "YYYY-MM-DD"}

``none`` is one answer for three cases so that the lookup never tells whether
a number exists. :class:`ComplementClient` makes the call with a short timeout
(a citizen is waiting in front of the screen) and turns every way it can fail
into one :class:`LookupFailure` (offline, refused, malformed answer); the
kiosk tells the citizen the same thing for all three, and seals nothing.

Why the kiosk application makes this call itself, when uploads and agent
calls go through ``kiosk uploader``: the answer decides what the next screen
asks for, while the citizen waits; relaying it through the uploader's files
would add a second process's latency and failure modes to a few-second
question. The application already reads the enrollment bundle (its signing
key), and the call runs on a worker thread, so the interface never waits on
the network.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import httpx

from deposit.errors import BundleError, DepositError, DepositIdError
from deposit.ids import DepositId
from deposit.tus import tls_alert

log = logging.getLogger(__name__)

#: The lookup on the back office's kiosk listener.
LOOKUP_PATH = "/kiosk/v1/complements/lookup"
#: Seconds the lookup may wait to connect, and then for each read (httpx's timeout is per
#: phase): short, as a citizen is waiting at the screen.
TIMEOUT_S = 8.0
#: A tracking token as ``deposit.manifest.new_tracking_token`` makes it (32 characters of
#: URL-safe base64); a little slack either way for tokens of another length.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: The ``lang`` a receipt's link may carry (printer.receipt.status_link): a kiosk language code.
_LANG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
#: What the back office may send (the shapes of deposit/manifest.py and the catalog's codes).
_REQUEST_ID = re.compile(r"[0-9A-Za-z_-]{8,64}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Bounds on an answer: more than this is not an answer a kiosk should act on.
MAX_DOCUMENTS = 30
MAX_NOTE = 1000
MAX_CODE_TEXT = 512


class LookupState(StrEnum):
    """What the back office says is awaited from a dossier.

    Crosses the network: written by backoffice/complements.py (the lead's kiosk
    route), read here and by kiosk/journey.py.
    """

    OPEN = "open"            # documents are requested and the deadline has not passed
    NONE = "none"            # nothing requested, or an unknown number, or a wrong token
    EXPIRED = "expired"      # documents were requested, the deadline has passed


class LookupFailure(StrEnum):
    """Why the kiosk got no answer it can act on (the citizen is told the same for all)."""

    OFFLINE = "offline"       # no connection, timeout, or a back office too busy to answer
    REFUSED = "refused"       # the back office refused this kiosk or the request (4xx, TLS)
    MALFORMED = "malformed"   # an answer that is not the contract's (a proxy's page, a bug)


class ReceiptCodeError(DepositError):
    """A code read by the kiosk is not one of this service's receipt codes."""


class ComplementLookupError(DepositError):
    """The lookup gave no usable answer; ``failure`` says which kind of failure."""

    def __init__(self, message: str, failure: LookupFailure) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class ReceiptCode:
    """What a receipt's QR code says: the dossier's number and its tracking token."""

    deposit_id: str            # printed form XXXX-XXXX-XXXX
    token: str

    def __repr__(self) -> str:   # the token is the receipt's secret: never in a log line
        return f"ReceiptCode(deposit_id={self.deposit_id!r}, token=<{len(self.token)} chars>)"


@dataclass(frozen=True)
class Lookup:
    """The back office's answer. ``documents``, ``request_id``, ``procedure`` and ``note``
    are set for OPEN only; ``deadline`` for OPEN and EXPIRED."""

    state: LookupState
    request_id: str | None = None
    procedure: str | None = None
    documents: tuple[str, ...] = ()
    deadline: date | None = None
    note: str = ""

    @classmethod
    def from_json(cls, data: object) -> Lookup:
        """Read an answer of the contract; ComplementLookupError (MALFORMED) otherwise."""
        def bad(why: str) -> ComplementLookupError:
            return ComplementLookupError(f"malformed lookup answer: {why}",
                                         LookupFailure.MALFORMED)

        if not isinstance(data, dict):
            raise bad("not a JSON object")
        try:
            state = LookupState(str(data.get("state")))
        except ValueError:
            raise bad(f"unknown state {data.get('state')!r:.40}") from None
        if state is LookupState.NONE:
            return cls(state)
        deadline = _date(data.get("deadline"))
        if deadline is None:
            raise bad("the deadline is not a date YYYY-MM-DD")
        if state is LookupState.EXPIRED:
            return cls(state, deadline=deadline)
        request_id, procedure = data.get("request_id"), data.get("procedure")
        documents, note = data.get("documents"), data.get("note", "")
        if not (isinstance(request_id, str) and _REQUEST_ID.fullmatch(request_id)):
            raise bad("request_id is not 8-64 letters, digits, '_' or '-'")
        if not (isinstance(procedure, str) and _CODE.fullmatch(procedure)):
            raise bad("procedure is not a catalog code")
        if not (isinstance(documents, list) and 0 < len(documents) <= MAX_DOCUMENTS
                and all(isinstance(d, str) and _CODE.fullmatch(d) for d in documents)
                and len(set(documents)) == len(documents)):
            raise bad(f"documents is not a list of 1 to {MAX_DOCUMENTS} distinct codes")
        if not (isinstance(note, str) and len(note) <= MAX_NOTE):
            raise bad(f"note is not a text of at most {MAX_NOTE} characters")
        return cls(state, request_id, procedure, tuple(documents), deadline, note.strip())


def _date(value: Any) -> date | None:
    if not (isinstance(value, str) and _DATE.fullmatch(value)):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def looks_like_receipt(text: str) -> bool:
    """True when ``text`` is meant as a status page's address (a receipt's QR code), valid or
    not: the kiosk then says it cannot read it as a receipt, not "not a convocation"."""
    parts = urlsplit(text.strip())
    return parts.scheme in ("http", "https") and parts.path.rstrip("/").rsplit("/", 2)[-2:-1] \
        == ["suivi"]


def parse_receipt_code(text: str, public_url: str) -> ReceiptCode:
    """The deposit number and token of a receipt's QR code, read strictly.

    ``public_url`` is this kiosk's back office's public address (the enrollment
    bundle's); the code must be ``{public_url}/suivi/{number}?t={token}``, with
    an optional ``lang``. Raises :class:`ReceiptCodeError` saying what is wrong.
    """
    text = text.strip()
    if len(text) > MAX_CODE_TEXT:
        raise ReceiptCodeError(f"a receipt code has at most {MAX_CODE_TEXT} characters")
    base = urlsplit(public_url.rstrip("/"))
    parts = urlsplit(text)
    if (parts.scheme.lower(), (parts.netloc or "").lower()) != \
            (base.scheme.lower(), base.netloc.lower()):
        raise ReceiptCodeError("the code is not an address of this service's status page")
    if parts.fragment or parts.username or parts.password:
        raise ReceiptCodeError("a receipt's address has no fragment and no user name")
    prefix = f"{base.path}/suivi/"
    if not parts.path.startswith(prefix):
        raise ReceiptCodeError("the code's path is not a status page's")
    raw_number = unquote(parts.path[len(prefix):])
    try:
        number = DepositId.parse(raw_number)
    except DepositIdError as exc:
        raise ReceiptCodeError(f"the code's deposit number does not hold: {exc}") from None
    if raw_number != str(number):
        # Our receipts print the canonical form; anything else was typed by someone.
        raise ReceiptCodeError("the code's deposit number is not written as receipts write it")
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True,
                          max_num_fields=2)
    except ValueError:
        raise ReceiptCodeError("the code's query is not t=<token> (and lang)") from None
    names = [name for name, _value in query]
    fields = dict(query)
    if sorted(names) not in (["t"], ["lang", "t"]):
        raise ReceiptCodeError("the code's query is not t=<token> (and lang)")
    if not TOKEN.fullmatch(fields["t"]):
        raise ReceiptCodeError("the code's tracking token does not have a token's shape")
    if "lang" in fields and not _LANG.fullmatch(fields["lang"]):
        raise ReceiptCodeError("the code's language is not a language code")
    return ReceiptCode(str(number), fields["t"])


class ComplementClient:
    """Asks the back office what a dossier awaits (see the module docstring).

    ``client`` makes the ``httpx.Client`` of one lookup (the enrollment
    bundle's, with the kiosk's certificate: :meth:`deposit.bundle.Enrollment.http_client`);
    it is closed after the lookup. ``base_url`` is any URL of the kiosk
    listener (the bundle's upload URL).
    """

    def __init__(self, client: Callable[[], httpx.Client], base_url: str) -> None:
        self._client = client
        self.endpoint = urljoin(base_url, LOOKUP_PATH)

    def lookup(self, code: ReceiptCode) -> Lookup:
        """The back office's answer; :class:`ComplementLookupError` when there is none."""
        url = self.endpoint
        try:
            client = self._client()
        except (BundleError, OSError, ssl.SSLError) as exc:
            raise ComplementLookupError(f"no client for {url}: {exc}",
                                        LookupFailure.REFUSED) from None
        try:
            with client:
                response = client.post(url, json={"deposit_id": code.deposit_id,
                                                  "token": code.token})
        except httpx.TimeoutException as exc:
            raise ComplementLookupError(f"{url}: no answer in time ({type(exc).__name__})",
                                        LookupFailure.OFFLINE) from None
        except (httpx.TransportError, ssl.SSLError) as exc:
            if tls_alert(exc):
                raise ComplementLookupError(f"{url}: the back office refused this kiosk's "
                                            "certificate", LookupFailure.REFUSED) from None
            raise ComplementLookupError(f"cannot reach {url}: {type(exc).__name__}: {exc}",
                                        LookupFailure.OFFLINE) from None
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise ComplementLookupError(f"{url}: {status}, the back office is busy or unwell",
                                        LookupFailure.OFFLINE)
        if status != 200:
            raise ComplementLookupError(f"{url}: {status} {response.text.strip()[:200]}",
                                        LookupFailure.REFUSED)
        try:
            data = response.json()
        except ValueError:
            raise ComplementLookupError(f"{url}: the answer is not JSON",
                                        LookupFailure.MALFORMED) from None
        answer = Lookup.from_json(data)
        log.info("lookup of a receipt: %s", answer.state.value)
        return answer
