"""The receipt as data: what the citizen takes home as proof of the deposit.

A :class:`Receipt` holds facts only, already in the session's language where
they come from the procedure catalog (procedure and document titles, a
processing time given as text, the procedure's own next steps). The fixed
wording is added by the renderers through the ``printer`` message catalog:

- :func:`printer.escpos_layout.receipt_job` — a :class:`drivers.printer.PrintJob`;
- :func:`printer.receipt_pdf.receipt_pdf` — a PDF on roll width or A4;
- :func:`printer.screen.receipt_png` — a PNG for the screen when the printer fails;
- :func:`printer.speech.receipt_speech` — the text a speech synthesiser reads.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from printer.errors import LayoutError


class Transmission(StrEnum):
    """Where the dossier is when the receipt is printed."""

    SENT = "sent"          # the back office acknowledged it
    QUEUED = "queued"      # sealed in the outbox; sent as soon as the network allows


@dataclass(frozen=True)
class DocumentEntry:
    """One document handed in: its title (in the session's language) and its page count."""

    title: str
    pages: int

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise LayoutError("a document has an empty title")
        if self.pages < 1:
            raise LayoutError(f"document {self.title!r} has {self.pages} pages; at least 1")


@dataclass(frozen=True)
class ProcessingTime:
    """The processing time the service commits to, from the procedure catalog.

    ``days`` (calendar days, or working days with ``working_days``) lets the receipt
    print the date of the answer; ``text`` is the catalog's own wording, already in
    the session's language ("deux mois", "4 to 6 weeks"), used when there is no
    number of days or printed beside it.
    """

    days: int | None = None
    working_days: bool = False
    text: str | None = None

    def __post_init__(self) -> None:
        if self.days is None and not (self.text and self.text.strip()):
            raise LayoutError("a processing time needs a number of days or a text")
        if self.days is not None and not 0 < self.days <= 3660:
            raise LayoutError(f"processing time of {self.days} days is not between 1 and 3660")

    def due_date(self, start: date, holidays: frozenset[date] = frozenset()) -> date | None:
        """The last day of the committed time, counted from the deposit's date.

        Working days skip Saturdays, Sundays and ``holidays``.
        """
        if self.days is None:
            return None
        if not self.working_days:
            return start + timedelta(days=self.days)
        day, left = start, self.days
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in holidays:
                left -= 1
        return day


@dataclass(frozen=True)
class ServiceContact:
    """How to reach the service that handles the procedure (every field optional but the name)."""

    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    hours: str | None = None
    website: str | None = None


class DepositNumber(Protocol):
    """What a receipt needs of a deposit number: its printed groups (``str()`` joins them
    with dashes). ``deposit.ids.DepositId`` is one; the printer does not import ``deposit``
    (DESIGN.md: printer renders, it does not own deposit numbers)."""

    @property
    def groups(self) -> tuple[str, ...]: ...


def tracking_url(public_url: str, deposit_id: DepositNumber, token: str) -> str:
    """``{public_url}/suivi/{deposit_id}?t={token}`` (docs/contracts.md).

    ``public_url`` comes from the enrollment bundle, ``token`` from
    ``deposit.manifest.new_tracking_token()``. Raises LayoutError for an URL that is
    not https (plain http is accepted only on a loopback host, for the demo) or an
    empty token.
    """
    base = public_url.rstrip("/")
    _check_url(base)
    if not token or any(c.isspace() for c in token):
        raise LayoutError("the tracking token is empty or holds spaces")
    return f"{base}/suivi/{quote(str(deposit_id), safe='-*~$=')}?t={quote(token, safe='')}"


#: The language the status page shows when the link names none (it then follows the phone's
#: Accept-Language): a French receipt's link stays as short as it was.
LINK_DEFAULT_LANGUAGE = "fr"


def status_link(url: str, language: str) -> str:
    """The tracking URL the receipt prints and encodes in its QR code: ``url`` with
    ``&lang=<language>`` added, so the status page opens in the language of the session
    (``backoffice.statuspage`` reads ``lang``, and falls back to Accept-Language for a
    language it does not have); nothing is added for French."""
    if language == LINK_DEFAULT_LANGUAGE:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode({'lang': language})}"


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if loopback:
            return
    raise LayoutError(f"tracking URL {url!r} is not https (plain http only on a loopback host)")


@dataclass(frozen=True)
class Receipt:
    """Everything a receipt says. ``created`` must be timezone-aware; it is shown in
    ``timezone`` (the kiosk's). No personal data: a receipt may be left in the tray."""

    deposit_id: DepositNumber
    created: datetime
    kiosk_id: str
    place: str
    procedure: str
    documents: tuple[DocumentEntry, ...]
    processing_time: ProcessingTime
    tracking_url: str
    transmission: Transmission
    service: ServiceContact
    language: str = "fr"
    timezone: str = "Europe/Paris"
    case_reference: str | None = None
    next_steps: str | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)
    #: A complement (documents brought in answer to a request for missing documents): the
    #: dossier they were added to, which ``tracking_url`` follows.
    complement_of: DepositNumber | None = None

    def __post_init__(self) -> None:
        if self.created.tzinfo is None or self.created.utcoffset() is None:
            raise LayoutError("the receipt's creation time has no time zone")
        if not self.documents:
            raise LayoutError("a receipt lists at least one document")
        if not self.procedure.strip():
            raise LayoutError("the procedure title is empty")
        _check_url(self.tracking_url)
        followed = self.complement_of or self.deposit_id
        if str(followed) not in self.tracking_url:
            raise LayoutError(f"tracking URL {self.tracking_url!r} does not hold deposit number "
                              f"{followed}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise LayoutError(f"unknown time zone {self.timezone!r}") from exc

    @property
    def status_url(self) -> str:
        """:attr:`tracking_url` with the session's language (:func:`status_link`)."""
        return status_link(self.tracking_url, self.language)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_created(self) -> datetime:
        return self.created.astimezone(self.tz)

    @property
    def total_pages(self) -> int:
        return sum(d.pages for d in self.documents)

    @property
    def due_date(self) -> date | None:
        """None for a complement: the answer's date is the dossier's, which the back office
        recomputes once the documents arrive."""
        if self.complement_of is not None:
            return None
        return self.processing_time.due_date(self.local_created.date(), self.holidays)
