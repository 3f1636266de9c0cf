"""What a notification says: short, in the citizen's language, a link and nothing personal.

Why so little: a mail or an SMS is read on a lock screen, forwarded, stored by
providers. It says only that the dossier changed, or that documents are
requested, and gives the status link (whose page, behind its token, says the
rest). Never a name, never the procedure (it can be sensitive: RSA, MDPH),
never the status itself, never anything of the dossier.

Messages are in the gettext domain ``notify`` (assets/locale/<lang>/LC_MESSAGES/
notify.po), for the kiosk's languages (fr, en, es, ar, fr-falc written ``fr@falc``);
a language without a catalog gets French, the kiosk's default.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache

import assets
from backoffice.store.notifydb import Channel, EventKind

DOMAIN = "notify"
LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")
DEFAULT_LANGUAGE = "fr"
#: gettext's folder for a language: easy-read French is the variant ``fr@falc``.
CATALOG_NAMES = {"fr-falc": "fr@falc"}


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is used."""
    return message


SUBJECTS = {
    EventKind.STATUS: N_("Your dossier has changed"),
    EventKind.DOCUMENTS: N_("Documents are requested for your dossier"),
}
MAIL_BODIES = {
    EventKind.STATUS: N_("Hello,\n\nThere is news about the dossier you handed in at a "
                         "deposit kiosk. You can see it here:\n{link}\n\nThis message was sent "
                         "automatically: please do not reply to it."),
    EventKind.DOCUMENTS: N_("Hello,\n\nThe service asks you for documents for the dossier you "
                            "handed in at a deposit kiosk. You can see which ones, and until "
                            "when, here:\n{link}\n\nYou can bring them to any deposit kiosk with "
                            "your receipt.\n\nThis message was sent automatically: please do not "
                            "reply to it."),
}
SMS_TEXTS = {
    EventKind.STATUS: N_("Your dossier has changed: {link}"),
    EventKind.DOCUMENTS: N_("Documents are requested for your dossier: {link}"),
}


@dataclass(frozen=True)
class Message:
    subject: str          # e-mail only
    text: str
    language: str         # what was used (the citizen's, or the default)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    folder = CATALOG_NAMES.get(lang, lang)
    return gettext.translation(DOMAIN, localedir=assets.path("locale"), languages=[folder],
                               fallback=lang == "en")


def compose(kind: EventKind, channel: Channel, language: str, link: str) -> Message:
    """The message of ``kind`` for ``channel`` in ``language`` (French when not offered)."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    _ = translations(lang).gettext
    body = (MAIL_BODIES if channel is Channel.EMAIL else SMS_TEXTS)[kind]
    return Message(subject=_(SUBJECTS[kind]), text=_(body).format(link=link), language=lang)
