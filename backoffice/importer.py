"""Dossiers carried on removable media: what ``backoffice import DIR`` does.

A kiosk the back office refuses, or one out of network reach, writes its
queued dossiers to removable media (``kiosk export``, format in
deposit/export.py). For each export found in DIR:

1. **Verify everything first**: the folder's structure
   (:func:`deposit.export.read_export`), the kiosk enrolled here, then for each
   deposit the checks of an upload (:meth:`Ingest.check_length`,
   :meth:`Ingest.accept_manifest`: signature with the enrolled kiosk's key,
   deposit number, kiosk id, fleet code, size) and the envelope's size and
   SHA-256 against its manifest. If anything fails, the whole export is
   refused and nothing of it is stored: a medium that was tampered with is not
   trusted in part. The report names each file and the check it failed.
2. **Revocation**, deposit by deposit (:meth:`Ingest.check_revocation`): a
   revoked kiosk's deposits are accepted only when created before the
   revocation, and the report says so; the others are refused.
3. **Ingest** each accepted deposit through :meth:`Ingest.receive_file`, which
   settles it by the completion path of uploads (storage, acknowledgement,
   idempotency, the conflict rule): the same export twice gives one dossier
   each, with the same acknowledgement.
4. **Acknowledge**: the signed acknowledgements go back into the export folder
   (:func:`deposit.export.write_acks`), so the kiosk can purge what was delivered.

Between the first pass and the third, an envelope is read twice; one that
changed meanwhile fails its digest at completion and is refused alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from backoffice.app import Backoffice, utc_now
from backoffice.errors import Check, EnvelopeRefused, IngestError, StaffToolError
from backoffice.ingest import Ingest
from backoffice.settings import load_settings
from backoffice.settlement import Settled
from backoffice.store.metadata import KioskRecord
from deposit import export as exportmod
from deposit import manifest as manifestmod
from deposit.errors import ExportError, ExportFormatError, ManifestError
from deposit.status import AckDisposition

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ORIGIN = "removable media"


class ImportOutcome(StrEnum):
    """What became of one deposit. Crosses into ``backoffice import --json`` (staff scripts)."""

    STORED = "stored"                    # a new dossier
    ALREADY_STORED = "already_stored"    # this very envelope was stored before (upload or import)
    CONFLICT = "conflict"                # a different envelope under a stored number: kept apart
    REFUSED = "refused"                  # not stored; ``reason`` says why


class ExportStatus(StrEnum):
    """What became of one export folder. Crosses into ``backoffice import --json``."""

    IMPORTED = "imported"      # verified; each deposit has its outcome
    REFUSED = "refused"        # a check failed: nothing of it was stored


@dataclass(frozen=True)
class Problem:
    """One file of an export that failed one check."""

    file: str
    check: Check
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "check": self.check.value, "message": self.message}


@dataclass(frozen=True)
class DepositOutcome:
    deposit_id: str
    outcome: ImportOutcome
    reason: str = ""
    check: Check | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"deposit_id": self.deposit_id, "outcome": self.outcome.value,
                "reason": self.reason, "check": self.check.value if self.check else None}


@dataclass
class ExportReport:
    folder: Path
    kiosk_id: str | None
    status: ExportStatus
    problems: list[Problem] = field(default_factory=list)
    deposits: list[DepositOutcome] = field(default_factory=list)
    kiosk_revoked_at: datetime | None = None
    acks_written: int = 0
    acks_error: str | None = None

    @property
    def ok(self) -> bool:
        """Nothing refused and every acknowledgement written back."""
        return (self.status is ExportStatus.IMPORTED and self.acks_error is None
                and all(d.outcome is not ImportOutcome.REFUSED for d in self.deposits))

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder), "kiosk_id": self.kiosk_id, "status": self.status.value,
            "kiosk_revoked_at": _iso(self.kiosk_revoked_at) if self.kiosk_revoked_at else None,
            "problems": [p.as_dict() for p in self.problems],
            "deposits": [d.as_dict() for d in self.deposits],
            "acks": {"written": self.acks_written,
                     "folder": str(self.folder / exportmod.ACKS) if self.acks_written else None,
                     "error": self.acks_error},
        }


@dataclass
class ImportReport:
    exports: list[ExportReport]

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.exports)

    def counts(self) -> dict[str, int]:
        out = {o.value: 0 for o in ImportOutcome}
        for e in self.exports:
            for d in e.deposits:
                out[d.outcome.value] += 1
        out["exports_refused"] = sum(e.status is ExportStatus.REFUSED for e in self.exports)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"exports": [e.as_dict() for e in self.exports], "summary": self.counts()}


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def import_dir(data_dir: Path, source: Path, *, clock: Clock = utc_now) -> ImportReport:
    """Import every export found at ``source`` (one export folder, or a folder holding several).

    StaffToolError when ``source`` holds no export or cannot be read.
    """
    try:
        folders = exportmod.find_exports(source)
    except ExportError as exc:
        raise StaffToolError(str(exc)) from None
    if not folders:
        raise StaffToolError(f"no export found in {source} (an export is a folder holding "
                             f"{exportmod.INDEX}, written by `kiosk export`)")
    bo = Backoffice.open(load_settings(data_dir), clock)
    try:
        return ImportReport([import_export(bo.ingest, folder) for folder in folders])
    finally:
        bo.close()


def import_export(ingest: Ingest, folder: Path) -> ExportReport:
    """Verify one export folder whole, then ingest it and write its acknowledgements back."""
    try:
        export = exportmod.read_export(folder)
    except ExportFormatError as exc:
        return _refused(folder, None, [Problem(exc.path, Check.STRUCTURE,
                                               f"{exc.problem.value}: {exc.detail}")])
    except ExportError as exc:
        return _refused(folder, None, [Problem(str(folder), Check.READ, str(exc))])
    kiosk = ingest.metadata.kiosk(export.kiosk_id)
    if kiosk is None:
        return _refused(folder, export.kiosk_id, [Problem(
            str(folder / exportmod.INDEX), Check.KIOSK,
            f"kiosk {export.kiosk_id} is not enrolled at this back office")], export)
    problems, manifests, revoked = _verify(ingest, kiosk, export)
    if problems:
        return _refused(folder, export.kiosk_id, problems, export)

    report = ExportReport(folder, export.kiosk_id, ExportStatus.IMPORTED,
                          kiosk_revoked_at=kiosk.revoked_at)
    acks: dict[str, bytes] = {}
    for entry in export.deposits:
        if entry.deposit_id in revoked:
            report.deposits.append(DepositOutcome(entry.deposit_id, ImportOutcome.REFUSED,
                                                  revoked[entry.deposit_id], Check.REVOKED))
            continue
        try:
            with entry.open_envelope() as src:
                settled = ingest.receive_file(kiosk, entry.manifest, entry.deposit_id, src,
                                              entry.envelope_size, origin=ORIGIN)
        except EnvelopeRefused as exc:
            report.deposits.append(DepositOutcome(entry.deposit_id, ImportOutcome.REFUSED,
                                                  str(exc), exc.check))
            continue
        except IngestError as exc:
            report.deposits.append(DepositOutcome(entry.deposit_id, ImportOutcome.REFUSED,
                                                  str(exc), Check.TOO_LARGE))
            continue
        except ExportError as exc:
            report.deposits.append(DepositOutcome(entry.deposit_id, ImportOutcome.REFUSED,
                                                  str(exc), Check.READ))
            continue
        acks[entry.deposit_id] = settled.ack
        report.deposits.append(_outcome(entry.deposit_id, settled, kiosk,
                                        manifests[entry.deposit_id]))
    try:
        report.acks_written = len(exportmod.write_acks(folder, acks))
    except ExportError as exc:
        report.acks_error = (f"the acknowledgements could not be written back ({exc}); the "
                             f"dossiers are stored: import again from a writable medium to "
                             f"write them")
        log.error("%s: %s", folder, report.acks_error)
    return report


def _verify(ingest: Ingest, kiosk: KioskRecord, export: exportmod.Export
            ) -> tuple[list[Problem], dict[str, manifestmod.Manifest], dict[str, str]]:
    """Every check of every deposit, before anything is stored.

    Returns (problems that refuse the export, each deposit's verified manifest,
    the deposits the revocation rule refuses, with the reason).
    """
    problems: list[Problem] = []
    manifests: dict[str, manifestmod.Manifest] = {}
    revoked: dict[str, str] = {}
    for entry in export.deposits:
        envelope_file, manifest_file = str(entry.envelope), str(entry.manifest_path)
        try:
            ingest.check_length(entry.envelope_size)
        except IngestError as exc:
            problems.append(Problem(envelope_file, Check.TOO_LARGE, str(exc)))
            continue
        try:
            manifest, _deposit_id = ingest.accept_manifest(kiosk, entry.manifest,
                                                           entry.deposit_id, entry.envelope_size)
        except EnvelopeRefused as exc:
            problems.append(Problem(manifest_file, exc.check or Check.MANIFEST, str(exc)))
            continue
        try:
            with entry.open_envelope() as src:
                manifestmod.check_envelope(manifest, src)
        except ManifestError as exc:
            check = Check.SIZE if exc.check == "size" else Check.DIGEST
            problems.append(Problem(envelope_file, check, str(exc)))
            continue
        except ExportFormatError as exc:
            problems.append(Problem(exc.path, Check.STRUCTURE,
                                    f"{exc.problem.value}: {exc.detail}"))
            continue
        except (ExportError, OSError) as exc:
            problems.append(Problem(envelope_file, Check.READ, str(exc)))
            continue
        manifests[entry.deposit_id] = manifest
        try:
            ingest.check_revocation(kiosk, manifest)
        except EnvelopeRefused as exc:
            revoked[entry.deposit_id] = str(exc)
    return problems, manifests, revoked


def _refused(folder: Path, kiosk_id: str | None, problems: list[Problem],
             export: exportmod.Export | None = None) -> ExportReport:
    for p in problems:
        log.error("refused export %s: %s failed the %s check: %s", folder, p.file,
                  p.check.value, p.message)
    report = ExportReport(folder, kiosk_id, ExportStatus.REFUSED, problems=problems)
    if export is not None:
        own: dict[str, Problem] = {}
        for entry in export.deposits:
            for problem in problems:
                if problem.file in (str(entry.envelope), str(entry.manifest_path)):
                    own.setdefault(entry.deposit_id, problem)
        for entry in export.deposits:
            mine = own.get(entry.deposit_id)
            report.deposits.append(DepositOutcome(
                entry.deposit_id, ImportOutcome.REFUSED,
                f"{mine.check.value}: {mine.message}" if mine else
                "not imported: the export was refused (see its problems)",
                mine.check if mine else None))
    return report


def _outcome(deposit_id: str, settled: Settled, kiosk: KioskRecord,
             manifest: manifestmod.Manifest) -> DepositOutcome:
    if settled.disposition is AckDisposition.CONFLICT:
        outcome = ImportOutcome.CONFLICT
        reason = ("a different envelope is stored under this number: kept apart for staff "
                  "(backoffice inbox)")
        if not settled.new:
            reason += "; imported before"
    else:
        outcome = ImportOutcome.STORED if settled.new else ImportOutcome.ALREADY_STORED
        reason = "" if settled.new else "this envelope was stored before; same acknowledgement"
    if kiosk.revoked_at is not None:
        note = (f"created at {manifest.created}, before the kiosk's revocation at "
                f"{_iso(kiosk.revoked_at)}: accepted")
        reason = f"{reason}; {note}" if reason else note
    return DepositOutcome(deposit_id, outcome, reason)


_WORDS = {ImportOutcome.STORED: "stored", ImportOutcome.ALREADY_STORED: "already stored",
          ImportOutcome.CONFLICT: "CONFLICT", ImportOutcome.REFUSED: "REFUSED"}


def format_report(report: ImportReport) -> str:
    """The report as staff read it in a terminal."""
    lines: list[str] = []
    for e in report.exports:
        kiosk = f" (kiosk {e.kiosk_id})" if e.kiosk_id else ""
        if e.status is ExportStatus.REFUSED:
            lines.append(f"{e.folder}{kiosk}: REFUSED, nothing of it was stored")
            lines.extend(f"  {p.file}: {p.check.value}: {p.message}" for p in e.problems)
        else:
            lines.append(f"{e.folder}{kiosk}: imported")
            if e.kiosk_revoked_at is not None:
                lines.append(f"  kiosk {e.kiosk_id} was revoked at {_iso(e.kiosk_revoked_at)}: "
                             f"only dossiers created before then are accepted")
            for d in e.deposits:
                words = _WORDS[d.outcome]
                lines.append(f"  {d.deposit_id}  {words}" + (f": {d.reason}" if d.reason else ""))
            if e.acks_error:
                lines.append(f"  acknowledgements NOT written: {e.acks_error}")
            elif e.acks_written:
                lines.append(f"  acknowledgements: {e.acks_written} written to "
                             f"{e.folder / exportmod.ACKS} (bring the medium back to the kiosk)")
        lines.append("")
    c = report.counts()
    lines.append(f"{c['stored']} stored, {c['already_stored']} already stored, "
                 f"{c['conflict']} conflict(s), {c['refused']} refused; "
                 f"{c['exports_refused']} of {len(report.exports)} export(s) refused")
    return "\n".join(lines)


__all__ = ["DepositOutcome", "ExportReport", "ExportStatus", "ImportOutcome", "ImportReport",
           "Problem", "format_report", "import_dir", "import_export"]
