"""What back-office staff do: list the inbox, fetch a dossier, decrypt it, set its status.

``inbox``, ``fetch`` and ``status`` run against the data folder (the server's
stores); ``decrypt`` runs on the staff workstation, which holds the identity,
and needs nothing of the server but the two files ``fetch`` wrote.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice.errors import StaffToolError, UnknownDepositError
from backoffice.settings import Settings, load_settings
from backoffice.status import DossierStatus
from backoffice.store.engines import open_metadata
from backoffice.store.metadata import MetadataStore
from backoffice.store.objects import open_objects
from deposit import envelope, ids, payload
from deposit import manifest as manifestmod
from deposit.errors import DecryptionError, DepositError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _store(data_dir: Path) -> Any:
    settings = load_settings(data_dir)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
        yield settings, store
    finally:
        store.close()


@dataclass(frozen=True)
class InboxEntry:
    deposit_id: str
    kiosk_id: str
    procedure: str
    created: str
    received: str
    status: DossierStatus
    message: str
    envelope_size: int
    envelope_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def inbox(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every dossier stored and every conflict, oldest first, as plain data."""
    with _store(data_dir) as (_settings, store):
        deposits = [InboxEntry(
            deposit_id=d.deposit_id, kiosk_id=d.kiosk_id, procedure=d.procedure,
            created=_iso(d.created_at), received=_iso(d.received_at), status=d.status,
            message=d.status_message, envelope_size=d.envelope_size,
            envelope_sha256=d.envelope_sha256).as_dict() for d in store.deposits()]
        conflicts = [{
            "deposit_id": c.deposit_id, "kiosk_id": c.kiosk_id, "procedure": c.procedure,
            "received": _iso(c.received_at), "envelope_size": c.envelope_size,
            "envelope_sha256": c.envelope_sha256,
            "note": "a different envelope under a deposit id already stored; kept apart",
        } for c in store.conflicts()]
    return {"deposits": deposits, "conflicts": conflicts}


def format_inbox(data: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    deposits = data["deposits"]
    if not deposits:
        lines.append("no dossier received yet")
    else:
        header = ("DEPOSIT", "KIOSK", "PROCEDURE", "RECEIVED", "STATUS")
        rows = [(d["deposit_id"], d["kiosk_id"], d["procedure"], d["received"],
                 d["status"] + (f" ({d['message']})" if d["message"] else ""))
                for d in deposits]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            lines.append("  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths, strict=True))
                         + "  " + str(row[4]))
    if data["conflicts"]:
        lines.append("")
        lines.append(f"CONFLICTS ({len(data['conflicts'])}): a kiosk sent a different envelope "
                     f"under a deposit id already stored; both are kept")
        for c in data["conflicts"]:
            lines.append(f"  {c['deposit_id']}  kiosk {c['kiosk_id']}  received {c['received']}"
                         f"  sha256 {c['envelope_sha256'][:16]}…")
    return "\n".join(lines)


def _deposit_id(raw: str) -> str:
    deposit_id = ids.canonical(raw)
    if deposit_id is None:
        raise UnknownDepositError(f"{raw!r} is not a deposit number (XXXX-XXXX-XXXX)")
    return deposit_id


def fetch(data_dir: Path, raw_id: str, out: Path) -> tuple[Path, Path]:
    """Copy a dossier's envelope and signed manifest into ``out``, verified on the way.

    The copy is checked against the manifest (size and SHA-256) and the
    manifest against the kiosk's enrolled key before it gets its final name.
    Returns (envelope path, manifest path).
    """
    deposit_id = _deposit_id(raw_id)
    with _store(data_dir) as (settings, store):
        record = store.deposit(deposit_id)
        if record is None:
            raise UnknownDepositError(f"no deposit {deposit_id} is stored")
        kiosk = store.kiosk(record.kiosk_id)
        assert kiosk is not None
        objects = open_objects(settings.objects)
        out.mkdir(parents=True, exist_ok=True)
        env_path = out / f"{deposit_id}.age"
        man_path = out / f"{deposit_id}.manifest.json"
        key_path = out / f"{deposit_id}.kiosk-key.pem"
        for p in (env_path, man_path):
            if p.exists():
                raise StaffToolError(f"{p} exists; fetch never overwrites")
        try:
            key = manifestmod.load_public_key(kiosk.signing_key_pem.encode())
            manifestmod.verify(record.manifest, key, kiosk_id=record.kiosk_id)
        except DepositError as exc:
            raise StaffToolError(f"deposit {deposit_id}: the stored manifest fails "
                                 f"verification ({exc})") from None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{deposit_id}.", dir=out)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as dst, objects.open(record.object_key) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            manifest = manifestmod.verify(record.manifest, key, envelope=tmp)
            tmp.replace(env_path)
        except DepositError as exc:
            raise StaffToolError(f"deposit {deposit_id}: the stored envelope does not match its "
                                 f"manifest ({exc}); it was not copied") from None
        finally:
            tmp.unlink(missing_ok=True)
        man_path.write_bytes(record.manifest)
        key_path.write_bytes(kiosk.signing_key_pem.encode())
    log.info("fetched deposit %s (%d bytes, sha256 %s)", deposit_id, manifest.envelope_size,
             manifest.envelope_sha256)
    return env_path, man_path


def set_status(data_dir: Path, raw_id: str, status: DossierStatus | str, message: str, *,
               now: datetime) -> None:
    try:
        status = DossierStatus(status)
    except ValueError:
        raise StaffToolError(f"status {status!r} is not one of "
                             f"{', '.join(s.value for s in DossierStatus)}") from None
    deposit_id = _deposit_id(raw_id)
    with _store(data_dir) as (_settings, store):
        if not store.set_status(deposit_id, status, message, now):
            raise UnknownDepositError(f"no deposit {deposit_id} is stored")
    log.info("deposit %s is now %s", deposit_id, status)


def status_history(store: MetadataStore,
                   deposit_id: str) -> list[tuple[datetime, DossierStatus, str]]:
    return store.status_history(deposit_id)


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


__all__ = ["Settings", "decrypt", "fetch", "format_inbox", "inbox", "set_status"]
