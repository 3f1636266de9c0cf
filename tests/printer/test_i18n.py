"""The ``printer`` message catalogs: complete, compiled, and typographically French."""

from __future__ import annotations

import io
import re
import string
from pathlib import Path
from typing import cast

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

from printer.i18n import DOMAIN, available_languages, catalog_name, translator

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ["fr", "en", "es", "ar", "fr-falc"]
#: Catalogs the team wrote, waiting for a translator: each entry flagged ``unreviewed``.
UNREVIEWED = ["es", "ar", "fr-falc"]


def catalog_path(language: str, ext: str) -> Path:
    return REPO / "assets" / "locale" / catalog_name(language) / "LC_MESSAGES" / f"{DOMAIN}.{ext}"


def code_messages() -> dict[str, tuple[str, ...]]:
    """Every message id the printer package uses, extracted as pybabel does with babel.cfg."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        # babel leaves parse_mapping_cfg unannotated
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO / "printer"), method_map, options_map):
        ids = (message,) if isinstance(message, str) else tuple(message)
        found[ids[0]] = ids
    return found


def flat(value: str | list[str] | tuple[str, ...] | None) -> str | tuple[str, ...]:
    assert value is not None       # babel's type allows None; a catalog read has a string
    return value if isinstance(value, str) else tuple(value)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_babel_finds_the_messages_of_the_code() -> None:
    messages = code_messages()
    assert "Deposit receipt" in messages
    assert messages["{count} page"] == ("{count} page", "{count} pages")
    assert len(messages) > 40


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_code_is_translated_in_every_catalog(language: str) -> None:
    with catalog_path(language, "po").open("rb") as f:
        catalog = read_po(f)
    assert not catalog.fuzzy, f"{language}: the catalog header is marked fuzzy"
    problems = []
    for msgid, ids in code_messages().items():
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        # babel types Message.string str | list | tuple | None; read_po gives str or tuple
        strings = (message.string if isinstance(message.string, tuple)
                   else (cast(str, message.string),))
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        for translated in strings:
            if fields(translated) != fields(ids[-1]):
                problems.append(f"placeholders differ: {msgid!r} -> {translated!r}")
    unused = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} \
        - set(code_messages())
    problems += [f"no longer used by the code: {m!r}" for m in sorted(unused)]
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_compiled_catalog_is_up_to_date_with_its_po_file(language: str) -> None:
    with catalog_path(language, "po").open("rb") as f:
        po = read_po(f)
    with catalog_path(language, "mo").open("rb") as f:
        mo = read_mo(f)
    expected = {flat(m.id): flat(m.string) for m in po if m.id and not m.fuzzy}
    compiled = {flat(m.id): flat(m.string) for m in mo if m.id}
    assert compiled == expected, (f"{catalog_path(language, 'mo')} is stale: run "
                                  f"pybabel compile -D {DOMAIN} -d assets/locale")
    assert mo.plural_forms == po.plural_forms


@pytest.mark.parametrize("language", ["fr", "fr-falc"])
def test_french_puts_a_no_break_space_before_two_part_punctuation(language: str) -> None:
    with catalog_path(language, "po").open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if not message.id:   # the header
            continue
        # babel types Message.string str | list | tuple | None; read_po gives str or tuple
        strings = (message.string if isinstance(message.string, tuple)
                   else (cast(str, message.string),))
        for text in strings:
            assert not re.search(r"[^\u00a0\u202f][:;?!](\s|$)", text), text


def test_french_and_english_are_available_and_others_fall_back_to_french() -> None:
    assert set(LANGUAGES) <= set(available_languages())
    assert translator("fr")._("Deposit receipt") == "Récépissé de dépôt"
    assert translator("en")._("Deposit receipt") == "Deposit receipt"
    assert translator("xx").language == "fr"
    assert translator("fr").ngettext("{count} page", "{count} pages", 1) == "{count} page"
    assert translator("fr").ngettext("{count} page", "{count} pages", 0) == "{count} page"
    assert translator("en").ngettext("{count} page", "{count} pages", 0) == "{count} pages"


@pytest.mark.parametrize("language", UNREVIEWED)
def test_entries_no_translator_has_checked_are_flagged_unreviewed_and_still_compiled(
        language: str) -> None:
    with catalog_path(language, "po").open("rb") as f:
        po = read_po(f)
    entries = [m for m in po if m.id]
    assert entries and all("unreviewed" in m.flags for m in entries)
    with catalog_path(language, "mo").open("rb") as f:
        mo = read_mo(f)
    assert len([m for m in mo if m.id]) == len(entries)   # the flag does not hold them back


@pytest.mark.parametrize("domain", ["printer", "backoffice"])
@pytest.mark.parametrize("language", UNREVIEWED)
def test_catalogs_are_kept_as_babel_writes_them_sorted_without_locations(
        language: str, domain: str) -> None:
    path = REPO / "assets" / "locale" / catalog_name(language) / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        po = read_po(f)
    out = io.BytesIO()
    write_po(out, po, width=100, no_location=True, sort_output=True)
    assert out.getvalue() == path.read_bytes(), f"{path}: rewrite it with write_po as above"


@pytest.mark.parametrize(("language", "count", "expected"), [
    ("ar", 1, "{count} صفحة"), ("ar", 2, "{count} صفحتان"), ("ar", 5, "{count} صفحات"),
    ("ar", 11, "{count} صفحة"), ("es", 1, "{count} página"), ("es", 0, "{count} páginas"),
    ("fr-falc", 0, "{count} page"), ("fr-falc", 2, "{count} pages"),
])
def test_plural_forms_follow_each_language(language: str, count: int, expected: str) -> None:
    assert translator(language).ngettext("{count} page", "{count} pages", count) == expected
