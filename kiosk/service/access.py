"""The gate of the technician's service mode: a badge the back office signed, then its PIN.

The service-mode screens (the lead's state machine) ask :class:`ServiceGate`:

1. :meth:`ServiceGate.read_badge` with the text the code reader read. A badge
   (deposit/badge.py) must carry the back office's signature (the
   acknowledgement key of the enrollment bundle, under the badge's own
   context), be within its dates (:data:`CLOCK_TOLERANCE` either side, for
   clocks a little apart) and not be revoked in the fleet state the uploader
   keeps (kiosk/fleetstate.py). Anything else raises :class:`ServiceRefused`
   with its :class:`Refusal`.
2. :meth:`ServiceGate.check_pin` with the PIN typed. A wrong PIN says how many
   attempts are left; after ``max_attempts`` wrong PINs in a row the kiosk is
   locked out for ``lockout_s`` seconds, whichever badge is shown. One check
   costs one scrypt (about 0.2 s on a Pi 4): call it off the UI thread.

The lock-out is per kiosk, and persisted in ``status/service-lock.json``
(replaced atomically and fsynced) so that neither a restart nor a power cut
resets it. Every attempt is counted on disk *before* the PIN is checked, as
if it failed, then cleared if it was right: cutting the power during a check
gains nothing. After a lock-out ends, the count stays where it was: each
further wrong PIN locks the kiosk again at once; only a right PIN resets it.
So someone standing at the kiosk with a found badge gets
``max_attempts`` guesses, then one guess per ``lockout_s``.

``lockout_s`` is 15 minutes by default: 96 guesses a day at most, about 8 600
over a badge's longest life of 90 days, under 1 % of the million 6-digit PINs
(a lost badge should be revoked long before); and a technician who mistyped
five times waits a quarter of an hour, not a callout.

The wall clock can move. The lock's start and end are both stored: if the clock
now reads before the start (moved backwards: a Pi without a real-time clock
booting on its last saved time, a bad NTP answer), the lock starts again from
now for ``lockout_s``, once; a clock moved back by years therefore neither
lifts the lock at once nor keeps it for years. A lock file that cannot be
read is taken as a lock-out starting now (and logged): damage never opens
the gate.

Log lines (for the technician and the support): badge refused (reason, badge
id, and the holder when the signature holds), wrong PIN, lock-out, access
granted. Never a PIN.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from deposit import badge as badgemod
from deposit.badge import Badge, BadgeError, BadgeProblem
from deposit.fleetstate import AckKey
from deposit.fsutil import replace_durably
from kiosk import fleetstate
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

LOCK_FILE = "service-lock.json"
#: Clocks of the back office and the kiosk may differ by this much either way.
CLOCK_TOLERANCE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
LOCKOUT_S = 15 * 60.0


class Refusal(StrEnum):
    """Why the gate said no (the service screens choose their message from it)."""

    NOT_A_BADGE = "not_a_badge"        # a convocation, a receipt, any other code
    FORGED = "forged"                  # the signature does not hold, or the format is wrong
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"    # issued later than the kiosk's clock (beyond tolerance)
    REVOKED = "revoked"                # listed in the fleet state the kiosk holds
    WRONG_PIN = "wrong_pin"            # ``attempts_left`` says how many remain
    LOCKED_OUT = "locked_out"          # ``locked_until`` says when it ends (UNIX time)


class ServiceRefused(KioskError):
    """The gate refuses: ``refusal`` says why; ``attempts_left`` (WRONG_PIN) and
    ``locked_until`` (LOCKED_OUT, UNIX seconds) say what happens next."""

    def __init__(self, refusal: Refusal, message: str, *, attempts_left: int | None = None,
                 locked_until: float | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.attempts_left = attempts_left
        self.locked_until = locked_until


@dataclass(frozen=True)
class _Lock:
    """What ``service-lock.json`` holds: failures in a row, and the last lock-out's span."""

    failures: int = 0
    locked_from: float | None = None
    locked_until: float | None = None

    def to_json(self) -> bytes:
        return (json.dumps({"failures": self.failures, "locked_from": self.locked_from,
                            "locked_until": self.locked_until}) + "\n").encode()


