"""Drawing of realistic administrative pages with Pillow, for the camera simulator.

:func:`render_text_page` (re-exported by :mod:`drivers.camera.synth`) draws a
letter in the style of a French administration: letterhead, addressee, subject
line, paragraphs of administrative prose with accents, a table of amounts, a
signature. Everything is drawn from a seed, so the same seed always gives the
same page. ``assets/pages/make_pages.py`` uses the same :class:`Sheet` to draw
the committed sample pages (convocation, tax notice, payslip...).

Fonts are the DejaVu family (Debian ``fonts-dejavu-core``), looked up in
:data:`FONT_DIRS`; a missing font raises :class:`FileNotFoundError` naming the
folders searched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

import assets

FONT_DIRS: tuple[Path, ...] = (
    assets.path("fonts"),
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)

#: Paper sizes in millimetres (portrait: width, height).
PAPER_MM: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A5": (148.0, 210.0),
    "letter": (215.9, 279.4),
    "ID-1": (85.6, 53.98),
}

RGB = tuple[int, int, int]
INK: RGB = (24, 24, 28)
GREY: RGB = (110, 110, 118)


@lru_cache(maxsize=128)
def font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    """The DejaVu font ``name`` (e.g. ``"DejaVuSerif-Bold"``) at ``size_px`` pixels."""
    for folder in FONT_DIRS:
        candidate = folder / f"{name}.ttf"
        if candidate.is_file():
            return ImageFont.truetype(str(candidate), size_px)
    searched = ", ".join(str(d) for d in FONT_DIRS)
    raise FileNotFoundError(f"font {name}.ttf not found in {searched} (install fonts-dejavu-core)")


@dataclass(frozen=True)
class Typeface:
    regular: str
    bold: str


SANS = Typeface("DejaVuSans", "DejaVuSans-Bold")
SERIF = Typeface("DejaVuSerif", "DejaVuSerif-Bold")
MONO = Typeface("DejaVuSansMono", "DejaVuSansMono-Bold")


class Sheet:
    """A page being drawn: millimetre coordinates, point sizes, word wrapping."""

    def __init__(self, size_mm: tuple[float, float], dpi: int,
                 paper: RGB = (255, 255, 255)) -> None:
        self.size_mm = size_mm
        self.dpi = dpi
        width = round(size_mm[0] / 25.4 * dpi)
        height = round(size_mm[1] / 25.4 * dpi)
        self.image = Image.new("RGB", (width, height), paper)
        self.draw = ImageDraw.Draw(self.image)

    # -- units
    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)

    def font(self, face: str, pt: float) -> ImageFont.FreeTypeFont:
        return font(face, max(6, round(pt / 72 * self.dpi)))

    def line_height(self, f: ImageFont.FreeTypeFont, leading: float = 1.3) -> int:
        return round(f.size * leading)

    # -- drawing
    def text(self, x_mm: float, y: int, text: str, f: ImageFont.FreeTypeFont,
             fill: RGB = INK, anchor: str = "la") -> int:
        """Draw one line with its top at pixel row ``y``; return the row below it."""
        self.draw.text((self.px(x_mm), y), text, font=f, fill=fill, anchor=anchor)
        return y + self.line_height(f)

    def wrap(self, text: str, f: ImageFont.FreeTypeFont, width_px: int) -> list[str]:
        lines: list[str] = []
        current = ""
        for word in text.split():
            trial = f"{current} {word}" if current else word
            if current and f.getlength(trial) > width_px:
                lines.append(current)
                current = word
            else:
                current = trial
        if current:
            lines.append(current)
        return lines

    def paragraph(self, x_mm: float, y: int, width_mm: float, text: str,
                  f: ImageFont.FreeTypeFont, *, justify: bool = False, leading: float = 1.3,
                  fill: RGB = INK, indent_mm: float = 0.0) -> int:
        """Word-wrap ``text`` into the column; return the row below the last line."""
        width = self.px(width_mm)
        lines = self.wrap(text, f, width - self.px(indent_mm))
        step = self.line_height(f, leading)
        for number, line in enumerate(lines):
            left = self.px(x_mm + (indent_mm if number == 0 else 0.0))
            avail = width - (self.px(indent_mm) if number == 0 else 0)
            words = line.split(" ")
            if justify and number < len(lines) - 1 and len(words) > 1:
                used = sum(f.getlength(w) for w in words)
                gap = (avail - used) / (len(words) - 1)
                cursor = float(left)
                for word in words:
                    self.draw.text((round(cursor), y), word, font=f, fill=fill)
                    cursor += f.getlength(word) + gap
            else:
                self.draw.text((left, y), line, font=f, fill=fill)
            y += step
        return y

    def rule(self, x0_mm: float, y: int, x1_mm: float, *, width_px: int = 2,
             fill: RGB = INK) -> None:
        self.draw.line([(self.px(x0_mm), y), (self.px(x1_mm), y)], fill=fill, width=width_px)

    def box(self, x0_mm: float, y0: int, x1_mm: float, y1: int, *, fill: RGB | None = None,
            outline: RGB | None = INK, width_px: int = 2) -> None:
        self.draw.rectangle([self.px(x0_mm), y0, self.px(x1_mm), y1], fill=fill,
                            outline=outline, width=width_px)

    def table(self, x_mm: float, y: int, widths_mm: Sequence[float],
              rows: Sequence[Sequence[str]], f: ImageFont.FreeTypeFont,
              bold: ImageFont.FreeTypeFont, *, header_fill: RGB = (226, 230, 238),
              numeric_from: int = 1) -> int:
        """A ruled table; the first row is a header; columns from ``numeric_from`` align right."""
        pad = self.px(1.5)
        row_h = self.line_height(f, 1.25) + 2 * pad
        x_edges = [self.px(x_mm)]
        for w in widths_mm:
            x_edges.append(x_edges[-1] + self.px(w))
        for r, row in enumerate(rows):
            top = y + r * row_h
            if r == 0:
                self.draw.rectangle([x_edges[0], top, x_edges[-1], top + row_h], fill=header_fill)
            for c, cell in enumerate(row):
                face = bold if r == 0 else f
                if c >= numeric_from and r > 0:
                    self.draw.text((x_edges[c + 1] - pad, top + pad), cell, font=face, fill=INK,
                                   anchor="ra")
                else:
                    self.draw.text((x_edges[c] + pad, top + pad), cell, font=face, fill=INK)
        bottom = y + len(rows) * row_h
        line = max(1, self.dpi // 150)
        for r in range(len(rows) + 1):
            self.draw.line([(x_edges[0], y + r * row_h), (x_edges[-1], y + r * row_h)],
                           fill=INK, width=line)
        for x in x_edges:
            self.draw.line([(x, y), (x, bottom)], fill=INK, width=line)
        return bottom

    def signature(self, rng: np.random.Generator, x_mm: float, y: int, width_mm: float,
                  fill: RGB = (20, 40, 120)) -> int:
        """A hand-written looking scribble (a random smooth curve) ``width_mm`` wide."""
        width = self.px(width_mm)
        height = self.px(width_mm * 0.3)
        n = 9
        xs = np.linspace(0, width, n) + rng.normal(0, width * 0.03, n)
        ys = height * 0.5 + rng.normal(0, height * 0.32, n)
        t = np.linspace(0, n - 1, 240)
        px = np.interp(t, np.arange(n), xs) + np.sin(t * 3.1) * width * 0.025
        py = np.interp(t, np.arange(n), ys) + np.cos(t * 4.3) * height * 0.22
        left = self.px(x_mm)
        points = [(left + float(a), y + float(b)) for a, b in zip(px, py, strict=True)]
        self.draw.line(points, fill=fill, width=max(2, self.dpi // 70), joint="curve")
        return y + height

    def barcode(self, image: Image.Image, x_mm: float, y: int, size_mm: float) -> int:
        """Paste a code image (black on white) scaled to ``size_mm`` wide, without smoothing."""
        side = self.px(size_mm)
        scaled = image.convert("RGB").resize(
            (side, round(side * image.height / image.width)), Image.Resampling.NEAREST)
        self.image.paste(scaled, (self.px(x_mm), y))
        return y + scaled.height

    def to_bgr(self) -> npt.NDArray[np.uint8]:
        rgb = np.asarray(self.image, dtype=np.uint8)
        return np.ascontiguousarray(rgb[:, :, ::-1])


# ---------------------------------------------------------------- French administrative prose

ORGANISATIONS_FR = (
    ("RÉPUBLIQUE FRANÇAISE", "Mairie de Villeneuve-sur-Lot", "Service état civil et élections"),
    ("RÉPUBLIQUE FRANÇAISE", "Préfecture de la Gironde",
     "Direction des migrations et de l'intégration"),
    ("Direction générale des Finances publiques", "Centre des finances publiques de Rennes",
     "Service des impôts des particuliers"),
    ("Caisse d'allocations familiales", "CAF du Rhône", "Pôle prestations familiales"),
    ("Assurance Maladie", "Caisse primaire d'assurance maladie de l'Hérault",
     "Service relations assurés"),
    ("RÉPUBLIQUE FRANÇAISE", "Centre communal d'action sociale de Lille", "Accueil des familles"),
    ("France Travail", "Agence de Besançon-Planoise", "Conseil et accompagnement"),
)
STREETS_FR = (
    "12, rue de la République", "3 bis, avenue Jean-Jaurès", "place de l'Hôtel-de-Ville",
    "48, boulevard Gambetta", "7, allée des Érables", "21, rue Émile-Zola",
    "5, impasse du Château-d'Eau", "104, cours de la Libération", "2, chemin des Prés-Fleuris",
)
CITIES_FR = (
    "47300 Villeneuve-sur-Lot", "33000 Bordeaux", "35000 Rennes", "69003 Lyon",
    "34000 Montpellier", "59000 Lille", "25000 Besançon", "13001 Marseille", "67000 Strasbourg",
)
PEOPLE_FR = (
    "Mme Hélène Lefèvre", "M. François Ménard", "Mme Zoé Béranger", "M. Noël Dupré",
    "Mme Anaïs Mercier-Gaël", "M. Jérôme Castaño", "Mme Maëlle Niang", "M. Loïc Ferreira",
    "Mme Françoise Kœnig", "M. Ahmed Benaïssa",
)
SUBJECTS_FR = (
    "Objet : demande de renouvellement de votre titre de séjour",
    "Objet : attestation de droits à l'allocation de logement",
    "Objet : convocation à un entretien individuel",
    "Objet : pièces justificatives manquantes à votre dossier",
    "Objet : réponse à votre réclamation du 4 février",
    "Objet : régularisation de votre situation fiscale",
    "Objet : inscription sur les listes électorales",
)
GREETINGS_FR = ("Madame, Monsieur,", "Madame,", "Monsieur,")
SENTENCES_FR = (
    "Nous avons bien reçu votre demande et nous vous en remercions.",
    "Après examen de votre dossier, il apparaît que certaines pièces justificatives font défaut.",
    "Je vous prie de bien vouloir nous faire parvenir les documents énumérés ci-dessous avant "
    "le 15 du mois prochain.",
    "À défaut de réponse dans ce délai, votre demande ne pourra pas être instruite.",
    "Le montant de l'aide est calculé à partir des ressources déclarées pour l'année de référence.",
    "Vous pouvez déposer ces pièces à l'accueil de la mairie, sur la borne de dépôt ou par "
    "courrier.",
    "Pour toute question, nos agents sont à votre disposition du lundi au vendredi, de 8 h 30 "
    "à 12 h et de 13 h 30 à 17 h.",
    "Conformément au règlement général sur la protection des données, vous disposez d'un droit "
    "d'accès et de rectification des informations qui vous concernent.",
    "La présente décision peut faire l'objet d'un recours gracieux dans un délai de deux mois "
    "à compter de sa notification.",
    "Votre rendez-vous est fixé à la date et à l'heure indiquées ci-dessous ; merci de vous "
    "présenter muni de l'original de votre pièce d'identité.",
    "Les sommes perçues à tort feront l'objet d'une retenue échelonnée sur vos prochains "
    "versements.",
    "Nous vous rappelons que tout changement de situation doit être déclaré sans délai.",
    "Le détail des sommes dues figure dans le tableau ci-après, établi à la date du présent "
    "courrier.",
    "L'examen de votre éligibilité tient compte de la composition de votre foyer et de vos charges "
    "de logement.",
    "En cas d'empêchement, nous vous remercions de prévenir le service au moins quarante-huit "
    "heures à l'avance.",
    "Cette attestation est délivrée pour servir et valoir ce que de droit.",
    "Veuillez noter que les pièces photocopiées doivent être lisibles et complètes, recto et "
    "verso.",
    "Le versement interviendra sur le compte bancaire dont vous nous avez communiqué les "
    "références.",
    "Un accusé de réception vous sera remis lors du dépôt de votre dossier complet.",
    "Les délais de traitement sont actuellement de trois à quatre semaines à réception du dossier.",
)
CLOSINGS_FR = (
    "Je vous prie d'agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
    "Veuillez agréer, Madame, Monsieur, l'assurance de ma considération distinguée.",
    "Nous vous prions de croire, Madame, Monsieur, à l'expression de nos sentiments dévoués.",
)
SIGNERS_FR = ("Le Maire,", "Pour le Préfet et par délégation,", "Le Directeur,",
              "La Responsable du service,", "L'Adjointe déléguée,")
ITEMS_FR = (
    "Allocation de logement", "Prime d'activité", "Taxe d'habitation", "Frais de dossier",
    "Impôt sur le revenu", "Contribution sociale généralisée", "Remboursement de soins",
    "Acompte versé", "Régularisation", "Cotisation foncière",
)
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")

ORGANISATIONS_EN = (
    ("CITY COUNCIL", "Riverside Borough Council", "Registry and elections office"),
    ("HM SERVICES", "Revenue Office of Northgate", "Personal tax service"),
)
SENTENCES_EN = (
    "We have received your application and thank you for it.",
    "After reviewing your file, some supporting documents appear to be missing.",
    "Please send us the documents listed below before the 15th of next month.",
    "Without an answer within this time, your application cannot be processed.",
    "Our staff are available from Monday to Friday, 8.30 am to 5 pm.",
    "The amount of the benefit is calculated from the income declared for the reference year.",
    "Any change in your situation must be reported without delay.",
    "The details of the sums due are given in the table below.",
)


def euros(amount: float) -> str:
    """French formatting of an amount: ``1 234,56 €`` (narrow no-break space for thousands)."""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    sign = "-" if amount < 0 else ""
    return sign + "\u202f".join(groups) + f",{cents} €"


def french_date(rng: np.random.Generator) -> str:
    day, month = int(rng.integers(1, 29)), MONTHS_FR[int(rng.integers(0, 12))]
    return f"{day} {month} {int(rng.integers(2023, 2027))}"


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(0, len(items)))]


def letterhead(sheet: Sheet, rng: np.random.Generator, org: Sequence[str], *, left_mm: float,
               top_mm: float, face: Typeface, centred: bool = False) -> int:
    """A tricolour bar and the organisation's names; return the row below."""
    y = sheet.px(top_mm)
    bar_w, bar_h = sheet.px(6), sheet.px(11)
    x = sheet.px(left_mm)
    if centred:
        x = sheet.image.width // 2 - 3 * bar_w // 2
    for i, colour in enumerate(((0, 35, 149), (255, 255, 255), (237, 41, 57))):
        sheet.draw.rectangle([x + i * bar_w, y, x + (i + 1) * bar_w, y + bar_h], fill=colour)
    sheet.draw.rectangle([x, y, x + 3 * bar_w, y + bar_h], outline=(200, 200, 205), width=1)
    y += bar_h + sheet.px(2)
    sizes = (9.5, 12.5 + float(rng.uniform(-1, 1.5)), 9.0)
    faces = (face.bold, face.bold, face.regular)
    colours: tuple[RGB, ...] = (INK, (0, 35, 110), GREY)
    for text, pt, name, colour in zip(org, sizes, faces, colours, strict=True):
        f = sheet.font(name, pt)
        if centred:
            sheet.draw.text((sheet.image.width // 2, y), text, font=f, fill=colour, anchor="ma")
            y += sheet.line_height(f, 1.25)
        else:
            y = sheet.text(left_mm, y, text, f, fill=colour)
    return y


def render_text_page(seed: int, *, size: str = "A4", dpi: int = 200,
                     lang: str = "fr") -> npt.NDArray[np.uint8]:
    """Render a realistic administrative letter, deterministically for ``seed`` (BGR uint8).

    Layout (margins, typeface, sizes, alignment, letterhead position, table
    presence and length) and wording vary with the seed. ``size`` is one of
    A4, A5, letter; ``lang`` is ``fr`` (default) or ``en``. Raises ValueError
    for anything else.
    """
    if size not in PAPER_MM or size == "ID-1":
        raise ValueError(f"size {size!r} is not one of A4, A5, letter")
    if lang not in ("fr", "en"):
        raise ValueError(f"lang {lang!r} is not one of fr, en")
    if not 50 <= dpi <= 600:
        raise ValueError(f"dpi {dpi} is not from 50 to 600")
    rng = np.random.default_rng(seed)
    size_mm = PAPER_MM[size]
    sheet = Sheet(size_mm, dpi, paper=(255, 255, 255) if rng.random() < 0.6 else (252, 251, 247))
    small = size_mm[0] < 180
    margin = float(rng.uniform(14, 24)) * (0.75 if small else 1.0)
    right = size_mm[0] - margin
    width = right - margin
    face = SERIF if rng.random() < 0.45 else SANS
    body_pt = float(rng.uniform(9.5, 12.0)) * (0.9 if small else 1.0)
    body = sheet.font(face.regular, body_pt)
    bold = sheet.font(face.bold, body_pt)
    justify = bool(rng.random() < 0.6)
    fr = lang == "fr"
    orgs = ORGANISATIONS_FR if fr else ORGANISATIONS_EN
    sentences = SENTENCES_FR if fr else SENTENCES_EN
    org = orgs[int(rng.integers(0, len(orgs)))]

    y = letterhead(sheet, rng, org, left_mm=margin, top_mm=margin * 0.8, face=face,
                   centred=bool(rng.random() < 0.3))
    small_font = sheet.font(face.regular, body_pt * 0.85)
    y = sheet.text(margin, y, _pick(rng, STREETS_FR), small_font, fill=GREY)
    y = sheet.text(margin, y, _pick(rng, CITIES_FR), small_font, fill=GREY)
    y = sheet.text(margin, y, f"Tél. 0{int(rng.integers(1, 6))} {int(rng.integers(10, 99))} "
                   f"{int(rng.integers(10, 99))} {int(rng.integers(10, 99))} "
                   f"{int(rng.integers(10, 99))}", small_font, fill=GREY)

    # Addressee block on the right (window envelope position), then place and date.
    y += sheet.px(float(rng.uniform(4, 12)))
    addr_x = margin + width * float(rng.uniform(0.48, 0.56))
    y = sheet.text(addr_x, y, _pick(rng, PEOPLE_FR), bold)
    y = sheet.text(addr_x, y, _pick(rng, STREETS_FR), body)
    y = sheet.text(addr_x, y, _pick(rng, CITIES_FR), body)
    y += sheet.px(6)
    city = _pick(rng, CITIES_FR).split(" ", 1)[1]
    date = f"{city}, le {french_date(rng)}" if fr else f"{city}, {french_date(rng)}"
    y = sheet.text(addr_x, y, date, body)
    y += sheet.px(4)
    ref = f"Réf. : {int(rng.integers(2023, 2027))}/{int(rng.integers(10000, 99999))}-" \
          f"{chr(65 + int(rng.integers(0, 26)))}{chr(65 + int(rng.integers(0, 26)))}"
    y = sheet.text(margin, y, ref if fr else ref.replace("Réf. :", "Ref.:"), small_font, fill=GREY)
    subject = _pick(rng, SUBJECTS_FR) if fr else "Subject: your application"
    y = sheet.paragraph(margin, y, width, subject, bold)
    y += sheet.px(5)
    y = sheet.text(margin, y, _pick(rng, GREETINGS_FR) if fr else "Dear Sir or Madam,", body)
    y += sheet.px(2)

    leading = float(rng.uniform(1.25, 1.45))
    indent = float(rng.choice([0.0, 8.0]))
    bottom_limit = sheet.image.height - sheet.px(margin + 45)
    paragraphs = int(rng.integers(3, 7))
    with_table = rng.random() < 0.75
    for p in range(paragraphs):
        count = int(rng.integers(2, 5))
        chosen = rng.choice(len(sentences), size=count, replace=False)
        text = " ".join(sentences[int(i)] for i in chosen)
        if y + 4 * sheet.line_height(body, leading) > bottom_limit:
            break
        y = sheet.paragraph(margin, y, width, text, body, justify=justify, leading=leading,
                            indent_mm=indent)
        y += sheet.px(float(rng.uniform(2, 5)))
        if with_table and p == 0:
            rows_n = int(rng.integers(3, 7))
            header = ["Désignation", "Période", "Montant"] if fr else ["Item", "Period", "Amount"]
            rows = [header]
            total = 0.0
            for _ in range(rows_n):
                amount = round(float(rng.uniform(-300, 2400)), 2)
                total += amount
                period = f"{MONTHS_FR[int(rng.integers(0, 12))]} {int(rng.integers(2023, 2027))}"
                rows.append([_pick(rng, ITEMS_FR), period, euros(amount)])
            rows.append(["Total", "", euros(total)])
            col = [width * 0.5, width * 0.25, width * 0.25]
            table_font = sheet.font(face.regular, body_pt * 0.92)
            table_bold = sheet.font(face.bold, body_pt * 0.92)
            if y + (rows_n + 2) * sheet.line_height(table_font, 1.6) < bottom_limit:
                y = sheet.table(margin, y + sheet.px(2), col, rows, table_font, table_bold)
                y += sheet.px(6)

    closing = _pick(rng, CLOSINGS_FR) if fr else "Yours faithfully,"
    y = sheet.paragraph(margin, y, width, closing, body, justify=justify, leading=leading)
    y += sheet.px(8)
    sig_x = margin + width * float(rng.uniform(0.45, 0.6))
    y = sheet.text(sig_x, y, _pick(rng, SIGNERS_FR) if fr else "The Director,", body)
    y = sheet.signature(rng, sig_x, y + sheet.px(2), 40.0)
    sheet.text(sig_x, y + sheet.px(2), _pick(rng, PEOPLE_FR).split(" ", 1)[1], bold)

    # Footer: page number and a legal line, as on every letter of an administration.
    foot = sheet.font(face.regular, body_pt * 0.7)
    fy = sheet.image.height - sheet.px(margin * 0.7)
    sheet.rule(margin, fy - sheet.px(2), right, width_px=1, fill=GREY)
    footer = ("Ce courrier est établi par un service public. Page 1/1" if fr
              else "This letter is issued by a public service. Page 1/1")
    sheet.text(margin, fy, footer, foot, fill=GREY)
    return sheet.to_bgr()
