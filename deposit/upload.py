"""Delivering envelopes to the back office: tus 1.0 over HTTPS with the kiosk's certificate.

Three parts:

- :class:`Enrollment` — the bundle ``backoffice enroll`` writes for one kiosk
  (certificates, keys, URLs), read from ``{data_dir}/enrollment/``.
- :class:`TusClient` — the tus 1.0 protocol (core, creation, checksum,
  termination, expiration) over an ``httpx.Client``; speaks to any tus server.
- :class:`Uploader` — delivers one deposit: creates its upload (or finds it
  again), asks the offset with HEAD before resuming, sends chunks of 1 to 8
  MiB with a SHA-256 checksum when the server offers one, handles 409, 460,
  404 and 410, retries with full-jitter exponential backoff, and returns only
  once it holds an acknowledgement verified against the back office's key
  (:mod:`deposit.ack`) — or says why it does not.

Durability: the tus URL of a deposit is written to :class:`UploadState` (SQLite,
WAL, ``synchronous=FULL``) before the first byte is sent to it, so a SIGKILL at
any instant resumes where the server's durable offset stands. Memory: one
chunk at a time, never the whole envelope.

Errors (subclasses of :class:`deposit.errors.DepositError`)::

    UploadError                   delivery did not happen
    ├── BundleError               the enrollment bundle is missing, incomplete or unreadable
    ├── TransientError            network down, timeout, server busy or failing: retry later
    └── RefusedError              the back office refused (``status``): revoked kiosk (403),
                                  envelope failing verification (422), too large (413)...
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import random
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit import ack as ackmod
from deposit import manifest as manifestmod
from deposit.errors import AckError, BundleError, RefusedError, TransientError, UploadError
from deposit.outbox import Outbox

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
MIB = 1024 * 1024
MIN_CHUNK = 1 * MIB
MAX_CHUNK = 8 * MIB



class _OffsetConflict(UploadError):
    pass


class _ChecksumMismatch(UploadError):
    pass


class _Gone(UploadError):
    pass


# ====================================================================== enrollment bundle

@dataclass(frozen=True)
class Enrollment:
    """What a kiosk needs to deliver: written by ``backoffice enroll``, read by the uploader.

    Layout of the bundle folder (``bundle.json`` names the rest)::

        bundle.json      {"version": 1, "kiosk_id", "fleet_code", "upload_url", "public_url"}
        tls/kiosk.key    the kiosk's TLS key (0600)      tls/kiosk.crt  its certificate
        tls/ca.crt       the fleet CA (verifies the back office)
        signing.key      the kiosk's Ed25519 manifest-signing key (0600)
        recipients.txt   the back office's age recipients, one per line
        ack.pub          the back office's Ed25519 acknowledgement key (PEM)
        kiosk.toml       a configuration fragment for this kiosk
    """

    folder: Path
    kiosk_id: str
    fleet_code: str
    upload_url: str        # the tus creation URL (…/files/)
    public_url: str        # base of the status page (receipts' QR codes)

    BUNDLE = "bundle.json"
    CLIENT_KEY = "tls/kiosk.key"
    CLIENT_CERT = "tls/kiosk.crt"
    CA_CERT = "tls/ca.crt"
    SIGNING_KEY = "signing.key"
    RECIPIENTS = "recipients.txt"
    ACK_KEY = "ack.pub"
    CONFIG = "kiosk.toml"
    FILES = (CLIENT_KEY, CLIENT_CERT, CA_CERT, SIGNING_KEY, RECIPIENTS, ACK_KEY)

    @classmethod
    def load(cls, folder: Path) -> Enrollment:
        """Read and check a bundle; :class:`BundleError` saying what is wrong."""
        path = folder / cls.BUNDLE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(f"{folder}: no enrollment bundle (run `backoffice enroll` for this "
                              f"kiosk and copy its output here)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{path}: cannot be read ({exc})") from None
        keys = ("kiosk_id", "fleet_code", "upload_url", "public_url")
        if not isinstance(data, dict) or data.get("version") != 1 or \
                not all(isinstance(data.get(k), str) and data.get(k) for k in keys):
            raise BundleError(f"{path}: not a version 1 bundle with {', '.join(keys)}")
        missing = [name for name in cls.FILES if not (folder / name).is_file()]
        if missing:
            raise BundleError(f"{folder}: the bundle lacks {', '.join(missing)}")
        return cls(folder=folder, **{k: data[k] for k in keys})

    def to_json(self) -> str:
        return json.dumps({"version": 1, "kiosk_id": self.kiosk_id,
                           "fleet_code": self.fleet_code, "upload_url": self.upload_url,
                           "public_url": self.public_url}, indent=2) + "\n"

    def file(self, name: str) -> Path:
        return self.folder / name

    def recipients(self) -> list[str]:
        text = self.file(self.RECIPIENTS).read_text(encoding="utf-8")
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]

    def ack_key(self) -> Ed25519PublicKey:
        try:
            return ackmod.load_public_key(self.file(self.ACK_KEY).read_bytes())
        except (OSError, AckError) as exc:
            raise BundleError(f"{self.file(self.ACK_KEY)}: {exc}") from None

    def signing_key(self) -> Ed25519PrivateKey:
        return manifestmod.load_signing_key(self.file(self.SIGNING_KEY))

    def tracking_url(self, deposit_id: str, token: str) -> str:
        """The address printed as the receipt's QR code."""
        return f"{self.public_url.rstrip('/')}/suivi/{deposit_id}?t={token}"

    def ssl_context(self) -> ssl.SSLContext:
        """TLS to the back office: its certificate must chain to the fleet CA; ours is sent."""
        try:
            ctx = ssl.create_default_context(cafile=str(self.file(self.CA_CERT)))
            ctx.load_cert_chain(self.file(self.CLIENT_CERT), self.file(self.CLIENT_KEY))
        except (OSError, ssl.SSLError) as exc:
            raise BundleError(f"{self.folder}: the TLS files cannot be used ({exc})") from None
        return ctx

    def http_client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(verify=self.ssl_context(), timeout=timeout,
                            headers={"User-Agent": f"deposit-kiosk/{self.kiosk_id}"})


