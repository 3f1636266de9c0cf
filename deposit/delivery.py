"""Delivering the outbox: one attempt per claimed deposit, and passes that never stall on one.

- :class:`Uploader` makes one delivery attempt of one claimed deposit: it
  creates the deposit's tus upload (or finds it again with HEAD), sends the
  envelope in chunks of 1 to 8 MiB with a checksum when the server offers one,
  and returns a :class:`Delivery` once it holds an acknowledgement verified
  against the back office's key (:mod:`deposit.ack`) — or says why not. Every
  loop inside an attempt is bounded: an upload found gone is created anew at
  most 3 times, an offset conflict (409) or a checksum mismatch (460) is
  answered at most 3 times.
- :func:`deliver_pass` goes through the outbox by claim and release
  (:meth:`~deposit.outbox.Outbox.claim_next`): a deposit that fails is released
  with a backoff delay (full jitter, capped) and the pass goes on with the
  next one, so a deposit that is refused or keeps failing never holds back
  the others. The pass stops early only when every deposit would fail alike:
  the back office cannot be reached, it refuses the kiosk itself, or several
  deposits in a row failed.

Outcomes are :class:`deposit.status.DeliveryOutcome`; the pass records them in
the outbox (released with its outcome, refused, acknowledged) and records the
kiosk's :class:`deposit.status.Standing` (the kiosk application reads it).

Durability: the tus URL of a deposit is written to the outbox before the first
byte is sent to it, so a SIGKILL at any instant resumes where the server's
durable offset stands. Memory: one block of 256 KiB at a time.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deposit import ack as ackmod
from deposit import manifest as manifestmod
from deposit.errors import (
    AckError,
    LeaseError,
    OutboxError,
    RefusedError,
    TransientError,
    UnknownDepositError,
    UnreachableError,
)
from deposit.outbox import Claim, Outbox
from deposit.status import AckDisposition, DeliveryOutcome, OutboxState, Standing
from deposit.tus import (
    MIB,
    TUS_VERSION,
    ChecksumMismatchError,
    FileRegion,
    GoneError,
    OffsetConflictError,
    ServerCaps,
    TusClient,
    TusState,
)

log = logging.getLogger(__name__)

MIN_CHUNK = 1 * MIB
MAX_CHUNK = 8 * MIB
#: Bounds of the loops inside one attempt (each answered case is a server's statement; more
#: than this in a row means something is wrong that repeating will not fix).
MAX_RECREATE = 3
MAX_OFFSET_CONFLICTS = 3
MAX_CHECKSUM_MISMATCHES = 3
#: HTTP statuses (0: refused during the TLS handshake) that refuse the kiosk, not the dossier.
KIOSK_REFUSALS = (0, 401, 403)
#: The upload :meth:`Uploader.probe` asks about: well formed, and never created.
PROBE_UPLOAD_ID = "0" * 32


@dataclass
class Backoff:
    """Full-jitter exponential backoff: a random delay in [floor, min(cap, base * 2**attempt)]."""

    base: float = 1.0
    cap: float = 300.0
    floor: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        top = min(self.cap, self.base * 2 ** max(attempt, 0))
        return self.rng.uniform(min(self.floor, top), top)


@dataclass
class Delivery:
    """What became of one delivery attempt of one deposit."""

    deposit_id: str
    outcome: DeliveryOutcome
    reason: str = ""
    ack: bytes | None = None
    bytes_sent: int = 0
    attempts: int = 0                 # the deposit's delivery attempts so far (this one included)
    status: int | None = None         # the HTTP status of a refusal
    retry_in: float | None = None     # seconds before it is offered again (RETRY)
    unreachable: bool = False         # RETRY because no connection could be made at all

    @property
    def acknowledged(self) -> bool:
        return self.outcome.acknowledged

    def as_dict(self) -> dict[str, Any]:
        return {"deposit_id": self.deposit_id, "outcome": self.outcome.value,
                "reason": self.reason, "bytes_sent": self.bytes_sent,
                "attempts": self.attempts, "status": self.status,
                "retry_in": None if self.retry_in is None else round(self.retry_in, 1)}


@dataclass(frozen=True)
class _VerifiedAck:
    ack: ackmod.Ack
    blob: bytes


class _Recreate(Exception):
    pass


class Queued(Protocol):
    """A deposit to deliver (an outbox :class:`~deposit.outbox.Claim`, or a test's)."""

    @property
    def deposit_id(self) -> str: ...
    @property
    def envelope_path(self) -> Path: ...
    @property
    def manifest(self) -> bytes: ...
    @property
    def upload_url(self) -> str | None: ...      # the tus upload to resume, if any
    @property
    def attempts(self) -> int: ...               # delivery attempts so far, this one included
    @property
    def contact(self) -> bytes | None: ...       # the contact sealed for the notifier, if any


class Uploader:
    """Delivers claimed deposits to one tus endpoint and verifies the acknowledgements.

    ``progress`` is called as each block of 256 KiB goes out and between requests
    (the uploader service feeds the watchdog and renews the outbox lease there);
    ``should_stop`` is checked between chunks (SIGTERM).
    """

    def __init__(self, tus: TusClient, *, kiosk_id: str, ack_key: Ed25519PublicKey,
                 chunk_size: int = 4 * MIB,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk size must be 1 to 8 MiB, not {chunk_size}")
        self.tus = tus
        self.kiosk_id = kiosk_id
        self.ack_key = ack_key
        self.chunk_size = chunk_size
        self.should_stop = should_stop
        self._caps: ServerCaps | None = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self.tus.client.close()

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def caps(self) -> ServerCaps:
        if self._caps is None:
            caps = self.tus.options()
            if TUS_VERSION not in caps.versions:
                raise TransientError(f"the server speaks tus {', '.join(caps.versions) or '?'}, "
                                     f"not {TUS_VERSION}: is the upload URL right?")
            self._caps = caps
        return self._caps

    def probe(self) -> tuple[Standing, str]:
        """Whether the back office accepts this kiosk now, without sending a dossier: a HEAD of
        an upload that does not exist is refused to a refused kiosk (403, or in the TLS
        handshake) and answered 404 to an accepted one. The reason says what was seen."""
        try:
            self.tus.head(urljoin(self.tus.endpoint, PROBE_UPLOAD_ID))
        except GoneError:
            return Standing.ONLINE, ""
        except RefusedError as exc:
            if exc.status in KIOSK_REFUSALS:
                return Standing.REFUSED, f"the back office refuses this kiosk ({exc})"
            return Standing.ONLINE, ""       # answered: whatever it thinks of this HEAD
        except TransientError as exc:
            return Standing.UNREACHABLE, str(exc)
        return Standing.ONLINE, ""

    def deliver(self, claim: Queued, *, remember_url: Callable[[str | None], None],
                progress: Callable[[], object] = lambda: None) -> Delivery:
        """One attempt at delivering ``claim``; never raises for what the network or the back
        office does (the outcome says it). ``remember_url`` stores the tus URL durably (the
        outbox row) before the first byte goes to it, or forgets it (None)."""
        result = Delivery(claim.deposit_id, DeliveryOutcome.RETRY, attempts=claim.attempts)
        try:
            manifest, _ = manifestmod.parse_unverified(claim.manifest)
            ack = self._attempt(claim, manifest, result, remember_url, progress)
        except RefusedError as exc:
            result.reason, result.status = str(exc), exc.status
            if exc.status in KIOSK_REFUSALS:
                result.outcome = DeliveryOutcome.KIOSK_REFUSED
                log.error("the back office refuses this kiosk: %s", exc)
            else:
                result.outcome = DeliveryOutcome.REFUSED
                remember_url(None)      # that upload was discarded: a new one if ever sent again
                log.error("deposit %s refused by the back office: %s", claim.deposit_id, exc)
            return result
        except AckError as exc:
            result.reason = f"the acknowledgement does not verify: {exc}"
            log.error("deposit %s: %s", claim.deposit_id, result.reason)
            return result
        except TransientError as exc:
            result.reason = str(exc)
            result.unreachable = isinstance(exc, UnreachableError)
            log.warning("deposit %s not delivered this time: %s", claim.deposit_id, exc)
            return result
        except OSError as exc:   # the envelope cannot be read on the kiosk (disk fault)
            result.reason = f"cannot read the envelope on the kiosk: {exc}"
            log.error("deposit %s: %s", claim.deposit_id, result.reason)
            return result
        result.ack = ack.blob
        if ack.ack.disposition == AckDisposition.CONFLICT:
            result.outcome = DeliveryOutcome.CONFLICT
            result.reason = ("the back office already holds another envelope under this "
                             "deposit id; it kept this one apart for staff")
        else:
            result.outcome = DeliveryOutcome.DELIVERED
        return result

    def _attempt(self, claim: Queued, manifest: manifestmod.Manifest, result: Delivery,
                 remember_url: Callable[[str | None], None],
                 progress: Callable[[], object]) -> _VerifiedAck:
        url = claim.upload_url
        for _ in range(MAX_RECREATE):
            try:
                return self._send(claim, manifest, result, url, remember_url, progress)
            except _Recreate:
                url = None
        raise TransientError(f"the upload vanished {MAX_RECREATE} times in a row on the server")

    def _send(self, claim: Queued, manifest: manifestmod.Manifest, result: Delivery,
              url: str | None, remember_url: Callable[[str | None], None],
              progress: Callable[[], object]) -> _VerifiedAck:
        size = manifest.envelope_size
        try:
            if url is None:
                caps = self.caps()
                if caps.max_size is not None and size > caps.max_size:
                    raise RefusedError(f"the envelope ({size} bytes) is over the server's "
                                       f"maximum of {caps.max_size}", 413)
                metadata = {"deposit_id": claim.deposit_id.encode(), "manifest": claim.manifest}
                if claim.contact is not None:
                    # Sealed to the back office's notifier (deposit/contact.py): ciphertext.
                    metadata["contact"] = claim.contact
                state = self.tus.create(size, metadata)
                remember_url(state.url)    # durable before the first byte goes to it
                log.info("deposit %s: upload created at %s", claim.deposit_id, state.url)
            else:
                state = self.tus.head(url)
                log.info("deposit %s: resuming %s at %d of %d", claim.deposit_id, url,
                         state.offset, size)
            progress()
            if state.ack is not None:
                return self._verify(state.ack, manifest)
            state = self._chunks(claim, state, size, result, progress)
            if state.ack is None:
                state = self.tus.head(state.url)
            if state.ack is None:
                raise TransientError("the server stored the upload but gave no acknowledgement")
            return self._verify(state.ack, manifest)
        except GoneError:
            log.info("deposit %s: the upload is gone on the server; creating it anew",
                     claim.deposit_id)
            remember_url(None)
            raise _Recreate() from None

    def _chunks(self, claim: Queued, state: TusState, size: int, result: Delivery,
                progress: Callable[[], object]) -> TusState:
        offset = state.offset
        checksum = self.caps().checksum_algorithm()
        conflicts = mismatches = 0
        with claim.envelope_path.open("rb") as f:
            while offset < size:
                if self.should_stop():
                    raise TransientError("stopping on request")
                if os.fstat(f.fileno()).st_size < size:
                    raise RefusedError(f"{claim.envelope_path} is shorter than its manifest "
                                       f"says ({size} bytes)", 422)
                chunk = FileRegion(f, offset, min(self.chunk_size, size - offset),
                                   progress=lambda _n: progress())
                try:
                    state = self.tus.patch(state.url, offset, chunk, checksum)
                except OffsetConflictError:
                    conflicts += 1
                    if conflicts > MAX_OFFSET_CONFLICTS:
                        raise TransientError(f"{conflicts} offset conflicts in a row") from None
                    state = self.tus.head(state.url)
                    offset = state.offset
                    continue
                except ChecksumMismatchError:
                    mismatches += 1
                    if mismatches >= MAX_CHECKSUM_MISMATCHES:
                        raise TransientError(f"{mismatches} checksum mismatches in a row"
                                             ) from None
                    continue
                conflicts = mismatches = 0
                result.bytes_sent += state.offset - offset
                offset = state.offset
                progress()
                if state.ack is not None:
                    return state
        return state

    def _verify(self, blob: bytes, manifest: manifestmod.Manifest) -> _VerifiedAck:
        ack = ackmod.verify(blob, self.ack_key, deposit_id=manifest.deposit_id,
                            kiosk_id=self.kiosk_id, envelope_sha256=manifest.envelope_sha256,
                            envelope_size=manifest.envelope_size)
        log.info("deposit %s acknowledged (%s) at %s", manifest.deposit_id, ack.disposition,
                 ack.received.isoformat())
        return _VerifiedAck(ack, blob)


@dataclass
class PassReport:
    """One pass over the outbox: each attempt made, and why the pass ended."""

    deliveries: list[Delivery] = field(default_factory=list)
    standing: Standing | None = None    # what the pass learnt of the kiosk's standing, if anything
    ended: str = "nothing left to send now"
    global_failure: bool = False        # ended because every deposit would fail alike


@dataclass
class _LeaseKeeper:
    """Renews an outbox lease at a third of its length while chunks go out."""

    outbox: Outbox
    claim: Claim
    lease_seconds: float
    clock: Callable[[], float]
    last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.last = self.clock()

    def beat(self) -> None:
        if self.clock() - self.last > self.lease_seconds / 3:
            self.outbox.renew_lease(self.claim.deposit_id, self.claim.owner, self.lease_seconds)
            self.last = self.clock()


def deliver_pass(outbox: Outbox, uploader: Uploader, *, owner: str, backoff: Backoff,
                 lease_seconds: float = 600.0, max_consecutive_failures: int = 3,
                 progress: Callable[[], object] = lambda: None,
                 clock: Callable[[], float] = time.monotonic) -> PassReport:
    """Claim, deliver and settle deposits until none is claimable now (see the module
    docstring). A deposit is tried at most once per pass."""
    report = PassReport()
    tried: set[str] = set()
    failures = 0
    while not uploader.should_stop():
        claim = outbox.claim_next(owner, lease_seconds, exclude=tried)
        if claim is None:
            break
        tried.add(claim.deposit_id)
        keeper = _LeaseKeeper(outbox, claim, lease_seconds, clock)

        def beat(keeper: _LeaseKeeper = keeper) -> None:
            progress()
            keeper.beat()

        def remember(url: str | None, claim: Claim = claim) -> None:
            outbox.set_upload_url(claim.deposit_id, owner, url)

        try:
            result = uploader.deliver(claim, remember_url=remember, progress=beat)
            _settle(outbox, claim, result, backoff)
        except LeaseError as exc:
            # Our lease ran out (a stalled link for longer than the lease) and another
            # uploader took the deposit over: it is theirs now.
            log.warning("deposit %s: %s; left to the other uploader", claim.deposit_id, exc)
            continue
        except BaseException as exc:
            _release_quietly(outbox, claim, f"interrupted: {exc!r}")
            raise
        report.deliveries.append(result)
        if result.outcome is DeliveryOutcome.KIOSK_REFUSED:
            report.standing, report.global_failure = Standing.REFUSED, True
            report.ended = f"the back office refuses this kiosk: {result.reason}"
            break
        if result.outcome is DeliveryOutcome.RETRY:
            failures += 1
            if result.unreachable or failures >= max_consecutive_failures:
                report.standing, report.global_failure = Standing.UNREACHABLE, True
                report.ended = (f"{failures} deposit(s) in a row could not be delivered: "
                                f"{result.reason}")
                break
            continue
        failures = 0
        report.standing = Standing.ONLINE     # the back office answered (stored or refused)
    else:
        report.ended = "stopping on request"
    return report


def _settle(outbox: Outbox, claim: Claim, result: Delivery, backoff: Backoff) -> None:
    """Record what became of a claimed deposit in the outbox."""
    if result.acknowledged and result.ack is not None:
        outbox.mark_acknowledged(claim.deposit_id, result.ack, owner=claim.owner,
                                 outcome=result.outcome)
    elif result.outcome is DeliveryOutcome.REFUSED:
        outbox.refuse(claim.deposit_id, claim.owner, result.reason)
    elif result.outcome is DeliveryOutcome.KIOSK_REFUSED:
        # Not this deposit's fault: offered again as soon as the kiosk is accepted again.
        outbox.release(claim.deposit_id, claim.owner, result.reason, outcome=result.outcome)
    else:
        result.retry_in = backoff.delay(claim.attempts)
        outbox.release(claim.deposit_id, claim.owner, result.reason,
                       retry_after=result.retry_in, outcome=result.outcome)


def _release_quietly(outbox: Outbox, claim: Claim, reason: str) -> None:
    try:
        outbox.release(claim.deposit_id, claim.owner, reason)
    except (OutboxError, LeaseError) as exc:
        log.warning("deposit %s could not be released (%s): its lease will expire",
                    claim.deposit_id, exc)


@dataclass(frozen=True)
class Settled:
    """What became of one acknowledgement brought back on removable media."""

    deposit_id: str
    purged: bool                 # the deposit is now acknowledged and its envelope deleted
    reason: str = ""             # why not (already done, unknown, fails verification)


def settle_acknowledgements(outbox: Outbox, acks: Mapping[str, bytes], *,
                            ack_key: Ed25519PublicKey, kiosk_id: str) -> list[Settled]:
    """Apply acknowledgements the back office wrote back into an export (``backoffice
    import``): each is verified exactly as an upload's, against the deposit's envelope as the
    outbox knows it, before the deposit is marked acknowledged and its envelope deleted."""
    settled = []
    for deposit_id, blob in sorted(acks.items()):
        try:
            entry = outbox.get(deposit_id)
        except UnknownDepositError:
            settled.append(Settled(deposit_id, False, "not a deposit of this kiosk"))
            continue
        if entry.state in (OutboxState.ACKNOWLEDGED, OutboxState.PURGED):
            settled.append(Settled(deposit_id, False, "already acknowledged"))
            continue
        try:
            ack = ackmod.verify(blob, ack_key, deposit_id=deposit_id, kiosk_id=kiosk_id,
                                envelope_sha256=entry.envelope_sha256,
                                envelope_size=entry.envelope_size)
        except AckError as exc:
            log.error("acknowledgement of %s brought back on removable media refused: %s",
                      deposit_id, exc)
            settled.append(Settled(deposit_id, False, f"does not verify: {exc}"))
            continue
        outcome = DeliveryOutcome.CONFLICT if ack.disposition == AckDisposition.CONFLICT \
            else DeliveryOutcome.DELIVERED
        try:
            done = outbox.mark_acknowledged(deposit_id, blob, outcome=outcome)
        except LeaseError as exc:     # being uploaded right now: the upload will settle it
            settled.append(Settled(deposit_id, False, str(exc)))
            continue
        settled.append(Settled(deposit_id, done, "" if done else "already acknowledged"))
    return settled
