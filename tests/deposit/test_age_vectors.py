"""The age format's conformance vectors (C2SP CCTV ``age/testdata``) through the public API.

Each vector states its outcome: success with the SHA-256 of the payload, or the
kind of failure (header, payload, no match, HMAC, armor). Vectors that need a
passphrase are out of scope (scrypt is not supported) and are checked only to
fail clearly.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from deposit import envelope
from deposit.errors import DecryptionError, PassphraseNotSupportedError

EXPECT = {"success": None, "header failure": "header", "payload failure": "payload",
          "no match": "no match", "HMAC failure": "hmac", "armor failure": "armor"}


@dataclass
class Vector:
    name: str
    expect: str
    identities: list[str]
    passphrase: bool
    payload_sha256: str | None
    body: bytes


def load(path: Path) -> Vector:
    head, _, body = path.read_bytes().partition(b"\n\n")
    meta: dict[str, list[str]] = {}
    for line in head.decode().splitlines():
        key, _, value = line.partition(": ")
        meta.setdefault(key, []).append(value)
    if meta.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(path.name, meta["expect"][0], meta.get("identity", []),
                  "passphrase" in meta, meta.get("payload", [None])[0], body)


def vectors(shared_vectors: Path) -> list[Vector]:
    return [load(p) for p in sorted((shared_vectors / "age").iterdir())]


def outcome(vector: Vector) -> tuple[str | None, bytes]:
    out = io.BytesIO()
    try:
        envelope.decrypt(io.BytesIO(vector.body), out, vector.identities)
    except DecryptionError as exc:
        return exc.kind, out.getvalue()
    return None, out.getvalue()


def test_every_age_vector_without_passphrase_gives_its_stated_outcome(shared_vectors: Path
                                                                      ) -> None:
    checked = 0
    wrong = []
    for vector in vectors(shared_vectors):
        if vector.passphrase:
            continue
        kind, plaintext = outcome(vector)
        expected = EXPECT[vector.expect]
        if kind != expected:
            wrong.append(f"{vector.name}: expected {expected or 'success'}, "
                         f"got {kind or 'success'}")
        elif kind is None and hashlib.sha256(plaintext).hexdigest() != vector.payload_sha256:
            wrong.append(f"{vector.name}: wrong payload")
        elif kind is not None and plaintext:
            wrong.append(f"{vector.name}: failed but released {len(plaintext)} bytes")
        checked += 1
    assert wrong == []
    assert checked >= 110   # 117 in the CCTV set of this writing: the loop really ran


def test_passphrase_files_are_refused_with_a_clear_error(shared_vectors: Path) -> None:
    vector = load(shared_vectors / "age" / "scrypt")
    with pytest.raises(PassphraseNotSupportedError, match="passphrase"):
        envelope.decrypt(io.BytesIO(vector.body), io.BytesIO(), [])


def test_malformed_passphrase_stanzas_are_still_header_failures(shared_vectors: Path) -> None:
    malformed = [v for v in vectors(shared_vectors)
                 if v.passphrase and v.expect == "header failure"]
    assert len(malformed) > 10
    assert [outcome(v)[0] for v in malformed] == ["header"] * len(malformed)


def test_hybrid_vectors_decrypt_with_the_post_quantum_identity(shared_vectors: Path) -> None:
    vector = load(shared_vectors / "age" / "hybrid")
    assert vector.identities[0].startswith("AGE-SECRET-KEY-PQ-1")
    kind, plaintext = outcome(vector)
    assert kind is None
    assert hashlib.sha256(plaintext).hexdigest() == vector.payload_sha256
