"""Complements: documents a citizen brings, at any kiosk, in answer to a request for them.

A request for missing documents (CRPA L114-5; backoffice/docrequests.py) names
documents of the dossier's procedure and a deadline. The citizen shows the QR code
of their receipt to any kiosk, which asks the back office what is requested
(:func:`lookup`, ``POST /kiosk/v1/complements/lookup`` on the kiosks' listener),
takes only those documents and seals them as a *complement*: an envelope with its
own number and its own signed manifest (version 2) that names the original deposit
(``complement_of``), the request (``request_id``) and carries the original's
tracking-token hash (the kiosk read the token from the receipt).

The ingest verifies a complement like any envelope (signature, kiosk, size, digest,
age format) and then by the rules of :func:`check`, once when the upload is
created (so that nothing of a refused complement is ever stored) and again when it
completes (the request may have been answered or withdrawn meanwhile). A complement
that passes is stored beside its dossier (backoffice/store/complementsdb.py) and
answers the request (``docrequests.answer``: the dossier goes back to review and
its deemed-decision date is recomputed).

Refusals, and why (:class:`ComplementRefusal`):

``original``       no dossier has that number, or the token's hash is not the
                   dossier's: a forged or mistyped receipt
``not_requested``  the dossier has no open request, or not the one named, or the
                   complement was sealed before the request existed
``expired``        sealed after the request's deadline (the day, Paris time, of the
                   kiosk's signed creation time: a kiosk offline for days still
                   delivers what the citizen brought in time)
``procedure``      the complement names another procedure than its dossier's
``number``         its number is already a dossier's

A kiosk's lookup answers ``none`` alike for an unknown number, a wrong token and a
dossier that asks for nothing, so a kiosk cannot be used to learn which numbers
exist; only a caller holding the right token learns of an expired request.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backoffice import deadlines, docrequests
from backoffice.docrequests import DocumentRequest, RequestState
from backoffice.errors import Check, EnvelopeRefused
from backoffice.store.metadata import DepositRecord, MetadataStore
from backoffice.store.requestsdb import RequestStore
from deposit import ids
from deposit import manifest as manifestmod

log = logging.getLogger(__name__)


class ComplementRefusal(StrEnum):
    """Why a complement is refused (the module docstring says when)."""

    ORIGINAL = "original"
    NOT_REQUESTED = "not_requested"
    EXPIRED = "expired"
    PROCEDURE = "procedure"
    NUMBER = "number"


class ComplementRefused(EnvelopeRefused):
    """A complement the rules refuse; ``refusal`` says which rule."""

    def __init__(self, message: str, refusal: ComplementRefusal) -> None:
        super().__init__(f"complement refused ({refusal}): {message}", Check.COMPLEMENT)
        self.refusal = refusal


class LookupState(StrEnum):
    """What a kiosk is told of a receipt shown to it."""

    OPEN = "open"          # documents are requested: here they are
    NONE = "none"          # unknown number, wrong token, or nothing requested (one answer)
    EXPIRED = "expired"    # the request's deadline has passed (told to the token's holder)


def _token_matches(record: DepositRecord, token_sha256: str) -> bool:
    return hmac.compare_digest(record.tracking_token_sha256, token_sha256)


def check(store: MetadataStore, manifest: manifestmod.Manifest) -> DocumentRequest:
    """The open request a complement's ``manifest`` answers; :class:`ComplementRefused`
    naming the rule it breaks otherwise (the module docstring lists them)."""
    assert manifest.complement_of is not None and manifest.request_id is not None
    if store.deposit(manifest.deposit_id) is not None:
        raise ComplementRefused(f"its number {manifest.deposit_id} is already a dossier's",
                                ComplementRefusal.NUMBER)
    original = store.deposit(manifest.complement_of)
    if original is None or not _token_matches(original, manifest.tracking_token_sha256):
        raise ComplementRefused(f"no dossier {manifest.complement_of} with this receipt's token",
                                ComplementRefusal.ORIGINAL)
    if manifest.procedure != original.procedure:
        raise ComplementRefused(f"it names procedure {manifest.procedure!r}, the dossier's is "
                                f"{original.procedure!r}", ComplementRefusal.PROCEDURE)
    request = RequestStore(store).request(manifest.request_id)
    if request is not None and request.deposit_id != original.deposit_id:
        request = None                      # another dossier's request: not this one's
    if request is None or request.state is not RequestState.OPEN:
        state = "unknown" if request is None else str(request.state)
        raise ComplementRefused(f"request {manifest.request_id} of dossier "
                                f"{original.deposit_id} is {state}, not open",
                                ComplementRefusal.NOT_REQUESTED)
    sealed = manifest.created_at()
    if sealed < request.requested_at.replace(microsecond=0):
        raise ComplementRefused(f"sealed at {manifest.created}, before the request of "
                                f"{request.requested_at:%Y-%m-%dT%H:%M:%SZ}",
                                ComplementRefusal.NOT_REQUESTED)
    if deadlines.receipt_date(sealed) > request.deadline:
        raise ComplementRefused(f"sealed on {deadlines.receipt_date(sealed)}, after the "
                                f"deadline {request.deadline}", ComplementRefusal.EXPIRED)
    return request


@dataclass(frozen=True)
class LookupAnswer:
    state: LookupState
    request: DocumentRequest | None = None
    procedure: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.state is LookupState.NONE or self.request is None:
            return {"state": LookupState.NONE.value}
        if self.state is LookupState.EXPIRED:
            return {"state": self.state.value, "deadline": self.request.deadline.isoformat()}
        return {"state": self.state.value, "request_id": self.request.request_id,
                "procedure": self.procedure, "documents": list(self.request.documents),
                "deadline": self.request.deadline.isoformat(), "note": self.request.note}


def lookup(store: MetadataStore, raw_id: str, token: str, now: datetime) -> LookupAnswer:
    """What a kiosk shown the receipt of ``raw_id`` with ``token`` may ask the citizen for."""
    deposit_id = ids.canonical(raw_id) if isinstance(raw_id, str) else None
    record = store.deposit(deposit_id) if deposit_id else None
    token_hash = manifestmod.tracking_token_sha256(token) if token.isascii() else ""
    if record is None or not _token_matches(record, token_hash):
        return LookupAnswer(LookupState.NONE)
    request = docrequests.open_request(store, record.deposit_id)
    if request is None:
        return LookupAnswer(LookupState.NONE)
    if request.expired(now):
        return LookupAnswer(LookupState.EXPIRED, request)
    return LookupAnswer(LookupState.OPEN, request, record.procedure)
