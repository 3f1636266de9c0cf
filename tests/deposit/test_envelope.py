"""Envelopes: age files made and opened by deposit.envelope, and by the ``age`` command."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deposit import envelope
from deposit.age_format import CHUNK_SIZE
from deposit.errors import (
    DecryptionError,
    HeaderError,
    HeaderMacError,
    KeyFormatError,
    NoIdentityMatchError,
    PayloadError,
    RecipientError,
)

PQ_ID, PQ_RCPT = envelope.generate_identity("mlkem768x25519")
X_ID, X_RCPT = envelope.generate_identity("x25519")


def seal(data: bytes, recipients: list[str]) -> bytes:
    out = io.BytesIO()
    envelope.encrypt(io.BytesIO(data), out, recipients)
    return out.getvalue()


def open_(blob: bytes, identities: list[str]) -> bytes:
    out = io.BytesIO()
    envelope.decrypt(io.BytesIO(blob), out, identities)
    return out.getvalue()


def test_post_quantum_is_the_default_kind_and_its_recipient_starts_age1pq1() -> None:
    identity, recipient = envelope.generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-PQ-1")
    assert recipient.startswith("age1pq1")
    assert envelope.recipient_of(identity) == recipient


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
                                  3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 17])
def test_round_trip_at_every_chunk_boundary(size: int) -> None:
    data = os.urandom(size)
    assert open_(seal(data, [PQ_RCPT]), [PQ_ID]) == data
    assert open_(seal(data, [X_RCPT]), [X_ID]) == data


def test_several_recipients_of_one_kind_each_open_the_file() -> None:
    other_id, other = envelope.generate_identity()
    blob = seal(b"dossier", [PQ_RCPT, other])
    assert open_(blob, [PQ_ID]) == open_(blob, [other_id]) == b"dossier"


def test_mixing_post_quantum_and_classical_recipients_is_refused() -> None:
    out = io.BytesIO()
    with pytest.raises(RecipientError, match="cannot be mixed"):
        envelope.encrypt(io.BytesIO(b"x"), out, [PQ_RCPT, X_RCPT])
    assert out.getvalue() == b""


@pytest.mark.parametrize("bad", ["", "age1notakey", X_ID, "age1pq1qqqq", "scrypt"],
                         ids=["none", "garbage", "an-identity", "short-pq", "scrypt"])
def test_a_bad_recipient_is_refused_before_anything_is_written(bad: str) -> None:
    out = io.BytesIO()
    with pytest.raises((KeyFormatError, RecipientError)):
        envelope.encrypt(io.BytesIO(b"x"), out, [bad] if bad else [])
    assert out.getvalue() == b""


def test_identity_file_with_comments_and_several_keys_opens_files_for_any_of_them() -> None:
    text = (f"# created: 2025-01-01T00:00:00Z\n# public key: {X_RCPT}\n{X_ID}\n\n"
            f"# the post-quantum one\n{PQ_ID}\n")
    assert open_(seal(b"a", [PQ_RCPT]), [text]) == b"a"
    assert open_(seal(b"b", [X_RCPT]), [text]) == b"b"


def test_identity_file_error_names_the_line_but_not_the_secret() -> None:
    secret_like = "AGE-SECRET-KEY-1" + "Q" * 58
    with pytest.raises(KeyFormatError, match="line 2") as info:
        envelope.parse_identities([f"# comment\n{secret_like}\n"])
    assert secret_like not in str(info.value)


def test_wrong_identity_is_no_match() -> None:
    other_id, _ = envelope.generate_identity()
    with pytest.raises(NoIdentityMatchError):
        open_(seal(b"x", [PQ_RCPT]), [other_id, X_ID])


def test_truncated_file_fails_and_releases_nothing() -> None:
    blob = seal(os.urandom(3 * CHUNK_SIZE), [X_RCPT])
    out = io.BytesIO()
    with pytest.raises(PayloadError):
        envelope.decrypt(io.BytesIO(blob[:-CHUNK_SIZE - 16]), out, [X_ID])
    assert out.getvalue() == b""


def test_altered_last_chunk_fails_after_earlier_chunks_authenticated_yet_releases_nothing(
        ) -> None:
    blob = bytearray(seal(os.urandom(5 * CHUNK_SIZE + 10), [PQ_RCPT]))
    blob[-3] ^= 1
    out = io.BytesIO()
    with pytest.raises(PayloadError) as info:
        envelope.decrypt(io.BytesIO(bytes(blob)), out, [PQ_ID])
    assert out.getvalue() == b""
    assert "chunk 5" not in str(info.value) and "offset" not in str(info.value)


def feed(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(data)


def test_decrypt_from_a_pipe_spools_ciphertext_only_and_releases_nothing_on_failure() -> None:
    data = os.urandom(2 * CHUNK_SIZE + 5)
    blob = bytearray(seal(data, [X_RCPT]))
    for tamper in (False, True):
        if tamper:
            blob[-1] ^= 0x80
        read_fd, write_fd = os.pipe()
        writer = threading.Thread(target=feed, args=(write_fd, bytes(blob)))
        writer.start()
        out = io.BytesIO()
        with os.fdopen(read_fd, "rb") as pipe:
            if tamper:
                with pytest.raises(PayloadError):
                    envelope.decrypt(pipe, out, [X_ID])
                assert out.getvalue() == b""
            else:
                envelope.decrypt(pipe, out, [X_ID])
                assert out.getvalue() == data
        writer.join()


def test_decrypt_to_file_appears_only_when_authenticated(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_SIZE * 2)
    blob = seal(data, [PQ_RCPT])
    target = tmp_path / "dossier.tar"
    envelope.decrypt_to_file(io.BytesIO(blob), target, [PQ_ID])
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        envelope.decrypt_to_file(io.BytesIO(blob), target, [PQ_ID])

    broken = tmp_path / "broken.tar"
    with pytest.raises(PayloadError):
        envelope.decrypt_to_file(io.BytesIO(blob[:-1]), broken, [PQ_ID])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dossier.tar"]


def test_header_mac_protects_the_stanzas() -> None:
    blob = seal(b"x", [X_RCPT, envelope.generate_identity("x25519")[1]])
    # Swap the two stanzas: both still open, but the header MAC no longer matches.
    lines = blob.split(b"\n")
    swapped = b"\n".join([lines[0], lines[3], lines[4], lines[1], lines[2], *lines[5:]])
    with pytest.raises(HeaderMacError):
        open_(swapped, [X_ID])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipping_any_single_bit_of_an_envelope_is_detected(data: st.DataObject) -> None:
    blob = FLIP_BLOB
    position = data.draw(st.integers(0, len(blob) * 8 - 1))
    flipped = bytearray(blob)
    flipped[position // 8] ^= 1 << (position % 8)
    out = io.BytesIO()
    with pytest.raises(DecryptionError):
        envelope.decrypt(io.BytesIO(bytes(flipped)), out, [X_ID])
    assert out.getvalue() == b""


FLIP_BLOB = seal(os.urandom(CHUNK_SIZE + 100), [X_RCPT])


def test_every_bit_of_the_header_and_chunk_seams_is_covered_exhaustively() -> None:
    """Hypothesis samples; the header and the bytes around the chunk seam are checked all."""
    blob = FLIP_BLOB
    header_end = blob.index(b"\n---") + 48
    seam = header_end + 16 + CHUNK_SIZE + 16
    positions = [*range(header_end * 8), *range((seam - 20) * 8, (seam + 20) * 8),
                 *range((len(blob) - 20) * 8, len(blob) * 8)]
    for position in positions:
        flipped = bytearray(blob)
        flipped[position // 8] ^= 1 << (position % 8)
        with pytest.raises(DecryptionError):
            envelope.decrypt(io.BytesIO(bytes(flipped)), io.BytesIO(), [X_ID])


def test_passphrase_recipients_and_plugins_are_refused_clearly() -> None:
    with pytest.raises(KeyFormatError, match="unsupported age recipient type"):
        envelope.parse_recipients(["age1tag1qt8lw0ual6avlwmwatk888yqnmdamm7xfd0wak53ut6elz5c4swx2yqdj4e"])


def test_header_error_for_a_file_that_is_not_age() -> None:
    with pytest.raises(HeaderError):
        open_(b"age-encryption.org/v2\n", [X_ID])
    with pytest.raises(HeaderError):
        open_(b"age-encryption.org/" + b"v" * 100_000, [X_ID])
    with pytest.raises(HeaderError):
        open_(b"age-encryption.org/v1\n-> X25519 " + b"A" * 100_000 + b"\n", [X_ID])
    with pytest.raises(DecryptionError, match="not an age file"):
        open_(b"%PDF-1.7\n", [X_ID])


needs_age = pytest.mark.skipif(shutil.which("age") is None, reason="the age command is not "
                               "installed (Debian package age)")


@needs_age
def test_age_command_decrypts_what_the_project_encrypts(tmp_path: Path) -> None:
    data = os.urandom(CHUNK_SIZE * 2 + 3)
    (tmp_path / "id").write_text(X_ID + "\n")
    (tmp_path / "f.age").write_bytes(seal(data, [X_RCPT]))
    done = subprocess.run(["age", "-d", "-i", str(tmp_path / "id"), str(tmp_path / "f.age")],
                          capture_output=True, check=True)
    assert done.stdout == data


@needs_age
@pytest.mark.parametrize("armor", [False, True])
def test_project_decrypts_what_the_age_command_encrypts(tmp_path: Path, armor: bool) -> None:
    data = os.urandom(CHUNK_SIZE + 99)
    (tmp_path / "plain").write_bytes(data)
    subprocess.run(["age", *(["-a"] if armor else []), "-r", X_RCPT, "-o",
                    str(tmp_path / "f.age"), str(tmp_path / "plain")], check=True)
    with (tmp_path / "f.age").open("rb") as f:
        out = io.BytesIO()
        envelope.decrypt(f, out, [X_ID])
    assert out.getvalue() == data


class PatternReader(io.RawIOBase):
    """A file of ``size`` bytes produced on the fly: nothing of it sits in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"\x5a" * n
        self.left -= n
        return n


