"""Languages of the citizen interface: gettext catalogs, a switchable translator, kv extraction.

Message ids are English; the catalogs are
``assets/locale/<locale>/LC_MESSAGES/kiosk.po`` with their compiled ``.mo``
beside them (both committed). French is the default language; English,
Spanish (``es``), Arabic (``ar``) and easy-read French (``fr-falc``, FALC) are
complete (every msgid has a msgstr; in English usually itself). To update them
after changing a string (from the repository root)::

    PYTHONPATH=. pybabel extract -F babel.cfg -k N_ -o /tmp/kiosk.pot kiosk/
    pybabel update -D kiosk -i /tmp/kiosk.pot -d assets/locale --no-fuzzy-matching
    # translate the new entries of every kiosk.po (in en, copy the msgid); mark
    # what no native reader has checked ``#, unreviewed`` (docs/languages.md)
    pybabel compile -D kiosk -d assets/locale

``tests/kiosk/test_journey_i18n.py`` fails when a message is missing, stale,
untranslated or when a ``.mo`` is older than its ``.po``.

A kiosk language code (``fr``, ``es``, ``fr-falc``: what the configuration,
the catalog of procedures and the screens use) is not always a gettext locale
name: easy-read French lives in ``assets/locale/fr@falc/``, a variant written
the POSIX way (like ``sr@latin``). Babel cannot read a locale folder named
``fr-falc`` (``pybabel compile`` stops on it with "expected only letters"),
and gettext looks in ``fr@falc`` then in ``fr``, so a FALC message that is
missing shows its plain French. :func:`locale_name` and
:func:`language_code` convert between the two.

``babel.cfg`` maps ``**.kv`` to :func:`extract_kv` below, so strings written
``tr._("...")`` in the kv files are extracted with the Python ones.

:class:`Translator` holds the current language and tells its listeners when it
changes; :mod:`kiosk.ui.i18n` wraps it in the observable ``tr`` the kv rules
bind to, so a language switch redraws every label.
"""

from __future__ import annotations

import ast
import gettext
import re
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import IO, Any

import assets

DOMAIN = "kiosk"
LOCALE_DIR = assets.path("locale")


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (tables of msgids)."""
    return message


_VARIANT = re.compile(r"([a-z]{2,3})-([a-z0-9]{3,8})")
_REGION = re.compile(r"([a-z]{2,3})-([a-z]{2})")


def locale_name(language: str) -> str:
    """The gettext locale (folder of ``assets/locale``) of a kiosk language code.

    ``fr-falc`` → ``fr@falc`` (a variant), ``pt-br`` → ``pt_BR`` (a region),
    ``es`` → ``es``.
    """
    if match := _VARIANT.fullmatch(language):
        return f"{match[1]}@{match[2]}"
    if match := _REGION.fullmatch(language):
        return f"{match[1]}_{match[2].upper()}"
    return language


def language_code(locale: str) -> str:
    """The kiosk language code of a gettext locale: the reverse of :func:`locale_name`."""
    return locale.replace("@", "-").replace("_", "-").lower()


@cache
def translations(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """The compiled catalog of ``language``; the msgids themselves when there is none."""
    try:
        return gettext.translation(DOMAIN, str(locale_dir), languages=[locale_name(language)])
    except FileNotFoundError:
        return gettext.NullTranslations()


def catalog_path(language: str, suffix: str = ".po", locale_dir: Path = LOCALE_DIR) -> Path:
    """``assets/locale/<locale>/LC_MESSAGES/kiosk.po`` (or ``.mo``) of a kiosk language code."""
    return locale_dir / locale_name(language) / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def available_languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Kiosk language codes with a compiled ``kiosk.mo``."""
    return sorted(language_code(p.parent.parent.name)
                  for p in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


Listener = Callable[[str], None]


class Translator:
    """The current language and its ``gettext``; listeners hear every switch.

    ``gettext`` may be called from any thread; ``set_language`` and the
    listeners run on the caller's thread (the UI thread in the application).
    """

    def __init__(self, language: str, locale_dir: Path = LOCALE_DIR) -> None:
        self._locale_dir = locale_dir
        self._lock = threading.Lock()
        self._language = language
        self._catalog = translations(language, locale_dir)
        self._listeners: list[Listener] = []

    @property
    def language(self) -> str:
        return self._language

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message) if message else ""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._catalog.ngettext(singular, plural, n)

    def set_language(self, language: str) -> bool:
        """Switch; True when the language changed (listeners were told)."""
        with self._lock:
            if language == self._language:
                return False
            self._language = language
            self._catalog = translations(language, self._locale_dir)
        for listener in list(self._listeners):
            listener(language)
        return True

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)


# ----------------------------------------------------------------------------- Babel extractor

_CALL = re.compile(r"""(?<![\w.])(?:tr\.)?(_|N_)\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")
_PLURAL = re.compile(r"""(?<![\w.])(?:tr\.)?(ngettext)\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
                     r"""\s*,\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _literal(text: str) -> str:
    """The value of a one-line Python string literal (literal_eval evaluates nothing else)."""
    value = ast.literal_eval(text)
    if not isinstance(value, str):
        raise ValueError(f"not a string literal: {text}")
    return value


def iter_kv_messages(text: str) -> Iterator[tuple[int, str, str | tuple[str, str]]]:
    """(line number, function, message) for every ``_("...")``/``tr._("...")`` of a kv file."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("#") and not stripped.startswith("#:"):
            continue
        for match in _CALL.finditer(line):
            yield lineno, match.group(1), _literal(match.group(2))
        for match in _PLURAL.finditer(line):
            yield lineno, match.group(1), (_literal(match.group(2)), _literal(match.group(3)))


def extract_kv(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
               options: Mapping[str, Any]) -> Iterator[tuple[int, str, Any, list[str]]]:
    """Babel extraction method for Kivy ``.kv`` files (see ``babel.cfg``)."""
    encoding = options.get("encoding", "utf-8")
    text = fileobj.read().decode(encoding)
    for lineno, function, message in iter_kv_messages(text):
        if function in keywords:
            yield lineno, function, message, []
