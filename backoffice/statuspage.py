"""The citizen's status page: ``/suivi/<deposit id>?t=<tracking token>``.

In the language of the kiosk session: the receipt's QR code carries it as
``lang`` (``printer.receipt.status_link``; French, the default, is left out).
Without a valid ``lang``, the best of the browser's Accept-Language, else
French. Languages: French, English, Spanish, Arabic (``<html lang="ar"
dir="rtl">``) and easy-read French (FALC, ``lang=fr-falc``; written
``fr-x-falc`` in HTML, a private-use BCP 47 tag, since ``fr-falc`` is not one;
no browser asks for it, so only the link chooses it). Each page links to the
others. It shows the deposit number, its status, when it was received and last
updated, the procedure, the date the answer is expected by, the service and how
to reach it, the service's message and the history of statuses: nothing
personal (the back office holds none in clear anyway); and a link to the
dossier's accusé de réception (PDF, backoffice/acknowledgement.py), which the
same token opens. While the service waits for missing documents
(backoffice/docrequests.py), it lists them by name in the page's language with
their deadline and how to bring them (at any deposit kiosk, showing the
receipt's QR code); and while no decision is taken, the date the service's
silence becomes a decision, or that its delay is suspended.

A well-formed number the back office does not hold (yet) says "on its way to
the service": a dossier sealed at a kiosk with no network is a real deposit,
and its citizen should not read "not found". A wrong token answers exactly
as such a number: same status code, same body, so the page never tells
whether a number exists. The token's SHA-256 is compared in constant time,
against a dummy hash when the deposit is unknown, so the time taken does not
tell either. Only what is not a deposit number at all is "not found" (404).
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import hmac
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

import assets
from backoffice import acknowledgement, deadlines, docrequests
from backoffice.docrequests import DocumentRequest
from backoffice.procedures import ProcedureInfo
from backoffice.status import DossierStatus
from backoffice.store.metadata import DepositRecord
from backoffice.store.staffdb import HistoryEntry
from deposit import ids
from deposit.legal import Silence

LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")
DEFAULT_LANGUAGE = "fr"
#: Each language's name in itself, for the links between them.
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "es": "Español", "ar": "العربية",
                  "fr-falc": "Français facile à lire"}
#: The BCP 47 tag of HTML's ``lang`` and Content-Language, where it is not the code itself.
HTML_TAGS = {"fr-falc": "fr-x-falc"}
#: gettext's folder for a language: easy-read French is the variant ``fr@falc``.
CATALOG_NAMES = {"fr-falc": "fr@falc"}
#: The CLDR locale of dates (easy-read French writes them as French does).
BABEL_LOCALES = {"fr-falc": "fr"}
RTL_LANGUAGES = frozenset({"ar"})
DOMAIN = "backoffice"
#: Times on the page are shown in the service's time zone.
TIMEZONE = ZoneInfo("Europe/Paris")
_DUMMY_HASH = hashlib.sha256(b"no such deposit").hexdigest()

_CSS = (
    "body{font-family:system-ui,'DejaVu Sans',sans-serif;font-size:1.25rem;line-height:1.5;"
    "margin:0;color:#161616;background:#f6f6f6}"
    "main{max-width:40rem;margin:0 auto;padding:1.5rem;background:#fff;min-height:100vh}"
    "h1{font-size:1.6rem;margin:0 0 1rem}"
    ".status{font-size:1.5rem;font-weight:bold;padding:.75rem 1rem;border-left:.5rem solid "
    "#000091;background:#eef}"
    ".status.accepted{border-color:#18753c;background:#e6feda}"
    ".status.rejected,.status.incomplete,.status.closed{border-color:#ce0500;background:#ffe9e9}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:bold}"
    "dd{margin:0;overflow-wrap:anywhere}"
    ".number{font-family:'DejaVu Sans Mono',monospace;letter-spacing:.05em;white-space:nowrap}"
    # A phone held upright: each label above its value, the value the whole width.
    "@media (max-width:32rem){dl{display:block}dd{margin:0 0 .75rem}}"
    ".documents{border-inline-start:.5rem solid #ce0500;padding:.25rem 1rem;margin:1rem 0}"
    ".documents h2{font-size:1.4rem;margin:.5rem 0}"
    "blockquote{margin:1rem 0;padding:.75rem 1rem;background:#f0f0f0;white-space:pre-wrap}"
    "nav{margin-top:2rem}nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;"
    "gap:.5rem 1.5rem}a{color:#000091}"
)
CSP = ("default-src 'none'; style-src 'sha256-"
       + base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
       + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@cache
def translations(lang: str) -> gettext.NullTranslations:
    folder = CATALOG_NAMES.get(lang, lang)
    return gettext.translation(DOMAIN, localedir=assets.path("locale"), languages=[folder],
                               fallback=lang == "en")


def html_tag(lang: str) -> str:
    """The BCP 47 tag of ``lang`` for HTML and HTTP (``fr-falc`` -> ``fr-x-falc``)."""
    return HTML_TAGS.get(lang, lang)


def direction(lang: str) -> str:
    """HTML's ``dir`` of a language: ``rtl`` for Arabic, else ``ltr``."""
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    """``lang`` from the link if valid, else the best of Accept-Language, else French."""
    if query_lang in LANGUAGES:
        return query_lang
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            candidate = (q, -index, primary)
            if best is None or candidate > best:
                best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Page:
    status_code: int
    body: str
    language: str


