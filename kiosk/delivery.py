"""Delivering what is queued now, and saying what became of it (``kiosk uploader``, ``kiosk demo``).

:func:`deliver_now` makes one pass over the outbox with the enrollment
bundle's back office and returns a :class:`DeliveryReport`: each deposit
delivered (acknowledged, envelope deleted), queued (back office unreachable or
busy: it stays on the kiosk for the next pass) or refused (the back office
said no: revoked kiosk, envelope failing verification; it stays on the kiosk
and a technician is needed). Nothing is ever deleted without a verified
acknowledgement.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deposit.errors import DepositError
from deposit.outbox import Outbox
from deposit.upload import (
    MIB,
    Backoff,
    Delivery,
    Enrollment,
    TusClient,
    Uploader,
    UploadState,
    deliver_outbox,
)
from kiosk.config import Config
from kiosk.errors import KioskError

STATE_FILE = "uploader.sqlite3"


class DeliveryError(KioskError):
    """Delivery cannot even start: no enrollment bundle, unusable outbox."""


@dataclass
class DeliveryReport:
    """One pass: the back office tried and what became of each deposit."""

    back_office: str
    deposits: list[Delivery] = field(default_factory=list)
    pending: int = 0          # deposits still on the kiosk after the pass

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.deposits if d.outcome == outcome)

    @property
    def all_delivered(self) -> bool:
        return self.pending == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "back_office": self.back_office,
            "delivered": self.count("delivered") + self.count("conflict"),
            "queued": self.count("queued"),
            "refused": self.count("refused"),
            "pending": self.pending,
            "deposits": [d.as_dict() for d in self.deposits],
        }

    def lines(self) -> list[str]:
        out = [f"{d.deposit_id}: {d.outcome}" + (f" ({d.reason})" if d.reason else "")
               for d in self.deposits]
        out.append(f"{self.count('delivered') + self.count('conflict')} delivered, "
                   f"{self.count('queued')} queued, {self.count('refused')} refused; "
                   f"{self.pending} still on the kiosk")
        return out


def bundle_folder(config: Config, bundle: Path | None = None) -> Path:
    return bundle or config.upload.bundle or config.kiosk.data_dir / "enrollment"


def outbox_folder(config: Config) -> Path:
    return config.kiosk.data_dir / "outbox"


def open_uploader(config: Config, *, bundle: Path | None = None,
                  should_stop: Callable[[], bool] = lambda: False,
                  sleep: Callable[[float], None] = time.sleep,
                  rng: random.Random | None = None,
                  attempts: int | None = None) -> tuple[Uploader, Enrollment]:
    """An :class:`Uploader` for this kiosk's enrollment bundle and configuration."""
    try:
        enrollment = Enrollment.load(bundle_folder(config, bundle))
        if enrollment.kiosk_id != config.kiosk.id:
            raise DeliveryError(f"the enrollment bundle is for kiosk {enrollment.kiosk_id}, "
                                f"this kiosk is configured as {config.kiosk.id}")
        client = enrollment.http_client(timeout=config.upload.timeout_s)
        state = UploadState(outbox_folder(config) / STATE_FILE)
        uploader = Uploader(
            TusClient(client, enrollment.upload_url), state, kiosk_id=enrollment.kiosk_id,
            ack_key=enrollment.ack_key(), chunk_size=config.upload.chunk_mib * MIB,
            max_attempts=attempts or config.upload.attempts,
            backoff=Backoff(base=1.0, cap=min(30.0, config.upload.max_backoff_s),
                            rng=rng or random.Random()),  # noqa: S311 - jitter only
            sleep=sleep, should_stop=should_stop)
    except DepositError as exc:
        raise DeliveryError(str(exc)) from None
    return uploader, enrollment


def deliver_now(config: Config, *, bundle: Path | None = None, retry_refused: bool = False,
                attempts: int | None = None,
                should_stop: Callable[[], bool] = lambda: False,
                sleep: Callable[[float], None] = time.sleep,
                rng: random.Random | None = None) -> DeliveryReport:
    """Deliver every deposit queued now; see the module docstring."""
    uploader, enrollment = open_uploader(config, bundle=bundle, should_stop=should_stop,
                                         sleep=sleep, rng=rng, attempts=attempts)
    try:
        with Outbox(outbox_folder(config),
                    busy_timeout_ms=config.outbox.busy_timeout_ms) as outbox:
            owner = f"uploader@{socket.gethostname()}:{os.getpid()}"
            results = deliver_outbox(outbox, uploader, owner=owner,
                                     lease_seconds=config.outbox.lease_seconds,
                                     retry_refused=retry_refused)
            pending = len(outbox.pending())
    except DepositError as exc:
        raise DeliveryError(f"outbox {outbox_folder(config)}: {exc}") from None
    finally:
        uploader.close()
    return DeliveryReport(enrollment.upload_url, results, pending)