# ====================================================================== tus protocol

@dataclass(frozen=True)
class ServerCaps:
    """What OPTIONS says a tus server supports."""

    versions: tuple[str, ...]
    extensions: frozenset[str]
    max_size: int | None
    checksums: frozenset[str]

    def checksum_algorithm(self) -> str | None:
        if "checksum" not in self.extensions:
            return None
        for name in ("sha256", "sha1"):
            if name in self.checksums:
                return name
        return None


@dataclass(frozen=True)
class TusState:
    """An upload's position as the server states it, and the acknowledgement if any."""

    url: str
    offset: int
    length: int | None
    ack: bytes | None = None
    expires: str | None = None


@dataclass(frozen=True)
class FileRegion:
    """``length`` bytes of an open file from ``offset``, read in small blocks when sent.

    The chunk is read twice (once for its checksum, once to send it) rather
    than held whole in memory: an uploader needs 256 KiB, not a chunk of 8 MiB.
    """

    file: BinaryIO
    offset: int
    length: int
    block: int = 256 * 1024

    def blocks(self) -> Iterator[bytes]:
        self.file.seek(self.offset)
        left = self.length
        while left:
            data = self.file.read(min(self.block, left))
            if not data:
                raise TransientError("the envelope file shrank while being sent")
            left -= len(data)
            yield data

    def digest(self, algorithm: str) -> bytes:
        h = hashlib.new(algorithm)
        for data in self.blocks():
            h.update(data)
        return h.digest()


def _encode_metadata(metadata: dict[str, bytes]) -> str:
    return ",".join(f"{k} {base64.b64encode(v).decode()}" for k, v in metadata.items())


