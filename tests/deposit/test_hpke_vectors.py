"""The post-quantum KEM under the ``mlkem768x25519`` stanza, checked against the HPKE PQ vectors.

The age stanza relies on ``cryptography``'s ``hpke.Suite`` (MLKEM768-X25519,
HKDF-SHA256, ChaCha20-Poly1305). These tests pin that down independently: the
identity's seed expansion gives the vectors' public key, a decapsulation
written here from the X-Wing definition gives the vectors' shared secret, an
RFC 9180 key schedule written here gives their key and nonce and opens their
ciphertexts, and what ``hpke.Suite`` produces opens with that same schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from deposit.age_keys import PQ_INFO, HybridIdentity, HybridRecipient

XWING_KEM_ID = 0x647A
XWING_LABEL = b"\\.//^\\"

Vector = dict[str, Any]  # one entry of the JSON vectors file


@pytest.fixture(scope="module")
def vector(shared_vectors: Path) -> Vector:
    vectors: list[Vector] = json.loads((shared_vectors / "hpke-pq-test-vectors.json").read_text())
    found = [v for v in vectors
             if v["kem_id"] == XWING_KEM_ID and v["kdf_id"] == 1 and v["aead_id"] == 3
             and v["mode"] == 0]
    assert found, "no MLKEM768-X25519 / HKDF-SHA256 / ChaCha20-Poly1305 base-mode vector"
    return found[0]


def decapsulate(seed: bytes, enc: bytes) -> bytes:
    expanded = hashlib.shake_256(seed).digest(96)
    kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    dh = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    ss_kem = kem.decapsulate(enc[:1088])
    ct_dh = enc[1088:]
    ss_dh = dh.exchange(x25519.X25519PublicKey.from_public_bytes(ct_dh))
    return hashlib.sha3_256(ss_kem + ss_dh + ct_dh + dh.public_key().public_bytes_raw()
                            + XWING_LABEL).digest()


def key_schedule(shared_secret: bytes, info: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 section 5.1, base mode, HKDF-SHA256, ChaCha20-Poly1305."""
    suite_id = b"HPKE" + XWING_KEM_ID.to_bytes(2, "big") + (1).to_bytes(2, "big") + (3).to_bytes(
        2, "big")

    def extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return hmac.new(salt or bytes(32), b"HPKE-v1" + suite_id + label + ikm,
                        hashlib.sha256).digest()

    def expand(prk: bytes, label: bytes, ctx: bytes, length: int) -> bytes:
        return HKDFExpand(hashes.SHA256(), length, length.to_bytes(2, "big") + b"HPKE-v1"
                          + suite_id + label + ctx).derive(prk)

    context = b"\x00" + extract(b"", b"psk_id_hash", b"") + extract(b"", b"info_hash", info)
    secret = extract(shared_secret, b"secret", b"")
    return expand(secret, b"key", context, 32), expand(secret, b"base_nonce", context, 12)


def test_identity_seed_expands_to_the_vectors_public_key(vector: Vector) -> None:
    identity = HybridIdentity(bytes.fromhex(vector["skRm"]))
    assert identity.recipient().public.hex() == vector["pkRm"]


def test_decapsulation_gives_the_vectors_shared_secret(vector: Vector) -> None:
    secret = decapsulate(bytes.fromhex(vector["skRm"]), bytes.fromhex(vector["enc"]))
    assert secret.hex() == vector["shared_secret"]


def test_key_schedule_gives_the_vectors_key_and_opens_their_ciphertexts(vector: Vector) -> None:
    key, nonce = key_schedule(bytes.fromhex(vector["shared_secret"]), bytes.fromhex(vector["info"]))
    assert (key.hex(), nonce.hex()) == (vector["key"], vector["base_nonce"])
    aead = ChaCha20Poly1305(key)
    for seq, item in enumerate(vector["encryptions"][:4]):
        seq_nonce = bytes(a ^ b for a, b in zip(nonce, seq.to_bytes(12, "big"), strict=True))
        plain = aead.decrypt(seq_nonce, bytes.fromhex(item["ct"]), bytes.fromhex(item["aad"]))
        assert plain.hex() == item["pt"]


def test_cryptography_suite_seals_what_the_vector_kem_and_schedule_open(vector: Vector) -> None:
    seed = bytes.fromhex(vector["skRm"])
    stanza = HybridRecipient(bytes.fromhex(vector["pkRm"])).wrap(b"sixteen byte key")
    from deposit.age_format import b64decode
    enc = b64decode(stanza.args[0])
    key, nonce = key_schedule(decapsulate(seed, enc), PQ_INFO)
    assert ChaCha20Poly1305(key).decrypt(nonce, stanza.body, b"") == b"sixteen byte key"
    assert HybridIdentity(seed).unwrap(stanza) == b"sixteen byte key"
