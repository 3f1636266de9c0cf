"""The fleet state: what every kiosk needs from the back office besides uploads, signed.

The technicians' badges that were revoked (kiosk/service/access.py refuses
them), and the 2D-Doc trust list (``twoddoc_trust_list``: the ETSI TS 119 612
XML the back office's operator put in its data folder, twoddoc/trustlist.py;
absent when the back office has none, and the kiosk then uses the list it
shipped with). The kiosk's uploader fetches it over mutual TLS with each
heartbeat::

    GET /kiosk/v1/fleet-state      -> 200, the signed blob below

The blob is canonical JSON (:func:`deposit.manifest.canonical_json`)::

    {"fleet_state": {"issued_at": "2026-12-05T09:00:00Z", "revoked_badges": ["<16 hex>", ...],
                     "twoddoc_trust_list": "<?xml ...", "version": 1},
     "signature": "<86 characters of base64>"}

signed by the back office's **acknowledgement key** (whose public half every
kiosk holds: ``ack.pub`` of its enrollment bundle) over
:data:`SIGNING_CONTEXT` then the ``fleet_state`` object's canonical JSON. The
context is its own, so no fleet state passes for an acknowledgement
(deposit/ack.py) or a badge (deposit/badge.py), nor the reverse.

Fields are only ever added: a kiosk keeps what it knows and ignores fields it
does not know yet (they are signed all the same and stored with the rest), so
that a fleet not yet updated still learns revocations when the trust list
joins. ``version`` changes only if a field's meaning does.

``issued_at`` orders fleet states: a kiosk refuses one older than the one it
holds (kiosk/fleetstate.py), so nobody on the path can replay an old state
that predates a revocation. Only badges revoked and not yet expired are listed
(an expired badge is refused anyway), so the list stays short.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urljoin

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit.errors import DepositError
from deposit.manifest import canonical_json
from deposit.tus import kiosk_request

#: Where the kiosks' listener serves it.
FLEET_STATE_PATH = "/kiosk/v1/fleet-state"
VERSION = 1
#: What is signed: this context, then the fleet state's canonical JSON.
SIGNING_CONTEXT = b"deposit-kiosk fleet state v1\n"
#: A fleet state larger than this is refused unread (about 20 000 revoked badges fit).
MAX_BLOB = 512 * 1024
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_BADGE_ID = re.compile(r"[0-9a-f]{16}")

#: The key kiosks check fleet states and badges with: the back office's acknowledgement
#: key, ``ack.pub`` of the enrollment bundle (``Enrollment.ack_key()``). Named here so that
#: kiosk/ can type it without touching cryptography.hazmat (tests/test_layering.py).
AckKey = Ed25519PublicKey


class FleetStateProblem(StrEnum):
    """Why a fleet state was refused (in the kiosk's log and its errors)."""

    FORMAT = "format"            # not the wire format
    SIGNATURE = "signature"      # not signed by this back office's acknowledgement key
    ROLLBACK = "rollback"        # older than the one the kiosk holds
    FUTURE = "future"            # dated far ahead of the kiosk's clock


class FleetStateError(DepositError):
    """A fleet state that is refused; ``problem`` says why."""

    def __init__(self, problem: FleetStateProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class FleetState:
    issued_at: str                                   # UTC, "YYYY-MM-DDTHH:MM:SSZ"
    revoked_badges: frozenset[str] = frozenset()
    #: The 2D-Doc trust list, ETSI TS 119 612 XML (None: the back office sends none).
    twoddoc_trust_list: str | None = None
    #: Fields a later back office added that this kiosk does not know (kept, signed).
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    version: int = VERSION

    def issued(self) -> datetime:
        return datetime.strptime(self.issued_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        body = {**self.extra, "issued_at": self.issued_at,
                "revoked_badges": sorted(self.revoked_badges), "version": self.version}
        if self.twoddoc_trust_list is not None:      # absent, the blob is what it was before
            body["twoddoc_trust_list"] = self.twoddoc_trust_list
        return body


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(state: FleetState, key: Ed25519PrivateKey) -> bytes:
    """The signed, canonical blob of ``state``."""
    body = state.to_dict()
    signature = key.sign(SIGNING_CONTEXT + canonical_json(body))
    return canonical_json({"fleet_state": body,
                           "signature": base64.b64encode(signature).rstrip(b"=").decode()})


def verify(blob: bytes, key: Ed25519PublicKey) -> FleetState:
    """The fleet state ``blob`` carries, its signature checked; :class:`FleetStateError`
    (FORMAT or SIGNATURE) otherwise."""
    if len(blob) > MAX_BLOB:
        raise FleetStateError(FleetStateProblem.FORMAT, f"larger than {MAX_BLOB} bytes")
    try:
        data = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FleetStateError(FleetStateProblem.FORMAT, "not UTF-8 JSON") from None
    if not isinstance(data, dict) or sorted(data) != ["fleet_state", "signature"]:
        raise FleetStateError(FleetStateProblem.FORMAT,
                              "a fleet state blob has exactly 'fleet_state' and 'signature'")
    body, signature = data["fleet_state"], data["signature"]
    try:
        raw = base64.b64decode(str(signature) + "==", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not isinstance(signature, str) or len(raw) != 64 or not isinstance(body, dict):
        raise FleetStateError(FleetStateProblem.FORMAT, "signature is not 64 bytes of base64")
    try:
        signed = canonical_json(body)
    except ValueError:
        raise FleetStateError(FleetStateProblem.FORMAT, "a number is not an integer") from None
    try:
        key.verify(raw, SIGNING_CONTEXT + signed)
    except InvalidSignature:
        raise FleetStateError(FleetStateProblem.SIGNATURE,
                              "not signed by this back office's acknowledgement key") from None
    return _state(body)


_KNOWN = ("issued_at", "revoked_badges", "twoddoc_trust_list", "version")


def _state(body: dict[str, Any]) -> FleetState:
    def bad(message: str) -> FleetStateError:
        return FleetStateError(FleetStateProblem.FORMAT, f"fleet state: {message}")

    missing = {"issued_at", "revoked_badges", "version"} - set(body)
    if missing:
        raise bad(f"missing {sorted(missing)}")
    if body["version"] != VERSION:
        raise bad(f"unknown version {body['version']!r}")
    issued_at = body["issued_at"]
    if not isinstance(issued_at, str) or not _TIME.fullmatch(issued_at):
        raise bad("issued_at is not a UTC time YYYY-MM-DDTHH:MM:SSZ")
    revoked = body["revoked_badges"]
    if not isinstance(revoked, list) or not all(
            isinstance(b, str) and _BADGE_ID.fullmatch(b) for b in revoked):
        raise bad("revoked_badges is not a list of badge ids")
    trust_list = body.get("twoddoc_trust_list")
    if trust_list is not None and not isinstance(trust_list, str):
        raise bad("twoddoc_trust_list is not a string (the trust list's XML)")
    state = FleetState(issued_at=issued_at, revoked_badges=frozenset(revoked),
                       twoddoc_trust_list=trust_list,
                       extra={k: v for k, v in body.items() if k not in _KNOWN})
    try:
        state.issued()
    except ValueError:
        raise bad("issued_at is not a valid date") from None
    return state


def fetch(client: httpx.Client, base_url: str) -> bytes:
    """The fleet state's blob, as the back office's kiosk listener serves it (not verified).

    ``base_url``: any URL of that listener (a bundle's upload URL). Raises
    :class:`UnreachableError` when no connection could be made,
    :class:`TransientError` for 5xx, 408, 429 and broken connections,
    :class:`RefusedError` for other 4xx (status 0: the TLS handshake refused
    this kiosk's certificate).
    """
    url = urljoin(base_url, FLEET_STATE_PATH)
    response = kiosk_request(client, "GET", url)
    return response.content
