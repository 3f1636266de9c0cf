"""The longer texts of the screens, as message ids (English) keyed by the machine's values.

No Kivy here: the screens translate these with ``_()`` when they render, and
a speech module can use the same tables. Every msgid is marked ``N_`` so
Babel extracts it into the ``kiosk`` catalog.
"""

from __future__ import annotations

from kiosk.complement import LookupPhase
from kiosk.i18n import N_
from kiosk.journey import PRIVACY_NOTICE_VERSION, Notice, Refusal, Step
from kiosk.reasons import PrintProblem, SealFailure

LANGUAGE_NAMES = {"fr": "Français", "fr-falc": "Français facile", "en": "English",
                  "ar": "العربية", "es": "Español", "de": "Deutsch", "it": "Italiano",
                  "pt": "Português"}

NOTICES: dict[Notice, str] = {
    Notice.NOT_A_CONVOCATION: N_("This code is not a convocation. Tap Start to choose "
                                 "your procedure."),
    Notice.UNKNOWN_PROCEDURE: N_("This convocation is for a procedure this kiosk does not "
                                 "handle. Please ask an agent."),
    Notice.CONTACT_INVALID_EMAIL: N_("This e-mail address looks incomplete. Check it, or "
                                     "clear it."),
    Notice.CONTACT_INVALID_PHONE: N_("This phone number looks incomplete. Check it, or "
                                     "clear it."),
    Notice.CONTACT_NEEDS_CONSENT: N_("To be contacted, tick the box “I agree to be "
                                     "contacted”."),
    Notice.PAGE_LIMIT: N_("This document cannot have more pages. Go on to the next one."),
    Notice.NOT_A_RECEIPT: N_("This code cannot be read as a receipt of this service. Please "
                             "call an agent."),
}

#: The lookup screen (bringing missing documents), by phase: (title, text). ``{date}`` is the
#: request's deadline.
LOOKUP: dict[LookupPhase, tuple[str, str]] = {
    LookupPhase.SHOW_RECEIPT: (
        N_("Bring missing documents"),
        N_("Show the QR code of your deposit receipt to the reader under the screen.")),
    LookupPhase.CHECKING: (
        N_("Checking your dossier…"),
        N_("The kiosk asks the service which papers it is waiting for. Please wait.")),
    LookupPhase.NONE: (
        N_("This receipt asks for no documents now"),
        N_("The service is not waiting for papers for this dossier. If you received a "
           "letter asking for papers, call an agent.")),
    LookupPhase.EXPIRED: (
        N_("The deadline has passed"),
        N_("The deadline ({date}) has passed: contact the service in charge of your "
           "dossier. An agent can help you.")),
    LookupPhase.UNAVAILABLE: (
        N_("We cannot check your dossier right now"),
        N_("Your documents are not lost. Try again later, or call an agent.")),
    LookupPhase.UNSUPPORTED: (
        N_("This kiosk cannot take these papers"),
        N_("The papers asked for this dossier cannot be taken at this kiosk. Please call "
           "an agent.")),
}

REFUSALS: dict[Refusal, str] = {
    Refusal.DISK_FULL: N_("This kiosk cannot take new dossiers for now: its storage is "
                          "full until the dossiers already taken are sent."),
    Refusal.CAMERA_LOST: N_("This kiosk cannot take new dossiers for now: its camera is "
                            "not working."),
    Refusal.OUTBOX_BROKEN: N_("This kiosk cannot take new dossiers for now: it cannot "
                              "store them safely."),
    Refusal.KIOSK_REFUSED: N_("This kiosk cannot take new dossiers for now: the service "
                              "does not accept it any more. Please ask at the counter."),
}

#: Guidance under the live preview, by scanner Reason code (same words as scanner.MESSAGES).
REASONS: dict[str, str] = {
    "blurred": N_("The picture is blurred. Hold the page flat and still."),
    "too_dark": N_("The picture is too dark. Move the page into the light of the tray."),
    "overexposed": N_("The picture is too bright. Move the page away from the light."),
    "glare": N_("A reflection hides part of the page. Move the page away from the light."),
    "cut_off": N_("Part of the page is outside the picture. Put the whole page inside "
                  "the frame."),
    "too_small": N_("The page is too far away. Lay it flat in the middle of the tray."),
    "too_tilted": N_("The page is tilted. Lay it flat on the tray."),
    "moving": N_("Hold the page still."),
    "no_page": N_("No page found. Place the page on the tray."),
    "camera": N_("The photo could not be taken. Try again."),
}