def lookup(find: Callable[[str], DepositRecord | None], raw_id: str,
           token: str | None) -> DepositRecord | None:
    """The deposit if ``token`` is its tracking token; None for unknown or wrong, alike."""
    deposit_id = ids.canonical(raw_id)
    record = find(deposit_id) if deposit_id else None
    given = hashlib.sha256((token or "").encode("utf-8", "replace")).hexdigest()
    expected = record.tracking_token_sha256 if record else _DUMMY_HASH
    matches = hmac.compare_digest(given.encode(), expected.encode())
    return record if (record is not None and matches and token) else None


def _when(moment: datetime, lang: str, _: Callable[[str], str]) -> str:
    local = moment.astimezone(TIMEZONE)
    locale = BABEL_LOCALES.get(lang, lang)
    return _("{date} at {time}").format(date=format_date(local, "long", locale=locale),
                                        time=format_time(local, "HH:mm", locale=locale))


def _language_links(token: str | None, lang: str) -> str:
    """Links to the page in every other language, each named in its own language."""
    items = []
    for other in LANGUAGES:
        if other == lang:
            continue
        link = "?" + urlencode({"t": token or "", "lang": other})
        tag = html_tag(other)
        items.append(f"<li><a href=\"{html.escape(link)}\" hreflang=\"{tag}\" lang=\"{tag}\" "
                     f"dir=\"{direction(other)}\">{html.escape(LANGUAGE_NAMES[other])}</a></li>")
    return "<ul>" + "".join(items) + "</ul>"


