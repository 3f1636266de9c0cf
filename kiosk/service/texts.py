"""The service mode's words: the panel's (French, the technicians' language) and the
out-of-order notice the citizens read (in every language the kiosk speaks)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class OutOfOrderReason(StrEnum):
    """Why a technician took the kiosk out of service (the citizens are told in their words)."""

    MAINTENANCE = "maintenance"
    PRINTER = "printer"
    CAMERA = "camera"
    OTHER = "other"


#: The switch's buttons on the technician's panel.
OUT_OF_ORDER_LABELS: dict[OutOfOrderReason, str] = {
    OutOfOrderReason.MAINTENANCE: "Maintenance",
    OutOfOrderReason.PRINTER: "Imprimante en panne",
    OutOfOrderReason.CAMERA: "Caméra en panne",
    OutOfOrderReason.OTHER: "Autre panne",
}


#: The notice per reason and language. French easy-read (fr-falc): short sentences, one idea
#: each, the practical step last.
OUT_OF_ORDER_REASONS: dict[OutOfOrderReason, dict[str, str]] = {
    OutOfOrderReason.MAINTENANCE: {
        "fr": "Maintenance en cours. Adressez-vous à l'accueil.",
        "fr-falc": "La borne est en réparation. Allez voir l'accueil.",
        "en": "Maintenance in progress. Please ask at the front desk.",
        "es": "Mantenimiento en curso. Diríjase a la recepción.",
        "ar": "صيانة جارية. يرجى التوجه إلى الاستقبال.",
    },
    OutOfOrderReason.PRINTER: {
        "fr": "L'imprimante est en panne : aucun reçu ne peut être imprimé. "
              "Adressez-vous à l'accueil.",
        "fr-falc": "L'imprimante ne marche pas. La borne ne peut pas donner de reçu. "
                   "Allez voir l'accueil.",
        "en": "The printer is out of order: no receipt can be printed. "
              "Please ask at the front desk.",
        "es": "La impresora está averiada: no se puede imprimir ningún recibo. "
              "Diríjase a la recepción.",
        "ar": "الطابعة معطلة: لا يمكن طباعة أي إيصال. يرجى التوجه إلى الاستقبال.",
    },
    OutOfOrderReason.CAMERA: {
        "fr": "La caméra est en panne : aucun document ne peut être déposé. "
              "Adressez-vous à l'accueil.",
        "fr-falc": "La caméra ne marche pas. La borne ne peut pas prendre vos papiers. "
                   "Allez voir l'accueil.",
        "en": "The camera is out of order: no document can be handed in. "
              "Please ask at the front desk.",
        "es": "La cámara está averiada: no se puede entregar ningún documento. "
              "Diríjase a la recepción.",
        "ar": "الكاميرا معطلة: لا يمكن إيداع أي وثيقة. يرجى التوجه إلى الاستقبال.",
    },
    OutOfOrderReason.OTHER: {
        "fr": "La borne est hors service. Adressez-vous à l'accueil.",
        "fr-falc": "La borne ne marche pas. Allez voir l'accueil.",
        "en": "This kiosk is out of service. Please ask at the front desk.",
        "es": "Este quiosco está fuera de servicio. Diríjase a la recepción.",
        "ar": "هذا الجهاز خارج الخدمة. يرجى التوجه إلى الاستقبال.",
    },
}

#: The notice's title, per language.
OUT_OF_ORDER_TITLE: dict[str, str] = {
    "fr": "Borne hors service",
    "fr-falc": "La borne ne marche pas",
    "en": "Kiosk out of service",
    "es": "Quiosco fuera de servicio",
    "ar": "الجهاز خارج الخدمة",
}


#: What the panel says for each of the gate's refusals (kiosk/service/access.py ``Refusal``).
REFUSALS = {
    "not_a_badge": "ce code n'est pas un badge de technicien.",
    "forged": "ce badge n'a pas été émis par le back-office de ce kiosque.",
    "expired": "ce badge a expiré : demandez-en un nouveau.",
    "not_yet_valid": "ce badge n'est pas encore valable (vérifiez l'horloge du kiosque).",
    "revoked": "ce badge a été révoqué.",
    "wrong_pin": "code PIN faux.",
    "locked_out": "trop de codes faux : l'accès est verrouillé.",
}


def refusal_text(error: BaseException, *, capital: bool = True) -> str:
    """What the panel says of a refused badge or PIN, in French, with what comes next."""
    refusal = str(getattr(error, "refusal", ""))
    text = REFUSALS.get(refusal, str(error) or type(error).__name__)
    left = getattr(error, "attempts_left", None)
    if left is not None:
        text += f" Encore {left} essai{'s' if left > 1 else ''}."
    until = getattr(error, "locked_until", None)
    if until is not None:
        text += (f" Réessayez après "
                 f"{datetime.fromtimestamp(until).astimezone().strftime('%H:%M')}.")
    return text[0].upper() + text[1:] if capital else text
