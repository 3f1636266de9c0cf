"""The receipt's content in the session's language, as blocks every renderer lays out.

One wording for paper, PDF and screen: :func:`receipt_blocks` turns a
:class:`~printer.receipt.Receipt` into a sequence of blocks; the ESC/POS, PDF
and PNG renderers only decide how each kind of block looks. (Speech has its own
wording, in :mod:`printer.speech`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from printer.i18n import Translator, translator
from printer.receipt import ProcessingTime, Receipt, Transmission


@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class Subtitle:
    text: str


@dataclass(frozen=True)
class BigNumber:
    """The deposit number, printed large: ``label`` above, ``value`` below."""

    label: str
    value: str


@dataclass(frozen=True)
class Field:
    """``label`` then ``value`` on one line when it fits (the label carries its colon)."""

    label: str
    value: str


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Item:
    """A list entry with a detail kept to the right (a document and its page count)."""

    text: str
    detail: str
    total: bool = False   # the sum under the list: no bullet, bold


@dataclass(frozen=True)
class Paragraph:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Code:
    """The tracking QR code."""

    data: str


@dataclass(frozen=True)
class Rule:
    pass


Block = Title | Subtitle | BigNumber | Field | Heading | Item | Paragraph | Code | Rule


def pages_text(tr: Translator, pages: int) -> str:
    return tr.ngettext("{count} page", "{count} pages", pages).format(count=pages)


def duration_text(tr: Translator, time: ProcessingTime) -> str:
    """``30 jours``, ``10 jours ouvrés`` or the catalog's text (both when both are given)."""
    parts = []
    if time.days is not None:
        if time.working_days:
            parts.append(tr.ngettext("{count} working day", "{count} working days",
                                     time.days).format(count=time.days))
        else:
            parts.append(tr.ngettext("{count} day", "{count} days",
                                     time.days).format(count=time.days))
    if time.text:
        parts.append(time.text.strip())
    return " — ".join(parts) if len(parts) == 2 and parts[0] != parts[1] else parts[0]


def transmission_text(tr: Translator, transmission: Transmission) -> str:
    if transmission is Transmission.SENT:
        return tr._("Your dossier has been sent to the service.")
    return tr._("Your dossier is kept safely in this kiosk and will be sent as soon as the "
                "network allows.")


def receipt_blocks(receipt: Receipt) -> tuple[Block, ...]:
    """The receipt's content in its language, from top to bottom."""
    tr = translator(receipt.language)
    tz = receipt.tz
    when = tr._("{date} at {time}").format(date=tr.date(receipt.created, tz),
                                          time=tr.time(receipt.created, tz))
    blocks: list[Block] = [
        Title(tr._("Deposit receipt")),
        Subtitle(receipt.place),
        Rule(),
        BigNumber(tr._("Deposit number"), str(receipt.deposit_id)),
    ]
    if receipt.complement_of is not None:
        blocks.append(Paragraph(tr._("These documents are added to dossier {number}.").format(
            number=receipt.complement_of), strong=True))
    blocks += [
        Rule(),
        Field(tr._("Date:"), when),
        Field(tr._("Place:"), receipt.place),
        Field(tr._("Procedure:"), receipt.procedure),
    ]
    if receipt.case_reference:
        blocks.append(Field(tr._("Your reference:"), receipt.case_reference))
    blocks += [Rule(), Heading(tr._("Documents handed in"))]
    blocks += [Item(d.title, pages_text(tr, d.pages)) for d in receipt.documents]
    blocks.append(Item(tr._("Total"), pages_text(tr, receipt.total_pages), total=True))

    blocks += [Rule(), Field(tr._("Processing time:"),
                             duration_text(tr, receipt.processing_time))]
    due = receipt.due_date
    if due is not None:
        blocks.append(Paragraph(tr._("Answer by {date} at the latest.").format(
            date=tr.date(due, tz)), strong=True))

    blocks += [Rule(), Heading(tr._("What happens next")),
               Paragraph(transmission_text(tr, receipt.transmission), strong=True)]
    if receipt.next_steps:
        blocks.append(Paragraph(receipt.next_steps.strip()))
    blocks.append(Paragraph(tr._("The service examines your dossier and contacts you if "
                                 "anything is missing. Keep this receipt: it proves that you "
                                 "handed in your dossier.")))

    blocks += [Rule(), Heading(tr._("Follow your dossier")), Code(receipt.status_url),
               Paragraph(tr._("Scan this code with your phone, or give your deposit number "
                              "at any counter.")),
               Field(tr._("Or go to:"), receipt.status_url)]

    service = receipt.service
    blocks += [Rule(), Heading(tr._("Contact")), Paragraph(service.name)]
    if service.phone:
        blocks.append(Field(tr._("Phone:"), service.phone))
    if service.hours:
        blocks.append(Field(tr._("Opening hours:"), service.hours))
    if service.address:
        blocks.append(Field(tr._("Address:"), service.address))
    if service.email:
        blocks.append(Field(tr._("Email:"), service.email))
    if service.website:
        blocks.append(Field(tr._("Website:"), service.website))
    blocks += [Rule(), Subtitle(tr._("Kiosk {kiosk}").format(kiosk=receipt.kiosk_id))]
    return tuple(blocks)
