"""What the workspace shows in French: statuses, roles, times in Paris time, and the staff
API's refusals said as French staff read them (the API's own texts are English).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backoffice.errors import Refusal
from backoffice.staffclient import StaffAPIError
from backoffice.status import DossierStatus

STATUS_LABELS = {
    DossierStatus.RECEIVED: "reçu", DossierStatus.IN_REVIEW: "en cours d'instruction",
    DossierStatus.INCOMPLETE: "incomplet", DossierStatus.ACCEPTED: "accepté",
    DossierStatus.REJECTED: "refusé", DossierStatus.CLOSED: "classé sans suite",
}
ROLE_LABELS = {"instructor": "instruction", "supervisor": "supervision",
               "administrator": "administration"}
#: Times are shown in the service's time zone.
TIMEZONE = ZoneInfo("Europe/Paris")


#: The kinds of personal data (backoffice/personaldata.py) as the refusal names them.
KIND_LABELS = {"email": "une adresse électronique", "phone": "un numéro de téléphone",
               "iban": "un IBAN ou un RIB", "birth_date": "une date de naissance",
               "national_number": "un numéro de sécurité sociale ou fiscal",
               "payment_card": "un numéro de carte bancaire"}


def in_french(exc: StaffAPIError) -> str:
    """A refusal of the staff API as French staff read it; the English message where the
    code is not one this workspace knows."""
    d = exc.details
    if exc.code is Refusal.MOTIVE:
        if d.get("to") == [DossierStatus.INCOMPLETE.value]:
            return ("Un dossier incomplet doit dire à l'usager quelles pièces manquent : "
                    "écrivez-le dans le message.")
        return "Un refus doit être motivé : écrivez le motif dans le message à l'usager."
    if exc.code is Refusal.PERSONAL_DATA:
        kinds = [KIND_LABELS.get(k, k) for k in d.get("kinds", [])]
        return ("Le message à l'usager contient " + ", ".join(kinds or ["une donnée "
                "personnelle"]) + " : la page de suivi est publique, retirez-le et joignez "
                "l'usager par un autre moyen.")
    if exc.code is Refusal.MESSAGE_FORMAT:
        return ("Le message à l'usager ne peut pas être affiché tel quel (trop long, ou des "
                "caractères de contrôle) : " + str(exc))
    if exc.code is Refusal.TRANSITION:
        reachable = ", ".join(status_label(s) for s in d.get("allowed", [])) or "aucun"
        return (f"Un dossier {status_label((d.get('from') or [''])[0])} ne peut pas devenir "
                f"{status_label((d.get('to') or [''])[0])} ; états possibles : {reachable}.")
    if exc.code is Refusal.STALE:
        return "Le dossier a changé entre-temps (un·e collègue ?) : relisez-le avant de décider."
    if exc.code is Refusal.ROLE and d.get("requester"):
        requester = d["requester"][0]
        return (f"Seul·e {requester}, qui a fait la demande, ou un·e superviseur·e peut la "
                "retirer.")
    if exc.code is Refusal.ROLE:
        return "Votre rôle ne permet pas cette action."
    if exc.code in REQUEST_REFUSALS:
        return request_refusal(exc)
    if exc.code is Refusal.ACCOUNT and d.get("disabled"):
        return "Ce compte est désactivé : adressez-vous à l'administration du service."
    return str(exc)


#: Refusals of a request for documents (backoffice/docrequests.py), said in French.
REQUEST_REFUSALS = frozenset({Refusal.UNKNOWN_DOCUMENT, Refusal.NO_DOCUMENT, Refusal.DEADLINE,
                              Refusal.OPEN_REQUEST, Refusal.REQUEST_STATE})


def request_refusal(exc: StaffAPIError) -> str:
    d = exc.details
    if exc.code is Refusal.NO_DOCUMENT:
        return "Cochez au moins une pièce manquante."
    if exc.code is Refusal.UNKNOWN_DOCUMENT:
        return ("Ces pièces ne sont pas des pièces de la démarche : "
                + ", ".join(d.get("codes", [])) + ".")
    if exc.code is Refusal.DEADLINE:
        return ("La date limite doit être après aujourd'hui, et au plus tard le "
                + when_day((d.get("latest") or [""])[0]) + ".")
    if exc.code is Refusal.OPEN_REQUEST:
        return ("Une demande de pièces attend déjà sa réponse : retirez-la, ou attendez les "
                "pièces, avant d'en faire une autre ou de changer l'état du dossier.")
    return ("Cette demande de pièces n'est plus en attente (déjà reçue ou retirée) : relisez "
            "le dossier.")


def when_day(value: str) -> str:
    """A date of the API (``2027-01-15``) as staff read it: ``15/01/2027``."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").strftime("%d/%m/%Y")
    except ValueError:
        return value or "—"


def status_label(value: str) -> str:
    try:
        return STATUS_LABELS[DossierStatus(value)]
    except ValueError:
        return value


def when(value: str | None, date_only: bool = False) -> str:
    """An RFC 3339 UTC time of the API as staff read it: ``05/12/2026 06:07`` (Paris)."""
    if not value:
        return "—"
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return value
    local = moment.astimezone(TIMEZONE)
    return local.strftime("%d/%m/%Y" if date_only else "%d/%m/%Y %H:%M")
