"""Exceptions of the dossier package.

::

    DepositError                     anything deposit/ reports
    ├── KeyFormatError               a recipient, identity, identity file or signing key is unusable
    ├── RecipientError               recipients that must not be used together (post-quantum
    │                                mixed with classical), none at all, or a passphrase asked for
    ├── DecryptionError              an envelope cannot be opened; ``kind`` says which step failed
    │   ├── ArmorError               kind "armor": the ASCII armor is not strict PEM
    │   ├── HeaderError              kind "header": the age header is malformed (or uses scrypt)
    │   ├── NoIdentityMatchError     kind "no match": none of the identities opens a stanza
    │   │   └── PassphraseNotSupportedError   the file is for a passphrase (scrypt)
    │   └── AuthenticationError      the file was altered (one opaque error, no byte position)
    │       ├── HeaderMacError       kind "hmac": the header MAC does not match
    │       └── PayloadError         kind "payload": a payload chunk fails, is missing or trails
    ├── DepositIdError               a deposit number that is not valid (also ValueError);
    │                                ``.reason`` says why (a :class:`DepositIdProblem`)
    ├── DepositIdExhaustedError      the 7-character sequence of a kiosk has no value left
    ├── ManifestError                a manifest fails a check; ``check`` names which
    ├── ArchiveError                 a payload archive is refused on unpacking (path, link, size…)
    ├── AckError                     the back office's acknowledgement does not verify (ack.py)
    ├── ExportError                  dossiers cannot be written to or read from removable media
    │   ├── MediumFullError          no room on the medium (``free_bytes``, ``needed_bytes``)
    │   ├── MediumReadOnlyError      the medium is read-only or this user may not write on it
    │   └── ExportFormatError        an export folder is refused; ``.problem`` (an
    │                                :class:`ExportProblem`) and ``.path`` say which file and why
    ├── UploadError                  delivery failed (deposit/tus.py, deposit/delivery.py)
    │   ├── BundleError              the enrollment bundle is missing or unusable
    │   ├── TransientError           worth trying again later (network, 5xx, timeouts)
    │   │   └── UnreachableError     no connection could be made to the back office at all
    │   └── RefusedError             the back office refused this dossier as it is
    └── OutboxError                  the outbox cannot do what was asked
        ├── OutboxFullError          no room for one more dossier (technician + citizen messages)
        ├── OutboxStorageError       the outbox's disk or database failed (full, read-only,
        │                            damaged, locked...); ``.problem`` (a :class:`StorageProblem`)
        ├── UnknownDepositError      no such deposit id in the outbox
        ├── StateError               a transition the state machine does not allow
        ├── LeaseError               an upload claim is not (or no longer) held by this uploader
        └── DuplicateDepositError    a deposit id already used (ids are never reused)

Every ``DecryptionError`` says only which of the steps of the age format
failed, never where in the file: a caller can tell "not for me" (no match) from
"broken" (armor, header) from "tampered with" (authentication).
"""

from __future__ import annotations

from enum import StrEnum


class DepositError(Exception):
    """Base class of deposit/'s own errors."""


class KeyFormatError(DepositError):
    """A recipient, identity, identity file or signing key cannot be parsed or used.

    Messages never quote secret key material.
    """


class RecipientError(DepositError):
    """The recipients asked for cannot be used together, or are not supported."""


class DecryptionError(DepositError):
    """An envelope cannot be opened. ``kind`` is one of the age test-kit outcomes."""

    kind: str = "failure"


class ArmorError(DecryptionError):
    """The ASCII armor (PEM) around an age file is not in the strict form age requires."""

    kind = "armor"


class HeaderError(DecryptionError):
    """The age header is malformed: version, stanza syntax, non-canonical base64, bad share."""

    kind = "header"


class NoIdentityMatchError(DecryptionError):
    """None of the identities given can open any recipient stanza of the file."""

    kind = "no match"


class PassphraseNotSupportedError(NoIdentityMatchError):
    """The file is encrypted to a passphrase (scrypt); deposit/ does not do passphrases."""


class AuthenticationError(DecryptionError):
    """The file was altered or truncated: it does not authenticate under its own key."""

    kind = "authentication"


class HeaderMacError(AuthenticationError):
    """The header MAC does not match the header (the stanzas were altered)."""

    kind = "hmac"


class PayloadError(AuthenticationError):
    """The payload does not authenticate: a chunk altered, missing, reordered or trailing."""

    kind = "payload"


class DepositIdProblem(StrEnum):
    """Why a typed deposit number was refused (machine-readable, for the UI and speech)."""

    EMPTY = "empty"
    WRONG_LENGTH = "wrong_length"
    BAD_CHARACTER = "bad_character"
    CHECK_MISMATCH = "check_mismatch"
    WRONG_FLEET_CODE = "wrong_fleet_code"


