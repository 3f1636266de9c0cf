"""How a complete envelope is settled: verified, published and recorded, or refused.

The half of the ingest (backoffice/ingest.py) that runs once all the bytes of an
envelope are in, whether they came by tus or from removable media: the manifest
checked again, the digest and the age header, then the envelope stored as a new
deposit, as a complement of a dossier (backoffice/complements.py), kept apart as a
conflict (another envelope under a number already stored), or refused with
nothing kept. The same envelope again is answered with its first acknowledgement.
:class:`Settlement` is the base of :class:`~backoffice.ingest.Ingest`, which owns
the stores and the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backoffice import complements, docrequests, legalchain, notifyintake, procedures
from backoffice.errors import Check, EnvelopeRefused
from backoffice.metrics import Metrics
from backoffice.store.complementsdb import ComplementRecord, ComplementStore
from backoffice.store.metadata import (
    ConflictRecord,
    DepositRecord,
    KioskRecord,
    MetadataStore,
    UploadRecord,
)
from backoffice.store.objects import ObjectStore
from backoffice.store.requestsdb import RequestStore
from deposit import ack as ackmod
from deposit import age_format, age_keys
from deposit import manifest as manifestmod
from deposit.errors import DepositError, HeaderError
from deposit.status import AckDisposition

log = logging.getLogger(__name__)


class Kept(StrEnum):
    """The folders of the object store an envelope is published in, by what it is."""

    ENVELOPE = "envelopes"      # a deposit
    COMPLEMENT = "complements"  # documents sent for a request
    CONFLICT = "conflicts"      # a different envelope under a deposit id already stored


def _key(kept: Kept, sha: str) -> str:
    """Objects are named by their SHA-256 (content-addressed; backoffice/store/objects.py)."""
    return f"{kept.value}/{sha[:2]}/{sha}.age"

#: The recipient stanzas a kiosk writes (deposit/age_keys.py); anything else is not ours.
STANZA_TYPES = frozenset({age_keys.PQ_STANZA, age_keys.X25519_STANZA})
#: Bytes read to check an envelope's header: a PQ stanza is about 1.6 kB.
HEADER_PEEK = 64 * 1024


@dataclass(frozen=True)
class Settled:
    """How a complete envelope was settled: its acknowledgement, and what became of it."""

    ack: bytes
    disposition: AckDisposition     # the acknowledgement's
    new: bool            # False when this very envelope was settled before (a replay)


class Settlement:
    """Verification and settlement of complete envelopes (the module docstring)."""

    metadata: MetadataStore
    objects: ObjectStore
    ack_key: Ed25519PrivateKey
    metrics: Metrics
    complements: ComplementStore
    clock: Callable[[], datetime]

    def _verify_manifest(self, kiosk: KioskRecord, blob: bytes) -> manifestmod.Manifest:
        try:
            key = manifestmod.load_public_key(kiosk.signing_key_pem.encode())
            return manifestmod.verify(blob, key)
        except DepositError as exc:
            self.metrics.inc("backoffice_requests_refused_total", reason="manifest")
            log.warning("kiosk %s sent a manifest that fails verification: %s",
                        kiosk.kiosk_id, exc)
            check = Check.SIGNATURE if getattr(exc, "check", None) == "signature" \
                else Check.MANIFEST
            raise EnvelopeRefused(f"manifest refused: {exc}", check) from None

    def _check_complement(self, kiosk: KioskRecord, manifest: manifestmod.Manifest
                          ) -> docrequests.DocumentRequest:
        try:
            return complements.check(self.metadata, manifest)
        except complements.ComplementRefused as exc:
            self.metrics.inc("backoffice_requests_refused_total", reason="complement")
            log.warning("kiosk %s: %s", kiosk.kiosk_id, exc)
            raise

    def _stored(self, deposit_id: str, sha: str) -> Settled | None:
        """How this very envelope was settled before (stored or kept as a conflict), if it was."""
        d = self.metadata.deposit(deposit_id)
        if d is not None and d.envelope_sha256 == sha:
            return Settled(d.ack, AckDisposition.STORED, new=False)
        complement = self.complements.get(deposit_id)
        if complement is not None and complement.envelope_sha256 == sha:
            return Settled(complement.ack, AckDisposition.STORED, new=False)
        c = self.metadata.conflict(deposit_id, sha)
        return Settled(c.ack, AckDisposition.CONFLICT, new=False) if c is not None else None

    # ------------------------------------------------------------------ completion
    def _refuse(self, upload: UploadRecord, reason: str,
                check: Check | None = None) -> EnvelopeRefused:
        self.objects.delete_partial(upload.upload_id)
        self.metadata.end_upload(upload.upload_id, "refused", reason=reason)
        self.metrics.inc("backoffice_envelopes_refused_total")
        log.error("refused deposit %s from kiosk %s: %s", upload.deposit_id, upload.kiosk_id,
                  reason)
        return EnvelopeRefused(reason, check)

    def _complete(self, upload: UploadRecord, *, by_hand: bool = False,
                  sha: str | None = None) -> Settled:
        """Verify a complete upload, publish it and settle it (acknowledgement, disposition).

        The one path every envelope takes once all its bytes are in, whether
        they came by tus or from removable media (:meth:`receive_file`,
        ``by_hand``: its revocation rule was applied before). ``sha``: the SHA-256 of
        the whole partial object when the request that wrote it computed it.
        """
        kiosk = self.metadata.kiosk(upload.kiosk_id)
        assert kiosk is not None
        if not by_hand and not kiosk.active:
            # Revoked while this upload was under way: its earlier requests were
            # authenticated, this completion is not acknowledged.
            self.metrics.inc("backoffice_requests_refused_total", reason="revoked")
            raise self._refuse(upload, f"kiosk {kiosk.kiosk_id} was revoked during the upload",
                               Check.REVOKED)
        manifest = self._verify_manifest(kiosk, upload.manifest)
        if sha is None:
            sha = self.objects.partial_sha256(upload.upload_id, upload.length)
        published: str | None = None
        if sha is None:
            existing = self._stored(upload.deposit_id, upload.envelope_sha256)
            if existing is not None:   # published and recorded by an earlier attempt
                self.metadata.end_upload(upload.upload_id, "complete", ack=existing.ack)
                return existing
            # Published, then the process ended before recording it (killed, power cut): the
            # object is there under its digest, checked before it was published; record it.
            published = self._published(upload.envelope_sha256)
            if published is None:
                raise self._refuse(upload, "the received envelope is shorter than declared",
                                   Check.SIZE)
            log.warning("upload %s of deposit %s: published but not recorded by an earlier "
                        "attempt; recording it now", upload.upload_id, upload.deposit_id)
            sha = upload.envelope_sha256
        elif sha != upload.envelope_sha256:
            raise self._refuse(upload, "the envelope's SHA-256 does not match its manifest "
                                       "(altered in transit or on the kiosk)", Check.DIGEST)
        else:
            try:
                age_format.check_shape(self.objects.read_partial(upload.upload_id, HEADER_PEEK),
                                       upload.length, STANZA_TYPES)
            except HeaderError as exc:
                # Signed by the kiosk, but not an envelope staff could open: acknowledging it
                # would let the kiosk delete the only copy of whatever it meant to send.
                raise self._refuse(upload, f"the bytes are not an age envelope ({exc})",
                                   Check.FORMAT) from None
        now = self.clock()
        if manifest.is_complement:
            return self._complete_complement(upload, manifest, sha, now, published)
        stored = self.metadata.deposit(upload.deposit_id)
        if stored is not None and stored.envelope_sha256 == sha:
            self.objects.delete_partial(upload.upload_id)
            self.metadata.end_upload(upload.upload_id, "complete", ack=stored.ack)
            self.metrics.inc("backoffice_deposits_replayed_total")
            return Settled(stored.ack, AckDisposition.STORED, new=False)
        if stored is None:
            key = _key(Kept.ENVELOPE, sha)
            ack = self._sign(upload, sha, now, AckDisposition.STORED)
            if published != key:
                self.objects.publish(upload.upload_id, key)
            record = DepositRecord(
                deposit_id=upload.deposit_id, kiosk_id=upload.kiosk_id,
                procedure=str(manifest.procedure), created_at=manifest.created_at(),
                received_at=now, envelope_sha256=sha, envelope_size=upload.length,
                tracking_token_sha256=manifest.tracking_token_sha256, manifest=upload.manifest,
                object_key=key, ack=ack,
                due_at=procedures.due_at(str(manifest.procedure), now),
                language=manifest.language,
                deemed_on=legalchain.deemed_on_arrival(str(manifest.procedure), now))
            winner = self.metadata.store_deposit(record, upload.upload_id)
            if winner.envelope_sha256 == sha:
                if winner is record:
                    legalchain.arrived(self.metadata, record, now)
                    notifyintake.arrived(self.metadata, record, upload, now)
                    self.metrics.inc("backoffice_deposits_stored_total")
                    log.info("stored deposit %s from kiosk %s (%d bytes)", upload.deposit_id,
                             upload.kiosk_id, upload.length)
                else:
                    self.metadata.end_upload(upload.upload_id, "complete", ack=winner.ack)
                return Settled(winner.ack, AckDisposition.STORED, new=winner is record)
            # Lost a race against a different envelope: ours, already published
            # under its own digest, becomes the conflict.
            return self._conflict(upload, manifest, sha, now, published=key)
        return self._conflict(upload, manifest, sha, now, published)

    def _published(self, sha: str) -> str | None:
        """The key of an object published under ``sha`` whose bytes have that digest, if any."""
        for kept in Kept:
            key = _key(kept, sha)
            if self.objects.exists(key) and self.objects.sha256(key) == sha:
                return key
        return None

    def _complete_complement(self, upload: UploadRecord, manifest: manifestmod.Manifest,
                             sha: str, now: datetime, published: str | None = None) -> Settled:
        """Store a verified complement beside its dossier and answer the request it brings
        documents for (backoffice/complements.py), or refuse it, keeping nothing."""
        stored = self.complements.get(upload.deposit_id)
        if stored is not None and stored.envelope_sha256 == sha:   # sent again
            self.objects.delete_partial(upload.upload_id)
            self.metadata.end_upload(upload.upload_id, "complete", ack=stored.ack)
            self._answer(stored)
            return Settled(stored.ack, AckDisposition.STORED, new=False)
        if stored is not None:
            return self._conflict(upload, manifest, sha, now)
        try:
            request = complements.check(self.metadata, manifest)
        except complements.ComplementRefused as exc:
            raise self._refuse(upload, str(exc), Check.COMPLEMENT) from None
        key = _key(Kept.COMPLEMENT, sha)
        ack = self._sign(upload, sha, now, AckDisposition.STORED)
        if published != key:
            self.objects.publish(upload.upload_id, key)
        assert manifest.complement_of is not None
        record = ComplementRecord(
            complement_id=upload.deposit_id, deposit_id=manifest.complement_of,
            request_id=request.request_id, kiosk_id=upload.kiosk_id,
            created_at=manifest.created_at(), received_at=now, envelope_sha256=sha,
            envelope_size=upload.length, manifest=upload.manifest, object_key=key, ack=ack)
        winner = self.complements.add(record, upload.upload_id)
        if winner.envelope_sha256 != sha:      # lost a race against a different envelope
            return self._conflict(upload, manifest, sha, now, published=key)
        if winner is record:
            self.metrics.inc("backoffice_complements_stored_total")
            log.info("stored complement %s of dossier %s from kiosk %s (%d bytes)",
                     record.complement_id, record.deposit_id, upload.kiosk_id, upload.length)
        else:
            self.metadata.end_upload(upload.upload_id, "complete", ack=winner.ack)
        self._answer(winner)
        return Settled(winner.ack, AckDisposition.STORED, new=winner is record)

    def _answer(self, c: ComplementRecord) -> None:
        """The complement's request answered (once: also after a crash between the two)."""
        request = RequestStore(self.metadata).request(c.request_id)
        if request is not None and request.state is docrequests.RequestState.OPEN:
            docrequests.answer(self.metadata, deposit_id=c.deposit_id, request_id=c.request_id,
                               complement_id=c.complement_id, at=c.received_at)

    def _conflict(self, upload: UploadRecord, manifest: manifestmod.Manifest, sha: str,
                  now: datetime, published: str | None = None) -> Settled:
        existing = self.metadata.conflict(upload.deposit_id, sha)
        ack = existing.ack if existing else self._sign(upload, sha, now, AckDisposition.CONFLICT)
        key = published or _key(Kept.CONFLICT, sha)
        if published is None:
            self.objects.publish(upload.upload_id, key)
        record = ConflictRecord(
            deposit_id=upload.deposit_id, envelope_sha256=sha, kiosk_id=upload.kiosk_id,
            procedure=str(manifest.procedure), received_at=now, envelope_size=upload.length,
            manifest=upload.manifest, object_key=key, ack=ack)
        stored = self.metadata.store_conflict(record, upload.upload_id)
        if existing is None:
            self.metrics.inc("backoffice_conflicts_total")
            log.error("CONFLICT: kiosk %s sent a different envelope (sha256 %s) under deposit "
                      "%s, which is already stored; kept apart for staff (backoffice inbox)",
                      upload.kiosk_id, sha, upload.deposit_id)
        return Settled(stored.ack, AckDisposition.CONFLICT, new=existing is None)

    def _sign(self, upload: UploadRecord, sha: str, now: datetime,
              disposition: AckDisposition) -> bytes:
        return ackmod.sign(ackmod.Ack(
            deposit_id=upload.deposit_id, kiosk_id=upload.kiosk_id, envelope_sha256=sha,
            envelope_size=upload.length, received=now, disposition=disposition), self.ack_key)
