"""The receipt as text to be spoken (EN 301 549, 5.1.3.16: a receipt's speech holds
everything needed to check the transaction).

The speech engine reads plain text; this module writes it so that any
synthesiser reads it clearly:

- the deposit number spelled one character at a time, commas between characters
  and a full stop between groups, said at the start and repeated at the end
  ("K, 0, 1, 2. 7, F, 3, Q. 9, X, M, V"); the check symbols * ~ $ = are named;
- dates with the day of the week, times as words where the digits would be
  misread ("15 heures 57" in French: espeak reads "15 h 57" as "quinze ache");
- each document with its number of pages, the processing time and the date of the
  answer, where the dossier is, how to follow it and how to reach the service.

:func:`receipt_speech` gives the sentences in order, so the kiosk's speech queue
can pause and repeat sentence by sentence; :func:`speech_text` joins them.
"""

from __future__ import annotations

from datetime import datetime

from printer.content import duration_text, pages_text, transmission_text
from printer.i18n import Translator, translator
from printer.receipt import DepositNumber, Receipt


def _symbol_names(tr: Translator) -> dict[str, str]:
    return {"*": tr._("star"), "~": tr._("tilde"), "$": tr._("dollar"), "=": tr._("equals")}


def spell_deposit_id(deposit_id: DepositNumber, language: str = "fr") -> str:
    """``K, 0, 1, 2. 7, F, 3, Q. 9, X, M, V``: characters apart, groups with a pause."""
    names = _symbol_names(translator(language))
    return ". ".join(", ".join(names.get(c, c) for c in group) for group in deposit_id.groups)


def _spoken_time(tr: Translator, moment: datetime) -> str:
    return tr.ngettext("{hours}:{minutes:02d}", "{hours}:{minutes:02d}", moment.hour).format(
        hours=moment.hour, minutes=moment.minute)


def receipt_speech(receipt: Receipt) -> tuple[str, ...]:
    """The sentences a speech synthesiser reads for this receipt, in its language."""
    tr = translator(receipt.language)
    tz = receipt.tz
    number = spell_deposit_id(receipt.deposit_id, receipt.language)
    local = receipt.local_created
    said = [
        tr._("Deposit receipt."),
        tr._("Your deposit number is: {number}.").format(number=number),
    ]
    if receipt.complement_of is not None:
        said.append(tr._("These documents are added to dossier {number}.").format(
            number=spell_deposit_id(receipt.complement_of, receipt.language)))
    said += [
        tr._("Handed in on {date} at {time}. Place: {place}.").format(
            date=tr.date(local, tz, full=True), time=_spoken_time(tr, local),
            place=receipt.place),
        tr._("Procedure: {procedure}.").format(procedure=receipt.procedure),
    ]
    if receipt.case_reference:
        said.append(tr._("Your reference: {reference}.").format(
            reference=receipt.case_reference))
    said.append(tr.ngettext("You handed in {count} document:", "You handed in {count} documents:",
                            len(receipt.documents)).format(count=len(receipt.documents)))
    said += [tr._("{title}: {pages}.").format(title=d.title, pages=pages_text(tr, d.pages))
             for d in receipt.documents]
    said.append(tr._("{pages} in all.").format(pages=pages_text(tr, receipt.total_pages)))
    said.append(tr._("Processing time: {duration}.").format(
        duration=duration_text(tr, receipt.processing_time)))
    due = receipt.due_date
    if due is not None:
        said.append(tr._("Answer by {date} at the latest.").format(
            date=tr.date(due, tz, full=True)))
    said.append(transmission_text(tr, receipt.transmission))
    if receipt.next_steps:
        said.append(receipt.next_steps.strip())
    said.append(tr._("To follow your dossier, scan the QR code printed on your receipt with "
                     "your phone, or give your deposit number at any counter."))
    service = receipt.service
    said.append(tr._("To reach the service: {name}.").format(name=service.name))
    if service.phone:
        said.append(tr._("Phone: {phone}.").format(phone=service.phone))
    if service.hours:
        said.append(tr._("Opening hours: {hours}.").format(hours=service.hours))
    if service.address:
        said.append(tr._("Address: {address}.").format(address=service.address))
    said.append(tr._("I repeat your deposit number: {number}.").format(number=number))
    return tuple(s.replace("..", ".") for s in said)


def speech_text(receipt: Receipt) -> str:
    """:func:`receipt_speech` as one text, a sentence a line."""
    return "\n".join(receipt_speech(receipt))
