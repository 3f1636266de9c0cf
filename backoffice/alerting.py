"""Telling people about the fleet's alerts: once when one opens, once when it clears.

A **round** (:meth:`AlertRound.run_once`) is:

1. **reconcile**: the alerts that hold now (backoffice/fleethealth.py, from the
   kiosks' latest heartbeats) against the open occurrences
   (backoffice/store/alertsdb.py): new ones opened, gone ones cleared;
2. **deliver**: every occurrence whose opening is not told yet gets one webhook POST
   and one e-mail, then ``opened_notified_at``; every cleared one whose clearing is
   not told yet (and whose opening was) gets one "resolved" webhook and mail, then
   ``cleared_notified_at``.

``backoffice serve`` runs a round every ``[fleet] interval_seconds`` on a worker
thread (backoffice/server.py, beside the citizens' notifier); ``backoffice fleet
--notify`` runs one.

**Once, and nothing lost.** A send that fails is tried again at the next round;
a channel that failed is not tried again in the same round (a relay that is down
would otherwise cost a timeout per alert). The webhook goes first and the e-mail
last, and the occurrence is marked told right after the e-mail: so an e-mail is
never sent twice, and the only message a crash or restart can repeat is a webhook,
which carries the same ``Idempotency-Key`` (``<alert_id>:<state>``) for its receiver
to drop. Within one process, a webhook that went through is not sent again while
the e-mail waits. With no channel configured, occurrences are marked told at once
(nothing would ever tell them; a channel configured later does not replay history).
Delivery runs in one process at a time (:meth:`AlertStore.delivery_lock`).

**Webhook** (docs/fleet.md)::

    POST <webhook_url>
    Content-Type: application/json
    Idempotency-Key: <alert_id>:<state>
    {"alert_id": "...", "kiosk": "MAIRIE-01", "kind": "paper_near_end", "subject": "",
     "detail": "paper near its end", "opened_at": "2026-12-05T09:00:00Z",
     "cleared_at": null, "state": "opened"}

    2xx: delivered. Anything else, or no answer: tried again at the next round.
"""

from __future__ import annotations

import email.policy
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Any, Protocol

import httpx

from backoffice.errors import BackofficeError, SetupError
from backoffice.fleethealth import AlertKind, Thresholds, fleet_alerts
from backoffice.notifysend import smtp_session
from backoffice.settings import FleetSettings, Settings
from backoffice.store.alertsdb import AlertState, AlertStore, Occurrence
from backoffice.store.metadata import MetadataStore
from deposit.heartbeat import utc

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Channel(StrEnum):
    """How an alert goes out, in the order a round sends them (the e-mail last)."""

    WEBHOOK = "webhook"
    EMAIL = "email"


#: What each alert is called in the mails technicians read (French, like the workspace).
LABELS: dict[AlertKind, str] = {
    AlertKind.PAPER_NEAR_END: "papier bientôt épuisé",
    AlertKind.PAPER_OUT: "plus de papier",
    AlertKind.DEVICE_FAILED: "périphérique en panne",
    AlertKind.SILENT: "borne muette",
    AlertKind.QUEUE_OLD: "dépôts en attente d'envoi",
    AlertKind.CERTIFICATE_EXPIRING: "certificat de la borne bientôt expiré",
    AlertKind.AGENT_CALL_WAITING: "appel d'un agent en attente",
    AlertKind.OUT_OF_ORDER: "borne mise hors service (information)",
}
#: What the technician does (the long form is in docs/fleet.md).
WHAT_TO_DO: dict[AlertKind, str] = {
    AlertKind.PAPER_NEAR_END: "Prévoir un rouleau de papier thermique lors du prochain passage.",
    AlertKind.PAPER_OUT: "Remettre un rouleau de papier : la borne ne peut plus imprimer de "
                         "récépissé.",
    AlertKind.DEVICE_FAILED: "Vérifier le câble et l'alimentation du périphérique, puis le "
                             "tester depuis le mode maintenance de la borne.",
    AlertKind.SILENT: "Vérifier que la borne est allumée et reliée au réseau ; sinon la "
                      "redémarrer.",
    AlertKind.QUEUE_OLD: "Vérifier le réseau de la borne et l'écran « file d'envoi » du mode "
                         "maintenance : les dépôts restent chiffrés sur la borne.",
    AlertKind.CERTIFICATE_EXPIRING: "Réinscrire la borne (backoffice enroll) avant l'expiration.",
    AlertKind.AGENT_CALL_WAITING: "Un usager attend une personne à la borne.",
    AlertKind.OUT_OF_ORDER: "Rien à faire : un technicien a mis la borne hors service.",
}


#: No folding of headers below the RFC 5322 line limit: Python's folder drops the space
#: between two encoded words it splits a French subject into ("bientôt épuisé" arrived
#: as "bientôtépuisé"; tests/backoffice/test_fleet.py).
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


