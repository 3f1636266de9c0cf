"""The accusé de réception of a deposit (CRPA L112-3, R112-5, L112-11 / R112-11-2).

The kiosk's printed receipt is the deposit's *accusé d'enregistrement*; the
administration owes the citizen, within 7 days, an *accusé de réception* stating
(R112-5): the date of receipt and the date on which, without an express decision, the
request will be deemed accepted or rejected; the service in charge, with its postal
address, e-mail and phone; whether silence means acceptance or rejection; for an
implicit rejection, the means and time limits of appeal; for an implicit acceptance,
the right to the attestation of L232-3. Without these mentions the appeal deadlines
cannot be held against the citizen (L112-6). docs/legal-chain.md says more.

Issued once, frozen. When a deposit arrives (backoffice/legalchain.py) the facts the
document states are computed (:func:`facts_for`) and stored as JSON with the time of
issue (backoffice/store/acknowledgements.py); the PDF is rendered from them whenever it
is asked for (:func:`render_pdf`): a later request for documents moves the dossier's
deemed-decision date but not what this document said. A dossier stored before the
accusés de réception existed (schema version 3) gets one issued on its first request
(:func:`current`, logged): its time of issue is then that request's.

What it cannot state, it does not invent: a procedure the catalog does not know, or
whose legal facts are missing, gets no accusé de réception (logged as an error, for the
staff to send one by hand); a channel of the service the catalog leaves as a
placeholder is never printed: the document says to ask the town hall or a France
Services desk for it (logged as a warning).

Language: the deposit's language first, then French, the language of the
administration (only French for a French deposit). Easy-read French (FALC) is French:
a FALC deposit gets the easy-read text, then the legal French text. The texts are
gettext domain ``acknowledgement`` (assets/locale/*/LC_MESSAGES/acknowledgement.po;
English message ids; extracted with ``pybabel extract -k tr --no-default-keywords
-o acknowledgement.pot backoffice/acknowledgement.py``, so that the ``backoffice``
domain's extraction does not take them).

The status page's address is printed without the tracking token (the back office
does not know it): the citizen finds the full link in the receipt's QR code.
"""

from __future__ import annotations

import gettext
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

from babel.dates import format_date, format_time

import assets
from backoffice import deadlines, procedures
from backoffice.acknowledgement_pdf import Block, Part, Style, render
from backoffice.errors import BackofficeError
from backoffice.procedures import ProcedureInfo
from backoffice.store.acknowledgements import AcknowledgementStore
from backoffice.store.metadata import DepositRecord, MetadataStore, iso, parse_iso
from deposit.legal import Delay, DelayUnit, Silence

log = logging.getLogger(__name__)

DOMAIN = "acknowledgement"
#: The languages a deposit can have (deposit/manifest.py; the kiosk's codes).
LANGUAGES = ("fr", "en", "es", "ar", "fr-falc")
FRENCH = "fr"
FALC = "fr-falc"
#: gettext's folder of a language: easy-read French is the variant ``fr@falc``.
CATALOG_NAMES = {FALC: "fr@falc"}
#: CLDR locale of dates, and the language tag of the PDF (FALC is written as French).
LOCALES = {FALC: "fr"}
RTL_LANGUAGES = frozenset({"ar"})
#: Bumped when the facts' JSON changes shape; older rows stay readable.
FACTS_VERSION = 1


class AcknowledgementError(BackofficeError):
    """The accusé de réception of a deposit cannot state its legal facts (unknown procedure,
    or the catalog has none for it)."""


