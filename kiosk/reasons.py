"""Why something did not happen, as the kiosk's worker threads tell the journey.

These values cross from the worker threads (sealing, printing, device checks)
into the journey's state, and from there into the screens' texts
(kiosk/ui/texts.py keys its messages by them) and the logs. Keep them stable.
"""

from __future__ import annotations

from enum import StrEnum


class SealFailure(StrEnum):
    """Why a dossier could not be sealed and queued (kiosk/sealing.py → journey, sealing screen)."""

    DISK_FULL = "disk_full"      # the outbox's disk budget is short: nothing was queued
    ERROR = "error"              # anything else: nothing was queued


class PrintProblem(StrEnum):
    """Why a receipt could not be printed, or why the printer needs a technician
    (kiosk/receipts.py and the device check → journey, receipt and welcome screens).
    The values are the names drivers.printer.PrinterStatus.problems() gives."""

    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    CUTTER_ERROR = "cutter_error"
    ERROR = "error"              # unrecoverable error, no answer, a layout that does not fit

    @classmethod
    def from_name(cls, name: str) -> PrintProblem:
        """A drivers' or printer.service condition name; unknown names are ERROR."""
        try:
            return cls(name)
        except ValueError:
            return cls.OFFLINE if name in ("status_unknown", "no_answer") else cls.ERROR


class OutboxProblem(StrEnum):
    """Why the outbox cannot take new deposits (kiosk/controller.py's device check → journey,
    welcome screen)."""

    DISK_FULL = "disk_full"            # not room for one more dossier above the reserve
    NOT_ENROLLED = "not_enrolled"      # no usable enrollment bundle: nothing to seal for
    KIOSK_REFUSED = "kiosk_refused"    # the back office refuses this kiosk (revoked, unknown,
    #                                    expired certificate): nothing sealed could be delivered
    ERROR = "error"                    # the outbox cannot answer