def _when(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServiceGate:
    """Badge then PIN, with the per-kiosk lock-out (see the module docstring)."""

    def __init__(self, status_dir: Path, ack_key: AckKey, *, max_attempts: int = MAX_ATTEMPTS,
                 lockout_s: float = LOCKOUT_S,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if max_attempts < 1 or lockout_s <= 0:
            raise ValueError("max_attempts must be at least 1 and lockout_s positive")
        self.status_dir = status_dir
        self.ack_key = ack_key
        self.max_attempts = max_attempts
        self.lockout_s = lockout_s
        self.wall_clock = wall_clock
        self._mutex = threading.Lock()

    # ------------------------------------------------------------------ the badge

    def read_badge(self, text: str) -> Badge:
        """The badge ``text`` carries if it may open service mode now; ServiceRefused
        (NOT_A_BADGE, FORGED, EXPIRED, NOT_YET_VALID, REVOKED) otherwise."""
        try:
            badge = badgemod.decode(text, self.ack_key)
        except BadgeError as exc:
            if exc.problem is BadgeProblem.NOT_A_BADGE:
                raise ServiceRefused(Refusal.NOT_A_BADGE, "this code is not a badge") from None
            log.warning("badge refused (%s): %s", Refusal.FORGED, exc)
            raise ServiceRefused(Refusal.FORGED, f"badge refused: {exc}") from None
        now = datetime.fromtimestamp(self.wall_clock(), UTC)
        refusal: Refusal | None = None
        if now >= badge.expires_at + CLOCK_TOLERANCE:
            refusal = Refusal.EXPIRED
            message = f"badge expired on {badge.expires_at:%Y-%m-%d %H:%M}Z"
        elif now < badge.issued_at - CLOCK_TOLERANCE:
            refusal, message = Refusal.NOT_YET_VALID, \
                f"badge valid from {badge.issued_at:%Y-%m-%d %H:%M}Z (check this kiosk's clock)"
        else:
            state = fleetstate.load(self.status_dir, self.ack_key)
            if state is not None and badge.badge_id in state.revoked_badges:
                refusal, message = Refusal.REVOKED, \
                    f"badge revoked (fleet state of {state.issued_at})"
        if refusal is not None:
            log.warning("badge refused (%s): badge %s of %s: %s", refusal, badge.badge_id,
                        badge.holder, message)
            raise ServiceRefused(refusal, message)
        log.info("badge %s of %s read; PIN asked", badge.badge_id, badge.holder)
        return badge

    # ------------------------------------------------------------------ the PIN

    def check_pin(self, badge: Badge, pin: str) -> None:
        """Return if ``pin`` is ``badge``'s; ServiceRefused WRONG_PIN (with ``attempts_left``)
        or LOCKED_OUT (with ``locked_until``) otherwise. While locked out no PIN is tried."""
        with self._mutex:
            now = self.wall_clock()
            lock = self._current(now)
            if lock.locked_until is not None and now < lock.locked_until:
                raise self._locked(lock.locked_until, badge)
            # Count the attempt as failed, durably, before checking it (power cuts).
            failures = lock.failures + 1
            locks_now = failures >= self.max_attempts
            if locks_now:
                failed = _Lock(failures, now, now + self.lockout_s)
            else:
                failed = _Lock(failures, lock.locked_from, lock.locked_until)
            self._save(failed)
            if badge.pin.matches(pin):
                self._save(_Lock())
                log.warning("service mode opened with badge %s of %s", badge.badge_id,
                            badge.holder)
                return
            if locks_now and failed.locked_until is not None:
                log.warning("wrong PIN for badge %s of %s (%d in a row): service access locked "
                            "out until %s", badge.badge_id, badge.holder, failures,
                            _when(failed.locked_until))
                raise self._locked(failed.locked_until, badge, log_it=False)
            left = self.max_attempts - failures
            log.warning("wrong PIN for badge %s of %s: %d attempt(s) left", badge.badge_id,
                        badge.holder, left)
            raise ServiceRefused(Refusal.WRONG_PIN, f"wrong PIN; {left} attempt(s) left",
                                 attempts_left=left)

    def locked_until(self) -> float | None:
        """When the lock-out ends (UNIX seconds), or None when PINs may be tried."""
        with self._mutex:
            now = self.wall_clock()
            lock = self._current(now)
            if lock.locked_until is not None and now < lock.locked_until:
                return lock.locked_until
            return None

    # ------------------------------------------------------------------ the lock file

    def _locked(self, until: float, badge: Badge, *, log_it: bool = True) -> ServiceRefused:
        if log_it:
            log.warning("PIN for badge %s of %s not tried: service access locked out until %s",
                        badge.badge_id, badge.holder, _when(until))
        return ServiceRefused(Refusal.LOCKED_OUT, f"locked out until {_when(until)}",
                              locked_until=until)

    def _current(self, now: float) -> _Lock:
        """The lock as stored, the clock's moves taken into account (saved when changed)."""
        lock = self._load(now)
        if lock.locked_from is not None and now < lock.locked_from:
            # The clock went back: the lock starts again from now, once, for its full time.
            log.warning("the clock reads %s, before the service lock-out began (%s): locked "
                        "out for %d s from now", _when(now), _when(lock.locked_from),
                        self.lockout_s)
            lock = _Lock(lock.failures, now, now + self.lockout_s)
            self._save(lock)
        return lock

    def _load(self, now: float) -> _Lock:
        path = self.status_dir / LOCK_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            lock = _Lock(int(data["failures"]), _number(data["locked_from"]),
                         _number(data["locked_until"]))
            if lock.failures < 0 or (lock.locked_from is None) != (lock.locked_until is None):
                raise ValueError("inconsistent lock")
            return lock
        except FileNotFoundError:
            return _Lock()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            # Damage never opens the gate: a lock-out from now.
            log.error("service lock %s unreadable (%s): locked out for %d s from now", path,
                      exc, self.lockout_s)
            lock = _Lock(self.max_attempts, now, now + self.lockout_s)
            self._save(lock)
            return lock

    def _save(self, lock: _Lock) -> None:
        replace_durably(self.status_dir / LOCK_FILE, lock.to_json())


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)