@dataclass(frozen=True)
class Facts:
    """What an accusé de réception states, frozen when it is issued."""

    deposit_id: str
    language: str                       # the deposit's language; "fr" when it had none
    procedure: str
    procedure_names: Mapping[str, str]  # by language, French always
    kiosk_id: str
    registered_at: datetime             # the kiosk's accusé d'enregistrement (manifest)
    received_at: datetime               # when the back office received it
    received_on: date                   # the day of receipt, in Paris
    silence: Silence
    decision_delay: Delay | None        # None when silence means nothing
    deemed_on: date | None              # None when silence means nothing
    service_names: Mapping[str, str]
    postal_address: str | None          # None: the catalog has a placeholder or nothing
    email: str | None
    phone: str | None
    appeal: Mapping[str, str] = field(default_factory=dict)   # by language
    appeal_delay: Delay | None = None
    issued_at: datetime | None = None

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data.update(
            version=FACTS_VERSION, registered_at=iso(self.registered_at),
            received_at=iso(self.received_at), received_on=self.received_on.isoformat(),
            silence=self.silence.value,
            decision_delay=str(self.decision_delay) if self.decision_delay else None,
            deemed_on=self.deemed_on.isoformat() if self.deemed_on else None,
            appeal_delay=str(self.appeal_delay) if self.appeal_delay else None,
            issued_at=iso(self.issued_at) if self.issued_at else None,
            procedure_names=dict(self.procedure_names), service_names=dict(self.service_names),
            appeal=dict(self.appeal))
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Facts:
        data = json.loads(text)
        data.pop("version", None)

        def delay(value: str | None) -> Delay | None:
            return Delay.parse(value) if value else None

        return cls(**{
            **data,
            "registered_at": parse_iso(data["registered_at"]),
            "received_at": parse_iso(data["received_at"]),
            "received_on": date.fromisoformat(data["received_on"]),
            "silence": Silence(data["silence"]),
            "decision_delay": delay(data["decision_delay"]),
            "deemed_on": date.fromisoformat(data["deemed_on"]) if data["deemed_on"] else None,
            "appeal_delay": delay(data["appeal_delay"]),
            "issued_at": parse_iso(data["issued_at"]) if data["issued_at"] else None,
        })


def facts_for(record: DepositRecord, info: ProcedureInfo | None, issued_at: datetime) -> Facts:
    """The facts of ``record``'s accusé de réception, issued at ``issued_at``.

    The deemed-decision date is the dossier's as it stands (``deposits.deemed_on``), or,
    for a dossier stored without one, the one its arrival gave. AcknowledgementError when
    the catalog (``info``) states no legal facts for the procedure.
    """
    if info is None:
        raise AcknowledgementError(f"deposit {record.deposit_id}: the procedure "
                                   f"{record.procedure!r} is not in the catalog")
    if info.silence is None or not info.service_name:
        raise AcknowledgementError(f"deposit {record.deposit_id}: the catalog states no legal "
                                   f"facts for the procedure {info.code!r}")
    received_on = deadlines.receipt_date(record.received_at)
    deemed_on = record.deemed_on
    if deemed_on is None and info.silence is not Silence.NONE and info.decision_delay:
        deemed_on = deadlines.deemed_decision(received_on, info.decision_delay, info.silence,
                                              today=received_on).deemed_on
    missing = [k for k in ("postal_address", "email", "phone") if getattr(info, k) is None]
    if missing:
        log.warning("deposit %s: the catalog has no %s for the service of %s; the accusé de "
                    "réception sends the citizen to the town hall or a France Services desk",
                    record.deposit_id, ", ".join(missing), info.code)
    language = record.language if record.language in LANGUAGES else FRENCH
    if record.language not in (None, *LANGUAGES):
        log.warning("deposit %s: language %r unknown, the accusé de réception is in French",
                    record.deposit_id, record.language)
    return Facts(
        deposit_id=record.deposit_id, language=language, procedure=info.code,
        procedure_names=dict(info.names) or {FRENCH: info.name}, kiosk_id=record.kiosk_id,
        registered_at=record.created_at, received_at=record.received_at,
        received_on=received_on, silence=info.silence,
        decision_delay=info.decision_delay if info.silence is not Silence.NONE else None,
        deemed_on=deemed_on if info.silence is not Silence.NONE else None,
        service_names=dict(info.service_name), postal_address=info.postal_address,
        email=info.email, phone=info.phone, appeal=dict(info.appeal),
        appeal_delay=info.appeal_delay, issued_at=issued_at)


def issue(store: MetadataStore, record: DepositRecord, now: datetime,
          catalog: Mapping[str, ProcedureInfo] | None = None) -> Facts:
    """Issue ``record``'s accusé de réception now, unless it has one; the facts stored (the
    first ones). AcknowledgementError when its legal facts are not known."""
    catalog = procedures.shipped() if catalog is None else catalog
    facts = facts_for(record, catalog.get(record.procedure), now)
    row = AcknowledgementStore(store).issue(record.deposit_id, now, facts.to_json())
    return Facts.from_json(row.facts)