def render(record: DepositRecord | None, raw_id: str, token: str | None, lang: str, *,
           history: Sequence[HistoryEntry] = (), procedure: ProcedureInfo | None = None,
           requests: Sequence[DocumentRequest] = (), now: datetime | None = None) -> Page:
    """The page for ``raw_id``: the dossier's (``record``, its ``history``, what the catalog
    says of its ``procedure``, its ``requests`` for documents as they stand at ``now``), or
    "on its way" for any other well-formed number, wrong token or not (so a number's
    existence is never told), or "not found" for what is not a number.
    """
    t = translations(lang)
    _ = t.gettext
    deposit_id = ids.canonical(raw_id)
    if record is None and deposit_id is None:
        title = _("Deposit not found")
        check = _("We cannot find this deposit. Check that you scanned the QR code of your "
                  "receipt, or typed its address in full.")
        later = _("A deposit made a short while ago can take some time to reach the service: "
                  "please try again later.")
        content = (f"<h1>{html.escape(title)}</h1><p>{html.escape(check)}</p>"
                   f"<p>{html.escape(later)}</p>")
        status_code = 404
    elif record is None:
        assert deposit_id is not None
        title = _("Follow your deposit")
        state = _("On its way to the service")
        way = _("This deposit was made at a kiosk and is on its way to the service. It appears "
                "here once the service has received it: usually within minutes, longer when "
                "the kiosk has no network.")
        check = _("If this page still says so after a few days, check that you scanned the QR "
                  "code of your receipt or typed its address in full.")
        content = (f"<h1>{html.escape(title)}</h1>"
                   f"<p class=\"status on-its-way\" role=\"status\">{html.escape(state)}</p>"
                   f"<p>{html.escape(way)}</p>"
                   f"<dl><dt>{html.escape(_('Deposit number'))}</dt>"
                   f"<dd class=\"number\" dir=\"ltr\">{html.escape(deposit_id)}</dd></dl>"
                   f"<p>{html.escape(check)}</p>")
        status_code = 200
    else:
        labels = {
            DossierStatus.RECEIVED: _("Received"), DossierStatus.IN_REVIEW: _("Under review"),
            DossierStatus.INCOMPLETE: _("Incomplete"), DossierStatus.ACCEPTED: _("Accepted"),
            DossierStatus.REJECTED: _("Rejected"), DossierStatus.CLOSED: _("Closed"),
        }
        explanations = {
            DossierStatus.RECEIVED: _("Your dossier has reached the service. It will be "
                                      "examined soon."),
            DossierStatus.IN_REVIEW: _("An agent is examining your dossier."),
            DossierStatus.INCOMPLETE: _("Your dossier is incomplete. Read the service's "
                                        "message below."),
            DossierStatus.ACCEPTED: _("Your request has been accepted."),
            DossierStatus.REJECTED: _("Your request has been rejected. Read the service's "
                                      "message below."),
            DossierStatus.CLOSED: _("The service closed your dossier without follow-up. Read "
                                    "the service's message below."),
        }
        title = _("Follow your deposit")
        message = ""
        # An open request's section says what the generated message says, in the page's
        # language: only the staff's own note is left to show.
        asking = _open_request(record, requests)
        said = asking.note if asking is not None else record.status_message
        if said:
            heading = _("Message from the service")
            message = (f"<h2>{html.escape(heading)}</h2>"
                       f"<blockquote dir=\"auto\">{html.escape(said)}</blockquote>")
        number_label = _("Deposit number")
        received_label = _("Received on")
        updated_label = _("Last update")
        updated = record.status_at or record.received_at
        content = (
            f"<h1>{html.escape(title)}</h1>"
            f"<p class=\"status {html.escape(record.status)}\" role=\"status\">"
            f"{html.escape(labels.get(record.status, record.status))}</p>"
            f"<p>{html.escape(explanations.get(record.status, ''))}</p>"
            f"<dl><dt>{html.escape(number_label)}</dt>"
            f"<dd class=\"number\" dir=\"ltr\">{html.escape(record.deposit_id)}</dd>"
            f"<dt>{html.escape(received_label)}</dt>"
            f"<dd>{html.escape(_when(record.received_at, lang, _))}</dd>"
            f"<dt>{html.escape(updated_label)}</dt>"
            f"<dd>{html.escape(_when(updated, lang, _))}</dd>"
            f"{_procedure_rows(record, procedure, lang, _)}"
            f"{_deemed_row(record, procedure, requests, now, lang, _)}</dl>"
            f"{_acknowledgement_link(record, procedure, token, lang)}"
            f"{_requested(record, procedure, requests, now, lang, _)}"
            f"{message}"
            f"{_history(history, labels, lang, _)}"
        )
        status_code = 200
    body = (
        "<!doctype html>"
        f"<html lang=\"{html_tag(lang)}\" dir=\"{direction(lang)}\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{content}"
        f"<nav>{_language_links(token, lang)}</nav></main></body></html>"
    )
    return Page(status_code, body, lang)


def _procedure_rows(record: DepositRecord, procedure: ProcedureInfo | None, lang: str,
                    _: Callable[[str], str]) -> str:
    """The procedure, the date the answer is expected by, and the service with its contact
    (placeholders of the catalog are never shown)."""
    name = (procedure.names.get(lang) or procedure.name) if procedure else record.procedure
    rows = [(_("Procedure"), name)]
    if record.due_at is not None:
        locale = BABEL_LOCALES.get(lang, lang)
        rows.append((_("Answer expected by"),
                     format_date(record.due_at.astimezone(TIMEZONE), "long", locale=locale)))
    if procedure is not None and procedure.service_name:
        service = procedure.service_name.get(lang) or procedure.service_name.get("fr", "")
        channels = [c for c in (procedure.phone, procedure.email, procedure.postal_address) if c]
        rows.append((_("Service"), " · ".join([service, *channels])))
    return "".join(f"<dt>{html.escape(k)}</dt><dd dir=\"auto\">{html.escape(v)}</dd>"
                   for k, v in rows)


def _long_date(day: date, lang: str) -> str:
    return format_date(day, "long", locale=BABEL_LOCALES.get(lang, lang))


def _open_request(record: DepositRecord, requests: Sequence[DocumentRequest]
                  ) -> DocumentRequest | None:
    """The request an incomplete dossier waits on, if any."""
    if record.status is not DossierStatus.INCOMPLETE:
        return None
    return next((r for r in requests if r.state is docrequests.RequestState.OPEN), None)


