"""Decrypting a dossier on the staff workstation, which holds the staff identity.

It needs nothing of the server but what ``backoffice fetch`` wrote (the
envelope, its signed manifest and the kiosk's key) or what the workspace
fetched into memory. The inbox, fetching and decisions go through the staff
API (backoffice/staffclient.py, backoffice/staffapi.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backoffice.errors import StaffToolError
from deposit import envelope, payload
from deposit import manifest as manifestmod
from deposit.errors import DecryptionError, DepositError

log = logging.getLogger(__name__)


def _manifest_beside(envelope_path: Path) -> tuple[Path, Path] | None:
    name = envelope_path.name.removesuffix(".age")
    man = envelope_path.with_name(f"{name}.manifest.json")
    key = envelope_path.with_name(f"{name}.kiosk-key.pem")
    return (man, key) if man.is_file() else None


@dataclass(frozen=True)
class Decrypted:
    folder: Path
    files: list[Path]
    verified: str          # what was checked before decryption, in words


def decrypt(identity_file: Path, envelope_path: Path, out: Path,
            unpack: Callable[[Path, Path], Sequence[Path]] | None = None) -> Decrypted:
    """Verify (manifest beside it, if any), decrypt and unpack one dossier into ``out``.

    The plaintext archive goes to a temporary file renamed only once the whole
    payload authenticated (:func:`deposit.envelope.decrypt_to_file`), then is
    unpacked by the payload's safe unpacker; the archive is removed after.
    Authentication proves nothing about the archive (the recipients are public):
    :func:`deposit.payload.unpack_safely` refuses anything but the two expected
    members, with their sizes capped before a byte is written.

    Every :class:`StaffToolError` message has its control characters escaped
    (:func:`deposit.payload.printable`): paths and archive member names come
    from outside and are printed to a terminal.
    """
    where = payload.printable(str(envelope_path))
    try:
        identities = envelope.load_identities(identity_file)
    except (OSError, DepositError) as exc:
        raise StaffToolError(
            payload.printable(f"{identity_file}: cannot read the identity ({exc})")) from None
    verified = "no manifest beside the envelope: integrity rests on age's authentication"
    beside = _manifest_beside(envelope_path)
    if beside is not None:
        man_path, key_path = beside
        try:
            blob = man_path.read_bytes()
            if key_path.is_file():
                key = manifestmod.load_public_key(key_path.read_bytes())
                manifestmod.verify(blob, key, envelope=envelope_path)
                verified = "manifest signature, size and SHA-256 verified"
            else:
                manifest, _sig = manifestmod.parse_unverified(blob)
                manifestmod.check_envelope(manifest, envelope_path)
                verified = "size and SHA-256 verified against the manifest (no kiosk key)"
        except DepositError as exc:
            raise StaffToolError(
                f"{where}: refused before decryption: {payload.printable(str(exc))}") from None
    out = out.resolve()
    if out.exists():
        if not out.is_dir() or any(out.iterdir()):
            raise StaffToolError(f"{payload.printable(str(out))} exists and is not empty; decrypt "
                                 "writes a new folder")
        out.rmdir()
    out.parent.mkdir(parents=True, exist_ok=True)
    archive = out.parent / f".{out.name}.{envelope_path.name}.payload"
    try:
        with envelope_path.open("rb") as src:
            envelope.decrypt_to_file(src, archive, identities)
    except DecryptionError as exc:
        raise StaffToolError(
            f"{where}: cannot be decrypted ({exc.kind}: {payload.printable(str(exc))})") from None
    except OSError as exc:
        raise StaffToolError(f"{where}: {payload.printable(str(exc))}") from None
    try:
        files = list((unpack or _unpack)(archive, out))
    except DepositError as exc:
        raise StaffToolError(
            f"{where}: the payload is refused ({payload.printable(str(exc))})") from None
    except OSError as exc:   # out appeared meanwhile, or no room left to write the files
        raise StaffToolError(f"{where}: cannot unpack into {payload.printable(str(out))} "
                             f"({payload.printable(str(exc))})") from None
    finally:
        archive.unlink(missing_ok=True)
    return Decrypted(out, files, verified)


def _unpack(archive: Path, out: Path) -> Sequence[Path]:
    with archive.open("rb") as f:
        written = payload.unpack_safely(f, out)
    return sorted(written.values())


__all__ = ["Decrypted", "decrypt"]
