"""Notifications to the citizen who left a contact and consented (issue #15).

What is sent: for each event of a deposit that has a contact (a new status after
the first, a request for documents; backoffice/store/notifydb.py reads them from
their tables), one notification per channel the citizen gave (e-mail if an
address, SMS if a phone), holding the status link of their receipt and nothing
personal (backoffice/notifytext.py).

How: a background loop of ``backoffice serve`` (backoffice/server.py) calls
:meth:`Notifier.run_once` every ``interval_seconds`` on a worker thread, so a slow
relay never holds a request. One pass:

1. **plan**: new events get their notifications (ids deterministic: planning
   twice, or in two processes, inserts nothing twice);
2. **send** what is due: each notification is first *claimed* (its
   ``next_attempt_at`` pushed past the send's timeout, only if unchanged, so two
   processes sharing a PostgreSQL store never both send it), then sent; a failure
   is retried with exponential backoff (``retry_seconds`` doubled, at most an
   hour) until ``max_attempts``, then given up with its last error; a refusal that
   trying again cannot change (SMTP 5xx for the recipient, gateway 4xx) is given
   up at once;
3. **erase** the contacts that did their work (the dossier's final status was
   notified and nothing waits) or outlived ``contact_retention_days``.

The contact is opened in memory for each pass that needs it, never written in
clear; a card that cannot be opened, or names another deposit, or whose link is
not under the status page's address (``status_url_base``), is never used: the
first two are erased at once (logged), the last gives its notifications up. Logs
name deposits and notification ids; addresses only masked (``j***@***``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from backoffice import notifykeys
from backoffice.notifysend import (
    EmailSender,
    Outgoing,
    Sender,
    SendError,
    SmsSender,
    mask,
    masked_address,
)
from backoffice.notifytext import compose
from backoffice.settings import NotifySettings, Settings
from backoffice.store.metadata import MetadataStore
from backoffice.store.notifydb import Channel, Notification, NotifyStore
from deposit.contact import ContactCard, ContactError, open_sealed

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: The longest wait between two attempts of one notification.
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class PassReport:
    """What one pass did (logged, and read by tests)."""

    planned: int = 0
    sent: int = 0
    retried: int = 0
    given_up: int = 0
    erased: int = 0


def channels_of(card: ContactCard) -> list[Channel]:
    """The channels the citizen gave: e-mail if an address, SMS if a phone."""
    return [c for c, given in ((Channel.EMAIL, card.email), (Channel.SMS, card.phone)) if given]


def address(card: ContactCard, channel: Channel) -> str | None:
    return card.email if channel is Channel.EMAIL else card.phone


class Notifier:
    """Plans, sends and forgets; see the module docstring. ``senders`` by channel: a
    channel the settings leave out has none (its notifications are given up, said why)."""

    def __init__(self, store: MetadataStore, settings: NotifySettings, *, status_url_base: str,
                 identities: list[str], senders: Mapping[Channel, Sender], clock: Clock) -> None:
        self.db = NotifyStore(store)
        self.settings = settings
        self.status_url_base = status_url_base
        self._identities = identities
        self.senders = dict(senders)
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, store: MetadataStore,
                      clock: Clock) -> Notifier | None:
        """The notifier ``settings`` ask for, or None (logged) when ``[notify]`` is absent.
        :class:`SetupError` when a secret file or the key cannot be read."""
        notify = settings.notify
        if not notify.enabled:
            log.info("notifications are off: the settings have no [notify] smtp_url nor "
                     "sms_url (docs/legal-chain.md, \"Notifications\")")
            return None
        senders: dict[Channel, Sender] = {}
        if notify.email:
            email = EmailSender(settings)
            senders[Channel.EMAIL] = email
            log.info("notifications by e-mail through %s", email.describe())
        if notify.sms:
            sms = SmsSender(settings)
            senders[Channel.SMS] = sms
            log.info("notifications by SMS through %s", sms.describe())
        return cls(store, notify, status_url_base=settings.status_url_base,
                   identities=notifykeys.identities(settings), senders=senders, clock=clock)

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> PassReport:
        report = PassReport()
        cards: dict[str, ContactCard | None] = {}
        self._plan(report, cards)
        self._send_due(report, cards)
        self._erase(report)
        if report.planned or report.sent or report.retried or report.given_up or report.erased:
            log.info("notifications: %d planned, %d sent, %d to retry, %d given up, "
                     "%d contacts erased", report.planned, report.sent, report.retried,
                     report.given_up, report.erased)
        return report

    def _card(self, deposit_id: str, cards: dict[str, ContactCard | None]) -> ContactCard | None:
        """The deposit's contact, opened in memory (once per pass); None when there is none
        or it cannot be used (then it is erased: it never will be)."""
        if deposit_id in cards:
            return cards[deposit_id]
        sealed = self.db.contact(deposit_id)
        card: ContactCard | None = None
        if sealed is not None:
            try:
                card = open_sealed(sealed, self._identities, deposit_id=deposit_id)
            except ContactError as exc:
                log.error("deposit %s: its contact cannot be used (%s); erased, no "
                          "notification will be sent for it", deposit_id, exc)
                self.db.erase(deposit_id)
        cards[deposit_id] = card
        return card

    def _plan(self, report: PassReport, cards: dict[str, ContactCard | None]) -> None:
        now = self.clock()
        for event in self.db.new_events():
            card = self._card(event.deposit_id, cards)
            if card is not None:
                report.planned += self.db.plan(event, channels_of(card), now)

    def _send_due(self, report: PassReport, cards: dict[str, ContactCard | None]) -> None:
        now = self.clock()
        lease = now + timedelta(seconds=self.settings.timeout_seconds * 3)
        for item in self.db.due(now):
            if not self.db.claim(item.notification_id, item.next_attempt_at, lease):
                continue    # another process has it
            self._send_one(item, self._card(item.deposit_id, cards), report)

    def _send_one(self, item: Notification, card: ContactCard | None,
                  report: PassReport) -> None:
        now = self.clock()
        to = address(card, item.channel) if card is not None else None
        sender = self.senders.get(item.channel)
        problem = None
        if card is None or to is None:
            problem = "the contact is no longer held"
        elif not self._link_ok(card):
            problem = (f"the contact's link is not under the status page's address "
                       f"{self.status_url_base}")
        elif sender is None:
            problem = f"the {item.channel.value} channel is not configured ([notify])"
        if problem is not None:
            self._give_up(item, now, problem, report)
            return
        assert card is not None and to is not None and sender is not None
        message = compose(item.event.kind, item.channel, card.language, card.status_url)
        try:
            sender.send(Outgoing(notification_id=item.notification_id, to=to,
                                 subject=message.subject, text=message.text,
                                 language=message.language, at=now))
        except SendError as exc:
            error = mask(str(exc), card.email, card.phone)
            attempts = item.attempts + 1
            if exc.permanent or attempts >= self.settings.max_attempts:
                self._give_up(item, now, error, report, attempts=attempts)
                return
            delay = min(timedelta(seconds=self.settings.retry_seconds * 2 ** (attempts - 1)),
                        MAX_BACKOFF)
            self.db.failed(item.notification_id, now, error, retry_at=now + delay)
            report.retried += 1
            log.warning("notification %s (%s) of deposit %s to %s failed (attempt %d of %d), "
                        "next in %.0f s: %s", item.notification_id[:12], item.channel.value,
                        item.deposit_id, masked_address(to), attempts,
                        self.settings.max_attempts, delay.total_seconds(), error)
            return
        self.db.sent(item.notification_id, now)
        report.sent += 1
        log.info("notification %s (%s, %s) of deposit %s sent to %s",
                 item.notification_id[:12], item.event.kind.value, item.channel.value,
                 item.deposit_id, masked_address(to))

    def _give_up(self, item: Notification, now: datetime, error: str, report: PassReport, *,
                 attempts: int | None = None) -> None:
        self.db.failed(item.notification_id, now, error, retry_at=None)
        report.given_up += 1
        log.error("notification %s (%s) of deposit %s given up after %d attempt(s): %s",
                  item.notification_id[:12], item.channel.value, item.deposit_id,
                  attempts if attempts is not None else item.attempts + 1, error)

    def _link_ok(self, card: ContactCard) -> bool:
        """Only a link to this deposit's status page: a card cannot make the back office send
        an address of its choosing."""
        base = self.status_url_base
        return card.status_url.startswith(base) and \
            card.status_url[len(base):].split("?")[0] == card.deposit_id

    def _erase(self, report: PassReport) -> None:
        before = self.clock() - timedelta(days=self.settings.contact_retention_days)
        for deposit_id in self.db.erasable(before):
            if self.db.erase(deposit_id):
                report.erased += 1
                log.info("deposit %s: its contact was erased (final status notified, or "
                         "retention over)", deposit_id)

