"""Messages to the citizen: personal data refused with a reason, ordinary messages kept as written.

The corpora below are realistic staff messages. ``LEGIT`` and ``PERSONAL`` are in-sample: the
detector was tuned until they all pass. ``HELD_OUT_LEGIT`` and ``HELD_OUT_PERSONAL`` were written
before the detector existed and were never used to tune it: their test only pins the error count
measured on the first run, so that a change that makes them worse is seen (see the report of the
branch ``personaldata`` for the figures).
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.personaldata import (
    MAX_LENGTH,
    Finding,
    MessageFormatError,
    MessageProblem,
    PersonalDataError,
    PersonalDataKind,
    check_message,
    find_personal_data,
)

TODAY = date(2026, 12, 1)

EMAIL = PersonalDataKind.EMAIL
PHONE = PersonalDataKind.PHONE
IBAN = PersonalDataKind.IBAN
BIRTH = PersonalDataKind.BIRTH_DATE
NATIONAL = PersonalDataKind.NATIONAL_NUMBER
CARD = PersonalDataKind.PAYMENT_CARD


def kinds(text: str) -> set[PersonalDataKind]:
    return {f.kind for f in find_personal_data(text, today=TODAY)}


def found(text: str) -> list[str]:
    """The substrings found, in order."""
    return [text[f.start:f.end] for f in find_personal_data(text, today=TODAY)]


# ---------------------------------------------------------------- corpora (in-sample)

LEGIT = [
    "Votre dossier K7QM-00A3-Z91X est complet. Il sera instruit dans un délai de deux mois.",
    "Il manque le justificatif de domicile de moins de 3 mois. Merci de le déposer avant le "
    "15/01/2027 à une borne, en présentant votre reçu.",
    "Votre demande est incomplète (article L114-5 du code des relations entre le public et "
    "l'administration). Pièces manquantes :\n- copie intégrale de l'acte de naissance de moins "
    "de 3 mois\n- justificatif de domicile\nDélai : d'ici le 3 mars 2027.",
    "Votre dossier est accepté. Le titre sera disponible en mairie à partir du 12 janvier 2027.",
    "Le montant des droits est de 1 250,00 €. Le paiement se fait en ligne sur le site de la "
    "DGFiP.",
    "Pour toute question, appelez le 3939 (Allô Service Public) du lundi au vendredi de 8 h 30 "
    "à 18 h.",
    "Votre demande est rejetée : les revenus déclarés dépassent le plafond de 25 000 € fixé pour "
    "2026. Vous pouvez former un recours gracieux sous 2 mois (article R421-1 du code de justice "
    "administrative).",
    "Le rendez-vous de remise du titre est fixé le 08/01/2027 à 10 h 15, guichet 3.",
    "Merci de fournir le formulaire cerfa n° 12100*03 signé et daté.",
    "Votre dossier a bien été reçu le 28/11/2026. Un accusé de réception vous a été adressé "
    "(article R112-5).",
    "Your application is complete. A decision will be made within 30 days.",
    "Missing document: proof of address dated less than 3 months ago. Please bring it to any "
    "kiosk before 15 January 2027.",
    "Su expediente está completo. Recibirá una respuesta en un plazo de dos meses.",
    "ملفك مكتمل. سيتم الرد عليك خلال شهرين.",
    "Le justificatif de ressources 2025 (avis d'imposition sur les revenus 2024) est illisible. "
    "Merci de le numériser à nouveau avant le 31/01/2027.",
    "Votre dossier complémentaire 4RT2-0K9M-3QZA a été rattaché à la demande principale "
    "4RT2-0K7X-8PLA.",
    "Le service instructeur de Paris 15e (75015) vous recevra sur rendez-vous.",
    "Pour la carte grise, la taxe régionale s'élève à 46,15 € par cheval fiscal, soit 369,20 € "
    "pour 8 CV.",
    "Délai de traitement actuel : 6 à 8 semaines. Merci de ne pas redéposer de dossier d'ici là.",
    "La décision implicite d'acceptation interviendra le 2 février 2027 en l'absence de réponse "
    "(article L231-1).",
    "La photo d'identité ne respecte pas la norme ISO/IEC 19794-5 : fond non uni. Merci de "
    "fournir une nouvelle photo de moins de 6 mois.",
    "Votre allocation est fixée à 412,50 € par mois à compter du 1er janvier 2027.",
    "Merci de joindre l'extrait d'acte de naissance avec filiation, daté de moins de 3 mois à la "
    "date du dépôt.",
    "Documents requis (décret n° 2016-1460 du 28 octobre 2016) : pièce d'identité, justificatif "
    "de domicile, 2 photos.",
    "Vous pouvez suivre votre démarche sur service-public.fr, rubrique « Mes démarches ».",
    "Le délai de recours contentieux est de 2 mois à compter de la notification de la présente "
    "décision, devant le tribunal administratif de Lyon.",
    "Les horaires d'ouverture du service changent à compter du 04/01/2027 : 9 h - 12 h et "
    "14 h - 17 h.",
    "Dossier n° ABCD-1234-EFGH : la date de naissance figurant sur le formulaire ne correspond "
    "pas à celle de l'acte. Merci de corriger le formulaire avant le 20/01/2027.",
    "Le numéro fiscal n'est pas indiqué sur le formulaire : merci de le compléter (il figure sur "
    "votre avis d'impôt) et de redéposer le formulaire.",
    "The birth certificate you provided is not translated. Please provide a certified "
    "translation by 28 February 2027.",
    "Your residence permit renewal (procedure CERFA 15186*02) was approved on 30/11/2026.",
    "Montant restant à régler : 86 €. Référence de paiement : 2026-TS-004512.",
    "Merci de présenter les originaux au guichet 2, bâtiment B, 3e étage, entre le 10 et le "
    "20 décembre 2026.",
    "La pièce n° 3 (relevé de situation) est incomplète : les pages 2 à 4 manquent.",
    "En application de l'article D331-1, la demande doit être accompagnée de 3 devis.",
    "Le quotient familial retenu est de 1 024 €, ce qui ouvre droit au tarif B.",
    "Merci de ne pas indiquer de coordonnées bancaires dans vos pièces : le remboursement se fera "
    "par virement sur le compte déjà enregistré.",
    "Numéro de la procédure : PRC-2026-0415. Délai de réponse : 15 jours ouvrés.",
    "Votre passage est prévu le 12/01/2027 entre 14 h 00 et 16 h 00.",
    "Veuillez compléter la rubrique « date et lieu de naissance » du formulaire, puis le "
    "redéposer d'ici le 31 janvier 2027.",
    "Le taux de prise en charge est de 70 % dans la limite de 1 500 € par an.",
    "Your file K7QM-00B4-12C7 is under review. You will be contacted by post.",
    "Plazo para presentar los documentos que faltan: hasta el 15 de enero de 2027.",
    "Le dossier a été transmis le 02/12/2026 au service de l'état civil de la commune de "
    "naissance pour vérification.",
    "Contactez le 3230 pour toute question sur votre dossier de prime d'activité.",
    "Avis de situation déclarative 2026 reçu. Revenu fiscal de référence pris en compte : "
    "18 450 €.",
    "Please apply online at service-public.fr and keep your receipt.",
    "Entreprise titulaire du marché : SIRET 732 829 320 00074.",
]

PERSONAL: list[tuple[str, set[PersonalDataKind]]] = [
    ("Merci de nous écrire à jean.dupont@gmail.com pour la suite.", {EMAIL}),
    ("Contact : marie-claire.martin85@orange.fr", {EMAIL}),
    ("Envoyez le justificatif à jean [at] orange [dot] fr avant le 15/01/2027.", {EMAIL}),
    ("Réponse envoyée à jean(at)free.fr le 28/11/2026.", {EMAIL}),
    ("Please email jean.dupont at gmail.com with the missing page.", {EMAIL}),
    ("Écrivez à l.bernard＠laposte.net", {EMAIL}),
    ("Adresse indiquée : sophie_durand arobase hotmail point fr", {EMAIL}),
    ("Vous pouvez joindre Mme Petit : a.petit@mairie-exemple.fr", {EMAIL}),
    ("Merci de rappeler Mme Martin au 06 12 34 56 78.", {PHONE}),
    ("Tél : 06.12.34.56.78", {PHONE}),
    ("Nous avons essayé de vous joindre au 0612345678 sans succès.", {PHONE}),
    ("Numéro indiqué : +33 6 12 34 56 78", {PHONE}),
    ("Votre conseiller : +33 (0)1 45 67 89 10", {PHONE}),
    ("Appelez le 0033612345678", {PHONE}),
    ("Contact in London: +44 20 7946 0958", {PHONE}),
    ("Pour le service, composez le 01 40 00 12 34.", {PHONE}),
    ("Tel. 07-81-22-33-44, heures de bureau", {PHONE}),
    ("Service des titres : 0 800 123 456 (appel gratuit)", {PHONE}),
    ("Le remboursement sera versé sur le compte FR76 3000 6000 0112 3456 7890 189.", {IBAN}),
    ("IBAN enregistré : FR7630006000011234567890189", {IBAN}),
    ("Compte indiqué : DE89 3704 0044 0532 0130 00", {IBAN}),
    ("Le RIB fourni (30006 00001 12345678901 89) ne correspond pas au titulaire.", {IBAN}),
    ("IBAN : FR76 3000 6000 0112 3456 7890 180 (erreur de clé ?)", {IBAN}),
    ("Virement depuis GB29 NWBK 6016 1331 9268 19.", {IBAN}),
    ("Compte bancaire : ES91 2100 0418 4502 0005 1332", {IBAN}),
    ("Le demandeur, né le 12/03/1985, doit fournir une photo récente.", {BIRTH}),
    ("Date de naissance : 1985-03-12", {BIRTH}),
    ("Votre enfant, née le 3 mars 2019 à Lyon, doit être présente au rendez-vous.", {BIRTH}),
    ("Applicant born on 12 March 1985 in Dakar.", {BIRTH}),
    ("DOB: 03/12/1985", {BIRTH}),
    ("Solicitante nacido el 12/03/1985 en Sevilla.", {BIRTH}),
    ("Fecha de nacimiento: 12-03-1985", {BIRTH}),
    ("Mme Durand, née à Saint-Étienne (Loire) le 5 juillet 1962, doit signer le formulaire.",
     {BIRTH}),
    ("Nous avons enregistré la date de naissance 12.03.85, qui semble erronée.", {BIRTH}),
    ("Numéro de sécurité sociale : 1 85 03 75 115 042 16", {NATIONAL}),
    ("NIR indiqué sur le formulaire : 185037511504216", {NATIONAL}),
    ("N° SS 1 85 03 75 115 042 27 (clé incorrecte)", {NATIONAL}),
    ("Assuré : 1 78 06 2A 004 015 38", {NATIONAL}),
    ("Votre numéro fiscal 12 34 567 890 123 figure sur l'avis.", {NATIONAL}),
    ("Numéro fiscal : 0123456789012", {NATIONAL}),
    ("NIR 2 02 07 971 05 118 41 (né en Guadeloupe)", {NATIONAL}),
    ("Paiement refusé pour la carte 4111 1111 1111 1111.", {CARD}),
    ("Carte n° 5555555555554444, merci de ne plus l'envoyer.", {CARD}),
    ("Amex 3782 822463 10005 utilisée pour le paiement.", {CARD}),
    ("Né le 12/03/1985, joignable au 06 12 34 56 78 ou à jean.dupont@gmail.com.",
     {BIRTH, PHONE, EMAIL}),
    ("Bonjour,\nvotre dossier est accepté.\nVersement sur :\nFR76 3000 6000 0112 3456 7890 189\n"
     "Cordialement", {IBAN}),
    ("DE : M. Ali Haddad\nTél. +33 7 81 22 33 44\nCourriel : ali.haddad@outlook.com",
     {PHONE, EMAIL}),
    ("تاريخ الميلاد: 12/03/1985", {BIRTH}),
]

# ---------------------------------------------------------------- corpora (HELD OUT)
# Written before the detector, never used to tune it. Do not edit these to make a test pass.

HELD_OUT_LEGIT = [
    "Votre dossier 9XK2-00PQ-7M3D est en cours d'instruction. Réponse prévue avant le "
    "28 février 2027.",
    "Pièce manquante : attestation d'hébergement signée, avec la copie de la pièce d'identité de "
    "l'hébergeant. Date limite : 22/01/2027.",
    "Les frais de dossier (35,00 €) ne sont pas remboursables.",
    "Conformément à l'article R114-10, votre demande est réputée complète à la date du 25/11/2026.",
    "Merci d'apporter l'acte de naissance de chaque enfant mineur (copie intégrale, moins de "
    "3 mois).",
    "The document you uploaded on 14/11/2026 is blurred; please scan it again at a kiosk before "
    "10 January 2027.",
    "Votre titre de séjour sera remis au guichet 4 du 15 au 19 février 2027, de 9 h à 11 h 30.",
    "Plafond de ressources : 31 500 € pour un foyer de 3 personnes (barème 2026).",
    "Ustedes pueden presentar un recurso en un plazo de 2 meses a partir del 01/12/2026.",
    "Pour joindre Allô Service Public, composez le 3939 (service gratuit + prix d'un appel).",
    "Votre demande de bourse est acceptée : échelon 4, soit 3 450 € par an, versés en "
    "10 mensualités.",
    "Le formulaire 2042-C-PRO doit être joint au dossier.",
    "Veuillez vérifier la date de naissance de votre enfant sur le livret de famille et nous "
    "renvoyer le formulaire corrigé avant le 05/02/2027.",
    "Votre dossier n° 3F7A-0BC2-91ZK a été clôturé le 30/11/2026 à votre demande.",
    "Décision prise le 01/12/2026 en application de l'article L231-4 du CRPA.",
    "تم قبول طلبك. يرجى الحضور يوم 12/01/2027 لاستلام الوثيقة.",
    "Le montant de l'amende forfaitaire est de 135 €, minoré à 90 € en cas de paiement sous "
    "15 jours.",
    "Lieu de dépôt : mairie annexe, 12 rue de la République, 69002 Lyon.",
    "Merci d'indiquer sur le formulaire votre numéro de sécurité sociale (sans l'écrire dans vos "
    "messages).",
    "Your application for a replacement card (ref. 2026/11/0457) was received on "
    "2 December 2026.",
]

HELD_OUT_PERSONAL: list[tuple[str, set[PersonalDataKind]]] = [
    ("Réponse du demandeur reçue depuis p.lefebvre@wanadoo.fr.", {EMAIL}),
    ("Adresse : karim.benali (at) yahoo (dot) fr", {EMAIL}),
    ("You may write to anna.schmidt@web.de for the translation.", {EMAIL}),
    ("Mail du tuteur : tuteur.legal@sfr.fr", {EMAIL}),
    ("Joignable au 07 68 12 45 90 après 18 h.", {PHONE}),
    ("Numéro de l'intéressé : +33 7 68 12 45 90", {PHONE}),
    ("Merci de rappeler le 04.91.55.20.20 (accueil de la mairie).", {PHONE}),
    ("Telefono: +34 612 345 678", {PHONE}),
    ("Coordonnées bancaires reçues : FR14 2004 1010 0505 0001 3M02 606.", {IBAN}),
    ("Compte : BE68 5390 0754 7034", {IBAN}),
    ("RIB : 10278 06076 00020115601 09", {IBAN}),
    ("IBAN du bénéficiaire : IT60 X054 2811 1010 0000 0123 456", {IBAN}),
    ("M. Nguyen, né le 2 janvier 1974, est convoqué le 10/01/2027.", {BIRTH}),
    ("Date of birth: 21/07/1990", {BIRTH}),
    ("Enfant : Léa, née le 14.02.2015.", {BIRTH}),
    ("nacida el 8 de mayo de 1979", {BIRTH}),
    ("Numéro de sécurité sociale de l'assuré : 2 91 11 69 123 456 84", {NATIONAL}),
    ("NIR : 264092B03321072", {NATIONAL}),
    ("N° fiscal de référence : 30 12 345 678 901", {NATIONAL}),
    ("Sécurité sociale 1 70 01 13 055 100 61", {NATIONAL}),
    ("Le paiement par la carte 4012 8888 8888 1881 a échoué.", {CARD}),
    ("Carte bancaire : 5105 1051 0510 5100", {CARD}),
    ("Mme Roux (née le 30/09/1988) : 06 45 78 12 36.", {BIRTH, PHONE}),
    ("Appelez-moi au 06 61 23 45 67 svp", {PHONE}),
]

#: Errors measured on the held-out corpora at their first and only measured run, after tuning on
#: the in-sample corpora was done (2026-12-05): none of the 20 legitimate messages refused, none
#: of the 24 with personal data let through, none refused under other kinds than expected. The
#: held-out messages share their author with the detector, so they share its blind spots too.
HELD_OUT_BUDGET = {"refused_legit": 0, "missed_personal": 0, "wrong_kinds": 0}


def test_the_corpora_are_as_large_as_issue_14_asks() -> None:
    assert len(LEGIT) >= 40
    assert len(PERSONAL) >= 40
    assert len(HELD_OUT_LEGIT) >= 20
    assert len(HELD_OUT_PERSONAL) >= 20
    every_kind = set(PersonalDataKind)
    assert set().union(*(k for _, k in PERSONAL)) == every_kind
    assert set().union(*(k for _, k in HELD_OUT_PERSONAL)) == every_kind


@pytest.mark.parametrize("message", LEGIT)
def test_an_ordinary_staff_message_passes_unchanged(message: str) -> None:
    assert find_personal_data(message, today=TODAY) == []
    assert check_message(message, today=TODAY) == message


@pytest.mark.parametrize(("message", "expected"), PERSONAL)
def test_a_message_with_personal_data_is_refused_naming_each_kind(
    message: str, expected: set[PersonalDataKind]
) -> None:
    assert kinds(message) == expected
    with pytest.raises(PersonalDataError):
        check_message(message, today=TODAY)


def held_out_errors() -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {"refused_legit": [], "missed_personal": [], "wrong_kinds": []}
    for message in HELD_OUT_LEGIT:
        if find_personal_data(message, today=TODAY):
            errors["refused_legit"].append(message)
    for message, expected in HELD_OUT_PERSONAL:
        got = kinds(message)
        if not got:
            errors["missed_personal"].append(message)
        elif got != expected:
            errors["wrong_kinds"].append(message)
    return errors


def test_the_held_out_corpora_do_no_worse_than_when_first_measured() -> None:
    errors = held_out_errors()
    counts = {name: len(messages) for name, messages in errors.items()}
    assert all(counts[name] <= HELD_OUT_BUDGET[name] for name in counts), errors


# ---------------------------------------------------------------- e-mail addresses


@pytest.mark.parametrize(
    ("message", "address"),
    [
        ("Écrire à jean.dupont@gmail.com.", "jean.dupont@gmail.com"),
        ("Écrire à jean.dupont at gmail.com ce soir", "jean.dupont at gmail.com"),
        ("Écrire à jean [at] orange [dot] fr ce soir", "jean [at] orange [dot] fr"),
        ("Écrire à jean(at)free.fr ce soir", "jean(at)free.fr"),
        ("Écrire à jean＠free.fr ce soir", "jean＠free.fr"),
        ("Écrire à jean arobase free point fr ce soir", "jean arobase free point fr"),
        ("Écrire à JEAN.DUPONT@GMAIL.COM", "JEAN.DUPONT@GMAIL.COM"),
        ("Écrire à jean.dupont@gmail ce soir", "jean.dupont@gmail"),
    ],
)
def test_an_email_address_is_found_in_plain_and_obfuscated_forms(message, address) -> None:
    assert found(message) == [address]
    assert kinds(message) == {EMAIL}


def test_the_word_at_before_a_website_is_not_an_email_address() -> None:
    assert kinds("Apply online at service-public.fr or visit us at the town hall.") == set()


def test_an_at_sign_without_a_domain_is_an_address_only_for_a_webmail_or_a_dotted_name() -> None:
    assert kinds("Réunion prévue salle@accueil demain.") == set()
    assert kinds("Écrire à marie@orange demain.") == {EMAIL}


def test_an_email_reason_masks_the_address_and_says_why() -> None:
    message = "Écrire à jean.dupont@example.fr."
    (finding,) = find_personal_data(message, today=TODAY)
    assert finding.start == message.index("jean")
    assert "j***@e***.fr" in finding.reason
    assert "jean" not in finding.reason and "dupont" not in finding.reason
    assert "public" in finding.reason
    assert f"characters {finding.start + 1}-{finding.end}" in finding.reason


# ---------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    "number",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "(+33) 6 12 34 56 78",
        "+33612345678",
        "0033612345678",
        "0033 6 12 34 56 78",
        "+44 20 7946 0958",
        "+1 (555) 123-4567",
        "0 800 123 456",
        "٠٦ ١٢ ٣٤ ٥٦ ٧٨",
    ],
)
def test_a_phone_number_is_found_in_every_common_shape(number: str) -> None:
    message = f"Rappeler le {number} demain."
    assert found(message) == [number]
    assert kinds(message) == {PHONE}


@pytest.mark.parametrize(
    "message",
    [
        "Appelez le 3939 ou le 3230.",
        "Montant : 1 250,00 € à régler.",
        "Montant : 1 250 000 € à régler.",
        "Avant le 15/01/2027, ou le 15.01.2027, ou le 2027-01-15.",
        "Pour l'année 2026 et l'année 2027.",
        "Service de Paris (75015), ou Lyon 69002.",
        "Dossier 0612-3456-7890 et dossier K7QM-00A3-Z91X.",
        "Articles L114-5, R112-5 et D331-1.",
        "Réponse sous 30 jours, ou sous 2 mois.",
        "Rendez-vous le 03/02/2027 14 h 30, guichet 12.",
        "Entreprise SIRET 732 829 320 00074, SIREN 732 829 320.",
    ],
)
def test_numbers_that_are_not_phone_numbers_are_left_alone(message: str) -> None:
    assert kinds(message) == set()


def test_the_phone_reason_says_that_even_the_service_number_is_refused() -> None:
    (finding,) = find_personal_data("Service : 01 40 00 12 34", today=TODAY)
    assert finding.kind is PHONE
    assert "service" in finding.reason
    assert "01 40 00 12 34" not in finding.reason


# ---------------------------------------------------------------- bank accounts and cards


@pytest.mark.parametrize(
    "account",
    [
        "FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        "fr76 3000 6000 0112 3456 7890 189",
        "FR14 2004 1010 0505 0001 3M02 606",
        "DE89 3704 0044 0532 0130 00",
        "GB29 NWBK 6016 1331 9268 19",
        "MA64 0115 1900 0001 2050 0053 4921",
        "30006 00001 12345678901 89",
        "30006000011234567890189",
    ],
)
def test_a_bank_account_is_found_as_iban_or_rib(account: str) -> None:
    message = f"Compte : {account}. Merci."
    assert found(message) == [account]
    assert kinds(message) == {IBAN}


def test_a_french_iban_with_a_wrong_key_is_still_refused_as_a_likely_typo() -> None:
    assert kinds("Compte FR76 3000 6000 0112 3456 7890 180.") == {IBAN}


@pytest.mark.parametrize(
    "text",
    [
        "Référence DE12 3456 7890 1234 5678 90 du marché.",   # German length, key fails
        "Référence ZZ12 3456 7890 1234 5678 9012 345.",       # no such country
        "Référence AB12 CDEF GHIJ KLMN OPQR.",
    ],
)
def test_a_string_that_fails_the_iban_check_is_not_an_iban(text: str) -> None:
    assert IBAN not in kinds(text)


@pytest.mark.parametrize(
    "card", ["4111 1111 1111 1111", "4111111111111111", "5555-5555-5555-4444", "3782 822463 10005"]
)
def test_a_luhn_valid_card_number_is_found(card: str) -> None:
    message = f"Carte {card} refusée."
    assert found(message) == [card]
    assert kinds(message) == {CARD}


def test_a_card_number_failing_luhn_is_not_a_card() -> None:
    assert CARD not in kinds("Carte 4111 1111 1111 1112 refusée.")


# ---------------------------------------------------------------- national numbers


@pytest.mark.parametrize(
    "number",
    [
        "1 85 03 75 115 042 16",
        "185037511504216",
        "1850375115042 16",
        "1 78 06 2A 004 015 38",
        "2 64 09 2B 033 210 72",
        "2 02 07 971 05 118 41",
        "1 85 03 75 115 042",
    ],
)
def test_a_social_security_number_is_found_with_spaces_or_not(number: str) -> None:
    message = f"NIR : {number} (assuré)"
    assert found(message) == [number]
    assert kinds(message) == {NATIONAL}


def test_a_social_security_number_with_a_wrong_key_but_a_valid_shape_is_refused() -> None:
    (finding,) = find_personal_data("NIR 1 85 03 75 115 042 27.", today=TODAY)
    assert finding.kind is NATIONAL
    assert "key" in finding.reason


def test_fifteen_digits_with_neither_a_valid_shape_nor_key_are_not_a_nir() -> None:
    # month 13 cannot be a NIR month, and 27 is not the key of these 13 digits
    assert NATIONAL not in kinds("Référence 1 85 13 75 115 042 27.")


@pytest.mark.parametrize("number", ["12 34 567 890 123", "0123456789012", "3012345678901"])
def test_a_tax_number_is_found(number: str) -> None:
    message = f"Numéro fiscal {number}."
    assert found(message) == [number]
    assert kinds(message) == {NATIONAL}


def test_thirteen_digits_starting_with_a_higher_digit_are_not_a_tax_number() -> None:
    assert kinds("Lot 5123456789012.") == set()


# ---------------------------------------------------------------- dates of birth


@pytest.mark.parametrize(
    ("message", "when"),
    [
        ("Né le 12/03/1985 à Lyon.", "12/03/1985"),
        ("Née le 12-03-1985.", "12-03-1985"),
        ("né(e) le 12 mars 1985", "12 mars 1985"),
        ("Date de naissance : 1985-03-12", "1985-03-12"),
        ("Date de naissance : 1er avril 1985", "1er avril 1985"),
        ("DDN 12/03/85", "12/03/85"),
        ("Born 12 March 1985 in Lagos.", "12 March 1985"),
        ("Date of birth: March 12, 1985.", "March 12, 1985"),
        ("D.O.B. 12/03/1985", "12/03/1985"),
        ("Nacido el 12 de marzo de 1985.", "12 de marzo de 1985"),
        ("Fecha de nacimiento: 12/03/1985", "12/03/1985"),
        ("Le 12/03/1985 (date de naissance) figure sur l'acte.", "12/03/1985"),
        ("Née à Boulogne-Billancourt (Hauts-de-Seine) le 3 mai 1990.", "3 mai 1990"),
        ("The birth date on your form (12/03/1985) is not the one on your passport.",
         "12/03/1985"),
        ("تاريخ الميلاد: ١٢/٠٣/١٩٨٥", "١٢/٠٣/١٩٨٥"),
    ],
)
def test_a_date_beside_a_birth_marker_is_a_date_of_birth(message: str, when: str) -> None:
    assert found(message) == [when]
    assert kinds(message) == {BIRTH}


@pytest.mark.parametrize(
    "message",
    [
        "Merci de déposer la pièce avant le 12/03/2027.",
        "Reçu le 12/03/2026.",
        "Acte de naissance reçu le 12/03/2026.",
        "Copie intégrale de l'acte de naissance datée du 12/03/2026.",
        "Birth certificate received on 12 March 2026.",
        "Corrigez la date de naissance avant le 15/01/2027.",
        "La date de naissance a été corrigée le 12/03/2026.",
        "Reçu le 12/03/2026, date de naissance illisible.",
        "Votre nom de naissance est mal orthographié, merci de corriger d'ici le 15/01/2027.",
    ],
)
def test_a_date_without_a_birth_marker_or_a_deadline_is_not_a_date_of_birth(message: str) -> None:
    assert BIRTH not in kinds(message)


def test_a_date_after_today_is_never_a_date_of_birth() -> None:
    assert kinds("Né le 12/03/2027.") == set()
    assert find_personal_data("Né le 12/03/2027.", today=date(2027, 6, 1))[0].kind is BIRTH


# ---------------------------------------------------------------- findings and check_message


def test_findings_are_sorted_and_do_not_overlap() -> None:
    message = ("NIR 1 85 03 75 115 042 16, tél. 06 12 34 56 78, né le 12/03/1985, "
               "a.b@c.fr, FR76 3000 6000 0112 3456 7890 189")
    findings = find_personal_data(message, today=TODAY)
    assert [f.kind for f in findings] == [NATIONAL, PHONE, BIRTH, EMAIL, IBAN]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_check_message_lists_every_reason() -> None:
    message = "Tél. 06 12 34 56 78\nMail : jean.dupont@gmail.com"
    with pytest.raises(PersonalDataError) as caught:
        check_message(message, today=TODAY)
    assert [f.kind for f in caught.value.findings] == [PHONE, EMAIL]
    text = str(caught.value)
    for finding in caught.value.findings:
        assert finding.reason in text
    assert "06 12 34 56 78" not in text and "jean.dupont" not in text


def test_a_reason_never_shows_the_whole_value() -> None:
    message = ("Compte FR76 3000 6000 0112 3456 7890 189, NIR 185037511504216, "
               "carte 4111111111111111")
    for finding in find_personal_data(message, today=TODAY):
        value = message[finding.start:finding.end]
        assert value not in finding.reason
        assert value.replace(" ", "") not in finding.reason.replace(" ", "")


def test_check_message_keeps_line_breaks_and_normalises_carriage_returns() -> None:
    text = "Bonjour,\n\nDossier complet.\n"
    assert check_message(text, today=TODAY) == text
    assert check_message("Un\r\nDeux\rTrois\tfin", today=TODAY) == "Un\nDeux\nTrois\tfin"


def test_check_message_accepts_the_empty_message() -> None:
    assert check_message("", today=TODAY) == ""


def test_a_message_longer_than_the_limit_is_refused_as_malformed() -> None:
    assert check_message("a" * MAX_LENGTH, today=TODAY) == "a" * MAX_LENGTH
    with pytest.raises(MessageFormatError) as caught:
        check_message("a" * (MAX_LENGTH + 1), today=TODAY)
    assert caught.value.problem is MessageProblem.TOO_LONG
    assert str(MAX_LENGTH) in str(caught.value)


def test_the_length_limit_counts_a_normalised_line_break_once() -> None:
    text = "a\r\n" * (MAX_LENGTH // 2)
    assert check_message(text, today=TODAY) == "a\n" * (MAX_LENGTH // 2)


@pytest.mark.parametrize(("char", "name"), [("\x07", "U+0007"), ("\x00", "U+0000"),
                                            ("\x1b", "U+001B"), ("\x85", "U+0085")])
def test_a_control_character_is_refused_and_named(char: str, name: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        check_message(f"Dossier{char} complet", today=TODAY)
    assert caught.value.problem is MessageProblem.CONTROL_CHARACTER
    assert name in str(caught.value)
    assert "character 8" in str(caught.value)


def test_every_control_character_of_a_message_is_named() -> None:
    with pytest.raises(MessageFormatError) as caught:
        check_message("a\x07b\x1bc", today=TODAY)
    assert "U+0007 at character 2" in str(caught.value)
    assert "U+001B at character 4" in str(caught.value)


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069"])
def test_a_bidi_override_is_refused_because_it_can_disguise_text(char: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        check_message(f"Dossier {char}etelpmoc", today=TODAY)
    assert caught.value.problem is MessageProblem.BIDI_CONTROL
    assert f"U+{ord(char):04X}" in str(caught.value)


def test_the_two_errors_are_value_errors_and_distinct() -> None:
    assert issubclass(PersonalDataError, ValueError)
    assert issubclass(MessageFormatError, ValueError)
    assert not issubclass(PersonalDataError, MessageFormatError)
    assert not issubclass(MessageFormatError, PersonalDataError)


def test_a_finding_is_a_frozen_value() -> None:
    finding = Finding(PHONE, 3, 17)
    with pytest.raises(AttributeError):
        finding.start = 4  # type: ignore[misc]
    assert finding == Finding(PHONE, 3, 17)


@pytest.mark.parametrize("text", ["a@" * 1000, "0 " * 1000, "1" * 2000, "a." * 1000,
                                  "06 " * 666, "FR76 " * 400, "né le " * 333, "x [at] " * 280])
def test_pathological_inputs_are_checked_without_catastrophic_backtracking(text: str) -> None:
    # No timing assertion (shared machines); pytest-timeout would catch a blow-up, and the
    # branch report gives the figures measured by hand.
    findings = find_personal_data(text, today=TODAY)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)


# ---------------------------------------------------------------- properties

SAFE_ALPHABET = st.characters(
    categories=("Lu", "Ll", "Zs", "Po"), exclude_characters="@＠.\u2028\u2029"
)


@settings(max_examples=300)
@given(st.text())
def test_check_message_raises_nothing_but_its_two_errors(text: str) -> None:
    try:
        result = check_message(text, today=TODAY)
    except (PersonalDataError, MessageFormatError):
        return
    assert result == text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=200)
@given(st.text())
def test_findings_are_always_sorted_disjoint_and_inside_the_text(text: str) -> None:
    findings = find_personal_data(text, today=TODAY)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


@settings(max_examples=200)
@given(st.lists(st.text(SAFE_ALPHABET, max_size=60), min_size=1, max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]))
def test_a_valid_message_comes_back_with_its_line_breaks(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    result = check_message(text, today=TODAY)
    assert result.split("\n") == lines


# Forms found by a review after the held-out figures were taken (so they are in-sample now).
@pytest.mark.parametrize(("message", "kind"), [
    ("Contact : jean.dupont(a)gmail.com", PersonalDataKind.EMAIL),
    ("Rappelez le 0 6 1 2 3 4 5 6 7 8 demain.", PersonalDataKind.PHONE),
    ("Appelez le 06.12 34-56.78 avant midi.", PersonalDataKind.PHONE),
])
def test_forms_a_reviewer_typed_are_refused_too(message: str, kind: PersonalDataKind) -> None:
    assert [f.kind for f in find_personal_data(message)] == [kind]


def test_a_date_with_dots_and_a_time_is_not_a_phone_number() -> None:
    assert find_personal_data("Rendez-vous le 03.02.2027 14 h 30, guichet 2.") == []
