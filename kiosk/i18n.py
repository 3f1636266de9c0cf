"""Languages of the citizen interface: gettext catalogs, a switchable translator, kv extraction.

Message ids are English; the catalogs are
``assets/locale/<lang>/LC_MESSAGES/kiosk.po`` with their compiled ``.mo``
beside them (both committed). French is the default language; English is
complete (every msgid has a msgstr, usually itself). To update them after
changing a string (from the repository root)::

    PYTHONPATH=. pybabel extract -F babel.cfg -k N_ -o /tmp/kiosk.pot kiosk/
    pybabel update -D kiosk -i /tmp/kiosk.pot -d assets/locale --no-fuzzy-matching
    # translate the new entries of fr/LC_MESSAGES/kiosk.po; in en, copy the msgid
    pybabel compile -D kiosk -d assets/locale

``tests/kiosk/test_journey_i18n.py`` fails when a message is missing, stale,
untranslated or when a ``.mo`` is older than its ``.po``.

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


@cache
def translations(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    """The compiled catalog of ``language``; the msgids themselves when there is none."""
    try:
        return gettext.translation(DOMAIN, str(locale_dir), languages=[language])
    except FileNotFoundError:
        return gettext.NullTranslations()


def available_languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Languages with a compiled ``kiosk.mo``."""
    return sorted(p.parent.parent.name for p in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


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
