"""What espeak-ng receives, per language, and how it reads it (``espeak-ng -x`` prints the
phonemes it would say: the ear's view of a text, without a loudspeaker)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deposit.ids import DepositId
from kiosk.spoken import entry, masked, speakable, spell
from printer.speech import spell_deposit_id

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (Debian package espeak-ng)")
VOICES = {"fr": "fr", "en": "en-gb", "es": "es", "ar": "ar"}


def phonemes(text: str, language: str) -> str:
    """What espeak-ng would say, as its phoneme mnemonics, one clause a line."""
    return subprocess.run(["espeak-ng", "-v", VOICES[language], "-q", "-x"], input=text,
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


# (language, what the screen shows, what espeak-ng receives)
RECEIVED = [
    ("fr", "Rendez-vous à 8 h 30", "Rendez-vous à 8 heures 30"),
    ("fr", "Ouvert de 8h30 à 17h", "Ouvert de 8 heures 30 à 17 heures"),
    ("fr", "Déposé à 08:30", "Déposé à 8 heures 30"),
    ("fr", "à 12:05", "à 12 heures 5"),
    ("fr", "à 1 h 15", "à 1 heure 15"),
    ("fr", "à 0h00", "à 0 heure"),
    ("fr", "✓ Pièce d’identité", "Pièce d’identité"),
    ("fr", "⌫", "effacer"),
    ("fr", "⇧", "majuscules"),
    ("fr", "‹ Retour", "Retour"),
    ("fr", "Suivant ›", "Suivant"),
    ("fr", "→ Continuer", "Continuer"),
    ("fr", "📷 Photographier la page", "Photographier la page"),
    ("fr", "Merci 👍🏽", "Merci"),
    ("fr", "Page 1/3", "Page 1 sur 3"),
    ("fr", "Dossier N° 12", "Dossier numéro 12"),
    ("fr", "Envoi en cours… patientez", "Envoi en cours, patientez"),
    ("fr", "• Pièce d’identité\n• Justificatif de domicile",
     "Pièce d’identité\nJustificatif de domicile"),
    ("fr", "Né le 22/11/2025 à Lyon", "Né le 22/11/2025 à Lyon"),
    ("fr", "8 hommes", "8 hommes"),
    ("fr", "Tarif\u00a0: 10\u202f€", "Tarif : 10 €"),
    ("fr-falc", "à 8 h", "à 8 heures"),
    ("en", "Open at 8:30", "Open at 8:30"),
    ("en", "Open at 08:30", "Open at 8:30"),
    ("en", "Open at 8 h 30", "Open at 8:30"),
    ("en", "Open at 8:05", "Open at 8 oh 5"),
    ("en", "Closes at 12:00", "Closes at 12 o'clock"),
    ("en", "Closes at 17:00", "Closes at 17 hundred hours"),
    ("en", "⌫", "delete"),
    ("en", "Page 2/3", "Page 2 of 3"),
    ("en", "✓ Identity document", "Identity document"),
    ("es", "Abre a las 8:30", "Abre a las 8 y 30"),
    ("es", "Abre a las 8:05", "Abre a las 8 y 5"),
    ("es", "Cierra a las 14:00", "Cierra a las 14 en punto"),
    ("es", "Cita a las 9h15", "Cita a las 9 y 15"),
    ("es", "⌫", "borrar"),
    ("es", "Página 1/3", "Página 1 de 3"),
    ("ar", "الموعد 8:30", "الموعد 8 و 30"),
    ("ar", "الموعد 8:05", "الموعد 8 و 5"),
    ("ar", "الموعد 14:00", "الموعد 14"),
    ("ar", "⌫", "حذف"),
    ("ar", "الصفحة 1/3", "الصفحة 1 من 3"),
    ("ar", "✓ بطاقة الهوية", "بطاقة الهوية"),
    ("xx", "à 8 h", "à 8 heures"),           # an unknown language is read as French
]


@pytest.mark.parametrize(("language", "shown", "received"), RECEIVED)
def test_espeak_receives_text_written_for_the_ear(language: str, shown: str,
                                                  received: str) -> None:
    assert speakable(shown, language) == received


# (language, what the screen shows, the same said in words, a phoneme espeak must not say)
HEARD = [
    ("fr", "8 h 30", "huit heures trente", "aS"),          # the letter h: "ache"
    ("fr", "8h30", "huit heures trente", "aS"),
    ("fr", "12:05", "douze heures cinq", "zero"),
    ("fr", "8 h", "huit heures", "aS"),
    ("en", "8:05", "eight oh five", "z'i@roU"),
    ("en", "12:00", "twelve o'clock", "z'i@roU"),
    ("es", "8:05", "ocho y cinco", "T'e**o"),
    ("es", "12:00", "doce en punto", "T'e**o"),
    ("ar", "8:05", "", "s[-'ifR"),                         # sifr: zero
    ("fr", "📷 Photo", "Photo", "apar'Ej"),                 # appareil (photo), in French
    ("en", "👍 Thanks", "Thanks", "T'Vmz"),                 # thumbs (up)
]


@needs_espeak
@pytest.mark.parametrize(("language", "shown", "words", "wrong"), HEARD)
def test_espeak_says_times_and_symbols_as_people_say_them(language: str, shown: str,
                                                          words: str, wrong: str) -> None:
    assert wrong in phonemes(shown, language)          # read as shown: wrong
    heard = phonemes(speakable(shown, language), language)
    assert wrong not in heard
    if words:
        assert heard == phonemes(words, language)


def test_a_deposit_number_is_spelled_as_the_receipt_spells_it() -> None:
    number = DepositId("D3M0", 59_756_220)
    for language in ("fr", "en"):
        assert spell(str(number), language) == spell_deposit_id(number, language)
    assert spell("K012-7F3Q-9XMV", "fr") == "K, 0, 1, 2. 7, F, 3, Q. 9, X, M, V"


def test_spelling_names_punctuation_in_the_citizens_language() -> None:
    assert spell("jo.b@x", "fr", separators=" ") == "j, o, point, b, arobase, x"
    assert spell("jo.b@x", "en", separators="") == "j, o, dot, b, at, x"
    assert spell("A*1", "es") == "A, asterisco, 1"       # not the French "étoile"
    assert spell("A*1", "ar") == "A, نجمة, 1"
    assert spell("  ", "fr") == ""


@needs_espeak
def test_espeak_reads_each_spelled_character_as_a_word_of_its_own() -> None:
    said = phonemes(spell("K0-A", "es"), "es").split()
    assert len(said) == 3, said


def test_a_typed_entry_is_read_with_its_punctuation_and_digits_named() -> None:
    assert entry("jean.dupont@example.fr", "fr") == "jean point dupont arobase example point fr"
    assert entry("ana_b@x.es", "es") == "ana guion bajo b arroba x punto es"
    assert entry("0612345678", "fr") == "0 6 1 2 3 4 5 6 7 8"
    assert entry("06 12", "en") == "06 12"


@needs_espeak
def test_a_long_phone_number_is_not_read_as_one_big_number() -> None:
    assert "milj'O~" in phonemes("612345678", "fr")     # six cent douze millions...
    assert phonemes(entry("612345678", "fr"), "fr") == phonemes("6 1 2 3 4 5 6 7 8", "fr")


def test_the_masked_sentence_counts_characters_in_each_language() -> None:
    assert masked(14, "fr") == "saisie masquée, 14 caractères"
    assert masked(1, "fr-falc") == "saisie masquée, 1 caractère"
    assert masked(0, "fr") == "saisie masquée, vide"
    assert masked(3, "en") == "hidden entry, 3 characters"
    assert masked(3, "es") == "entrada oculta, 3 caracteres"
    assert masked(3, "ar") == "إدخال مخفي، عدد الأحرف 3"
    assert masked(3, "de") == "saisie masquée, 3 caractères"
