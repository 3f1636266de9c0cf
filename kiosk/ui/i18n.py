"""The observable translator the kv rules bind to: ``text: tr._("Start")``.

Kivy's kv compiler binds a rule to every ``object.attribute`` it reads; for
``tr._`` it calls ``tr.fbind("_", callback, args)``. :class:`ObservableTranslator`
keeps those callbacks and calls them all when the language changes, so every
label written ``tr._("...")`` redraws itself in the new language, including
labels of screens not on display. Callbacks of widgets that were thrown away
raise ``ReferenceError`` (Kivy holds widgets through weak proxies) and are
dropped then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.event import Observable

from kiosk.i18n import Translator

log = logging.getLogger(__name__)


class ObservableTranslator(Observable):  # type: ignore[misc]  # Kivy ships no types
    def __init__(self, translator: Translator | None = None) -> None:
        super().__init__()
        self.translator = translator or Translator("fr")
        self._observers: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._next_uid = 1

    # kv calls these ------------------------------------------------------------
    def _(self, message: str) -> str:
        return self.translator.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translator.ngettext(singular, plural, n)

    def fbind(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
        if name != "_":
            return 0
        uid = self._next_uid
        self._next_uid += 1
        self._observers[uid] = (func, args)
        return uid

    def funbind(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if name != "_":
            return
        for uid, (f, a) in list(self._observers.items()):
            if f == func and a == args:
                del self._observers[uid]

    def unbind_uid(self, name: str, uid: int) -> None:
        if name == "_":
            self._observers.pop(uid, None)

    # the application calls these ---------------------------------------------
    @property
    def language(self) -> str:
        return self.translator.language

    def switch(self, language: str) -> bool:
        """Switch the language and redraw every bound label; True when it changed."""
        if not self.translator.set_language(language):
            return False
        for uid, (func, args) in list(self._observers.items()):
            try:
                func(*args, self, None)
            except ReferenceError:
                del self._observers[uid]
        return True

    @property
    def observer_count(self) -> int:
        return len(self._observers)


#: The one instance the kv files import: ``#:import tr kiosk.ui.i18n.tr``.
tr = ObservableTranslator()


def _(message: str) -> str:
    """Translate in Python code of the UI (same catalog as ``tr._`` in kv)."""
    return tr.translator.gettext(message)
