"""Bringing missing documents: the values of the complement journey, and the lookup's worker.

A citizen whose dossier is incomplete shows their receipt's QR code (or taps
"Bring missing documents" on the welcome screen, then shows it). The journey
(kiosk/journey.py) asks the back office what is awaited (:class:`LookUp`),
shows "checking your dossier", and on the answer (:class:`LookedUp` or
:class:`LookupFailed`) either goes on to a checklist of only the requested
documents or says why nothing can be added (:class:`LookupPhase`). What
follows is the ordinary capture, review and confirmation, without the contact
step (the original dossier's contact stands), and a sealing as a complement:
same procedure, the manifest naming the original deposit and the request,
the tracking token the original's (read from the receipt).

This module holds those values, apart from journey.py's (which imports them),
and :class:`ComplementLookups`, which runs one lookup at a time on its own
thread so the interface never waits on the network, and posts the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from deposit.complements import (
    ComplementLookupError,
    Lookup,
    LookupFailure,
    ReceiptCode,
)

log = logging.getLogger(__name__)


class LookupPhase(StrEnum):
    """Where the citizen is on the lookup screen (``Step.LOOKUP``); the screen's kv compares
    against these values."""

    SHOW_RECEIPT = "show_receipt"    # "show the QR code of your receipt to the reader"
    CHECKING = "checking"            # the back office is asked; no time pressure, cancel works
    NONE = "none"                    # this receipt asks for no documents now
    EXPIRED = "expired"              # the deadline has passed: contact the service
    UNAVAILABLE = "unavailable"      # no answer (offline, refused, malformed): try again later
    UNSUPPORTED = "unsupported"      # this kiosk's catalog lacks the procedure or a document

    @property
    def final(self) -> bool:
        """Nothing can be added to the dossier here and now (the screen says why)."""
        return self not in (LookupPhase.SHOW_RECEIPT, LookupPhase.CHECKING)


@dataclass(frozen=True)
class Complement:
    """The dossier documents are brought for: from the receipt's code (``of``, ``token``),
    then from the back office's answer (``request_id``, ``deadline``, ``note``)."""

    of: str                         # the original deposit's number, XXXX-XXXX-XXXX
    token: str                      # the original's tracking token (the receipt's secret)
    request_id: str | None = None   # set once the back office said documents are awaited
    deadline: date | None = None
    note: str = ""                  # the staff's note to the citizen (checked on their side)

    @property
    def code(self) -> ReceiptCode:
        return ReceiptCode(self.of, self.token)

    def __repr__(self) -> str:      # states are logged in failures: keep the token out
        return (f"Complement(of={self.of!r}, token=<{len(self.token)} chars>, "
                f"request_id={self.request_id!r}, deadline={self.deadline!r})")


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class LookedUp:
    """The back office's answer about dossier ``deposit_id``, to the lookup of ``asked_at``."""

    deposit_id: str
    answer: Lookup
    asked_at: float


@dataclass(frozen=True)
class LookupFailed:
    """No usable answer about dossier ``deposit_id`` to the lookup of ``asked_at``."""

    deposit_id: str
    failure: LookupFailure
    asked_at: float


# ----------------------------------------------------------------------------- command


@dataclass(frozen=True)
class LookUp:
    """Ask the back office what dossier ``code`` awaits (answered by LookedUp/LookupFailed).

    ``asked_at`` (the journey's time of the question) comes back with the answer: a late
    answer to an earlier question about the same receipt (cancelled, shown again) is told
    from the one awaited.
    """

    code: ReceiptCode
    asked_at: float


# ----------------------------------------------------------------------------- the worker


class ComplementLookup(Protocol):
    """``deposit.complements.ComplementClient``: one lookup, or ComplementLookupError."""

    def lookup(self, code: ReceiptCode) -> Lookup: ...


class ComplementLookups:
    """Runs lookups on one thread of their own (not the sealing and printing thread: a slow
    back office must not delay a receipt) and posts their results."""

    def __init__(self, client: ComplementLookup | None,
                 post: Callable[[LookedUp | LookupFailed], None]) -> None:
        self.client = client
        self.post = post
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-lookup")

    def submit(self, command: LookUp) -> None:
        self._thread.submit(self._run, command)

    def _run(self, command: LookUp) -> None:
        code, asked_at = command.code, command.asked_at
        if self.client is None:
            # Not enrolled: there is no back office to ask (deposits are refused too).
            self.post(LookupFailed(code.deposit_id, LookupFailure.REFUSED, asked_at))
            return
        try:
            answer = self.client.lookup(code)
        except ComplementLookupError as exc:
            log.warning("complement lookup failed (%s): %s", exc.failure.value, exc)
            self.post(LookupFailed(code.deposit_id, exc.failure, asked_at))
            return
        except Exception:
            log.exception("complement lookup failed")
            self.post(LookupFailed(code.deposit_id, LookupFailure.MALFORMED, asked_at))
            return
        self.post(LookedUp(code.deposit_id, answer, asked_at))

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
