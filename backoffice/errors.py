"""Exceptions of the back office.

::

    BackofficeError              anything the back office reports to a person
    ├── SetupError               data folder missing, not initialised, or unusable
    ├── StoreError               the metadata or object store cannot do what was asked
    │   ├── StoreURLError        a storage URL names an unknown scheme or is malformed
    │   └── StoreFull            the object store has no room left (ENOSPC, EDQUOT)
    ├── EnrollmentError          a kiosk cannot be enrolled, revoked or found
    ├── UnknownDepositError      no deposit with that id is stored
    ├── StaffToolError           fetch, decrypt or status cannot be done (says why); on the
    │                            staff side, also what the staff API answered
    ├── StaffError               a staff request is refused; ``status`` is its HTTP status
    │   ├── NotAllowed           the account's role does not allow it, or it is disabled (403)
    │   ├── DecisionError        a status change outside the state machine, a missing motive,
    │   │                        a message with personal data (422)
    │   ├── StaleDossier         the dossier changed since the staff member saw it (409)
    │   └── AccountError         no such account, a taken name, a bad role (400, 404)
    └── IngestError              an upload is refused; ``status`` is the HTTP status it maps to
        ├── AuthError            no, unknown or revoked kiosk certificate (403)
        ├── UploadNotFound       no such upload (404), or one that expired or ended (410)
        ├── OffsetConflict       PATCH at an offset other than the upload's (409)
        ├── ChecksumMismatch     the chunk does not match Upload-Checksum (460)
        ├── TooLarge             more bytes than Upload-Length or Tus-Max-Size (413)
        ├── UploadLocked         another request is writing to this upload (423)
        ├── QuotaExceeded        the kiosk has too many uploads or bytes in flight (429)
        ├── InsufficientStorage  no room for these bytes now (507)
        ├── RequestStalled       the body brought no byte for too long (408)
        └── EnvelopeRefused      a complete upload fails verification (422): size, digest,
                                 manifest signature, kiosk id, deposit number, not an
                                 age envelope, kiosk revoked meanwhile; ``check``
                                 (a :class:`Check`) says which rule, where it is known

``retry_after`` (seconds), where set, becomes a ``Retry-After`` header.
"""

from __future__ import annotations

from enum import StrEnum


class Check(StrEnum):
    """Which rule refused an envelope.

    Crosses into the report of ``backoffice import --json`` (backoffice/importer.py)
    and the logs; tus answers carry only the message.
    """

    STRUCTURE = "structure"      # the export folder itself (deposit.errors.ExportProblem says more)
    KIOSK = "kiosk"              # no such enrolled kiosk, or the manifest names another kiosk
    MANIFEST = "manifest"        # the manifest is malformed or of an unknown version
    SIGNATURE = "signature"      # the manifest is not signed by the enrolled kiosk's key
    DEPOSIT_ID = "deposit_id"    # not a deposit number, or not the one given beside the manifest
    FLEET_CODE = "fleet_code"    # the deposit number does not carry the kiosk's fleet code
    SIZE = "size"                # the envelope is not the size its manifest states
    DIGEST = "digest"            # the envelope's SHA-256 is not its manifest's
    TOO_LARGE = "too_large"      # over the largest envelope this back office accepts
    REVOKED = "revoked"          # created on the kiosk after its revocation
    READ = "read"                # the envelope could not be read from the medium
    FORMAT = "format"            # the bytes are not an age envelope for staff recipients
    COMPLEMENT = "complement"    # a complement its dossier did not ask for (complements.py)


class BackofficeError(Exception):
    """Base class of the back office's own errors."""


class SetupError(BackofficeError):
    """The data folder is missing, not initialised, or cannot be used."""


class StoreError(BackofficeError):
    """The metadata or object store cannot do what was asked."""


class StoreURLError(StoreError):
    """A storage URL names an unknown scheme or is malformed."""


class StoreFull(StoreError):
    """The object store has no room left; what was being written was undone."""


class EnrollmentError(BackofficeError):
    """A kiosk cannot be enrolled, revoked or found."""


class UnknownDepositError(BackofficeError):
    """No deposit with that id is stored."""


class StaffToolError(BackofficeError):
    """A staff tool (fetch, decrypt, status) cannot do what was asked."""


class Refusal(StrEnum):
    """Why the staff API refused a request, for a program (the workspace says it in French).

    Sent as ``code`` beside the English ``error``: keep the values stable.
    """

    ROLE = "role"                        # the account's role does not allow it
    ACCOUNT = "account"                  # disabled, unknown certificate, or no such account
    TRANSITION = "transition"            # not a move of the state machine
    MOTIVE = "motive"                    # a rejection or an incomplete dossier without message
    PERSONAL_DATA = "personal_data"      # the message carries personal data (``kinds``)
    MESSAGE_FORMAT = "message_format"    # too long, control or bidi characters
    STALE = "stale"                      # someone changed the dossier meanwhile
    # Requests for missing documents (backoffice/docrequests.py):
    UNKNOWN_DOCUMENT = "unknown_document"  # not a document of the dossier's procedure (``codes``)
    NO_DOCUMENT = "no_document"          # a request names no document
    DEADLINE = "deadline"                # not after today, or too far (``latest``)
    OPEN_REQUEST = "open_request"        # the dossier has an open request already (``request``)
    REQUEST_STATE = "request_state"      # the request is not open (answered or withdrawn)


class StaffError(BackofficeError):
    """A staff request refused; ``status`` is the HTTP status the staff API answers, ``code``
    a :class:`Refusal` and ``details`` what a program may show (never personal data)."""

    status = 400
    default_code: Refusal | None = None

    def __init__(self, message: str, code: Refusal | None = None,
                 details: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.details = details or {}


class NotAllowed(StaffError):
    status = 403
    default_code = Refusal.ROLE


class DecisionError(StaffError):
    status = 422


class StaleDossier(StaffError):
    status = 409
    default_code = Refusal.STALE


class AccountError(StaffError):
    status = 400
    default_code = Refusal.ACCOUNT


class IngestError(BackofficeError):
    """An upload request is refused. ``status`` is the HTTP status code it maps to."""

    status = 400
    retry_after: int | None = None


class AuthError(IngestError):
    """The request has no kiosk certificate, or one that is unknown or revoked."""

    status = 403


class UploadNotFound(IngestError):
    """No such upload for this kiosk (404), or one that expired or was terminated (410)."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.status = 410 if gone else 404


class OffsetConflict(IngestError):
    """The PATCH's Upload-Offset is not the upload's current offset."""

    status = 409


class ChecksumMismatch(IngestError):
    """The bytes of a PATCH do not match its Upload-Checksum; nothing was kept."""

    status = 460


class TooLarge(IngestError):
    """More bytes than the upload's declared length, or a length over the maximum."""

    status = 413


class UploadLocked(IngestError):
    """Another request is writing to this upload right now."""

    status = 423

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(IngestError):
    """The kiosk has too many unfinished uploads, or too many bytes declared and not sent."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InsufficientStorage(IngestError):
    """The envelope store cannot take these bytes now; nothing of them was kept."""

    status = 507

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestStalled(IngestError):
    """A request body brought no byte for longer than the body timeout."""

    status = 408


class EnvelopeRefused(IngestError):
    """A complete upload fails verification; nothing of it is kept.

    ``check`` is the :class:`Check` that failed, None where the rule has no name.
    """

    status = 422

    def __init__(self, message: str, check: Check | None = None) -> None:
        super().__init__(message)
        self.check = check
