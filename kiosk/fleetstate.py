"""The kiosk's copy of the fleet state: fetched with each heartbeat, verified, kept on disk.

The uploader (the process holding the kiosk's client certificate) calls
:func:`refresh` with each heartbeat; the service gate (kiosk/service/access.py)
calls :func:`load` when a badge is shown, to refuse the revoked ones. The file
``{data_dir}/status/fleet-state.json`` holds the signed blob exactly as the back
office sent it (deposit/fleetstate.py), so every reader checks the signature
again: a file changed on disk is refused and logged, never trusted.

:func:`refresh` refuses a state older than the one held (someone on the path
replaying the state from before a revocation) and one dated more than
:data:`MAX_AHEAD` ahead of the kiosk's clock (a back office whose clock ran
away once would otherwise make the kiosk refuse every correct state after it
until that date).

Without any fleet state (a kiosk never yet online) no badge is known revoked:
a badge's expiry, checked by every kiosk, is then the only limit. Locking
technicians out of the kiosk that most needs them would be worse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from deposit import fleetstate
from deposit.fleetstate import AckKey, FleetState, FleetStateError, FleetStateProblem
from deposit.fsutil import replace_durably

log = logging.getLogger(__name__)

FILE = "fleet-state.json"
#: How far ahead of the kiosk's clock a fleet state may be dated and still be kept.
MAX_AHEAD = timedelta(days=1)


def load(status_dir: Path, ack_key: AckKey) -> FleetState | None:
    """The fleet state held, its signature checked again; None when there is none, or when
    the file does not verify (logged as an error)."""
    path = status_dir / FILE
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.error("fleet state %s cannot be read (%s): no badge is known revoked", path, exc)
        return None
    try:
        return fleetstate.verify(blob, ack_key)
    except FleetStateError as exc:
        log.error("fleet state %s refused (%s: %s): changed on disk or not from this back "
                  "office; no badge is known revoked until the next refresh", path,
                  exc.problem, exc)
        return None


def refresh(client: httpx.Client, upload_url: str, ack_key: AckKey, status_dir: Path,
            *, wall_clock: Callable[[], float] = time.time) -> FleetState:
    """Fetch the fleet state, verify it, keep it if it is not older than the one held.

    Returns the state now held. Raises :class:`FleetStateError` (FORMAT,
    SIGNATURE, ROLLBACK, FUTURE: the file is left as it was) and the transport
    errors of :func:`deposit.fleetstate.fetch` (TransientError, UnreachableError,
    RefusedError).
    """
    blob = fleetstate.fetch(client, upload_url)
    try:
        state = fleetstate.verify(blob, ack_key)
    except FleetStateError as exc:
        log.error("fleet state from %s refused (%s): %s", upload_url, exc.problem, exc)
        raise
    now = datetime.fromtimestamp(wall_clock(), UTC)
    if state.issued() > now + MAX_AHEAD:
        log.error("fleet state dated %s refused: more than %s ahead of this kiosk's clock (%s)",
                  state.issued_at, MAX_AHEAD, fleetstate.utc(now))
        raise FleetStateError(FleetStateProblem.FUTURE,
                              f"fleet state dated {state.issued_at}, more than {MAX_AHEAD} "
                              f"ahead of this kiosk's clock")
    held = load(status_dir, ack_key)
    if held is not None and state.issued() < held.issued():
        log.error("fleet state dated %s refused: older than the one held (%s); a replay?",
                  state.issued_at, held.issued_at)
        raise FleetStateError(FleetStateProblem.ROLLBACK,
                              f"fleet state dated {state.issued_at} is older than the one "
                              f"held ({held.issued_at})")
    replace_durably(status_dir / FILE, blob)
    if held is None or held.revoked_badges != state.revoked_badges:
        log.info("fleet state of %s: %d badge(s) revoked", state.issued_at,
                 len(state.revoked_badges))
    return state
