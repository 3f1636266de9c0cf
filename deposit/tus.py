"""The tus 1.0 resumable-upload protocol (core, creation, checksum, termination, expiration).

:class:`TusClient` speaks it over an ``httpx.Client`` to any tus server (the
back office, ``@tus/server``); HTTP statuses become the exceptions below,
network failures :class:`~deposit.errors.TransientError` (and its
:class:`~deposit.errors.UnreachableError` when no connection could be made),
refusals :class:`~deposit.errors.RefusedError`. Chunks are streamed from the
envelope file in small blocks (:class:`FileRegion`), never held whole.

Protocol-level conditions the caller handles (subclasses of UploadError)::

    GoneError               404 / 410: the upload is gone on the server; create it anew
    OffsetConflictError     409: the offset sent is not the server's; ask it with HEAD
    ChecksumMismatchError   460: the chunk arrived altered; send it again
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpx

from deposit import ack as ackmod
from deposit.errors import RefusedError, TransientError, UnreachableError, UploadError

TUS_VERSION = "1.0.0"
MIB = 1024 * 1024


class GoneError(UploadError):
    """404 or 410: the upload does not exist (any more) on the server."""


class OffsetConflictError(UploadError):
    """409: the offset of a PATCH is not the server's."""


class ChecksumMismatchError(UploadError):
    """460: the chunk's checksum does not match what the server received."""


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
    progress: Callable[[int], object] | None = None   # bytes read, called as each block goes

    def _read(self) -> Iterator[bytes]:
        self.file.seek(self.offset)
        left = self.length
        while left:
            data = self.file.read(min(self.block, left))
            if not data:
                raise TransientError("the envelope file shrank while being sent")
            left -= len(data)
            yield data

    def blocks(self) -> Iterator[bytes]:
        """The region's bytes as they are sent (``progress`` told after each block)."""
        for data in self._read():
            yield data
            if self.progress is not None:
                self.progress(len(data))

    def digest(self, algorithm: str) -> bytes:
        h = hashlib.new(algorithm)
        for data in self._read():
            h.update(data)
        return h.digest()


def _encode_metadata(metadata: dict[str, bytes]) -> str:
    return ",".join(f"{k} {base64.b64encode(v).decode()}" for k, v in metadata.items())


class TusClient:
    """tus 1.0 over an ``httpx.Client``; statuses become exceptions of this module.

    Network errors and 5xx, 408, 423, 429 raise :class:`TransientError`; 404 and 410
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
            raise UnreachableError(f"cannot reach {url}: {exc}") from None
        except httpx.RemoteProtocolError as exc:
            if tls_alert(exc):
                raise RefusedError(f"{url}: the back office refused this kiosk's certificate "
                                   f"({exc})", 0) from None
            raise TransientError(f"{method} {url}: connection broken ({exc})") from None
        except (httpx.TransportError, ssl.SSLError) as exc:
            if tls_alert(exc):
                raise RefusedError(f"{url}: the back office refused this kiosk's certificate "
                                   f"({exc})", 0) from None
            raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status in (404, 410):
            raise GoneError(f"{url}: upload gone ({status})")
        if status == 409:
            raise OffsetConflictError(f"{url}: offset conflict")
        if status == 460:
            raise ChecksumMismatchError(f"{url}: checksum mismatch")
        # 408: the server ended a body that stalled (what arrived is kept); 423: another
        # request holds the upload; 429: the kiosk's quota; 507 (>= 500): no room now.
        if status in (408, 423, 429) or status >= 500:
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
        with contextlib.suppress(GoneError):
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


def tls_alert(exc: BaseException) -> bool:
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


def kiosk_request(client: httpx.Client, method: str, url: str, *,
                  expected: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
    """One request of a kiosk to its back office's kiosk listener (agent calls, heartbeats,
    the fleet state), its failures as deposit's errors.

    :class:`UnreachableError` when no connection could be made,
    :class:`TransientError` for 5xx, 408, 429, a failed TLS session and broken connections,
    :class:`RefusedError` for other 4xx (status 0: the TLS handshake refused this kiosk's
    certificate). ``expected`` answers (``expected=(404,)``) come back to the caller as they
    are, for it to say what they mean.
    """
    refused_tls = f"{url}: the back office refused this kiosk's certificate"
    try:
        response = client.request(method, url, **kwargs)
    except httpx.ConnectError as exc:
        if tls_alert(exc):
            raise RefusedError(refused_tls, 0) from None
        cause = exc.__context__ or exc.__cause__
        if isinstance(cause, ssl.SSLError):
            raise TransientError(f"{url}: TLS failed ({cause})") from None
        raise UnreachableError(f"cannot reach {url}: {exc}") from None
    except (httpx.TransportError, ssl.SSLError) as exc:
        if tls_alert(exc):
            raise RefusedError(refused_tls, 0) from None
        raise TransientError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
    status = response.status_code
    if status in expected:
        return response
    if status in (408, 429) or status >= 500:
        raise TransientError(f"{method} {url}: {status} {response.text.strip()[:200]}")
    if status >= 400:
        raise RefusedError(f"{method} {url}: {status} {response.text.strip()[:200]}", status)
    return response
