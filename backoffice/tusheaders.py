"""The tus request headers the ingest reads: ``Upload-Checksum`` and ``Upload-Metadata``.

Strict by design: only the metadata keys of the protocol are accepted (a
client's extra keys were once stored in clear and echoed back), the whole
header is bounded, and :func:`encode_metadata` rebuilds the one header the
back office keeps and echoes from the decoded values, never the raw text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backoffice.errors import IngestError

#: Checksum algorithms of the tus checksum extension we accept (sha1 is required by the spec).
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}

#: The Upload-Metadata keys of the protocol (deposit/delivery.py sends exactly these;
#: ``contact``, the citizen's contact sealed to the notifier, only when there is one).
METADATA_KEYS = frozenset({"deposit_id", "manifest", "contact"})
#: Longest Upload-Metadata accepted: a signed manifest is under 2 KB; 16 KiB is h11's own
#: default limit for a whole header block in uvicorn.
MAX_METADATA_CHARS = 16 * 1024


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    @classmethod
    def parse(cls, header: str) -> Checksum:
        algorithm, _, value = header.strip().partition(" ")
        if algorithm not in CHECKSUMS:
            raise IngestError(f"checksum algorithm {algorithm!r} is not supported "
                              f"(accepted: {', '.join(CHECKSUMS)})")
        try:
            digest = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise IngestError("Upload-Checksum is not 'ALGORITHM BASE64'") from None
        return cls(algorithm, digest)


def parse_metadata(header: str) -> dict[str, bytes]:
    """Decode a tus ``Upload-Metadata`` header (``key base64,key base64``): our keys only."""
    if len(header) > MAX_METADATA_CHARS:
        raise IngestError(f"Upload-Metadata is longer than {MAX_METADATA_CHARS} characters")
    out: dict[str, bytes] = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or " " in value.strip() or key in out:
            raise IngestError("Upload-Metadata is malformed (keys must be unique, "
                              "values base64)")
        if key not in METADATA_KEYS:
            raise IngestError(f"Upload-Metadata key {key[:40]!r} is not accepted (the protocol "
                              f"uses {', '.join(sorted(METADATA_KEYS))})")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise IngestError(f"Upload-Metadata value of {key!r} is not base64") from None
    return out


def encode_metadata(values: dict[str, bytes]) -> str:
    """The ``Upload-Metadata`` header of ``values``, keys sorted."""
    return ",".join(f"{key} {base64.b64encode(value).decode()}"
                    for key, value in sorted(values.items()))
