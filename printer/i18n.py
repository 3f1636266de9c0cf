"""Messages, dates and numbers of receipts in the citizen's language.

Messages go through gettext, domain ``printer``, catalogs in
``assets/locale/<lang>/LC_MESSAGES/printer.mo`` (English message ids; French is
the default language). Dates and times go through Babel's CLDR data, in the
kiosk's time zone.

Update the catalogs after changing a message (from the repository root)::

    pybabel extract -F babel.cfg -o /tmp/printer.pot printer/
    pybabel update -D printer -i /tmp/printer.pot -d assets/locale
    # translate the new entries in assets/locale/*/LC_MESSAGES/printer.po, then
    pybabel compile -D printer -d assets/locale

Easy-read French (``fr-falc``) lives in ``assets/locale/fr@falc/``: gettext's name
for a variant, which pybabel reads (it stops at ``fr-falc``) and which falls back to
``fr`` (see :func:`catalog_name` and kiosk/i18n.py). Entries the team
wrote and no translator has checked carry the PO flag ``unreviewed`` (Babel keeps it;
compilation ignores it).

``tests/printer/test_i18n.py`` fails when a message of the code is missing from a
catalog or a ``.mo`` file is older than its ``.po``.
"""

from __future__ import annotations

import functools
import gettext
import logging
import struct
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import babel
import babel.dates

import assets
from printer.errors import TranslationError

log = logging.getLogger(__name__)

DOMAIN = "printer"
DEFAULT_LANGUAGE = "fr"
#: The CLDR locale used for dates in each language: en_GB writes "22 November 2025, 15:57",
#: which no reader takes for the 11th of a 22nd month; easy-read French (FALC) writes dates
#: as French does.
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB", "es": "es_ES", "ar": "ar", "fr-falc": "fr_FR"}


class Direction(StrEnum):
    """The direction a language is written in (values are Pillow's and HTML's ``dir``)."""

    LTR = "ltr"
    RTL = "rtl"


def language_direction(language: str) -> Direction:
    """``rtl`` for Arabic (and any language CLDR writes right to left), else ``ltr``."""
    try:
        locale = babel.Locale.parse(BABEL_LOCALES.get(language, language))
    except (ValueError, babel.UnknownLocaleError):
        return Direction.LTR
    return Direction.RTL if locale.text_direction == "rtl" else Direction.LTR


def locale_dir() -> str:
    return str(assets.path("locale"))


def available_languages() -> list[str]:
    """Languages with a compiled ``printer`` catalog."""
    root = assets.path("locale")
    if not root.is_dir():
        return []
    return sorted(p.name.replace("@", "-") for p in root.iterdir()
                  if (p / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file())


@dataclass(frozen=True, eq=False)
class Translator:
    """Everything language-dependent that a receipt needs."""

    language: str
    catalog: gettext.NullTranslations

    def _(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    @property
    def babel_locale(self) -> str:
        return BABEL_LOCALES.get(self.language, self.language)

    @property
    def direction(self) -> Direction:
        return language_direction(self.language)

    def date(self, value: date | datetime, tz: ZoneInfo, *, full: bool = False) -> str:
        """``22 novembre 2025`` (or ``samedi 22 novembre 2025`` with ``full``)."""
        if isinstance(value, datetime):
            value = value.astimezone(tz).date()
        return babel.dates.format_date(value, "full" if full else "long",
                                       locale=self.babel_locale)

    def time(self, value: datetime, tz: ZoneInfo) -> str:
        """``15:57`` (24-hour clock in every language, Arabic included)."""
        return babel.dates.format_time(value.astimezone(tz), "HH:mm", locale=self.babel_locale)


@functools.cache
def catalog_name(language: str) -> str:
    """The folder of a language's catalog: ``fr-falc`` → ``fr@falc`` (a gettext variant)."""
    base, _, variant = language.partition("-")
    return f"{base}@{variant}" if len(variant) >= 4 else language


def translator(language: str) -> Translator:
    """The translator of a language, falling back to French when it has no catalog.

    Raises TranslationError when even the French catalog is missing or unreadable.
    """
    try:
        catalog = gettext.translation(DOMAIN, locale_dir(), languages=[catalog_name(language)])
    except FileNotFoundError:
        if language == DEFAULT_LANGUAGE:
            raise TranslationError(
                f"no {DOMAIN}.mo for {language!r} under {locale_dir()} "
                f"(available: {', '.join(available_languages()) or 'none'})") from None
        log.warning("no receipt catalog for language %r; receipts fall back to %r",
                    language, DEFAULT_LANGUAGE)
        return translator(DEFAULT_LANGUAGE)
    except (OSError, ValueError, struct.error, IndexError) as exc:  # a truncated or corrupt .mo
        raise TranslationError(f"cannot read the {DOMAIN} catalog of {language!r}: {exc}") \
            from exc
    return Translator(language, catalog)
