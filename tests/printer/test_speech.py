"""The receipt read aloud holds everything needed to check the deposit (EN 301 549 5.1.3.16)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

from deposit.ids import DepositId
from printer.receipt import ProcessingTime, Transmission
from printer.samples import sample_receipt
from printer.speech import receipt_speech, speech_text, spell_deposit_id


def test_the_number_is_spelled_one_character_at_a_time_with_pauses_between_groups() -> None:
    assert spell_deposit_id(DepositId("D3M0", 59_756_220)) == "D, 3, M, 0. 0, 1, R, Z. K, N, W, S"


def test_check_symbols_are_named_in_the_citizens_language() -> None:
    deposit_id = next(DepositId("K012", s) for s in range(100) if DepositId("K012", s).check == "*")
    assert spell_deposit_id(deposit_id, "fr").endswith("étoile")
    assert spell_deposit_id(deposit_id, "en").endswith("star")


def test_the_french_speech_holds_everything_needed_to_check_the_deposit() -> None:
    said = receipt_speech(sample_receipt("fr"))
    text = "\n".join(said)
    assert said[1] == "Votre numéro de dépôt est\u00a0: D, 3, M, 0. 0, 1, R, Z. K, N, W, S."
    assert said[-1].endswith("D, 3, M, 0. 0, 1, R, Z. K, N, W, S.")   # repeated at the end
    for expected in ["samedi 22 novembre 2025 à 15 heures 57",
                     "Aide personnalisée au logement (APL)",
                     "Vous avez remis 5 documents",
                     "Pièce d’identité\u00a0: 2 pages.",
                     "Justificatif de domicile de moins de 3 mois\u00a0: 1 page.",
                     "Avis d’impôt sur le revenu\u00a0: 3 pages.",
                     "8 pages en tout.",
                     "Délai de traitement\u00a0: 30 jours.",
                     "Réponse au plus tard le lundi 22 décembre 2025.",
                     "sera transmis dès que le réseau le permettra",
                     "scannez avec votre téléphone le code QR",
                     "Téléphone\u00a0: 32 30."]:
        assert expected in text, expected
    assert "http" not in text   # nobody wants an URL and its token read aloud


def test_the_english_speech_says_the_same_in_english() -> None:
    receipt = dataclasses.replace(sample_receipt("en"), transmission=Transmission.SENT,
                                  processing_time=ProcessingTime(days=10, working_days=True))
    text = speech_text(receipt)
    for expected in ["Deposit receipt.", "Saturday, 22 November 2025 at 15:57",
                     "Identity document: 2 pages.", "Processing time: 10 working days.",
                     "Answer by Friday, 5 December 2025 at the latest.",
                     "Your dossier has been sent to the service."]:
        assert expected in text, expected


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_reads_each_character_of_the_number_as_a_word_of_its_own() -> None:
    spelled = spell_deposit_id(DepositId("D3M0", 59_756_220))
    phonemes = subprocess.run(["espeak-ng", "-v", "fr", "-q", "-x", spelled], capture_output=True,
                              text=True, check=True, timeout=30).stdout.split()
    assert len(phonemes) == 12, phonemes


@pytest.mark.parametrize(("language", "expected"), [
    ("es", ["Justificante de depósito.",
            "Su número de depósito es: D, 3, M, 0. 0, 1, R, Z. K, N, W, S.",
            "sábado, 22 de noviembre de 2025 a las 15 horas y 57 minutos",
            "Documento de identidad: 2 páginas.", "8 páginas en total.",
            "Plazo de tramitación: 30 días.",
            "Respuesta a más tardar el lunes, 22 de diciembre de 2025."]),
    ("ar", ["إيصال الإيداع.", "رقم إيداعك هو: D, 3, M, 0. 0, 1, R, Z. K, N, W, S.",
            "السبت، 22 نوفمبر 2025 عند الساعة 15 و57 دقيقة",
            "وثيقة الهوية: 2 صفحتان.", "مدة المعالجة: 30 يوما."]),
    ("fr-falc", ["Preuve de dépôt.",
                 "Votre numéro de dépôt est\u00a0: D, 3, M, 0. 0, 1, R, Z. K, N, W, S.",
                 "le samedi 22 novembre 2025 à 15 heures 57",
                 "Le service a besoin de 30 jours pour étudier votre dossier.",
                 "Le code QR est le carré noir et blanc"]),
])
def test_the_speech_of_each_new_language_spells_the_number_and_says_the_time_in_words(
        language: str, expected: list[str]) -> None:
    said = receipt_speech(sample_receipt(language))
    text = "\n".join(said)
    for words in expected:
        assert words in text, words
    assert said[-1].endswith("D, 3, M, 0. 0, 1, R, Z. K, N, W, S.")
    assert "http" not in text and "15:57" not in text


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
@pytest.mark.parametrize(("voice", "language"), [("es", "es"), ("ar", "ar"), ("fr", "fr-falc")])
def test_espeak_reads_the_spelled_number_character_by_character_in_each_voice(
        voice: str, language: str) -> None:
    spelled = spell_deposit_id(DepositId("D3M0", 59_756_220), language)
    phonemes = subprocess.run(["espeak-ng", "-v", voice, "-q", "-x", spelled],
                              capture_output=True, text=True, check=True,
                              timeout=30).stdout.split()
    # Arabic reads the Latin letters with its English voice ("(en)d'i:(ar)" is one word);
    # Spanish says W in two ("uve doble"): at least one word a character, none merged.
    assert len(phonemes) >= 12, phonemes