class DeliveryError(BackofficeError):
    """An alert could not be sent on one channel; tried again at the next round."""


@dataclass(frozen=True)
class AlertMessage:
    """One occurrence's opening or clearing, as every channel sends it."""

    occurrence: Occurrence
    state: AlertState

    @property
    def idempotency_key(self) -> str:
        return f"{self.occurrence.alert_id}:{self.state.value}"

    def as_json(self) -> dict[str, Any]:
        o = self.occurrence
        return {"alert_id": o.alert_id, "kiosk": o.kiosk_id, "kind": o.kind.value,
                "subject": o.subject, "detail": o.detail, "opened_at": utc(o.opened_at),
                "cleared_at": utc(o.cleared_at) if o.cleared_at else None,
                "state": self.state.value}

    def subject_line(self) -> str:
        o = self.occurrence
        what = LABELS[o.kind] + (f" ({o.subject})" if o.subject else "")
        prefix = "[bornes] résolu : " if self.state is AlertState.CLEARED else "[bornes] "
        return f"{prefix}{o.kiosk_id} : {what}"

    def text(self) -> str:
        o = self.occurrence
        lines = [f"Borne : {o.kiosk_id}",
                 f"Alerte : {LABELS[o.kind]} ({o.kind.value})"]
        if o.subject:
            lines.append(f"Périphérique : {o.subject}")
        lines += [f"Détail : {o.detail}", f"Ouverte le : {utc(o.opened_at)} (UTC)"]
        if self.state is AlertState.CLEARED and o.cleared_at is not None:
            lines += [f"Résolue le : {utc(o.cleared_at)} (UTC)", "",
                      "Cette alerte ne tient plus : rien à faire."]
        else:
            lines += ["", f"Que faire : {WHAT_TO_DO[o.kind]}"]
        lines += ["", "Vue du parc : backoffice fleet, ou la page « Parc des bornes » de "
                      "l'espace agent (docs/fleet.md)."]
        return "\n".join(lines) + "\n"


class Sender(Protocol):
    channel: Channel

    def send(self, message: AlertMessage) -> None:
        """Deliver, or raise :class:`DeliveryError`."""


class WebhookSender:
    """POSTs the JSON of the module docstring."""

    channel = Channel.WEBHOOK

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, message: AlertMessage) -> None:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                answer = client.post(self.url, json=message.as_json(),
                                     headers={"Idempotency-Key": message.idempotency_key})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from None
        if not answer.is_success:
            raise DeliveryError(f"webhook: {self.url} answered {answer.status_code}")


class MailSender:
    """One mail per message to every ``smtp_to`` address: STARTTLS, implicit TLS, or (to a
    loopback relay only) none; AUTH from ``smtp_credentials_file`` when set."""

    channel = Channel.EMAIL

    def __init__(self, settings: Settings) -> None:
        fleet = settings.fleet
        assert fleet.smtp_host is not None and fleet.smtp_from is not None
        self.host = fleet.smtp_host
        self.port = fleet.port
        self.security = fleet.smtp_security
        self.sender = fleet.smtp_from
        self.to = list(fleet.smtp_to)
        self.timeout = fleet.timeout_seconds
        self.credentials: tuple[str, str] | None = None
        if fleet.smtp_credentials_file:
            path = settings.data_dir / fleet.smtp_credentials_file
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise SetupError(f"[fleet] smtp_credentials_file {path} cannot be read "
                                 f"({exc.strerror})") from None
            if len(lines) < 2 or not lines[0].strip():
                raise SetupError("[fleet] smtp_credentials_file must hold the user on its first "
                                 "line and the password on its second")
            self.credentials = (lines[0].strip(), lines[1])
        self.tls = ssl.create_default_context()

    def describe(self) -> str:
        return f"smtp {self.host}:{self.port} ({self.security.value})"

    def mail(self, message: AlertMessage, at: datetime) -> EmailMessage:
        domain = self.sender.rpartition("@")[2]
        mail = EmailMessage(policy=MAIL_POLICY)
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Subject"] = message.subject_line()
        mail["Date"] = format_datetime(at)
        # Deterministic ids: the "resolved" mail answers the opening one, so mail clients
        # show the two as one thread.
        opened_id = f"<{message.occurrence.alert_id}.opened@{domain}>"
        if message.state is AlertState.OPENED:
            mail["Message-ID"] = opened_id
        else:
            mail["Message-ID"] = f"<{message.occurrence.alert_id}.cleared@{domain}>"
            mail["In-Reply-To"] = opened_id
            mail["References"] = opened_id
        mail["Auto-Submitted"] = "auto-generated"     # RFC 3834: no auto-replies, please
        mail.set_content(message.text())
        return mail

    def send(self, message: AlertMessage) -> None:
        mail = self.mail(message, datetime.now(UTC))
        try:
            with smtp_session(self.host, self.port, self.security, self.tls, self.timeout,
                              self.credentials) as client:
                refused = client.send_message(mail, from_addr=self.sender, to_addrs=self.to)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"e-mail: {type(exc).__name__}: {exc}") from None
        if refused:
            raise DeliveryError(f"e-mail: the relay refused {', '.join(sorted(refused))}")


