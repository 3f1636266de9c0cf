"""Receiving envelopes: tus uploads from enrolled kiosks, verified, stored, acknowledged.

The rules, whatever the HTTP layer above:

- every request is authenticated by the kiosk's client certificate, looked
  up in the metadata store each time (a revoked kiosk fails its next request);
- an upload is created from a signed manifest, verified at once against the
  kiosk's enrolled key; its kiosk id must be the certificate's, its deposit
  number must carry the kiosk's fleet code, its Upload-Length must be the
  envelope size the manifest states;
- bytes are appended at the upload's offset only, made durable (fsync) before
  the new offset is recorded, so a HEAD never reports bytes a crash could lose;
- a complete upload becomes visible only once its SHA-256 matches the
  manifest, then it is moved in atomically and acknowledged (Ed25519);
- the deposit id is the idempotency key: the same envelope again gets the
  first acknowledgement back; a different envelope under a known id is kept
  apart as a conflict (logged, counted, listed in the inbox), never over the first;
- nothing is acknowledged that is not an age envelope for staff recipients
  (header, stanza types, payload length: checked without any key), nor
  anything completed by a kiosk revoked while it was uploading;
- only the metadata keys of the protocol are accepted (``deposit_id``,
  ``manifest``), and the header stored and echoed is rebuilt from them
  (backoffice/tusheaders.py);
- **quotas**: per kiosk, unfinished uploads and the bytes they declared and
  have not sent are capped (429 with Retry-After, counted and inserted in one
  transaction); bytes are refused when the envelope store would drop under its
  free-space floor (507), and bytes a full disk could not hold are undone;
- **the upload lock is a lease**: one request writes an upload at a time; a
  request of the same kiosk finding it held by a writer that brought no byte
  for ``upload_lease`` seconds ends that writer (what it received is kept,
  tus-style) and the newer request goes on from the new offset (backoffice/leases.py).

An envelope that arrives whole, from removable media (``backoffice import``,
deposit/export.py), goes through the same rules: :meth:`Ingest.receive_file`
makes the checks of creation (:meth:`Ingest.check_length`,
:meth:`Ingest.accept_manifest`), streams the bytes into the partial object of
an upload record of its own, and settles it by :meth:`Ingest._complete`, the
completion of every upload: verification, storage, acknowledgement and
idempotency are one code path. Only the revocation rule differs, since the
medium was carried by hand: a revoked kiosk's envelope is accepted when its
manifest was created before the revocation (:meth:`Ingest.check_revocation`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.concurrency import run_in_threadpool

from backoffice import notifyintake, pki
from backoffice.errors import (
    AuthError,
    Check,
    ChecksumMismatch,
    EnvelopeRefused,
    IngestError,
    InsufficientStorage,
    OffsetConflict,
    QuotaExceeded,
    StoreError,
    StoreFull,
    TooLarge,
    UploadNotFound,
)
from backoffice.leases import ClientGone, Leases, Writing
from backoffice.metrics import Metrics
from backoffice.settings import Limits
from backoffice.settlement import Settled, Settlement
from backoffice.store.complementsdb import ComplementStore
from backoffice.store.metadata import (
    KioskRecord,
    MetadataStore,
    UploadRecord,
)
from backoffice.store.objects import ObjectStore, PartialWriter
from backoffice.tusheaders import CHECKSUMS, Checksum, encode_metadata, parse_metadata
from deposit import ids
from deposit import manifest as manifestmod

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

_BLOCK = 1 << 20
#: Bytes of a request body gathered before they are written on a worker thread: one thread
#: hop per MiB, 1 to 4 per kiosk chunk (1-4 MiB); 50 kiosks' blocks in flight hold ~50 MB.
WRITE_BLOCK = 1024 * 1024

#: The recipient stanzas a kiosk writes (deposit/age_keys.py); anything else is not ours.
#: Retry-After of quota and space refusals (seconds): what a kiosk's retry pause is anyway.
RETRY_LATER = 300


@dataclass
class Received:
    """What a POST, HEAD or PATCH has to answer with."""

    upload: UploadRecord
    ack: bytes | None = None


class Ingest(Settlement):
    """The upload rules over a metadata store and an object store; see the module docstring."""

    def __init__(self, metadata: MetadataStore, objects: ObjectStore, ack_key: Ed25519PrivateKey,
                 *, max_upload_bytes: int, upload_expiry: timedelta, clock: Clock,
                 metrics: Metrics | None = None, limits: Limits | None = None) -> None:
        self.metadata = metadata
        self.objects = objects
        self.ack_key = ack_key
        self.max_upload_bytes = max_upload_bytes
        self.upload_expiry = upload_expiry
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.limits = limits or Limits()
        self.leases = Leases(objects, self.limits.upload_lease, self.metrics)
        self.complements = ComplementStore(metadata)

    # ------------------------------------------------------------------ room
    def check_room(self, incoming: int) -> None:
        """:class:`InsufficientStorage` unless ``incoming`` bytes fit above the free-space floor."""
        try:
            free = self.objects.free_bytes()
        except StoreError:
            log.exception("the envelope store's free space cannot be measured")
            raise InsufficientStorage("the envelope store cannot be measured now",
                                      retry_after=RETRY_LATER) from None
        if free - incoming < self.limits.min_free_bytes:
            self.metrics.inc("backoffice_requests_refused_total", reason="no_space")
            log.warning("refused %d bytes: the envelope store has %d MiB free, the floor is "
                        "%d MiB", incoming, free // 2**20, self.limits.min_free_bytes // 2**20)
            raise InsufficientStorage("the back office has no room for this now; try later",
                                      retry_after=RETRY_LATER)

    # ------------------------------------------------------------------ who is asking
    def authenticate(self, cert_pem: str | None) -> KioskRecord:
        """The active kiosk presenting ``cert_pem``; :class:`AuthError` otherwise."""
        if not cert_pem:
            self.metrics.inc("backoffice_requests_refused_total", reason="no_certificate")
            raise AuthError("a kiosk client certificate is required")
        fp = pki.fingerprint(cert_pem.encode())
        kiosk = self.metadata.kiosk_by_fingerprint(fp)
        if kiosk is None:
            self.metrics.inc("backoffice_requests_refused_total", reason="unknown_certificate")
            raise AuthError("this certificate belongs to no enrolled kiosk")
        if not kiosk.active:
            self.metrics.inc("backoffice_requests_refused_total", reason="revoked")
            log.warning("refused a request from revoked kiosk %s", kiosk.kiosk_id)
            raise AuthError(f"kiosk {kiosk.kiosk_id} is revoked")
        return kiosk

    # ------------------------------------------------------------------ creation
    def check_length(self, length: int) -> None:
        """An envelope of ``length`` bytes may be received: IngestError, TooLarge otherwise."""
        if length < 0:
            raise IngestError("Upload-Length must be a non-negative integer")
        if length > self.max_upload_bytes:
            self.metrics.inc("backoffice_requests_refused_total", reason="too_large")
            raise TooLarge(f"Upload-Length {length} is over the maximum {self.max_upload_bytes}")

    def accept_manifest(self, kiosk: KioskRecord, blob: bytes, claimed_id: str,
                        length: int) -> tuple[manifestmod.Manifest, str]:
        """The manifest ``kiosk`` signed for an envelope of ``length`` bytes, and its deposit id.

        The checks of creation: the signature with the kiosk's enrolled key, the
        deposit number given beside it (``claimed_id``), the kiosk id, the fleet
        code, the size. :class:`EnvelopeRefused` (with its ``check``) otherwise.
        """
        manifest = self._verify_manifest(kiosk, blob)
        claimed = ids.canonical(claimed_id)
        deposit_id = ids.canonical(manifest.deposit_id)
        if deposit_id is None or claimed != deposit_id:
            raise EnvelopeRefused("the deposit id of the metadata and the manifest differ or "
                                  "are not deposit numbers", Check.DEPOSIT_ID)
        if manifest.kiosk_id != kiosk.kiosk_id:
            self.metrics.inc("backoffice_requests_refused_total", reason="kiosk_mismatch")
            raise EnvelopeRefused(f"the manifest names kiosk {manifest.kiosk_id!r}, the "
                                  f"certificate kiosk {kiosk.kiosk_id!r}", Check.KIOSK)
        if ids.DepositId.parse(deposit_id).fleet != kiosk.fleet_code:
            raise EnvelopeRefused(f"deposit {deposit_id} does not carry this kiosk's fleet code "
                                  f"{kiosk.fleet_code}", Check.FLEET_CODE)
        if manifest.envelope_size != length:
            raise EnvelopeRefused(f"Upload-Length {length} is not the envelope size "
                                  f"{manifest.envelope_size} of the manifest", Check.SIZE)
        return manifest, deposit_id

    def check_revocation(self, kiosk: KioskRecord, manifest: manifestmod.Manifest) -> None:
        """A revoked kiosk's envelope only if its manifest was created before the revocation.

        For envelopes carried by hand (an upload from a revoked kiosk is refused
        at authentication). The creation time is the one the kiosk signed: a
        thief holding the kiosk's key could sign an earlier one, so the medium's
        chain of custody is what this rule rests on. EnvelopeRefused otherwise.
        """
        revoked = kiosk.revoked_at
        if revoked is not None and manifest.created_at() >= revoked:
            raise EnvelopeRefused(
                f"kiosk {kiosk.kiosk_id} was revoked at {revoked:%Y-%m-%dT%H:%M:%SZ} and this "
                f"dossier was created at {manifest.created}, after the revocation",
                Check.REVOKED)

    def create(self, kiosk: KioskRecord, length: int, metadata_header: str) -> Received:
        """Create (or find again) the upload of one envelope; see the module docstring."""
        self.check_length(length)
        meta = parse_metadata(metadata_header)
        if "manifest" not in meta or "deposit_id" not in meta:
            raise IngestError("Upload-Metadata must carry deposit_id and manifest")
        manifest, deposit_id = self.accept_manifest(
            kiosk, meta["manifest"], meta["deposit_id"].decode("utf-8", "replace"), length)
        metadata_header = encode_metadata({"deposit_id": deposit_id.encode(),
                                           "manifest": meta["manifest"],
                                           **notifyintake.from_metadata(meta)})
        sha = manifest.envelope_sha256
        now = self.clock()

        # The same envelope again: answer with what we already have.
        for states in (("complete",), ("open",)):
            found = self.metadata.find_upload(kiosk.kiosk_id, deposit_id, sha, states)
            if found is not None and not (found.state == "open" and found.expires_at <= now):
                if found.state == "complete":
                    self.metrics.inc("backoffice_deposits_replayed_total")
                return Received(found, found.ack)
        known = self._stored(deposit_id, sha)
        if known is not None:
            # Stored, but its upload record is gone (or came from another kiosk
            # certificate of the same kiosk, or from removable media): a
            # completed upload record answers.
            upload = self._new_upload(kiosk, deposit_id, sha, length, metadata_header,
                                      meta["manifest"], now, state="complete", ack=known.ack)
            self.metrics.inc("backoffice_deposits_replayed_total")
            return Received(upload, known.ack)
        if manifest.is_complement:
            self._check_complement(kiosk, manifest)   # before anything of it is stored
        self.check_room(length)
        upload = self._new_upload(kiosk, deposit_id, sha, length, metadata_header,
                                  meta["manifest"], now, quota=True)
        self.metrics.inc("backoffice_uploads_created_total")
        log.info("kiosk %s started upload %s of deposit %s (%d bytes)", kiosk.kiosk_id,
                 upload.upload_id, deposit_id, length)
        if length == 0:
            return Received(upload, self._complete(upload).ack)
        return Received(upload)

    def _new_upload(self, kiosk: KioskRecord, deposit_id: str, sha: str, length: int,
                    metadata_header: str, manifest: bytes, now: datetime, *,
                    state: str = "open", ack: bytes | None = None,
                    quota: bool = False) -> UploadRecord:
        upload = UploadRecord(
            upload_id=secrets.token_hex(16), kiosk_id=kiosk.kiosk_id, deposit_id=deposit_id,
            envelope_sha256=sha, length=length, offset=length if state == "complete" else 0,
            metadata=metadata_header, manifest=manifest, created_at=now,
            expires_at=now + self.upload_expiry, state=state, ack=ack)
        refusal = self.metadata.create_upload(
            upload, max_open=self.limits.max_open_uploads if quota else None,
            max_in_flight=self.limits.max_bytes_in_flight if quota else None)
        if refusal is not None:
            self.metrics.inc("backoffice_requests_refused_total", reason="quota")
            log.warning("quota: %s", refusal)
            raise QuotaExceeded(refusal, retry_after=RETRY_LATER)
        if state == "open":
            try:
                self.objects.create_partial(upload.upload_id)
            except StoreError as exc:
                self.metadata.end_upload(upload.upload_id, "terminated", reason=str(exc))
                if isinstance(exc, StoreFull):
                    raise InsufficientStorage("the back office has no room for this now; "
                                              "try later", retry_after=RETRY_LATER) from None
                raise
        return upload

    # ------------------------------------------------------------------ core
    def find(self, kiosk: KioskRecord, upload_id: str) -> UploadRecord:
        """This kiosk's upload ``upload_id``: 404 when unknown, 410 when expired or ended."""
        upload = self.metadata.upload(upload_id) if _well_formed(upload_id) else None
        if upload is None or upload.kiosk_id != kiosk.kiosk_id:
            raise UploadNotFound(f"no upload {upload_id}")
        if upload.state in ("terminated", "refused", "expired"):
            raise UploadNotFound(f"upload {upload_id} is {upload.state}", gone=True)
        if upload.state == "open" and upload.expires_at <= self.clock():
            raise UploadNotFound(f"upload {upload_id} expired", gone=True)
        return upload

    def head(self, kiosk: KioskRecord, upload_id: str) -> Received:
        """HEAD: the upload's offset; completes it if all bytes are in but completion failed."""
        upload = self.find(kiosk, upload_id)
        if upload.state == "open" and upload.offset == upload.length:
            with self.objects.lock(upload_id):
                upload = self.find(kiosk, upload_id)
                if upload.state == "open":
                    ack = self._complete(upload).ack
                    return Received(self._reload(upload_id), ack)
        return Received(upload, upload.ack)

    async def append(self, kiosk: KioskRecord, upload_id: str, offset: int,
                     content_length: int | None, checksum: Checksum | None,
                     body: AsyncIterator[bytes], writing: Writing | None = None) -> Received:
        """Apply one PATCH. Durable before it returns; see the module docstring.

        ``writing`` is this request's lease token: the body iterator touches it
        on every chunk and ends (ClientGone, stalled) when its ``stop`` is set.
        Raises :class:`OffsetConflict`, :class:`ChecksumMismatch`,
        :class:`TooLarge`, :class:`UploadNotFound`, :class:`UploadLocked`,
        :class:`InsufficientStorage`, :class:`EnvelopeRefused` (at completion)
        or :class:`ClientGone`.
        """
        writing = writing or Writing(kiosk.kiosk_id)
        upload = await run_in_threadpool(self._admit, kiosk, upload_id, offset, content_length)
        if upload.state == "complete":
            return Received(upload, upload.ack)
        async with self.leases.hold(kiosk.kiosk_id, upload_id, writing):
            # Re-read under the lock: another request may have moved it meanwhile.
            upload = await run_in_threadpool(self.find, kiosk, upload_id)
            if upload.state != "open" or offset != upload.offset:
                raise OffsetConflict(f"Upload-Offset {offset} is not the upload's offset "
                                     f"{upload.offset}")
            new_offset, whole = await self._receive(upload, checksum, body)
            # Still holding the upload's lock when it completes: a HEAD that comes meanwhile
            # (its kiosk gave up waiting, on this process or another) waits, rather than
            # completing the same upload at the same time.
            return await run_in_threadpool(self._after, upload_id, new_offset, whole)

    def _admit(self, kiosk: KioskRecord, upload_id: str, offset: int,
               content_length: int | None) -> UploadRecord:
        """The checks of a PATCH before its body is read (one trip to a worker thread)."""
        upload = self.find(kiosk, upload_id)
        if upload.state == "complete":
            if offset == upload.length and content_length in (0, None):
                return upload
            raise OffsetConflict(f"upload {upload_id} is complete at {upload.length}")
        if offset != upload.offset:
            raise OffsetConflict(f"Upload-Offset {offset} is not the upload's offset "
                                 f"{upload.offset}")
        if content_length is not None and offset + content_length > upload.length:
            self.metrics.inc("backoffice_requests_refused_total", reason="over_length")
            raise TooLarge(f"{content_length} bytes at offset {offset} would pass the declared "
                           f"Upload-Length {upload.length}")
        self.check_room(content_length if content_length is not None
                        else upload.length - offset)
        return upload

    def _after(self, upload_id: str, new_offset: int, whole: str | None) -> Received:
        """The upload after a PATCH, completed when its last byte came (a worker thread)."""
        upload = self._reload(upload_id)
        if new_offset != upload.length:
            return Received(upload)
        settled = self._complete(upload, sha=whole)
        return Received(self._reload(upload_id), settled.ack)

    def _reload(self, upload_id: str) -> UploadRecord:
        upload = self.metadata.upload(upload_id)
        if upload is None:  # pragma: no cover - uploads are never deleted
            raise UploadNotFound(f"upload {upload_id} vanished")
        return upload

    async def _receive(self, upload: UploadRecord, checksum: Checksum | None,
                       body: AsyncIterator[bytes]) -> tuple[int, str | None]:
        """Write one PATCH's body durably; the new offset, and the SHA-256 of the whole
        envelope when this body was all of it (read from offset 0 to the end), so that its
        completion does not read it back to hash it again."""
        writer = self.objects.open_partial(upload.upload_id, upload.offset)
        hasher = CHECKSUMS[checksum.algorithm]() if checksum else None
        whole = None
        if upload.offset == 0:
            whole = hasher if checksum is not None and checksum.algorithm == "sha256" \
                else hashlib.sha256()
        received = 0
        room = upload.length - upload.offset
        # The body's pieces (16-64 KB, as TLS records arrive) are gathered and written, with
        # their checksum, in blocks on a worker thread: the event loop, which every
        # connection of the process shares, never waits for the disk or hashes a megabyte.
        pending: list[bytes] = []
        pending_bytes = 0

        async def flush() -> None:
            nonlocal pending, pending_bytes
            if pending:
                block = b"".join(pending)
                pending, pending_bytes = [], 0
                await run_in_threadpool(_write, writer, hasher, whole, block)

        try:
            try:
                async for chunk in body:
                    if not chunk:
                        continue
                    received += len(chunk)
                    if received > room:
                        self.metrics.inc("backoffice_requests_refused_total",
                                         reason="over_length")
                        raise TooLarge(f"more bytes than the declared Upload-Length "
                                       f"{upload.length}")
                    pending.append(chunk)
                    pending_bytes += len(chunk)
                    if pending_bytes >= WRITE_BLOCK:
                        await flush()
            except ClientGone:
                await flush()        # what came before the client went is written too
                raise
            await flush()
        except ClientGone as gone:
            if checksum is not None or received == 0:
                writer.abort()
                raise
            # No checksum to check: keep what arrived (tus: store as much as possible).
            new_offset = await run_in_threadpool(writer.commit)
            await self._advance(upload, new_offset)
            log.info("upload %s: %s, kept %d bytes", upload.upload_id,
                     "request stalled" if gone.stalled else "connection lost", received)
            raise
        except StoreFull:
            self.metrics.inc("backoffice_requests_refused_total", reason="store_full")
            log.error("upload %s: the envelope store is full; the %d bytes of this request "
                      "were undone", upload.upload_id, received)
            raise InsufficientStorage("the back office has no room for this now; nothing of "
                                      "this request was kept", retry_after=RETRY_LATER) from None
        except BaseException:
            writer.abort()
            raise
        if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
            writer.abort()
            self.metrics.inc("backoffice_requests_refused_total", reason="checksum")
            raise ChecksumMismatch(f"the {received} bytes do not match their "
                                   f"{checksum.algorithm} checksum; nothing was kept")
        try:
            new_offset = await run_in_threadpool(writer.commit)   # fsync before we say so
        except StoreFull:
            self.metrics.inc("backoffice_requests_refused_total", reason="store_full")
            raise InsufficientStorage("the back office has no room for this now; nothing of "
                                      "this request was kept", retry_after=RETRY_LATER) from None
        await self._advance(upload, new_offset)
        return new_offset, (whole.hexdigest() if whole is not None
                            and new_offset == upload.length else None)

    async def _advance(self, upload: UploadRecord, new_offset: int) -> None:
        expires = self.clock() + self.upload_expiry
        if not await run_in_threadpool(self.metadata.advance, upload.upload_id, upload.offset,
                                       new_offset, expires):
            raise OffsetConflict("the upload moved during this request")
        self.metrics.inc("backoffice_upload_bytes_total", new_offset - upload.offset)

    # ------------------------------------------------------------------ envelopes that arrive whole
    def receive_file(self, kiosk: KioskRecord, manifest_blob: bytes, deposit_id: str,
                     src: BinaryIO, length: int, *, origin: str = "removable media") -> Settled:
        """Receive an envelope that arrived whole (removable media) by the rules of an upload.

        The checks of creation and the revocation rule, then the bytes of
        ``src`` (``length`` of them, read in 1 MiB blocks) go into the partial
        object of a new upload record, which :meth:`_complete` settles as it
        settles every upload. The same envelope again returns its first
        settlement (``new`` False) without being copied. Raises
        :class:`EnvelopeRefused` (with its ``check``), :class:`TooLarge`.
        """
        self.check_length(length)
        manifest, deposit_id = self.accept_manifest(kiosk, manifest_blob, deposit_id, length)
        self.check_revocation(kiosk, manifest)
        sha = manifest.envelope_sha256
        known = self._stored(deposit_id, sha)
        if known is not None:
            self.metrics.inc("backoffice_deposits_replayed_total")
            return known
        now = self.clock()
        header = ",".join(f"{key} {base64.b64encode(value).decode()}" for key, value in (
            ("deposit_id", deposit_id.encode()), ("manifest", manifest_blob),
            ("origin", origin.encode())))
        upload = self._new_upload(kiosk, deposit_id, sha, length, header, manifest_blob, now)
        log.info("receiving deposit %s of kiosk %s from %s (%d bytes, upload %s)", deposit_id,
                 kiosk.kiosk_id, origin, length, upload.upload_id)
        with self.objects.lock(upload.upload_id):
            writer = self.objects.open_partial(upload.upload_id, 0)
            received = 0
            try:
                while block := src.read(min(_BLOCK, length - received + 1)):
                    received += len(block)
                    if received > length:
                        break
                    writer.write(block)
            except OSError as exc:
                writer.abort()
                raise self._refuse(upload, f"the envelope could not be read from {origin} "
                                           f"({exc.strerror or exc})", Check.READ) from None
            except BaseException:
                writer.abort()
                raise
            if received > length:
                writer.abort()
                raise self._refuse(upload, f"the envelope is longer than the {length} bytes "
                                           f"its manifest states", Check.SIZE)
            offset = writer.commit()
            if not self.metadata.advance(upload.upload_id, 0, offset, now + self.upload_expiry):
                raise OffsetConflict(f"upload {upload.upload_id} moved while it was received")
            self.metrics.inc("backoffice_upload_bytes_total", offset)
            return self._complete(self._reload(upload.upload_id), by_hand=True)

    # ------------------------------------------------------------------ termination, expiry
    def terminate(self, kiosk: KioskRecord, upload_id: str) -> None:
        upload = self.find(kiosk, upload_id)
        with self.objects.lock(upload_id):
            if upload.state == "open":
                self.objects.delete_partial(upload_id)
            self.metadata.end_upload(upload_id, "terminated", ack=upload.ack)
        log.info("kiosk %s terminated upload %s", kiosk.kiosk_id, upload_id)

    def sweep_expired(self) -> int:
        """Drop unfinished uploads past their expiry, until none is left; returns how many.

        An upload whose lock is held (a request still writing it) is left for
        the next sweep.
        """
        dropped = 0
        busy: set[str] = set()
        while True:
            batch = [u for u in self.metadata.expired_uploads(self.clock(), limit=100 + len(busy))
                     if u.upload_id not in busy]
            if not batch:
                return dropped
            for upload in batch:
                try:
                    with self.objects.lock(upload.upload_id):
                        self.objects.delete_partial(upload.upload_id)
                        self.metadata.end_upload(upload.upload_id, "expired")
                except IngestError:
                    busy.add(upload.upload_id)
                    continue
                dropped += 1
                self.metrics.inc("backoffice_uploads_expired_total")
                log.info("dropped expired upload %s of deposit %s", upload.upload_id,
                         upload.deposit_id)


def _write(writer: PartialWriter, hasher: Any, whole: Any, block: bytes) -> None:
    """One block of a body: written, and into its checksum and the envelope's digest (on a
    worker thread; the two are one object when the checksum is SHA-256 from offset 0)."""
    writer.write(block)
    if hasher is not None:
        hasher.update(block)
    if whole is not None and whole is not hasher:
        whole.update(block)


def _well_formed(upload_id: str) -> bool:
    return len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)