PRINT_PROBLEMS: dict[PrintProblem, str] = {
    PrintProblem.PAPER_OUT: N_("The printer has no paper left."),
    PrintProblem.COVER_OPEN: N_("The printer cover is open."),
    PrintProblem.OFFLINE: N_("The printer is not answering."),
    PrintProblem.CUTTER_ERROR: N_("The printer's cutter is jammed."),
    PrintProblem.ERROR: N_("The printer is not working."),
}

def print_problem(problem: PrintProblem | None) -> str:
    """The message (to translate) for a printer problem; any problem unnamed is an error."""
    return PRINT_PROBLEMS.get(problem or PrintProblem.ERROR, PRINT_PROBLEMS[PrintProblem.ERROR])


SEAL_PROBLEMS: dict[SealFailure, str] = {
    SealFailure.DISK_FULL: N_("The kiosk's storage is full: your dossier could not be saved. "
                              "Nothing was sent. Please call an agent."),
    SealFailure.ERROR: N_("Your dossier could not be saved. Nothing was sent. Try again, or "
                          "call an agent."),
}

HELP: dict[Step, str] = {
    Step.WELCOME: N_("This kiosk sends the papers of your procedure to the service in "
                     "charge, without waiting at a counter. Tap Start, or show the QR "
                     "code of your convocation letter to the reader. An agent can help "
                     "you at any time: tap “Call an agent”."),
    Step.LOOKUP: N_("If the service asked you for more papers, show the QR code of your "
                    "receipt to the reader. The kiosk then asks only for the papers the "
                    "service is waiting for. An agent can help you at any time."),
    Step.PROCEDURE: N_("Tap the procedure you have come for. If you have a convocation "
                       "letter with a QR code, show it to the reader instead."),
    Step.CHECKLIST: N_("Here are the papers the service needs. Get them ready, then tap "
                       "Start. Papers marked optional can be skipped."),
    Step.CAPTURE: N_("Lay the page flat on the tray, text up, inside the frame. The "
                     "photo is taken by itself when the page is still and readable. "
                     "For a card, do the front, then add a page for the back."),
    Step.REVIEW: N_("Check that every paper is there and readable. Tap “Take again” "
                    "next to a document to photograph it again."),
    Step.CONTACT: N_("You may leave an e-mail address or a phone number so the service "
                     "can contact you about this dossier. It is optional."),
    Step.CONFIRM: N_("Check the summary. Tap “Send my dossier” to send it. Nothing is "
                     "sent before."),
    Step.SEALING: N_("Your dossier is being encrypted and saved."),
    Step.RECEIPT: N_("Keep your receipt: its number and QR code let you follow your "
                     "dossier."),
    Step.SATISFACTION: N_("Tell us how it went, or just leave: the screen clears by "
                          "itself."),
    Step.WIPE: N_("The screen is being cleared."),
}

#: The privacy notice (GDPR art. 13), shown on the contact screen; {service} is filled in.
__all__ = ["PRIVACY_NOTICE_VERSION"]
PRIVACY_TITLE = N_("Your data")
#: The first layer, on the contact screen itself (the full notice is in the help).
PRIVACY_SHORT = N_("Your data: only {service} receives your papers and contact, encrypted, "
                   "for this procedure; nothing stays on the kiosk. You may see, correct or "
                   "erase them; complaints: cnil.fr. Details: Help.")
PRIVACY_PURPOSE = N_("Purpose: your papers and your contact details go, encrypted, only to "
                     "{service}, to handle this procedure. Your contact is used only to "
                     "reach you about this dossier.")
PRIVACY_RETENTION = N_("Retention: the kiosk keeps nothing once the service has received "
                       "your dossier; the service keeps it as long as the procedure and "
                       "the law require.")
PRIVACY_RIGHTS = N_("Your rights: you may see, correct or erase your data, or object to "
                    "its use, by writing to {service} or its data protection officer. "
                    "You may complain to the CNIL (cnil.fr).")