@dataclass
class RoundReport:
    """What one round did (logged, and read by tests and ``backoffice fleet --notify``)."""

    opened: int = 0
    cleared: int = 0
    sent: dict[Channel, int] = field(default_factory=dict)
    failed: int = 0
    delivered: bool = True      # False: another process held the delivery lock

    def __str__(self) -> str:
        sent = ", ".join(f"{n} by {c.value}" for c, n in sorted(self.sent.items())) or "none"
        return (f"{self.opened} alert(s) opened, {self.cleared} cleared; sent: {sent}; "
                f"{self.failed} failed send(s) to retry"
                + ("" if self.delivered else "; delivery left to another process"))


def thresholds(fleet: FleetSettings) -> Thresholds:
    return Thresholds(silent_after=timedelta(minutes=fleet.silent_after_minutes),
                      queue_older_than=timedelta(minutes=fleet.queue_older_than_minutes),
                      certificate_warning=timedelta(days=fleet.certificate_warning_days))


class AlertRound:
    """Reconcile, then deliver; see the module docstring. ``senders`` in sending order."""

    def __init__(self, store: MetadataStore, fleet: FleetSettings, *,
                 senders: Sequence[Sender], clock: Clock) -> None:
        self.db = AlertStore(store)
        self.fleet = fleet
        self.limits = thresholds(fleet)
        self.senders = sorted(senders, key=lambda s: list(Channel).index(s.channel))
        self.clock = clock
        # (alert id, state, channel) that went through while a later channel waits.
        self._done: set[tuple[str, AlertState, Channel]] = set()

    @classmethod
    def from_settings(cls, settings: Settings, store: MetadataStore, clock: Clock) -> AlertRound:
        """The round ``[fleet]`` asks for (its channels logged). :class:`SetupError` when a
        secret file cannot be read."""
        fleet = settings.fleet
        senders: list[Sender] = []
        if fleet.webhook_url is not None:
            senders.append(WebhookSender(fleet.webhook_url, fleet.timeout_seconds))
            log.info("fleet alerts posted to %s", fleet.webhook_url)
        if fleet.email:
            mail = MailSender(settings)
            senders.append(mail)
            log.info("fleet alerts mailed through %s to %d address(es)", mail.describe(),
                     len(mail.to))
        if not senders:
            log.info("fleet alerts are kept and shown but sent nowhere: [fleet] has no "
                     "smtp_host nor webhook_url (docs/fleet.md)")
        return cls(store, fleet, senders=senders, clock=clock)

    def run_once(self) -> RoundReport:
        report = RoundReport()
        now = self.clock()
        changes = self.db.reconcile(fleet_alerts(self.db.fleet(), now, self.limits), now)
        report.opened, report.cleared = len(changes.opened), len(changes.cleared)
        for o in changes.opened:
            log.warning("fleet alert opened: kiosk %s %s%s: %s", o.kiosk_id, o.kind.value,
                        f" ({o.subject})" if o.subject else "", o.detail)
        for o in changes.cleared:
            log.info("fleet alert cleared: kiosk %s %s%s", o.kiosk_id, o.kind.value,
                     f" ({o.subject})" if o.subject else "")
        self._deliver(report)
        if report.opened or report.cleared or report.sent or report.failed:
            log.info("fleet alerts: %s", report)
        return report

    def _deliver(self, report: RoundReport) -> None:
        with self.db.delivery_lock() as mine:
            if not mine:
                report.delivered = False
                return
            down: set[Channel] = set()
            # Openings first: a clearing is told only once its opening was.
            for state in AlertState:
                for occurrence in self.db.to_notify(state):
                    self._deliver_one(AlertMessage(occurrence, state), down, report)

    def _deliver_one(self, message: AlertMessage, down: set[Channel],
                     report: RoundReport) -> None:
        alert_id, state = message.occurrence.alert_id, message.state
        for sender in self.senders:
            key = (alert_id, state, sender.channel)
            if key in self._done:
                continue
            if sender.channel in down:
                return
            try:
                sender.send(message)
            except DeliveryError as exc:
                down.add(sender.channel)
                report.failed += 1
                log.warning("fleet alert %s (kiosk %s, %s, %s) not sent by %s, tried again "
                            "next round: %s", alert_id[:12], message.occurrence.kiosk_id,
                            message.occurrence.kind.value, state.value, sender.channel.value,
                            exc)
                return
            self._done.add(key)
            report.sent[sender.channel] = report.sent.get(sender.channel, 0) + 1
        self.db.notified(alert_id, state, self.clock())
        for sender in self.senders:
            self._done.discard((alert_id, state, sender.channel))