class CountingSink:
    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def encryption_peak(size: int) -> int:
    import tracemalloc

    sink = CountingSink()
    tracemalloc.start()
    envelope.encrypt(PatternReader(size), sink, [X_RCPT])  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sink.size > size
    return peak


def test_encryption_memory_does_not_grow_with_the_file() -> None:
    small, large = encryption_peak(4 * 1024 * 1024), encryption_peak(64 * 1024 * 1024)
    assert large < 3 * 1024 * 1024
    assert large < small + 256 * 1024


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_damage_gives_a_decryption_error_and_nothing_else(data: st.DataObject) -> None:
    """Truncations, insertions and garbage: only DecryptionError, never another exception."""
    blob = FLIP_BLOB
    start = data.draw(st.integers(0, len(blob)))
    end = data.draw(st.integers(start, min(len(blob), start + 300)))
    insert = data.draw(st.binary(max_size=40))
    damaged = blob[:start] + insert + blob[end:]
    if damaged == blob:
        return
    out = io.BytesIO()
    with pytest.raises(DecryptionError):
        envelope.decrypt(io.BytesIO(damaged), out, [X_ID, PQ_ID])
    assert out.getvalue() == b""


@settings(max_examples=200, deadline=None)
@given(tail=st.binary(max_size=400), armored=st.booleans())
def test_garbage_after_a_valid_start_gives_a_decryption_error(tail: bytes, armored: bool
                                                              ) -> None:
    head = b"-----BEGIN AGE ENCRYPTED FILE-----\n" if armored else b"age-encryption.org/v1\n"
    with pytest.raises(DecryptionError):
        open_(head + tail, [X_ID])