class DepositIdError(DepositError, ValueError):
    """A deposit number that is not valid.

    ``reason`` is a :class:`DepositIdProblem`; ``position`` the 0-based index (in the
    12 significant characters) of the offending character when there is one.
    """

    def __init__(self, message: str, reason: DepositIdProblem, position: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.position = position


class DepositIdExhaustedError(DepositError):
    """The 7-character sequence of this fleet code is used up (around the year 3100)."""


class ManifestError(DepositError):
    """A manifest fails a check. ``check`` is one of :data:`deposit.manifest.CHECKS`."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"manifest {check} check failed: {message}")
        self.check = check


class ArchiveError(DepositError):
    """A payload archive is refused: unsafe path, link, device, duplicate, size, format."""


class OutboxError(DepositError):
    """The outbox cannot do what was asked."""


class OutboxFullError(OutboxError):
    """No room for one more dossier; nothing already queued is dropped to make room.

    ``technician`` says what is full and by how much; ``citizen`` is a short,
    calm sentence the kiosk can show (the UI translates it by its message id
    ``citizen_message_id``).
    """

    citizen_message_id = "outbox-full"
    citizen = ("This kiosk cannot accept new dossiers at the moment. Your papers have not been "
               "kept. Please try again later or ask at the reception desk.")

    def __init__(self, technician: str, *, free_bytes: int, needed_bytes: int) -> None:
        super().__init__(technician)
        self.technician = technician
        self.free_bytes = free_bytes
        self.needed_bytes = needed_bytes


class StorageProblem(StrEnum):
    """What went wrong under the outbox (a full disk, a damaged database...), for a technician.

    Crosses into the uploader's log and status, and the kiosk's diagnostics.
    """

    DISK_FULL = "disk_full"        # no space left on the data disk (ENOSPC, SQLITE_FULL)
    READ_ONLY = "read_only"        # the data disk is mounted read-only
    PERMISSION = "permission"      # this user may not write the outbox's files
    BUSY = "busy"                  # another process held the database longer than the timeout
    DAMAGED = "damaged"            # the database file is not a valid SQLite database any more
    IO = "io"                      # any other read or write failure of the disk

    @property
    def advice(self) -> str:
        """What this problem means, and what to do about it, in a technician's words."""
        return _STORAGE_ADVICE[self]


_STORAGE_ADVICE = {
    StorageProblem.DISK_FULL: "the data disk is full; free space on it (another program may "
                              "have filled it: look for large logs or files outside the outbox)",
    StorageProblem.READ_ONLY: "the data disk is mounted read-only (a file system error makes "
                              "the system do so: check the disk and its journal)",
    StorageProblem.PERMISSION: "this user may not write the outbox's files (check the owner and "
                               "mode of the outbox folder)",
    StorageProblem.BUSY: "another process kept the outbox database locked for longer than the "
                         "busy timeout (a stuck kiosk or uploader process?)",
    StorageProblem.DAMAGED: "the outbox database is damaged (a disk fault, or power lost on a "
                            "disk that ignores flushes): copy the whole outbox folder before "
                            "anything else; the envelopes in it are whole files",
    StorageProblem.IO: "the data disk failed a read or write (check the kernel log for disk "
                       "errors)",
}


class OutboxStorageError(OutboxError):
    """The disk or the database under the outbox failed; the write that failed was rolled back.

    ``problem`` (a :class:`StorageProblem`) says what, the message says what was
    being done, what it means and what a technician can do; ``free_bytes`` is the
    free space measured then (None when it could not be measured).
    """

    def __init__(self, message: str, problem: StorageProblem, *,
                 free_bytes: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.free_bytes = free_bytes


class UnknownDepositError(OutboxError):
    """No deposit with that id is in the outbox."""


class StateError(OutboxError):
    """The deposit is not in a state that allows this transition."""


class LeaseError(OutboxError):
    """The upload claim on a deposit is not held by this uploader, or it expired."""


class DuplicateDepositError(OutboxError):
    """The deposit id was used before; ids are never reused, even after purge."""


class AckError(DepositError):
    """An acknowledgement fails a check; ``check`` is one of :data:`deposit.ack.CHECKS`."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"acknowledgement {check} check failed: {message}")
        self.check = check


class UploadError(DepositError):
    """A deposit was not delivered."""


class BundleError(UploadError):
    """The enrollment bundle is missing, incomplete or unreadable."""


class TransientError(UploadError):
    """The back office cannot be reached or is busy; the deposit stays queued."""


class UnreachableError(TransientError):
    """No connection could be made to the back office (network down, DNS, refused port):
    every deposit would fail the same way, so a delivery pass stops at once."""


class RefusedError(UploadError):
    """The back office refused; ``status`` is the HTTP status (0 for a TLS refusal)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def kiosk_refused(self) -> bool:
        """True when the kiosk itself is refused (revoked, unknown certificate)."""
        return self.status in (0, 401, 403)


class ExportProblem(StrEnum):
    """Why an export folder (deposit/export.py) is refused.

    Crosses into ``backoffice import --json`` and the kiosk's ``export`` report.
    """

    INDEX = "index"              # export.json missing, unreadable, too large or not JSON
    FORMAT = "format"            # a key missing or extra, a value of the wrong type or shape
    VERSION = "version"          # a format version this code does not know
    NAME = "name"                # not a deposit number, or a file name other than the one allowed
    DUPLICATE = "duplicate"      # a deposit listed twice
    LINK = "link"                # a symbolic link, or something other than a regular file
    MISSING = "missing"          # a listed file is absent
    UNEXPECTED = "unexpected"    # an entry the index does not list
    SIZE = "size"                # a file larger than allowed, or not the size the index gives
    MANIFEST = "manifest"        # a manifest malformed or not describing its index entry


class ExportError(DepositError):
    """Dossiers cannot be written to, or read from, removable media (deposit/export.py)."""


class MediumFullError(ExportError):
    """The medium has no room for the export; nothing that looks like an export was left."""

    def __init__(self, message: str, *, free_bytes: int, needed_bytes: int) -> None:
        super().__init__(message)
        self.free_bytes = free_bytes
        self.needed_bytes = needed_bytes


class MediumReadOnlyError(ExportError):
    """The medium is mounted read-only, write-protected, or not writable by this user."""


class ExportFormatError(ExportError):
    """An export folder (or its acknowledgements) is refused as malformed or unsafe.

    ``problem`` is an :class:`ExportProblem`; ``path`` the file or folder at fault.
    """

    def __init__(self, path: str, problem: ExportProblem, message: str) -> None:
        super().__init__(f"{path}: {problem.value}: {message}")
        self.path = path
        self.problem = problem
        self.detail = message