class TusClient:
    """tus 1.0 over an ``httpx.Client``; statuses become exceptions of this module.

    Network errors and 5xx, 423, 429 raise :class:`TransientError`; 404 and 410
    mean the upload is gone; 409 an offset conflict; 460 a checksum mismatch;
    other 4xx :class:`RefusedError`. A TLS handshake refused by the server
    (revoked or foreign certificate) is a :class:`RefusedError` with status 0.
    """

    def __init__(self, client: httpx.Client, endpoint: str) -> None:
        self.client = client
        self.endpoint = endpoint

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Tus-Resumable": TUS_VERSION, **kwargs.pop("headers", {})}
        if method == "OPTIONS":
            headers.pop("Tus-Resumable")
        try:
            response = self.client.request(method, url, headers=headers, **kwargs)
        except httpx.ConnectError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, ssl.SSLError) and "CERTIFICATE" in str(cause).upper() \
                    and "VERIFY" in str(cause).upper():
                raise TransientError(f"the back office's certificate is not trusted: {cause}"
                                     ) from None
            raise TransientError(f"cannot reach {url}: {exc}") from None
        except httpx.RemoteProtocolError as exc:
            if _tls_alert(exc):
                raise RefusedError(f"{url}: the back office refused this kiosk's certificate "
                                   f"({exc})", 0) from None
            raise TransientError(f"{method} {url}: connection broken ({exc})") from None
        except (httpx.TransportError, ssl.SSLError) as exc:
            if _tls_alert(exc):
                raise RefusedError(f"{url}: the back office refused this kiosk's certificate "
                                   f"({exc})", 0) from None
            raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status in (404, 410):
            raise _Gone(f"{url}: upload gone ({status})")
        if status == 409:
            raise _OffsetConflict(f"{url}: offset conflict")
        if status == 460:
            raise _ChecksumMismatch(f"{url}: checksum mismatch")
        if status in (423, 429) or status >= 500:
            raise TransientError(f"{method} {url}: {status} {response.text.strip()[:200]}")
        if status >= 400:
            raise RefusedError(f"{method} {url}: {status} {response.text.strip()[:300]}", status)
        return response

    def options(self) -> ServerCaps:
        r = self._request("OPTIONS", self.endpoint)

        def split(name: str) -> list[str]:
            return [v.strip() for v in r.headers.get(name, "").split(",") if v.strip()]

        max_size = r.headers.get("Tus-Max-Size")
        return ServerCaps(tuple(split("Tus-Version")), frozenset(split("Tus-Extension")),
                          int(max_size) if max_size and max_size.isdigit() else None,
                          frozenset(split("Tus-Checksum-Algorithm")))

    def create(self, length: int, metadata: dict[str, bytes]) -> TusState:
        r = self._request("POST", self.endpoint, headers={
            "Upload-Length": str(length), "Upload-Metadata": _encode_metadata(metadata),
            "Content-Length": "0"})
        if r.status_code != 201 or "Location" not in r.headers:
            raise TransientError(f"POST {self.endpoint}: {r.status_code} without Location")
        url = urljoin(self.endpoint, r.headers["Location"])
        return self._state(url, r, default_offset=0)

    def head(self, url: str) -> TusState:
        r = self._request("HEAD", url)
        if "Upload-Offset" not in r.headers:
            raise TransientError(f"HEAD {url}: no Upload-Offset in the answer")
        return self._state(url, r)

    def patch(self, url: str, offset: int, data: bytes | FileRegion,
              checksum: str | None) -> TusState:
        """Send ``data`` (bytes, or a region of a file streamed in small blocks) at ``offset``."""
        region = data if isinstance(data, FileRegion) else None
        length = region.length if region else len(data)  # type: ignore[arg-type]
        headers = {"Upload-Offset": str(offset), "Content-Length": str(length),
                   "Content-Type": "application/offset+octet-stream"}
        if checksum:
            digest = region.digest(checksum) if region else \
                hashlib.new(checksum, data).digest()  # type: ignore[arg-type]
            headers["Upload-Checksum"] = f"{checksum} {base64.b64encode(digest).decode()}"
        content: bytes | Iterator[bytes] = region.blocks() if region else data  # type: ignore[assignment]
        r = self._request("PATCH", url, headers=headers, content=content)
        state = self._state(url, r)
        if state.offset != offset + length:
            raise TransientError(f"PATCH {url}: the server says offset {state.offset}, "
                                 f"expected {offset + length}")
        return state

    def terminate(self, url: str) -> None:
        with contextlib.suppress(_Gone):
            self._request("DELETE", url)

    @staticmethod
    def _state(url: str, r: httpx.Response, default_offset: int | None = None) -> TusState:
        offset_text = r.headers.get("Upload-Offset")
        if offset_text is None:
            if default_offset is None:
                raise TransientError(f"{url}: the answer has no Upload-Offset")
            offset = default_offset
        elif offset_text.isdigit():
            offset = int(offset_text)
        else:
            raise TransientError(f"{url}: Upload-Offset {offset_text!r} is not a number")
        length_text = r.headers.get("Upload-Length")
        ack_text = r.headers.get(ackmod.HEADER)
        return TusState(url=url, offset=offset,
                        length=int(length_text) if length_text and length_text.isdigit()
                        else None,
                        ack=ackmod.from_header(ack_text) if ack_text else None,
                        expires=r.headers.get("Upload-Expires"))


