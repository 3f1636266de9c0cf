"""The kiosk's message catalogs: complete in every language, fresh, and switchable.

The msgids are extracted from the code and kv files exactly as ``pybabel
extract -F babel.cfg -k N_ kiosk/`` does; every one must be translated in
every catalog (French, English, Spanish, Arabic, easy-read French), no
catalog may keep a message the code no longer has, and the committed ``.mo``
files must say what their ``.po`` files say.
"""

from __future__ import annotations

import gettext
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.i18n import (
    Translator,
    available_languages,
    catalog_path,
    iter_kv_messages,
    language_code,
    locale_name,
)
from tests.conftest import REPO

LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")
#: Languages the team wrote itself, every entry flagged ``unreviewed`` until a native reader
#: removes the flag (docs/languages.md).
WRITTEN_BY_THE_TEAM = ("es", "ar", "fr-falc")
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
KNOWN_FLAGS = {"python-brace-format", "unreviewed"}


def code_messages() -> set[str | tuple[str, ...]]:
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        # babel leaves parse_mapping_cfg unannotated
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    keywords = dict(DEFAULT_KEYWORDS)
    keywords["N_"] = None
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO / "kiosk"), method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalog(language: str):
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=locale_name(language))


@pytest.fixture(scope="module")
def messages() -> set[str | tuple[str, ...]]:
    found = code_messages()
    assert len(found) > 100, "extraction found too few messages: the check would be empty"
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_code_is_translated(language: str, messages) -> None:
    po = catalog(language)
    translated = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in po if m.id}
    missing = sorted(str(m) for m in messages if m not in translated)
    assert missing == [], f"not in {language}/kiosk.po (run the update of kiosk/i18n.py)"
    empty = sorted(str(k) for k, m in translated.items()
                   if not (m.string if isinstance(m.string, str) else all(m.string)))
    assert empty == []
    fuzzy = sorted(str(k) for k, m in translated.items() if m.fuzzy)
    assert fuzzy == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_keeps_a_message_the_code_no_longer_has(language: str, messages) -> None:
    po = catalog(language)
    stale = sorted(str(m.id) for m in po if m.id and
                   (m.id if isinstance(m.id, str) else tuple(m.id)) not in messages)
    assert stale == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_exactly_the_placeholders_of_its_msgid(language: str) -> None:
    """Each ``{name}`` as many times as the msgid has it: a lost or renamed one breaks format()."""
    wrong = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = Counter(PLACEHOLDER.findall(ids[-1]))
        wrong += [(ids[0], string) for string in strings
                  if Counter(PLACEHOLDER.findall(string)) != wanted]
    assert wrong == []


