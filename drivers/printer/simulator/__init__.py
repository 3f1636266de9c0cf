"""The receipt-printer simulator: its own ESC/POS parser, PNG receipts, settable status.

``sim://`` (:mod:`drivers.printer.sim_backend`) starts one behind a
pseudo-terminal and opens it with the serial backend;
``python -m drivers.printer.simulator --out DIR`` runs one for a kiosk or a
technician to print to (see docs/printer.md).
"""

from __future__ import annotations

from drivers.printer.simulator.device import PrinterSimulator, SimState
from drivers.printer.simulator.parser import (
    EscPosParser,
    PaperCut,
    PaperFeed,
    ParsedElement,
    ParsedJob,
    QRSymbol,
    RasterImage,
    Run,
    TextLine,
    TextStyle,
)
from drivers.printer.simulator.render import render

__all__ = [
    "EscPosParser", "PaperCut", "PaperFeed", "ParsedElement", "ParsedJob", "PrinterSimulator",
    "QRSymbol", "RasterImage", "Run", "SimState", "TextLine", "TextStyle", "render",
]
