"""Draw the camera calibration sheet (A4 PDF) from the layout in scanner/calibration.py.

    python -m devtools.calibration_sheet                  # assets/calibration/calibration-sheet.pdf
    python -m devtools.calibration_sheet -o /tmp/sheet.pdf

Why a script and not a drawing: the sheet is only useful if what is printed
is exactly what ``scanner.calibration.measure_sheet`` expects, so both read
one layout (marker ids and positions, wedge, grey steps, ruler, all in mm).
The PDF is drawn in vector form (markers as filled squares, bars as
rectangles) and with ``invariant=1`` (no creation date, fixed ids), so the
same layout always gives the same bytes and a test can tell whether the
committed file is up to date.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

import assets
from scanner import calibration as layout

OUTPUT = assets.path("calibration") / "calibration-sheet.pdf"
TITLE = "Borne de dépôt — mire d'étalonnage de la caméra"
INSTRUCTIONS = (
    "Imprimer à 100 % (taille réelle), sans « ajuster à la page ». Vérifier la règle : 100 mm.",
    "Poser la feuille à plat au milieu du plateau, puis lancer la mesure dans le mode technicien.",
)


def draw(path: Path) -> None:
    """Write the sheet to ``path`` (A4 portrait)."""
    width, height = layout.SHEET_MM
    canvas = Canvas(str(path), pagesize=(width * mm, height * mm), invariant=1,
                    pageCompression=1)
    canvas.setTitle("Kiosk camera calibration sheet")
    canvas.setAuthor("deposit kiosk")

    def rect(x: float, y: float, w: float, h: float, grey: float) -> None:
        """A filled rectangle at (x, y) mm from the top-left, ``grey`` 0 black .. 1 white."""
        canvas.setFillGray(grey)
        canvas.rect(x * mm, (height - y - h) * mm, w * mm, h * mm, stroke=0, fill=1)

    for marker_id, (mx, my) in layout.MARKERS.items():
        cells = layout.marker_cells(marker_id)
        cell = layout.MARKER_MM / 6
        for r, c in itertools.product(range(6), range(6)):
            if cells[r, c] == 0:
                rect(mx + c * cell, my + r * cell, cell, cell, 0.0)
        canvas.setFillGray(0.0)
        canvas.setFont("Helvetica", 7)
        canvas.drawString(mx * mm, (height - my - layout.MARKER_MM - 4) * mm, f"#{marker_id}")
    gw, gh = layout.WEDGE_GROUP_MM
    for lpmm, vertical, (x, y) in layout.wedge_groups():
        period = 1.0 / lpmm
        n = round((gw if vertical else gh) * lpmm)
        for k in range(n):
            a = k * period
            if vertical:
                rect(x + a, y, period / 2, gh, 0.0)
            else:
                rect(x, y + a, gw, period / 2, 0.0)
        if vertical:
            canvas.setFillGray(0.0)
            canvas.setFont("Helvetica", 7)
            canvas.drawString(x * mm, (height - y + 2) * mm, f"{lpmm:g} pl/mm")
    for reflectance, (x, y) in layout.grey_patches():
        rect(x, y, layout.GREY_MM, layout.GREY_MM, reflectance)
    x0, y0 = layout.GREY_ORIGIN_MM
    x1 = x0 + (len(layout.GREY_STEPS) - 1) * layout.GREY_PITCH_MM + layout.GREY_MM
    canvas.setStrokeGray(0.0)
    canvas.setLineWidth(0.2 * mm)
    canvas.rect(x0 * mm, (height - y0 - layout.GREY_MM) * mm, (x1 - x0) * mm,
                layout.GREY_MM * mm, stroke=1, fill=0)
    rx, ry = layout.RULER_ORIGIN_MM
    rect(rx, ry, layout.RULER_MM, 0.5, 0.0)
    for k in range(11):
        rect(rx + 10 * k - 0.25, ry - 4.0, 0.5, 4.0, 0.0)
    canvas.setFillGray(0.0)
    canvas.setFont("Helvetica", 8)
    canvas.drawCentredString((rx + layout.RULER_MM / 2) * mm, (height - ry - 5) * mm,
                             "100 mm")
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(width / 2 * mm, (height - 54) * mm, TITLE)
    canvas.setFont("Helvetica", 8)
    for k, line in enumerate(INSTRUCTIONS):
        canvas.drawCentredString(width / 2 * mm, (height - 220 - 5 * k) * mm, line)
    canvas.showPage()
    canvas.save()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.calibration_sheet",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    draw(args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