def current(store: MetadataStore, record: DepositRecord, now: datetime,
            catalog: Mapping[str, ProcedureInfo] | None = None) -> Facts:
    """The accusé de réception of ``record`` as it was issued; for a dossier stored before
    they were issued on arrival, issued now (logged)."""
    row = AcknowledgementStore(store).get(record.deposit_id)
    if row is not None:
        return Facts.from_json(row.facts)
    log.info("deposit %s has no accusé de réception (stored before they were issued on "
             "arrival): issued now", record.deposit_id)
    return issue(store, record, now, catalog)


# ---------------------------------------------------------------------- texts
@cache
def translations(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=assets.path("locale"),
                               languages=[CATALOG_NAMES.get(lang, lang)])


def parts_for(language: str) -> tuple[str, ...]:
    """The languages of the document, in order: the deposit's, then French."""
    return (FRENCH,) if language == FRENCH else (language, FRENCH)


def _delay_text(delay: Delay, tr: Callable[[str], str]) -> str:
    if delay.unit is DelayUnit.MONTHS:
        return tr("1 month") if delay.count == 1 else tr("{count} months").format(
            count=delay.count)
    return tr("1 day") if delay.count == 1 else tr("{count} days").format(count=delay.count)


def _in(mapping: Mapping[str, str], lang: str) -> str:
    return mapping.get(lang) or mapping.get(FRENCH) or next(iter(mapping.values()), "")


def blocks(facts: Facts, lang: str, status_url: str) -> tuple[Block, ...]:
    """The text of the accusé de réception in ``lang``, as blocks."""
    tr = translations(lang).gettext
    locale = LOCALES.get(lang, lang)

    def day(value: date) -> str:
        return str(format_date(value, "long", locale=locale))

    def when(moment: datetime) -> str:
        local = moment.astimezone(deadlines.PARIS)
        return tr("{date} at {time}").format(
            date=format_date(local, "long", locale=locale),
            time=format_time(local, "HH:mm", locale=locale))

    H, T, S = Style.HEADING, Style.TEXT, Style.SMALL
    out = [
        Block(Style.TITLE, tr("Acknowledgement of receipt")),
        Block(S, tr("Accusé de réception: Code des relations entre le public et "
                    "l'administration (CRPA), articles L112-3 and R112-5.")),
        Block(H, tr("Your request")),
        Block(T, tr("Procedure: {procedure}").format(
            procedure=_in(facts.procedure_names, lang))),
        Block(T, tr("Deposit number: {number}").format(number=facts.deposit_id)),
        # 1. The date of receipt.
        Block(H, tr("1. Date of receipt")),
        Block(T, tr("The service received your request on {date}.").format(
            date=day(facts.received_on))),
        Block(T, tr("You handed it in at a self-service kiosk ({kiosk}). The receipt the "
                    "kiosk printed on {registered} is its accusé d'enregistrement (CRPA "
                    "L112-11): keep it.").format(kiosk=facts.kiosk_id,
                                                registered=when(facts.registered_at))),
        # 2. The deemed-decision date; 4. what silence means.
        Block(H, tr("2. If the service does not answer")),
    ]
    silence = facts.silence
    if silence is Silence.NONE or facts.deemed_on is None:
        out.append(Block(T, tr("For this procedure, the service's silence is not a "
                               "decision: no implicit decision arises. The service will "
                               "answer you in writing.")))
    elif silence is Silence.ACCEPTANCE:
        out.append(Block(T, tr("Without an express decision, your request will be deemed "
                               "accepted on {date}.").format(date=day(facts.deemed_on))))
    else:
        out.append(Block(T, tr("Without an express decision, your request will be deemed "
                               "rejected on {date}.").format(date=day(facts.deemed_on))))
    out.append(Block(H, tr("3. What the service's silence means")))
    delay = _delay_text(facts.decision_delay, tr) if facts.decision_delay else ""
    out.append(Block(T, {
        Silence.ACCEPTANCE: tr("Silence means acceptance: {delay} without an answer from the "
                               "service are an acceptance of your request.").format(delay=delay),
        Silence.REJECTION: tr("Silence means rejection: {delay} without an answer from the "
                              "service are a rejection of your request.").format(delay=delay),
        Silence.NONE: tr("Silence means neither acceptance nor rejection for this "
                         "procedure."),
    }[silence]))
    # 3. The service in charge.
    out.append(Block(H, tr("4. The service in charge of your request")))
    out.append(Block(T, _in(facts.service_names, lang)))
    for label, value in ((tr("Postal address"), facts.postal_address),
                         (tr("E-mail"), facts.email), (tr("Phone"), facts.phone)):
        out.append(Block(T, tr("{label}: {value}").format(label=label, value=value)
                         if value else tr("{label}: ask the town hall or a France Services "
                                          "desk for it.").format(label=label)))
    # 5. / 6. Appeal after a rejection, attestation after an acceptance.
    if silence is Silence.ACCEPTANCE:
        out.append(Block(H, tr("5. Once your request is accepted by silence")))
        out.append(Block(T, tr("Once your request is deemed accepted, you can ask the service "
                               "for an attestation of this implicit acceptance (CRPA "
                               "L232-3). The service must issue it to you.")))
    else:
        out.append(Block(H, tr("5. How to contest a rejection") if silence is Silence.REJECTION
                         else tr("5. If you disagree with the decision")))
        if facts.appeal:
            out.append(Block(T, tr("Means of appeal: {appeal}").format(
                appeal=_in(facts.appeal, lang))))
        else:
            out.append(Block(T, tr("You can ask the service to review its decision, or go to "
                                   "the administrative court (tribunal administratif), "
                                   "within 2 months of the decision.")))
        if facts.appeal_delay:
            out.append(Block(T, tr("Time limit of the first appeal: {delay}, from the "
                                   "decision (an implicit rejection included).").format(
                delay=_delay_text(facts.appeal_delay, tr))))
    # 7. Requests for missing documents, and following the dossier.
    out.append(Block(H, tr("6. If documents are missing")))
    out.append(Block(T, {
        Silence.ACCEPTANCE: tr("If the service asks you for missing documents, the delay "
                               "stops. It starts again, in full, on the day the service "
                               "receives them (CRPA L114-5)."),
        Silence.REJECTION: tr("If the service asks you for missing documents, the delay is "
                              "suspended until you bring them, and at the latest until the "
                              "deadline set for them (CRPA L114-5)."),
        Silence.NONE: tr("If the service asks you for missing documents, it tells you "
                         "which ones and by when."),
    }[silence]))
    out.append(Block(T, tr("You can bring them at any kiosk: show it the QR code of your "
                           "receipt.")))
    out.append(Block(H, tr("7. Follow your request")))
    out.append(Block(T, tr("Follow your request at {url}. The full link, with its code, is "
                           "in the QR code of your receipt. Deposit number: {number}.").format(
        url=status_url, number=facts.deposit_id)))
    if facts.issued_at is not None:
        out.append(Block(S, tr("Issued on {date}.").format(date=when(facts.issued_at))))
    return tuple(out)


