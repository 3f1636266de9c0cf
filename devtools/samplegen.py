"""Draw the sample pages of the camera simulator into ``assets/pages``.

Run ``python -m devtools.samplegen`` from the repository root.

Every person, number and organisation on them is invented; the identity card
says SPECIMEN across it. The pages are committed (small palette PNGs) so that
tests and the simulator do not depend on font rendering; run this again after
changing it and commit the PNGs and ``pages.json`` together.

``pages.json`` lists, for each page: ``name``, ``file``, ``kind`` ("text" or
"colour"), ``size_mm`` (paper width, height) and ``codes`` (the barcodes
printed on it, with their exact text, for code-reader tests).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

import assets
from drivers.camera.pagegen import GREY, INK, PAPER_MM, SANS, SERIF, Sheet, euros, letterhead

HERE = assets.path("pages")
TEXT_DPI = 200
CARD_DPI = 300

CONVOCATION_URL = "https://demarches.example.fr/convocation?proc=passeport&ref=CNV-2025-004217"
TAX_2DDOC = ("DC04FR0000011E6E1E6E0401FR43SPECIMEN/HELENE ZOE4460 BOULEVARD GAMBETTA 47300 "
             "VILLENEUVE SUR LOT")


def code_image(text: str, fmt: Any, scale: int) -> Image.Image:
    barcode = zxingcpp.create_barcode(text, fmt)
    pixels = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    return Image.fromarray(pixels)


def convocation() -> tuple[Sheet, list[dict[str, str]]]:
    rng = np.random.default_rng(11)
    s = Sheet(PAPER_MM["A4"], TEXT_DPI)
    body, bold = s.font(SERIF.regular, 11), s.font(SERIF.bold, 11)
    y = letterhead(s, rng, ("RÉPUBLIQUE FRANÇAISE", "Mairie de Villeneuve-sur-Lot",
                            "Service des titres d'identité"), left_mm=20, top_mm=16, face=SERIF)
    y = s.text(20, y, "Place de l'Hôtel-de-Ville — 47300 Villeneuve-sur-Lot",
               s.font(SERIF.regular, 9), fill=GREY)
    y += s.px(10)
    for line in ("Mme Hélène Lefèvre", "7, allée des Érables", "47300 Villeneuve-sur-Lot"):
        y = s.text(112, y, line, bold if line.startswith("Mme") else body)
    y += s.px(8)
    y = s.text(112, y, "Villeneuve-sur-Lot, le 2 octobre 2025", body)
    y += s.px(8)
    title = s.font(SERIF.bold, 18)
    s.draw.text((s.image.width // 2, y), "CONVOCATION", font=title, fill=(0, 35, 110), anchor="ma")
    y += s.line_height(title, 1.6)
    y = s.paragraph(20, y, 170, "Objet : remise de votre passeport — demande n° CNV-2025-004217",
                    bold)
    y += s.px(4)
    y = s.text(20, y, "Madame,", body)
    y += s.px(2)
    y = s.paragraph(20, y, 170, "Votre demande de passeport a été instruite. Vous êtes invitée à "
                    "vous présenter au service des titres d'identité pour le retrait de votre "
                    "titre :", body, justify=True)
    y += s.px(3)
    s.box(30, y, 180, y + s.px(22), fill=(238, 242, 250), outline=(0, 35, 110))
    y2 = s.text(36, y + s.px(3), "le mardi 14 octobre 2025 à 10 h 30", s.font(SERIF.bold, 13))
    s.text(36, y2, "guichet n° 3, rez-de-chaussée — accès pour personnes à mobilité réduite", body)
    y += s.px(28)
    y = s.text(20, y, "Pièces à apporter :", bold)
    for item in ("la présente convocation ;", "votre ancien passeport, ou la déclaration de "
                 "perte ou de vol ;", "un justificatif de domicile de moins d'un an ;",
                 "le timbre fiscal de 86 € (format électronique accepté)."):
        y = s.paragraph(26, y, 160, "•  " + item, body)
    y += s.px(4)
    y = s.paragraph(20, y, 120, "Vous pouvez aussi déposer vos pièces à la borne de dépôt de la "
                    "mairie : scannez le code ci-contre pour ouvrir directement votre démarche. "
                    "Tout titre non retiré dans un délai de trois mois sera détruit.", body,
                    justify=True)
    s.barcode(code_image(CONVOCATION_URL, zxingcpp.BarcodeFormat.QRCode, 1), 150, y - s.px(28),
              36)
    y += s.px(10)
    y = s.text(20, y, "Je vous prie d'agréer, Madame, l'expression de mes salutations distinguées.",
               body)
    y += s.px(6)
    y = s.text(120, y, "Pour le Maire, l'Adjointe déléguée,", body)
    y = s.signature(rng, 122, y, 38)
    s.text(120, y + s.px(2), "Françoise Kœnig", bold)
    return s, [{"format": "QRCode", "text": CONVOCATION_URL}]


def tax_notice() -> tuple[Sheet, list[dict[str, str]]]:
    rng = np.random.default_rng(12)
    s = Sheet(PAPER_MM["A4"], TEXT_DPI)
    f, b = s.font(SANS.regular, 9), s.font(SANS.bold, 9)
    big = s.font(SANS.bold, 15)
    s.box(0, 0, 210, s.px(34), fill=(0, 60, 130), outline=None)
    s.draw.text((s.px(14), s.px(8)), "DIRECTION GÉNÉRALE DES FINANCES PUBLIQUES",
                font=s.font(SANS.bold, 11), fill=(255, 255, 255))
    s.draw.text((s.px(14), s.px(16)), "AVIS D'IMPÔT 2025", font=big, fill=(255, 255, 255))
    s.draw.text((s.px(14), s.px(25)), "sur les revenus de l'année 2024", font=f,
                fill=(220, 230, 245))
    s.barcode(code_image(TAX_2DDOC, zxingcpp.BarcodeFormat.DataMatrix, 1), 172, s.px(40), 24)
    y = s.px(42)
    for label, value in (("Numéro fiscal", "30 12 345 678 901"), ("Référence de l'avis",
                         "25 47 A123456 78"), ("Date de mise en recouvrement", "31/07/2025"),
                         ("Centre des finances publiques", "SIP de Villeneuve-sur-Lot")):
        s.text(14, y, label + " :", f, fill=GREY)
        y = s.text(70, y, value, b)
    y += s.px(6)
    for line in ("MME SPECIMEN HÉLÈNE ZOÉ", "60 BOULEVARD GAMBETTA", "47300 VILLENEUVE-SUR-LOT"):
        y = s.text(110, y, line, s.font(SANS.regular, 10))
    y += s.px(8)
    s.box(14, y, 196, y + s.px(16), fill=(232, 238, 248), outline=None)
    s.text(18, y + s.px(3), "Montant de votre impôt sur le revenu", s.font(SANS.bold, 12))
    s.text(190, y + s.px(3), euros(1284.00), s.font(SANS.bold, 12), anchor="ra")
    y += s.px(22)
    rows = [["Détail du calcul", "Déclarant 1", "Total"],
            ["Salaires et assimilés", euros(28512), euros(28512)],
            ["Déduction de 10 %", euros(-2851), euros(-2851)],
            ["Revenu brut global", "", euros(25661)],
            ["Revenu imposable", "", euros(25661)],
            ["Nombre de parts", "", "1,00"],
            ["Impôt sur les revenus soumis au barème", "", euros(1896)],
            ["Décote", "", euros(-192)],
            ["Prélèvements à la source déjà effectués", "", euros(-420)],
            ["Reste à payer", "", euros(1284)]]
    y = s.table(14, y, [92, 45, 45], rows, f, b)
    y += s.px(6)
    s.box(14, y, 196, y + s.px(14), fill=None, outline=(0, 60, 130))
    s.text(18, y + s.px(2), "Revenu fiscal de référence", b)
    s.text(190, y + s.px(2), "25 661", s.font(SANS.bold, 11), anchor="ra")
    s.text(18, y + s.px(7), "Ce montant vous sera demandé pour vos démarches (logement, bourses, "
           "aides sociales).", f, fill=GREY)
    y += s.px(20)
    text = ("Le solde sera prélevé en quatre fois sur votre compte bancaire, de septembre à "
            "décembre. Si vous contestez cet avis, adressez une réclamation à votre centre des "
            "finances publiques depuis votre espace particulier ou par courrier. La réclamation ne "
            "dispense pas du paiement. " * 2)
    y = s.paragraph(14, y, 182, text.strip(), f, justify=True)
    del rng
    return s, [{"format": "DataMatrix", "text": TAX_2DDOC}]


def payslip() -> tuple[Sheet, list[dict[str, str]]]:
    s = Sheet(PAPER_MM["A4"], TEXT_DPI)
    f, b = s.font(SANS.regular, 8.5), s.font(SANS.bold, 8.5)
    s.text(14, s.px(14), "BULLETIN DE PAIE", s.font(SANS.bold, 16), fill=(40, 40, 40))
    s.text(14, s.px(22), "Période du 01/09/2025 au 30/09/2025 — paiement le 30/09/2025", f)
    s.box(14, s.px(30), 98, s.px(58), outline=GREY, width_px=1)
    y = s.px(32)
    for line in ("Boulangerie Ménard & Fils SARL", "21, rue Émile-Zola", "33000 Bordeaux",
                 "SIRET 123 456 789 00012 — APE 1071C", "Convention collective : boulangerie"):
        y = s.text(16, y, line, b if line.startswith("Boul") else f)
    s.box(110, s.px(30), 196, s.px(58), outline=GREY, width_px=1)
    y = s.px(32)
    for line in ("M. Jérôme Castaño", "5, impasse du Château-d'Eau", "33000 Bordeaux",
                 "Emploi : ouvrier boulanger — coefficient 185", "Entrée le 03/01/2019"):
        y = s.text(112, y, line, b if line.startswith("M.") else f)
    rows = [["Rubrique", "Base", "Taux", "À payer", "À déduire"],
            ["Salaire de base", "151,67 h", "12,4500", euros(1888.29), ""],
            ["Heures supplémentaires 25 %", "8,00 h", "15,5625", euros(124.50), ""],
            ["Prime d'ancienneté", "", "", euros(56.65), ""],
            ["Salaire brut", "", "", euros(2069.44), ""],
            ["Sécurité sociale plafonnée", euros(2069.44), "6,900 %", "", euros(142.79)],
            ["Sécurité sociale déplafonnée", euros(2069.44), "0,400 %", "", euros(8.28)],
            ["Complémentaire tranche 1", euros(2069.44), "4,010 %", "", euros(82.98)],
            ["Assurance chômage", euros(2069.44), "0,000 %", "", euros(0)],
            ["CSG déductible", euros(2033.23), "6,800 %", "", euros(138.26)],
            ["CSG/CRDS non déductible", euros(2033.23), "2,900 %", "", euros(58.96)],
            ["Mutuelle", "", "", "", euros(31.20)],
            ["Net à payer avant impôt", "", "", euros(1606.97), ""],
            ["Impôt sur le revenu prélevé à la source", euros(1727.70), "2,100 %", "",
             euros(36.28)],
            ["Net payé", "", "", euros(1570.69), ""]]
    y = s.table(14, s.px(64), [70, 30, 22, 30, 30], rows, f, b)
    y += s.px(6)
    s.box(120, y, 196, y + s.px(14), fill=(235, 245, 235), outline=(40, 110, 40))
    s.text(124, y + s.px(2), "NET PAYÉ", s.font(SANS.bold, 11))
    s.text(192, y + s.px(2), euros(1570.69), s.font(SANS.bold, 11), anchor="ra")
    y += s.px(22)
    y = s.paragraph(14, y, 182, "Dans votre intérêt et pour vous aider à faire valoir vos droits, "
                    "conservez ce bulletin de paie sans limitation de durée. Cumuls annuels : brut "
                    + euros(18412.30) + " ; net imposable " + euros(15590.12) + ".", f,
                    justify=True)
    return s, []


def proof_of_address() -> tuple[Sheet, list[dict[str, str]]]:
    rng = np.random.default_rng(14)
    s = Sheet(PAPER_MM["A4"], TEXT_DPI)
    f, b = s.font(SANS.regular, 9), s.font(SANS.bold, 9)
    s.draw.ellipse([s.px(14), s.px(12), s.px(30), s.px(28)], fill=(255, 170, 0))
    s.text(34, s.px(13), "Électricité du Val", s.font(SANS.bold, 16), fill=(20, 90, 160))
    s.text(34, s.px(21), "Fournisseur d'énergie — service clients 09 70 00 00 00", f, fill=GREY)
    s.text(130, s.px(14), "FACTURE", s.font(SANS.bold, 14))
    s.text(130, s.px(21), "n° 2025-09-7781452 du 12/09/2025", f)
    y = s.px(40)
    for line in ("Mme Maëlle Niang", "48, boulevard Gambetta", "Appartement 12, 3e étage",
                 "35000 Rennes"):
        y = s.text(112, y, line, b if line.startswith("Mme") else s.font(SANS.regular, 10))
    y += s.px(8)
    s.text(14, y, "Adresse de consommation : 48, boulevard Gambetta, 35000 Rennes", b)
    y += s.px(8)
    s.box(14, y, 196, y + s.px(18), fill=(240, 246, 252), outline=None)
    s.text(18, y + s.px(3), "Montant à payer", s.font(SANS.bold, 12))
    s.text(18, y + s.px(10), "prélevé le 26/09/2025", f, fill=GREY)
    s.text(190, y + s.px(4), euros(87.42), s.font(SANS.bold, 16), anchor="ra", fill=(20, 90, 160))
    y += s.px(26)
    rows = [["Détail", "Quantité", "Prix unitaire", "Montant HT"],
            ["Abonnement (1 mois)", "1", euros(12.44), euros(12.44)],
            ["Consommation heures pleines", "312 kWh", "0,2146 €", euros(66.96)],
            ["Consommation heures creuses", "118 kWh", "0,1696 €", euros(20.01)],
            ["Contribution tarifaire d'acheminement", "", "", euros(2.73)],
            ["Accise sur l'électricité", "430 kWh", "0,0225 €", euros(9.68)],
            ["Remise fidélité", "", "", euros(-38.10)],
            ["Total TTC", "", "", euros(87.42)]]
    y = s.table(14, y, [76, 32, 36, 38], rows, f, b)
    y += s.px(10)
    s.text(14, y, "Votre consommation des douze derniers mois (kWh)", b)
    y += s.px(7)
    base = y + s.px(40)
    months = "SONDJFMAMJJA"
    for i, letter in enumerate(months):
        value = 300 + 250 * math.cos((i - 4) / 12 * 2 * math.pi) + float(rng.uniform(-30, 30))
        height = s.px(value / 600 * 38)
        x0 = s.px(18 + i * 14)
        s.draw.rectangle([x0, base - height, x0 + s.px(9), base], fill=(70, 140, 200))
        s.draw.text((x0 + s.px(4.5), base + s.px(1)), letter, font=f, fill=INK, anchor="ma")
    y = base + s.px(10)
    s.paragraph(14, y, 182, "Ce document peut servir de justificatif de domicile. En cas de "
                "difficulté de paiement, contactez-nous : des solutions existent (chèque énergie, "
                "échéancier).", f, justify=True)
    return s, []


def identity_card() -> tuple[Image.Image, list[dict[str, str]]]:
    """A fictional identity card (ID-1) in colour with a photo-like area; SPECIMEN across it."""
    rng = np.random.default_rng(15)
    s = Sheet(PAPER_MM["ID-1"], CARD_DPI, paper=(236, 240, 246))
    w, h = s.image.size
    # Guilloché background: pastel gradient and fine sine lines.
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([236 - 20 * xx / w, 228 + 10 * yy / h, 232 + 18 * xx / w], axis=2)
    for k in range(14):
        phase = k * 0.45
        wave = np.abs(np.sin(xx / 38.0 + phase) * 30 + yy - (k + 0.5) * h / 14)
        base -= (wave < 1.4)[:, :, None] * np.array([18, 10, 4], dtype=np.float32)
    s.image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    s.draw = ImageDraw.Draw(s.image)
    s.box(0, 0, 85.6, s.px(8.5), fill=(0, 35, 110), outline=None)
    s.draw.text((s.px(3), s.px(1.4)), "RÉPUBLIQUE FRANÇAISE", font=s.font(SANS.bold, 7.5),
                fill=(255, 255, 255))
    s.draw.text((s.px(3), s.px(4.9)), "CARTE D'IDENTITÉ — SPECIMEN / IDENTITY CARD",
                font=s.font(SANS.regular, 5.5), fill=(220, 228, 245))
    # Photo area: a person's silhouette on a light background.
    px0, py0, px1, py1 = s.px(3), s.px(11), s.px(27), s.px(42)
    photo = Image.new("RGB", (px1 - px0, py1 - py0), (205, 212, 220))
    pd = ImageDraw.Draw(photo)
    pw_, ph_ = photo.size
    pd.ellipse([pw_ * 0.12, ph_ * 0.72, pw_ * 0.88, ph_ * 1.35], fill=(60, 70, 95))   # shoulders
    pd.rectangle([pw_ * 0.4, ph_ * 0.55, pw_ * 0.6, ph_ * 0.8], fill=(200, 160, 135))  # neck
    pd.ellipse([pw_ * 0.27, ph_ * 0.14, pw_ * 0.73, ph_ * 0.66], fill=(215, 172, 145))  # face
    pd.chord([pw_ * 0.23, ph_ * 0.06, pw_ * 0.77, ph_ * 0.5], 180, 360, fill=(70, 50, 40))  # hair
    for ex in (0.4, 0.6):
        pd.ellipse([pw_ * (ex - 0.04), ph_ * 0.36, pw_ * (ex + 0.04), ph_ * 0.41],
                   fill=(50, 40, 40))
    pd.arc([pw_ * 0.42, ph_ * 0.46, pw_ * 0.58, ph_ * 0.56], 20, 160, fill=(150, 80, 80), width=3)
    photo = photo.filter(ImageFilter.GaussianBlur(1.2))
    s.image.paste(photo, (px0, py0))
    s.draw.rectangle([px0, py0, px1, py1], outline=(120, 130, 150), width=2)
    # Fields.
    label, value = s.font(SANS.regular, 5), s.font(SANS.bold, 7)
    y = s.px(11)
    for lab, val in (("Nom / Surname", "SPECIMEN"), ("Prénoms / Given names", "Hélène, Zoé"),
                     ("Sexe / Sex", "F"), ("Nationalité / Nationality", "FRA"),
                     ("Date de naissance / Date of birth", "01 02 1985"),
                     ("Lieu de naissance / Place of birth", "Besançon (25)"),
                     ("N° du document / Document No", "X4RTBPFW4"),
                     ("Date d'expiration / Expiry date", "11 03 2031")):
        s.draw.text((s.px(30), y), lab, font=label, fill=(70, 80, 100))
        s.draw.text((s.px(30), y + s.px(1.9)), val, font=value, fill=INK)
        y += s.px(4.6)
    s.signature(rng, 60, s.px(44), 20, fill=(30, 30, 60))
    # SPECIMEN stamped across the card.
    stamp = Image.new("L", s.image.size, 0)
    sd = ImageDraw.Draw(stamp)
    sd.text((w // 2, h // 2), "SPECIMEN", font=s.font(SANS.bold, 26), fill=90, anchor="mm")
    stamp = stamp.rotate(18, resample=Image.Resampling.BICUBIC)
    red = Image.new("RGB", s.image.size, (200, 30, 40))
    s.image = Image.composite(red, s.image, stamp)
    # Rounded corners (ISO/IEC 7810: 3.18 mm radius) as transparency.
    alpha = Image.new("L", s.image.size, 0)
    ImageDraw.Draw(alpha).rounded_rectangle([0, 0, w - 1, h - 1], radius=s.px(3.18), fill=255)
    card = s.image.convert("RGBA")
    card.putalpha(alpha)
    return card, []


def save_palette(image: Image.Image, path: Path, colours: int) -> None:
    if image.mode == "RGBA":
        image.save(path, optimize=True)
        return
    image.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True)


def main() -> None:
    entries = []
    for name, make in (("convocation", convocation), ("tax-notice", tax_notice),
                       ("payslip", payslip), ("proof-of-address", proof_of_address)):
        sheet, codes = make()
        file = f"{name}.png"
        save_palette(sheet.image, HERE / file, 48)
        entries.append({"name": name, "file": file, "kind": "text",
                        "size_mm": list(PAPER_MM["A4"]), "codes": codes})
    card, codes = identity_card()
    card.save(HERE / "identity-card.png", optimize=True)
    entries.append({"name": "identity-card", "file": "identity-card.png", "kind": "colour",
                    "size_mm": list(PAPER_MM["ID-1"]), "codes": codes})
    (HERE / "pages.json").write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    for entry in entries:
        size = (HERE / str(entry["file"])).stat().st_size
        print(f"{entry['file']}: {size // 1024} KiB")


if __name__ == "__main__":
    main()
