"""The printer's test receipt and cutter test, for the technician's service mode.

A technician who has just changed the roll, cleaned the head or swapped the
printer wants to see, on paper, everything a citizen's receipt depends on:

- the code page: a line of "é è à ç ô œ €" (a wrong ``ESC t`` garbles it; a
  PC858 printer prints "oe" for "œ", as receipts do);
- the width: a ruler of the profile's columns, so a wrong ``width=`` or
  profile shows as a wrapped or short line, and a double-width line;
- the QR code: ``KIOSK-TEST <kiosk id> <time>``, at the module size receipts
  use (:func:`printer.escpos_layout.qr_module_size`), which the technician scans
  with the kiosk's own code reader or a phone; the text is returned so the
  service screen can say whether what was read is what was printed;
- the cut (or the tear-off feed on a printer without a cutter).

It goes through the same driver call as a receipt (``Printer.print_job``: ESC @,
code page, elements), with the same code-page fitting as
:mod:`printer.escpos_layout`. Printer trouble is raised as the driver raises it
(``PaperOutError``, ``CoverOpenError``…): the service screen shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.printer import (
    Align,
    Cut,
    Element,
    Feed,
    Printer,
    PrinterStatus,
    PrintJob,
    QRCode,
    Style,
    Text,
)
from drivers.printer.profiles import choose_code_page
from printer.escpos_layout import QR_ERROR_CORRECTION, TEAR_OFF_FEED, qr_module_size
from printer.text import fit_to_codec

#: The letters a French receipt needs; the test receipt prints them as a line of its own.
FRENCH_LINE = "é è à ç ô œ €"
#: What the test QR code encodes starts with this (then the kiosk id and the time).
QR_PREFIX = "KIOSK-TEST"
#: Lines fed before the cutter test's cut, so the cut piece is short but can be taken.
CUTTER_TEST_FEED = 2

_TITLE = Style(bold=True, double_height=True, align=Align.CENTER)
_CENTER = Style(align=Align.CENTER)
_WIDE = Style(double_width=True)


def qr_text(kiosk_id: str, now: datetime) -> str:
    """``KIOSK-TEST <kiosk id> <UTC time to the second>``: what the test QR code encodes."""
    return f"{QR_PREFIX} {kiosk_id} {now.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def ruler(columns: int) -> str:
    """``1234567890`` repeated to exactly ``columns`` characters (the last digit is the width's)."""
    return "".join(str((n + 1) % 10) for n in range(columns))


def build_test_receipt(printer: Printer, kiosk_id: str, now: datetime) -> tuple[PrintJob, str]:
    """The test receipt as a print job for this printer's profile, and its QR text."""
    profile = printer.profile
    page = choose_code_page(profile)
    qr = qr_text(kiosk_id, now)

    def fit(text: str) -> str:
        return fit_to_codec(text, page.codec)

    local = now.astimezone()
    elements: list[Element] = [
        Text("TEST IMPRIMANTE", _TITLE),
        Text(fit(f"Borne {kiosk_id}"), _CENTER),
        Text(local.strftime("%d/%m/%Y %H:%M:%S %Z").strip(), _CENTER),
        Feed(1),
        Text(fit(f"Profil : {profile.name}")),
        Text(f"Papier : {profile.paper_width_mm} mm, {profile.columns} colonnes, "
             f"{profile.dots_per_line} points"),
        Text(f"Page de code : {page.name} (ESC t {page.number})"),
        Text(fit(FRENCH_LINE)),
        Text(ruler(profile.columns)),
        Text("+" + "-" * (profile.columns - 2) + "+"),
        Text(ruler(profile.columns // 2), _WIDE),
        Feed(1),
        QRCode(qr, module_size=qr_module_size(qr, profile.dots_per_line),
               error_correction=QR_ERROR_CORRECTION, align=Align.CENTER),
        Text(qr, _CENTER),
    ]
    elements.append(Cut() if profile.cutter else Feed(TEAR_OFF_FEED))
    return PrintJob(tuple(elements), name="test receipt"), qr


def print_test_receipt(printer: Printer, kiosk_id: str, now: datetime) -> str:
    """Print the test receipt; the text its QR code encodes.

    Raises the driver's errors: PaperOutError, CoverOpenError, PrinterOfflineError,
    CutterError, PrinterFaultError, or DeviceTimeoutError / DeviceUnavailableError when
    the printer does not answer.
    """
    job, qr = build_test_receipt(printer, kiosk_id, now)
    printer.print_job(job)
    return qr


def cutter_test(printer: Printer) -> PrinterStatus:
    """Feed a little paper and cut (a full cut, as receipts end); the status after it.

    On a printer whose profile has no cutter, only the feed: nothing to test.
    Raises as :func:`print_test_receipt`; a jammed blade is ``CutterError``.
    """
    elements: tuple[Element, ...] = (Feed(CUTTER_TEST_FEED),)
    if printer.profile.cutter:
        elements += (Cut(),)
    return printer.print_job(PrintJob(elements, name="cutter test"))