def test_a_changed_placeholder_is_caught() -> None:
    """The check above on a translation that renamed ``{seconds}``: it must see it."""
    wanted = Counter(PLACEHOLDER.findall("The screen clears in {seconds} seconds."))
    assert Counter(PLACEHOLDER.findall("La pantalla se borra en {segundos} segundos.")) != wanted
    assert Counter(PLACEHOLDER.findall("{n} y {n}")) != Counter(PLACEHOLDER.findall("{n}"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_carry_only_known_flags(language: str) -> None:
    """A misspelt ``unreviewd`` would silently claim a review; ``fuzzy`` would hide a message."""
    flags = {flag for message in catalog(language) if message.id for flag in message.flags}
    assert flags <= KNOWN_FLAGS


def test_the_unreviewed_entries_are_counted_per_language() -> None:
    """The review state of each language, listed; the team's own languages start unreviewed.

    Nothing of it reaches the citizen. A native reader who checks an entry
    deletes its ``unreviewed`` flag; when a language has none left, move it out
    of WRITTEN_BY_THE_TEAM and record the review in docs/languages.md.
    """
    counts = {}
    for language in LANGUAGES:
        messages = [m for m in catalog(language) if m.id]
        counts[language] = (sum("unreviewed" in m.flags for m in messages), len(messages))
    print("unreviewed entries per language (unreviewed, total):", counts)
    for language in WRITTEN_BY_THE_TEAM:
        unreviewed, total = counts[language]
        assert 0 < unreviewed <= total, f"{language}: reviewed? update WRITTEN_BY_THE_TEAM"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_says_what_the_po_says(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(language))
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    with catalog_path(language, ".mo").open("rb") as mo:
        committed = gettext.GNUTranslations(mo)
    # The messages, not the header: its Generated-By names the Babel release that compiled it.
    assert translated(committed) == translated(fresh), (
        f"{language}/kiosk.mo is stale: run pybabel compile -D kiosk -d assets/locale")


def translated(translations: gettext.GNUTranslations) -> dict[object, str]:
    """Every translated message of a compiled catalog, without the catalog's header entry."""
    catalog: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    return {key: text for key, text in catalog.items() if key != ""}


def test_french_is_really_french() -> None:
    french = Translator("fr")
    assert french.gettext("Start") == "Commencer"
    assert french.gettext("Call an agent") == "Appeler un agent"
    assert french.ngettext("{n} page", "{n} pages", 2) == "{n} pages"
    assert set(LANGUAGES) <= set(available_languages())


def test_switching_the_language_tells_the_listeners_once() -> None:
    translator = Translator("fr")
    heard: list[str] = []
    translator.listen(heard.append)
    assert translator.set_language("en")
    assert not translator.set_language("en")
    assert translator.gettext("Start") == "Start" and heard == ["en"]


def test_an_unknown_language_falls_back_to_the_message_ids() -> None:
    assert Translator("xx").gettext("Start") == "Start"


def test_the_new_languages_are_really_translated() -> None:
    assert Translator("es").gettext("Call an agent") == "Llamar a un agente"
    assert Translator("ar").gettext("Start") == "ابدأ"
    assert Translator("ar").ngettext("{n} page", "{n} pages", 5) == "{n} صفحات"
    assert Translator("fr-falc").gettext("Optional") == "Pas obligatoire"


def test_easy_read_french_lives_in_a_folder_babel_can_read() -> None:
    """``fr-falc`` is the kiosk's code; ``fr@falc`` the folder (Babel refuses ``fr-falc``)."""
    assert locale_name("fr-falc") == "fr@falc" and language_code("fr@falc") == "fr-falc"
    assert locale_name("es") == "es" and locale_name("pt-br") == "pt_BR"
    assert catalog_path("fr-falc").parts[-3:] == ("fr@falc", "LC_MESSAGES", "kiosk.po")


def test_a_message_missing_in_easy_read_french_shows_its_french(tmp_path: Path) -> None:
    for folder, entries in (("fr", {"Start": "Commencer", "Back": "Retour"}),
                            ("fr@falc", {"Back": "Revenir"})):
        po = Catalog(locale=folder)
        for msgid, msgstr in entries.items():
            po.add(msgid, msgstr)
        (tmp_path / folder / "LC_MESSAGES").mkdir(parents=True)
        with (tmp_path / folder / "LC_MESSAGES" / "kiosk.mo").open("wb") as mo:
            write_mo(mo, po)
    falc = Translator("fr-falc", tmp_path)
    assert (falc.gettext("Back"), falc.gettext("Start")) == ("Revenir", "Commencer")


def test_the_kv_extractor_finds_translated_strings_and_nothing_else() -> None:
    kv = "\n".join([
        "#:import tr kiosk.ui.i18n.tr",
        "<Thing>:",
        "    # a comment with tr._(\"Not me\")",
        "    text: tr._(\"Hello\") + ' ' + tr._('It\\'s me')",
        "    other: self._(\"no\") if x else notr._(\"no\")",
        "    plural: tr.ngettext(\"{n} page\", \"{n} pages\", 2)",
    ])
    found = list(iter_kv_messages(kv))
    assert found == [(4, "_", "Hello"), (4, "_", "It's me"),
                     (6, "ngettext", ("{n} page", "{n} pages"))]


def test_every_kv_string_is_written_with_tr() -> None:
    """A bare text: "..." in a kv file would never be translated."""
    bare = re.compile(r"^\s*(text|label|placeholder|caption|title):\s*['\"][^'\"]+['\"]\s*$")
    offenders = [f"{path.name}:{n}" for path in Path(REPO / "kiosk" / "ui").rglob("*.kv")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if bare.match(line)]
    assert offenders == []
