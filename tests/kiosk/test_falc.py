"""Easy-read French (FALC) stays easy to read, and no text of the catalog hides an acronym.

FALC ("facile à lire et à comprendre", Inclusion Europe's rules) asks for
short sentences with one idea each, common words, and no acronym left
unexplained. Two of those rules can be checked by a machine, and are here;
the others (one idea per sentence, common words, no passive, no needless
negation) are the reviewer's job (docs/languages.md).

Sentence length. Inclusion Europe's guide ("L'information pour tous") says
"short sentences" and gives no number. French FALC training material
commonly aims at about 10 to 12 words; MAX_WORDS = 15 is the hard ceiling a
test can hold without forcing a needed instruction into two half-sentences
(``Écrivez à la Commission nationale de l'informatique et des libertés
(CNIL).`` is 11 words once its acronym is explained). Most sentences are far
shorter: the median is measured and printed. A word is a run of letters,
digits, apostrophes or hyphens (``l'écran`` and ``e-mail`` are one word; a
placeholder such as ``{service}`` counts as one).

Acronyms. A run of two or more capitals is an acronym. It is explained when
its meaning stands in the same text, as ``meaning (ACRONYM)``; in French
(``fr``, ``fr-falc``), the initials of that meaning's main words must also
spell the acronym, so ``Caisse d'allocations familiales (CAF)`` passes and
``Aide (CAF)`` does not. In other languages the meaning is a translation
whose initials differ (``Family allowance fund (CAF)``), so any two words
or more before it count. The allow-list holds only ``QR``: the citizen sees
"QR code" printed on the letter and the receipt, its expansion ("Quick
Response") explains nothing, and the screen shows the code beside the word.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po

from kiosk.catalog import load_catalog
from kiosk.i18n import catalog_path, locale_name

MAX_WORDS = 15
ALLOWED_ACRONYMS = frozenset({"QR"})
FALC = "fr-falc"
#: kiosk.po catalogs the acronym rule also holds for: those this work wrote (fr and en keep
#: their own wording, checked by their reviewers).
ACRONYM_CHECKED_MESSAGES = ("es", "ar", FALC)
CATALOG_LANGUAGES = ("fr", "en", "es", "ar", FALC)
FRENCH = ("fr", FALC)

ACRONYM = re.compile(r"(?<!\w)[A-ZÀ-ÖØ-Þ]{2,}(?!\w)")
WORD = re.compile(r"[\w{}'’-]+")
SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
#: Words a French acronym skips ("Maison départementale des personnes handicapées" → MDPH).
FRENCH_SMALL_WORDS = frozenset({"de", "du", "des", "la", "le", "les", "au", "aux", "et", "à",
                                "en", "pour", "sur"})


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if WORD.search(s)]


def words(sentence: str) -> list[str]:
    return WORD.findall(sentence)


def long_sentences(text: str) -> list[str]:
    return [s for s in sentences(text) if len(words(s)) > MAX_WORDS]


def initials(meaning: str) -> str:
    """Initials of a French meaning's main words: ``Relevé d'identité bancaire`` → ``RIB``."""
    main = []
    for word in words(meaning):
        word = re.sub(r"^[dlDL]['’]", "", word)
        if word.lower() not in FRENCH_SMALL_WORDS and word[:1].isalpha():
            main.append(word[0].upper())
    return "".join(main)


def explained(text: str, acronym: str, language: str) -> bool:
    """True when ``text`` gives the acronym's meaning, as ``meaning (ACRONYM)``."""
    for match in re.finditer(rf"([^()]*?)\(\s*{acronym}\s*\)", text):
        meaning = words(match.group(1))
        if language in FRENCH:
            if initials(" ".join(meaning)).endswith(acronym):
                return True
        elif len(meaning) >= 2:
            return True
    return False


def unexplained_acronyms(text: str, language: str) -> list[str]:
    return sorted({a for a in ACRONYM.findall(text)
                   if a not in ALLOWED_ACRONYMS and not explained(text, a, language)})


# ----------------------------------------------------------------------------- the texts


def message_texts(language: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every translation of a kiosk.po."""
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=locale_name(language))
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else message.string or ()
        for string in strings:
            yield f"kiosk.po {message.id!r}", string


def catalog_texts(language: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every text of the procedure catalog written in ``language``.

    The service's contact is one French string shown in every language: it counts as French.
    """
    for procedure in load_catalog(languages=CATALOG_LANGUAGES):
        if language == "fr":
            yield f"{procedure.code}.toml service.contact", procedure.service.contact
        for key, text in procedure.texts():
            if text.has(language):
                yield f"{procedure.code}.toml {key}.{language}", text.get(language)


# ----------------------------------------------------------------------------- the rules


def test_every_catalog_text_has_an_easy_read_version() -> None:
    assert load_catalog(languages=(FALC,)).missing(FALC) == []


@pytest.mark.parametrize("source", ["messages", "catalog"])
def test_easy_read_sentences_have_at_most_15_words(source: str) -> None:
    texts = list(message_texts(FALC) if source == "messages" else catalog_texts(FALC))
    assert len(texts) > 20, "too few easy-read texts: the check would be empty"
    too_long = [(where, s) for where, text in texts for s in long_sentences(text)]
    assert too_long == []
    lengths = [len(words(s)) for _where, text in texts for s in sentences(text)]
    print(f"{source}: {len(lengths)} FALC sentences, median {statistics.median(lengths)} "
          f"words, longest {max(lengths)}")


@pytest.mark.parametrize("language", ACRONYM_CHECKED_MESSAGES)
def test_no_message_leaves_an_acronym_unexplained(language: str) -> None:
    bare = [(where, unexplained_acronyms(text, language))
            for where, text in message_texts(language) if unexplained_acronyms(text, language)]
    assert bare == []


@pytest.mark.parametrize("language", CATALOG_LANGUAGES)
def test_no_catalog_text_leaves_an_acronym_unexplained(language: str) -> None:
    bare = [(where, unexplained_acronyms(text, language))
            for where, text in catalog_texts(language) if unexplained_acronyms(text, language)]
    assert bare == []


# ----------------------------------------------------------------------------- the checks


def test_a_long_sentence_is_caught_and_a_placeholder_is_one_word() -> None:
    long = "Vous pouvez donner votre adresse e-mail ou votre numéro de téléphone pour que " \
           "le service vous contacte au sujet de ce dossier."
    assert long_sentences(long) == [long]
    assert long_sentences("Seul {service} reçoit vos papiers. La borne efface tout.") == []
    assert sentences("Son site : cnil.fr. Merci !") == ["Son site : cnil.fr.", "Merci !"]


@pytest.mark.parametrize(("text", "language", "bare"), [
    ("Aide au logement (CAF)", "fr", ["CAF"]),
    ("Demande d'APL, d'ALF ou d'ALS.", "fr", ["ALF", "ALS", "APL"]),
    ("Caisse d'allocations familiales (CAF)", "fr", []),
    ("Relevé d'identité bancaire (RIB)", FALC, []),
    ("Maison départementale des personnes handicapées (MDPH). La MDPH répond.", "fr", []),
    ("Relevé de banque (RIB)", "fr", ["RIB"]),
    ("Family allowance fund (CAF)", "en", []),
    ("(CAF)", "es", ["CAF"]),
    ("صندوق الإعانات العائلية (CAF)", "ar", []),
    ("Montrez le QR code au lecteur.", FALC, []),
])
def test_an_acronym_counts_as_explained_only_beside_its_meaning(text: str, language: str,
                                                                bare: list[str]) -> None:
    assert unexplained_acronyms(text, language) == bare
