"""The out-of-order switch, kept in ``{data_dir}/status/service.json``.

A technician takes the kiosk away from citizens from the service mode; the
switch outlives the mode, a restart and a power cut (written to a temporary
file, fsynced, renamed), and the heartbeat carries it to the back office
(kiosk/heartbeat.py reads ``out_of_order``, ``message`` and ``since``). A file
that cannot be read leaves the kiosk in service, and says so in the log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from deposit.fsutil import replace_durably
from kiosk.service.texts import OUT_OF_ORDER_REASONS, OutOfOrderReason

log = logging.getLogger(__name__)

#: The file, in the kiosk's status folder.
SERVICE_FILE = "service.json"


@dataclass(frozen=True)
class Switch:
    """Out of order (``reason``) or in service (None), since when (UTC), set by whom."""

    reason: OutOfOrderReason | None = None
    since: datetime | None = None
    by: str = ""

    def to_json(self) -> dict[str, object]:
        return {"out_of_order": self.reason is not None,
                "reason": self.reason.value if self.reason else "",
                "message": OUT_OF_ORDER_REASONS[self.reason]["fr"] if self.reason else "",
                "since": self.since.strftime("%Y-%m-%dT%H:%M:%SZ") if self.since else None,
                "by": self.by}


def save(status_dir: Path, switch: Switch) -> None:
    """Write the switch atomically; OSError when the disk refuses."""
    replace_durably(status_dir / SERVICE_FILE,
                    (json.dumps(switch.to_json(), ensure_ascii=False) + "\n").encode())


def load(status_dir: Path) -> Switch:
    """The switch as saved (in service when there is no file, or an unreadable one)."""
    path = status_dir / SERVICE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Switch()
    except (OSError, ValueError) as exc:
        log.error("%s unreadable (%s): the kiosk stays in service", path, exc)
        return Switch()
    if not isinstance(data, dict) or data.get("out_of_order") is not True:
        if not isinstance(data, dict) or data.get("out_of_order") is not False:
            log.error("%s is not {\"out_of_order\": true|false, ...}: the kiosk stays in "
                      "service", path)
        return Switch()
    try:
        since: datetime | None = datetime.strptime(
            str(data.get("since")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        since = None
    try:
        reason = OutOfOrderReason(str(data.get("reason")))
    except ValueError:                # a reason this version does not know: still out of order
        reason = OutOfOrderReason.MAINTENANCE
    return Switch(reason, since, str(data.get("by") or ""))