def render_pdf(facts: Facts, status_url: str) -> bytes:
    """The PDF of an accusé de réception: the deposit's language, then French (same facts and
    address, same bytes). ``status_url`` is the status page of the dossier without its token."""
    languages = parts_for(facts.language)
    parts = [Part(lang in RTL_LANGUAGES, blocks(facts, lang, status_url)) for lang in languages]
    created = facts.issued_at or facts.received_at
    return render(parts, title=f"Accusé de réception {facts.deposit_id}",
                  subject=_in(facts.procedure_names, FRENCH),
                  footer=f"Accusé de réception · {facts.deposit_id}", created=created,
                  language=LOCALES.get(facts.language, facts.language))


def filename(deposit_id: str) -> str:
    return f"accuse-reception-{deposit_id}.pdf"


def status_url(public_url: str, deposit_id: str) -> str:
    """The status page of a dossier, without its token (``public_url`` from the settings)."""
    return f"{public_url.rstrip('/')}/suivi/{deposit_id}"


def pdf_for(store: MetadataStore, record: DepositRecord, now: datetime, public_url: str,
            catalog: Mapping[str, ProcedureInfo] | None = None) -> bytes:
    """The accusé de réception of ``record`` as a PDF (issued now if it had none)."""
    return render_pdf(current(store, record, now, catalog),
                      status_url(public_url, record.deposit_id))


def headers(deposit_id: str) -> dict[str, str]:
    """HTTP headers of the PDF, besides its type: shown in the browser, never cached."""
    return {"Content-Disposition": f'inline; filename="{filename(deposit_id)}"',
            "Cache-Control": "no-store"}
