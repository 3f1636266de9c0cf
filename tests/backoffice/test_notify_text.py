"""The notifications' words: every language complete and compiled, a link in each, nothing else."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from backoffice import notifytext
from backoffice.store.notifydb import Channel, EventKind

LOCALE = Path(notifytext.__file__).resolve().parents[1] / "assets" / "locale"
LINK = "https://suivi.example/suivi/D3M0-0000-0001?t=TOKEN"


def catalog(lang: str) -> Path:
    return LOCALE / notifytext.CATALOG_NAMES.get(lang, lang) / "LC_MESSAGES"


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", notifytext.LANGUAGES)
def test_every_message_is_translated_compiled_and_keeps_its_placeholders(lang: str) -> None:
    with (catalog(lang) / "notify.po").open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with (catalog(lang) / "notify.mo").open("rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    used = {*notifytext.SUBJECTS.values(), *notifytext.MAIL_BODIES.values(),
            *notifytext.SMS_TEXTS.values()}
    assert set(po) == used and all(po.values()), "untranslated or stale messages"
    assert mo == po, "the .mo is out of date"
    for message_id, text in po.items():
        assert isinstance(text, str) and fields(text) == fields(str(message_id))


@pytest.mark.parametrize("lang", notifytext.LANGUAGES)
@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("channel", list(Channel))
def test_each_message_carries_the_link_once_in_the_citizens_language(
        lang: str, kind: EventKind, channel: Channel) -> None:
    message = notifytext.compose(kind, channel, lang, LINK)
    assert message.text.count(LINK) == 1 and "{" not in message.text
    assert message.language == lang
    if lang != "en":
        assert message.subject != notifytext.SUBJECTS[kind]
    if channel is Channel.SMS:
        # One SMS of 70 UCS-2 characters or 160 GSM ones, link aside, keeps the cost down.
        assert len(message.text.replace(LINK, "")) <= 70


def test_a_language_without_a_catalog_gets_french() -> None:
    message = notifytext.compose(EventKind.STATUS, Channel.EMAIL, "de", LINK)
    assert (message.language, message.subject) == ("fr", "Votre dossier a évolué")