def _tls_alert(exc: BaseException) -> bool:
    """True if the server ended the TLS session with an alert about our certificate."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).upper()
        if any(mark in text for mark in ("CERTIFICATE_REQUIRED", "UNKNOWN_CA", "BAD_CERTIFICATE",
                                         "CERTIFICATE_UNKNOWN", "TLSV13_ALERT_CERTIFICATE",
                                         "SSLV3_ALERT_BAD_CERTIFICATE")):
            return True
        current = current.__cause__ or current.__context__
    return False


# ====================================================================== durable state

class UploadState:
    """The tus URL of each deposit being delivered, and each delivery's outcome, durably.

    SQLite in WAL mode with ``synchronous=FULL``: a row this returns from
    writing survives a power cut. Kept beside the outbox
    (``{outbox}/uploader.sqlite3``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript("""
            CREATE TABLE IF NOT EXISTS tus_uploads (
                deposit_id TEXT PRIMARY KEY, envelope_sha256 TEXT NOT NULL,
                url TEXT NOT NULL, created TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS deliveries (
                deposit_id TEXT PRIMARY KEY, envelope_sha256 TEXT NOT NULL,
                outcome TEXT NOT NULL, ack BLOB, reason TEXT, at TEXT NOT NULL);
        """)

    def close(self) -> None:
        self._conn.close()

    def url(self, deposit_id: str, envelope_sha256: str) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT url FROM tus_uploads WHERE deposit_id = ? AND envelope_sha256 = ?",
                (deposit_id, envelope_sha256)).fetchone()
        return str(row[0]) if row else None

    def remember(self, deposit_id: str, envelope_sha256: str, url: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO tus_uploads VALUES (?, ?, ?, ?)",
                (deposit_id, envelope_sha256, url, datetime.now(UTC).isoformat()))

    def forget(self, deposit_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM tus_uploads WHERE deposit_id = ?", (deposit_id,))

    def record(self, deposit_id: str, envelope_sha256: str, outcome: str,
               ack: bytes | None = None, reason: str | None = None) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
                               (deposit_id, envelope_sha256, outcome, ack, reason,
                                datetime.now(UTC).isoformat()))

    def outcome(self, deposit_id: str) -> tuple[str, bytes | None, str | None] | None:
        with self._lock:
            row = self._conn.execute("SELECT outcome, ack, reason FROM deliveries "
                                     "WHERE deposit_id = ?", (deposit_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None


# ====================================================================== the uploader

class Queued(Protocol):
    """A deposit waiting in the outbox, as the uploader needs it."""

    @property
    def deposit_id(self) -> str: ...
    @property
    def envelope_path(self) -> Path: ...
    @property
    def manifest(self) -> bytes: ...


@dataclass
class Backoff:
    """Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2**attempt)]."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** max(attempt, 0)))


@dataclass
class Delivery:
    """What became of one deposit. ``outcome``: delivered, conflict, queued or refused."""

    deposit_id: str
    outcome: str
    reason: str = ""
    ack: bytes | None = None
    bytes_sent: int = 0
    attempts: int = 0
    status: int | None = None

    @property
    def acknowledged(self) -> bool:
        return self.outcome in ("delivered", "conflict")

    def as_dict(self) -> dict[str, Any]:
        return {"deposit_id": self.deposit_id, "outcome": self.outcome, "reason": self.reason,
                "bytes_sent": self.bytes_sent, "attempts": self.attempts,
                "status": self.status}


class _Recreate(Exception):
    pass


class Uploader:
    """Delivers deposits to one tus endpoint and verifies the acknowledgements.

    ``sleep`` and ``backoff`` (with its random generator) are injectable so
    tests drive time; ``should_stop`` is checked between chunks (SIGTERM).
    """

    def __init__(self, tus: TusClient, state: UploadState, *, kiosk_id: str,
                 ack_key: Ed25519PublicKey, chunk_size: int = 4 * MIB,
                 max_attempts: int = 5, backoff: Backoff | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk size must be 1 to 8 MiB, not {chunk_size}")
        self.tus = tus
        self.state = state
        self.kiosk_id = kiosk_id
        self.ack_key = ack_key
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.should_stop = should_stop
        self._caps: ServerCaps | None = None
        self._heartbeat: Callable[[], None] = lambda: None

    def close(self) -> None:
        """Close the HTTP connections and the state database."""
        self.tus.client.close()
        self.state.close()

    def __enter__(self) -> Uploader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def caps(self) -> ServerCaps:
        if self._caps is None:
            self._caps = self.tus.options()
            if TUS_VERSION not in self._caps.versions:
                raise RefusedError(f"the server speaks tus {self._caps.versions}, "
                                   f"not {TUS_VERSION}", 412)
        return self._caps

    def deliver(self, item: Queued, heartbeat: Callable[[], None] | None = None) -> Delivery:
        """Deliver one deposit, retrying transient failures up to ``max_attempts`` times.

        ``heartbeat`` is called after each chunk (the outbox lease is renewed there).
        """
        self._heartbeat = heartbeat or (lambda: None)
        manifest, _ = manifestmod.parse_unverified(item.manifest)
        result = Delivery(item.deposit_id, "queued")
        while True:
            result.attempts += 1
            try:
                ack = self._attempt(item, manifest, result)
            except RefusedError as exc:
                result.outcome, result.reason, result.status = "refused", str(exc), exc.status
                log.error("deposit %s refused by the back office: %s", item.deposit_id, exc)
                self.state.record(item.deposit_id, manifest.envelope_sha256, "refused",
                                  reason=str(exc))
                if exc.status == 422:
                    # The upload was discarded; a new one will be needed.
                    self.state.forget(item.deposit_id)
                return result
            except AckError as exc:
                result.outcome, result.reason = "queued", f"acknowledgement rejected: {exc}"
                log.error("deposit %s: %s", item.deposit_id, result.reason)
                return result
            except TransientError as exc:
                result.reason = str(exc)
                if self.should_stop() or result.attempts >= self.max_attempts:
                    log.warning("deposit %s stays queued: %s", item.deposit_id, exc)
                    return result
                delay = self.backoff.delay(result.attempts)
                log.info("deposit %s: %s; retrying in %.1f s", item.deposit_id, exc, delay)
                self.sleep(delay)
                continue
            result.ack = ack.blob
            result.outcome = "conflict" if ack.ack.disposition == "conflict" else "delivered"
            result.reason = ("the back office already holds another envelope under this "
                             "deposit id; it kept this one apart for staff"
                             if result.outcome == "conflict" else "")
            self.state.record(item.deposit_id, manifest.envelope_sha256, result.outcome,
                              ack=ack.blob)
            self.state.forget(item.deposit_id)
            return result

    def _attempt(self, item: Queued, manifest: manifestmod.Manifest,
                 result: Delivery) -> _VerifiedAck:
        for _ in range(3):
            try:
                return self._send(item, manifest, result)
            except _Recreate:
                continue
        raise TransientError("the upload vanished three times in a row on the server")

    def _send(self, item: Queued, manifest: manifestmod.Manifest,
              result: Delivery) -> _VerifiedAck:
        sha, size = manifest.envelope_sha256, manifest.envelope_size
        url = self.state.url(item.deposit_id, sha)
        try:
            if url is None:
                caps = self.caps()
                if caps.max_size is not None and size > caps.max_size:
                    raise RefusedError(f"the envelope ({size} bytes) is over the server's "
                                       f"maximum of {caps.max_size}", 413)
                state = self.tus.create(size, {"deposit_id": item.deposit_id.encode(),
                                               "manifest": item.manifest})
                # Durable before the first byte goes to it: a crash from here on resumes.
                self.state.remember(item.deposit_id, sha, state.url)
                log.info("deposit %s: upload created at %s", item.deposit_id, state.url)
            else:
                state = self.tus.head(url)
                log.info("deposit %s: resuming %s at %d of %d", item.deposit_id, url,
                         state.offset, size)
            if state.ack is not None:
                return self._verify(state.ack, item.deposit_id, manifest)
            offset = state.offset
            checksum = self.caps().checksum_algorithm()
            mismatches = 0
            with item.envelope_path.open("rb") as f:
                while offset < size:
                    if self.should_stop():
                        raise TransientError("stopping on request")
                    if os.fstat(f.fileno()).st_size < size:
                        raise RefusedError(f"{item.envelope_path} is shorter than its "
                                           f"manifest says ({size} bytes)", 422)
                    chunk = FileRegion(f, offset, min(self.chunk_size, size - offset))
                    try:
                        state = self.tus.patch(state.url, offset, chunk, checksum)
                    except _OffsetConflict:
                        state = self.tus.head(state.url)
                        offset = state.offset
                        continue
                    except _ChecksumMismatch:
                        mismatches += 1
                        if mismatches >= 3:
                            raise TransientError("three checksum mismatches in a row") from None
                        continue
                    result.bytes_sent += state.offset - offset
                    offset = state.offset
                    self._heartbeat()
                    if state.ack is not None:
                        return self._verify(state.ack, item.deposit_id, manifest)
            state = self.tus.head(state.url)
            if state.ack is None:
                raise TransientError("the server stored the upload but gave no acknowledgement")
            return self._verify(state.ack, item.deposit_id, manifest)
        except _Gone:
            log.info("deposit %s: the upload is gone on the server; creating it anew",
                     item.deposit_id)
            self.state.forget(item.deposit_id)
            raise _Recreate() from None

    def _verify(self, blob: bytes, deposit_id: str,
                manifest: manifestmod.Manifest) -> _VerifiedAck:
        ack = ackmod.verify(blob, self.ack_key, deposit_id=manifest.deposit_id,
                            kiosk_id=self.kiosk_id, envelope_sha256=manifest.envelope_sha256,
                            envelope_size=manifest.envelope_size)
        log.info("deposit %s acknowledged (%s) at %s", deposit_id, ack.disposition,
                 ack.received.isoformat())
        return _VerifiedAck(ack, blob)


@dataclass(frozen=True)
class _VerifiedAck:
    ack: ackmod.Ack
    blob: bytes


def deliver_all(uploader: Uploader, queued: Iterable[Queued]) -> Iterator[Delivery]:
    """Deliver each deposit in turn; stops early when the kiosk itself is refused."""
    for item in queued:
        if uploader.should_stop():
            return
        result = uploader.deliver(item)
        yield result
        if result.outcome == "refused" and result.status in (0, 401, 403):
            return


@dataclass
class _LeaseKeeper:
    """Renews an outbox lease at a third of its length while chunks go out."""

    outbox: Outbox
    deposit_id: str
    owner: str
    lease_seconds: float
    clock: Callable[[], float]
    last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.last = self.clock()

    def beat(self) -> None:
        if self.clock() - self.last > self.lease_seconds / 3:
            self.outbox.renew_lease(self.deposit_id, self.owner, self.lease_seconds)
            self.last = self.clock()


def deliver_outbox(outbox: Outbox, uploader: Uploader, *, owner: str,
                   lease_seconds: float = 600.0, retry_refused: bool = False,
                   clock: Callable[[], float] = time.monotonic) -> list[Delivery]:
    """One pass over the outbox: deliver each deposit waiting, oldest first.

    Each deposit is claimed (lease renewed while its chunks go), then marked
    acknowledged once its acknowledgement is verified (the outbox deletes the
    envelope), or released with the reason. A deposit the back office refused
    as such (422: it fails verification) is kept and reported, and not sent
    again unless ``retry_refused``. The pass stops at the first failure that
    would hit every deposit (back office unreachable, kiosk refused); the
    deposits not tried are reported as queued.
    """
    from deposit.errors import LeaseError, StateError

    results: list[Delivery] = []
    stop_reason = ""
    for entry in outbox.pending():
        if stop_reason or uploader.should_stop():
            results.append(Delivery(entry.deposit_id, "queued",
                                    stop_reason or "not tried: stopping"))
            continue
        previous = uploader.state.outcome(entry.deposit_id)
        if previous is not None and previous[0] == "refused" and not retry_refused \
                and "422" in (previous[2] or ""):
            results.append(Delivery(entry.deposit_id, "refused",
                                    f"kept on the kiosk, not sent again: {previous[2]}",
                                    status=422))
            continue
        try:
            claim = outbox.claim(entry.deposit_id, owner, lease_seconds)
        except (LeaseError, StateError) as exc:
            results.append(Delivery(entry.deposit_id, "queued", f"not tried: {exc}"))
            continue
        keeper = _LeaseKeeper(outbox, claim.deposit_id, owner, lease_seconds, clock)
        try:
            result = uploader.deliver(claim, keeper.beat)
        except BaseException as exc:
            outbox.release(claim.deposit_id, owner, error=f"interrupted: {exc!r}")
            raise
        if result.acknowledged and result.ack is not None:
            outbox.mark_acknowledged(claim.deposit_id, result.ack, owner=owner)
        else:
            outbox.release(claim.deposit_id, owner, error=result.reason)
            if result.outcome == "queued" or (result.outcome == "refused"
                                                and result.status in (0, 401, 403, 412)):
                stop_reason = f"not tried: {result.reason}"
        results.append(result)
    return results
