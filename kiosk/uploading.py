"""The uploader service (``kiosk uploader``): the outbox delivered to the back office, apart from
the citizen's screen.

It runs as its own process (systemd unit ``kiosk-uploader.service``), so a slow
or silent back office never freezes the touchscreen, and a crash of one never
stops the other. :class:`UploaderService` loops:

1. a pass over the outbox (:func:`deposit.delivery.deliver_pass`): deposits are
   claimed one by one, each failure is released with its own backoff, so a
   refused deposit or one that keeps failing never delays the others;
2. the kiosk's standing recorded in the outbox (the kiosk application reads it:
   a back office that refuses the kiosk closes the welcome screen to new
   deposits), with an alert in the log when it changes;
3. a wait until the next deposit is due, the next poll (``[upload] poll_s``), or
   a nudge from the kiosk application (a dossier was just queued: see
   :mod:`kiosk.nudge`). After a pass that found the back office unreachable,
   the wait grows (full jitter) up to ``[upload] max_backoff_s``.

Beside the loop, on a thread of its own with its own HTTPS client, the
:class:`~kiosk.agentcall.AgentCallRelay` carries a citizen's "call an agent"
to the back office and brings back staff's acknowledgement: a dossier being
sent (a chunk can take many seconds on a slow link) never delays a call. The
nudge listener reads its socket on its own thread too, so a call's nudge is
seen while the loop is busy. The heartbeat (:class:`~kiosk.heartbeat.HeartbeatSender`)
has a thread and a client of its own as well: once at start, then every
``[upload] heartbeat_s`` seconds, the kiosk's health goes to the back office's
fleet view whatever the loop is doing (``--once`` sends one after its pass), and
the signed fleet state (kiosk/fleetstate.py: the badges revoked) comes back
after each one that got through.

The outbox's own troubles (a full or read-only data disk, a locked or damaged
database: :class:`~deposit.errors.OutboxError`) end a pass, never the loop: the
error is logged and shown in STATUS=, and the next pass comes after the same
growing wait as after an unreachable back office. On a full disk the outbox
uses its drain reserve (deposit/outbox.py) so that passes keep delivering and
purging, which is what gives the space back.

Under systemd (``Type=notify``, ``WatchdogSec=``) it says READY=1 once started,
feeds the watchdog while this loop moves (it beats between blocks of a chunk,
between requests, while waiting: kiosk.systemd.LoopWatch), and reports the
queue in STATUS=. A loop that has not moved for longer than its waits on the
network can last (twice ``[upload] timeout_s``: connecting, then the answer)
stops the pings and is restarted. SIGTERM stops it between two blocks; SIGKILL
at any instant loses nothing (the upload resumes from the back office's
durable offset).
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deposit.agentcall import AgentCallClient
from deposit.bundle import Enrollment
from deposit.delivery import Backoff, Delivery, PassReport, Uploader, deliver_pass
from deposit.errors import DepositError, OutboxError, OutboxStorageError
from deposit.heartbeatclient import HeartbeatClient
from deposit.outbox import Outbox, Stats
from deposit.status import DeliveryOutcome, Standing
from deposit.tus import MIB, TusClient
from kiosk import fleetstate
from kiosk.agentcall import TIMEOUT_S as AGENT_CALL_TIMEOUT_S
from kiosk.agentcall import AgentCallRelay
from kiosk.config import Config
from kiosk.enrollment import load_bundle
from kiosk.errors import KioskError
from kiosk.heartbeat import TIMEOUT_S as HEARTBEAT_TIMEOUT_S
from kiosk.heartbeat import HeartbeatBuilder, HeartbeatSender
from kiosk.nudge import NudgeListener
from kiosk.systemd import LoopWatch, Notifier

log = logging.getLogger(__name__)

#: How often an idle uploader asks the back office whether it still accepts the kiosk, in
#: seconds (a revocation then closes the welcome screen within this, not at the next deposit).
PROBE_EVERY_S = 900.0


class DeliveryError(KioskError):
    """Delivery cannot even start: no enrollment bundle, unusable outbox."""


@dataclass
class DeliveryReport:
    """One pass: what became of each deposit tried, and what is left on the kiosk."""

    back_office: str
    deliveries: list[Delivery] = field(default_factory=list)
    standing: Standing = Standing.UNKNOWN
    standing_reason: str = ""
    pending: int = 0           # deposits the uploader will send (sealed or uploading)
    refused: int = 0           # deposits the back office refused, kept on the kiosk
    ended: str = ""
    outbox_fault: str = ""     # the pass stopped on the outbox's own error (disk, database)

    def count(self, *outcomes: DeliveryOutcome) -> int:
        return sum(1 for d in self.deliveries if d.outcome in outcomes)

    @property
    def all_delivered(self) -> bool:
        return self.pending == 0 and self.refused == 0 and not self.outbox_fault

    def as_dict(self) -> dict[str, Any]:
        return {
            "back_office": self.back_office,
            "delivered": self.count(DeliveryOutcome.DELIVERED, DeliveryOutcome.CONFLICT),
            "retry": self.count(DeliveryOutcome.RETRY),
            "refused": self.count(DeliveryOutcome.REFUSED),
            "kiosk_refused": self.count(DeliveryOutcome.KIOSK_REFUSED),
            "pending": self.pending, "kept_refused": self.refused,
            "standing": self.standing.value, "standing_reason": self.standing_reason,
            "ended": self.ended, "outbox_fault": self.outbox_fault,
            "deposits": [d.as_dict() for d in self.deliveries],
        }

    def lines(self) -> list[str]:
        out = [f"{d.deposit_id}: {d.outcome.value}" + (f" ({d.reason})" if d.reason else "")
               for d in self.deliveries]
        if self.outbox_fault:
            out.append(f"pass stopped: {self.outbox_fault}")
        out.append(f"{self.count(DeliveryOutcome.DELIVERED, DeliveryOutcome.CONFLICT)} "
                   f"delivered, {self.count(DeliveryOutcome.RETRY)} to retry, "
                   f"{self.count(DeliveryOutcome.REFUSED)} refused; {self.pending} waiting and "
                   f"{self.refused} refused still on the kiosk; back office "
                   f"{self.standing.value}" + (f" ({self.standing_reason})"
                                               if self.standing_reason else ""))
        return out


def outbox_folder(config: Config) -> Path:
    return config.kiosk.data_dir / "outbox"


def open_uploader(config: Config, bundle: Enrollment, *,
                  should_stop: Callable[[], bool] = lambda: False) -> Uploader:
    """An :class:`~deposit.delivery.Uploader` for this kiosk's bundle and configuration."""
    try:
        client = bundle.http_client(timeout=config.upload.timeout_s)
        return Uploader(TusClient(client, bundle.upload_url), kiosk_id=bundle.kiosk_id,
                        ack_key=bundle.ack_key(), chunk_size=config.upload.chunk_mib * MIB,
                        should_stop=should_stop)
    except DepositError as exc:
        raise DeliveryError(f"enrollment bundle {bundle.folder}: {exc}") from None