def _requested(record: DepositRecord, procedure: ProcedureInfo | None,
               requests: Sequence[DocumentRequest], now: datetime | None, lang: str,
               _: Callable[[str], str]) -> str:
    """The open request of an incomplete dossier: its documents by name, the deadline, and
    how to bring them (or that the deadline has passed)."""
    request = _open_request(record, requests)
    if request is None:
        return ""
    names = []
    for code in request.documents:
        document = procedure.document(code) if procedure else None
        names.append(document.name(lang) if document else code)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in names)
    if request.expired(now or datetime.now(TIMEZONE)):
        how = _("The deadline to bring them has passed: contact the service.")
    else:
        how = _("Bring them by {date}, at any deposit kiosk: show the QR code of your receipt "
                "to the kiosk.").format(date=_long_date(request.deadline, lang))
    return (f"<section class=\"documents\"><h2>{html.escape(_('Documents requested'))}</h2>"
            f"<p>{html.escape(_('The service needs these documents to examine your request:'))}"
            f"</p><ul dir=\"auto\">{items}</ul><p><strong>{html.escape(how)}</strong></p>"
            "</section>")


def _deemed_row(record: DepositRecord, procedure: ProcedureInfo | None,
                requests: Sequence[DocumentRequest], now: datetime | None, lang: str,
                _: Callable[[str], str]) -> str:
    """While nothing is decided: the day the service's silence becomes a decision
    (backoffice/deadlines.py), or that its delay waits for the documents."""
    if record.status not in (DossierStatus.RECEIVED, DossierStatus.IN_REVIEW,
                             DossierStatus.INCOMPLETE):
        return ""
    today = deadlines.receipt_date(now or datetime.now(TIMEZONE))
    try:
        outcome = docrequests.deemed(procedure, record.received_at, requests, today)
    except deadlines.TimelineError:
        return ""                      # a history the rules cannot count: say nothing wrong
    if outcome is None:
        return ""
    state, silence = outcome.state, outcome.silence
    accepted = silence is Silence.ACCEPTANCE
    if state is deadlines.State.SUSPENDED:
        text = _("The delay is suspended until the documents arrive.")
    elif state is deadlines.State.DOCUMENTS_OVERDUE or outcome.deemed_on is None:
        text = _("The delay will start again once the documents arrive.")
    elif state is deadlines.State.RUNNING:
        text = (_("Your request will be deemed accepted on {date}.") if accepted else
                _("Your request will be deemed rejected on {date}."))
    else:
        text = (_("Your request was deemed accepted on {date}.") if accepted else
                _("Your request was deemed rejected on {date}."))
    if outcome.deemed_on is not None:
        text = text.format(date=_long_date(outcome.deemed_on, lang))
    return (f"<dt>{html.escape(_('Implicit decision'))}</dt>"
            f"<dd class=\"deemed\">{html.escape(text)}</dd>")


def _acknowledgement_link(record: DepositRecord, procedure: ProcedureInfo | None,
                          token: str | None, lang: str) -> str:
    """The link to the dossier's accusé de réception (PDF), where the catalog states the legal
    facts it needs (backoffice/acknowledgement.py); named in that document's own words."""
    if procedure is None or procedure.silence is None:
        return ""
    label = acknowledgement.translations(lang).gettext("Acknowledgement of receipt")
    query = {"t": token or ""} | ({"lang": lang} if lang != DEFAULT_LANGUAGE else {})
    link = f"/suivi/{record.deposit_id}/accuse-de-reception.pdf?{urlencode(query)}"
    return (f"<p class=\"acknowledgement\"><a href=\"{html.escape(link)}\" "
            f"type=\"application/pdf\">{html.escape(label)} (PDF)</a></p>")


def _history(history: Sequence[HistoryEntry], labels: Mapping[DossierStatus, str], lang: str,
             _: Callable[[str], str]) -> str:
    """Every status the dossier had, oldest first, with its date (who set it is not said)."""
    if len(history) < 2:
        return ""
    items = "".join(f"<li><span class=\"when\">{html.escape(_when(h.at, lang, _))}</span> · "
                    f"{html.escape(labels.get(h.status, h.status))}</li>" for h in history)
    return f"<h2>{html.escape(_('History'))}</h2><ol class=\"history\">{items}</ol>"


def headers(lang: str) -> dict[str, str]:
    """Headers of every status page answer: no caching, no referrer (the token is in the URL)."""
    return {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex", "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff", "Content-Language": html_tag(lang),
            "Vary": "Accept-Language"}