class UploaderService:
    """The loop of ``kiosk uploader`` (see the module docstring).

    ``notifier`` talks to systemd; ``listener`` (None: no nudges) wakes the
    loop early; ``stop`` ends it between two blocks. Randomness and clocks are
    passed in for tests.
    """

    def __init__(self, config: Config, *, bundle: Path | None = None,
                 notifier: Notifier | None = None, listener: NudgeListener | None = None,
                 stop: threading.Event | None = None, rng: random.Random | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        try:
            self.bundle = load_bundle(config, bundle)
        except KioskError as exc:
            raise DeliveryError(str(exc)) from None
        self.notifier = notifier or Notifier(None)
        # A request may wait twice its timeout without a step of the loop (connecting, then
        # the answer); longer than that, the loop is stuck.
        self.watch = LoopWatch(self.notifier,
                               stale_after=2.0 * config.upload.timeout_s + 5.0)
        self.listener = listener
        self.stop = stop or threading.Event()
        self._wall = wall_clock
        rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        up = config.upload
        # Per deposit, after its n-th attempt: a random wait from 1 s to 2**n s (full jitter),
        # never more than max_backoff_s.
        self.backoff = Backoff(base=1.0, cap=up.max_backoff_s, floor=1.0, rng=rng)
        # Between passes that found the back office unreachable.
        self.pass_backoff = Backoff(base=max(1.0, up.poll_s / 2), cap=up.max_backoff_s,
                                    floor=1.0, rng=rng)
        self.owner = f"uploader@{socket.gethostname()}:{os.getpid()}"
        try:
            self.outbox = Outbox(outbox_folder(config),
                                 busy_timeout_ms=config.outbox.busy_timeout_ms)
        except DepositError as exc:
            raise DeliveryError(f"outbox {outbox_folder(config)}: {exc}") from None
        self.uploader = open_uploader(config, self.bundle, should_stop=self.should_stop)
        self.relay: AgentCallRelay | None = None
        self.heartbeats: HeartbeatSender | None = None
        self.failed_passes = 0
        self._last_probe = float("-inf")
        self._last_status: dict[str, int | str | None] = {}

    def close(self) -> None:
        self.watch.stop()
        if self.heartbeats is not None:
            self.heartbeats.close()
            self.heartbeats = None
        if self.relay is not None:
            self.relay.close()
            self.relay = None
        self.uploader.close()
        self.outbox.close()

    def __enter__(self) -> UploaderService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def should_stop(self) -> bool:
        """Checked between blocks and requests; also where the loop beats (it is alive whenever
        it gets here)."""
        self.watch.beat()
        return self.stop.is_set()

    # ------------------------------------------------------------------ one pass

    def deliver_once(self) -> DeliveryReport:
        """One pass over the outbox, its outcome recorded; never raises for the network."""
        report = DeliveryReport(self.bundle.upload_url)
        now = datetime.fromtimestamp(self._wall(), UTC)
        expired = self._certificate_expired(now)
        if expired:
            passed = PassReport(standing=Standing.REFUSED, ended=expired, global_failure=True)
        else:
            passed = deliver_pass(self.outbox, self.uploader, owner=self.owner,
                                  backoff=self.backoff,
                                  lease_seconds=self.config.outbox.lease_seconds,
                                  progress=self.watch.beat)
        report.deliveries, report.ended = passed.deliveries, passed.ended
        reason = passed.ended if passed.global_failure else ""
        if passed.standing is not None:
            self._record_standing(passed.standing, reason)
        elif not passed.deliveries and self._probe_due():
            # Nothing to send: ask anyway, so that a kiosk refused and then accepted again (or
            # revoked while idle) shows it at its welcome screen without waiting for a deposit.
            standing, reason = self.uploader.probe()
            self._last_probe = time.monotonic()
            self._record_standing(standing, reason)
            if standing is not Standing.ONLINE:
                passed.global_failure = True
        self.failed_passes = self.failed_passes + 1 if passed.global_failure else 0
        if passed.deliveries:
            self._last_probe = time.monotonic()   # the pass itself spoke to the back office
        stats = self.outbox.stats(quick=True)
        report.pending = stats.pending
        report.refused = stats.by_state.get("refused", 0)
        report.standing = stats.standing.standing
        report.standing_reason = stats.standing.reason
        self._status(stats)
        return report

    def _probe_due(self) -> bool:
        """Probe when the standing is not known to be good, and now and then when it is."""
        if self.outbox.standing().standing is not Standing.ONLINE:
            return True
        return time.monotonic() - self._last_probe >= PROBE_EVERY_S

    def _certificate_expired(self, now: datetime) -> str:
        try:
            expiry = self.bundle.certificate_expiry()
        except DepositError as exc:
            return f"this kiosk's certificate cannot be read: {exc}"
        if now >= expiry:
            return (f"this kiosk's certificate expired on {expiry:%Y-%m-%d %H:%M} UTC: the "
                    f"back office will refuse it (enroll the kiosk again)")
        return ""

    def _record_standing(self, standing: Standing, reason: str) -> None:
        try:
            changed = self.outbox.set_standing(standing, reason)
        except DepositError as exc:
            log.error("cannot record the back office's standing: %s", exc)
            return
        if not changed:
            return
        if standing is Standing.REFUSED:
            # The technician's alert: the journal (journalctl -u kiosk-uploader) and STATUS=.
            log.critical("ALERT: the back office refuses kiosk %s (%s). The kiosk refuses new "
                         "deposits; queued dossiers stay on it: write them to removable media "
                         "with `kiosk export --to DIR` for `backoffice import`.",
                         self.bundle.kiosk_id, reason)
        elif standing is Standing.UNREACHABLE:
            log.warning("the back office cannot be reached (%s); dossiers wait on the kiosk",
                        reason)
        else:
            log.info("the back office answers again")

    def _status(self, stats: Stats) -> None:
        """STATUS= for systemd, and ``{data_dir}/status/delivery.json`` for diagnostics, the
        file rewritten only when what it says changed (an idle kiosk does not wear its
        SD card every poll)."""
        standing = stats.standing.standing
        refused = stats.by_state.get("refused", 0)
        self.notifier.status(f"{stats.pending} dossier(s) waiting, {refused} refused; back "
                             f"office {standing.value}")
        said: dict[str, int | str | None] = {
            "pending": stats.pending, "refused": refused, "queued_bytes": stats.queued_bytes,
            "oldest_queued_at": stats.oldest_queued_at, "standing": standing.value,
            "standing_reason": stats.standing.reason, "standing_since": stats.standing.since,
            "last_contact": stats.standing.last_contact}
        if said == self._last_status:
            return
        status_dir = self.config.kiosk.data_dir / "status"
        at = datetime.fromtimestamp(self._wall(), UTC).isoformat(timespec="seconds")
        try:
            status_dir.mkdir(parents=True, exist_ok=True)
            tmp = status_dir / ".delivery.json.tmp"
            tmp.write_text(json.dumps({"at": at, **said}, indent=2) + "\n", encoding="utf-8")
            tmp.replace(status_dir / "delivery.json")
        except OSError as exc:
            log.warning("cannot write the delivery status file: %s", exc)
            return
        self._last_status = said

    # ------------------------------------------------------------------ agent calls

    def start_agent_calls(self) -> AgentCallRelay:
        """The agent-call relay's thread (started by :meth:`run` unless ``once``)."""
        if self.relay is None:
            try:
                client = self.bundle.http_client(timeout=AGENT_CALL_TIMEOUT_S)
            except DepositError as exc:
                raise DeliveryError(f"enrollment bundle {self.bundle.folder}: {exc}") from None
            self.relay = AgentCallRelay(self.config.kiosk.data_dir / "status",
                                        AgentCallClient(client, self.bundle.upload_url),
                                        listener=self.listener, stop=self.stop,
                                        wall_clock=self._wall).start()
        return self.relay

    # ------------------------------------------------------------------ heartbeats

    def heartbeat_sender(self) -> HeartbeatSender | None:
        """The heartbeats' sender, with its own HTTPS client (made once; :meth:`run` starts
        its thread unless ``once``, which sends one heartbeat after its pass). None, said in
        the log, when the bundle cannot sign: the queued dossiers are delivered all the same."""
        if self.heartbeats is None:
            try:
                client = self.bundle.http_client(timeout=HEARTBEAT_TIMEOUT_S)
                key, ack_key = self.bundle.signing_key(), self.bundle.ack_key()
            except DepositError as exc:
                log.error("enrollment bundle %s: %s; no heartbeats", self.bundle.folder, exc)
                return None
            status_dir = self.config.kiosk.data_dir / "status"

            def refresh_fleet_state() -> object:
                # With each heartbeat, on its client: the badges revoked reach the service gate.
                return fleetstate.refresh(client, self.bundle.upload_url, ack_key, status_dir,
                                          wall_clock=self._wall)

            builder = HeartbeatBuilder(self.bundle.kiosk_id, self.config.kiosk.data_dir,
                                       self.outbox, self.bundle, wall_clock=self._wall)
            self.heartbeats = HeartbeatSender(builder,
                                              HeartbeatClient(client, self.bundle.upload_url),
                                              key, float(self.config.upload.heartbeat_s),
                                              fleet_state=refresh_fleet_state)
        return self.heartbeats

    # ------------------------------------------------------------------ the loop

    def next_wait(self) -> float:
        """Seconds until the next pass (a nudge may end the wait sooner)."""
        up = self.config.upload
        if self.failed_passes:
            return self.pass_backoff.delay(self.failed_passes)
        due = self.outbox.next_claimable_at()
        if due is None:
            return float(up.poll_s)
        return min(float(up.poll_s), max(0.5, due - time.time()))

    def run(self, *, once: bool = False,
            on_report: Callable[[DeliveryReport], None] = lambda r: None) -> DeliveryReport:
        """Loop until stopped (or one pass with ``once``); the last report."""
        if not once:
            self.start_agent_calls()
            if (sender := self.heartbeat_sender()) is not None:
                sender.start()
        self.notifier.ready("uploader started")
        self.watch.beat()
        self.watch.start()
        try:
            while True:
                report = self._guarded_pass()
                on_report(report)
                if once and (sender := self.heartbeat_sender()) is not None:
                    sender.beat()
                if once or self.stop.is_set():
                    return report
                wait = self._guarded_wait()
                if report.pending or report.deliveries:
                    log.info("next pass in %.0f s (%d waiting)", wait, report.pending)
                self._wait(wait)
                if self.stop.is_set():
                    return report
        finally:
            self.notifier.stopping()

    def _guarded_pass(self) -> DeliveryReport:
        """:meth:`deliver_once`, with an error of the outbox logged and reported instead of
        ending the loop; the next pass then waits as after an unreachable back office."""
        try:
            return self.deliver_once()
        except OutboxError as exc:
            self.failed_passes += 1
            self._outbox_fault(exc)
            return DeliveryReport(self.bundle.upload_url, outbox_fault=str(exc),
                                  ended="the outbox failed")

    def _guarded_wait(self) -> float:
        try:
            return self.next_wait()
        except OutboxError as exc:
            self.failed_passes = max(1, self.failed_passes)
            self._outbox_fault(exc)
            return self.pass_backoff.delay(self.failed_passes)

    def _outbox_fault(self, exc: OutboxError) -> None:
        problem = exc.problem.value if isinstance(exc, OutboxStorageError) else "outbox"
        log.error("the outbox failed (%s): %s. Delivery goes on at the next pass.", problem, exc)
        self.notifier.status(f"outbox failing ({problem}); retrying")

    def _wait(self, seconds: float) -> None:
        if self.listener is not None:
            if self.listener.wait(seconds, tick=1.0, on_tick=self.watch.beat,
                                  should_stop=self.stop.is_set):
                log.debug("nudged by the kiosk")
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self.should_stop():
            self.stop.wait(min(left, 1.0))
