"""The last lines of the kiosk's logs, for the service screen's log page and ``kiosk diag``.

On a kiosk both services log to the systemd journal (systemd/kiosk.service,
systemd/kiosk-uploader.service), so the lines come from::

    journalctl -u kiosk.service -u kiosk-uploader.service -n N -o json --no-pager [-p P]

parsed from its JSON export (one object per line: ``__REALTIME_TIMESTAMP`` in
microseconds, ``_SYSTEMD_UNIT``, ``PRIORITY``, ``MESSAGE``, which is an array of
bytes when it is not UTF-8). Where there is no journal to read (no
``journalctl``, no systemd running, as on a development machine or in a
container, or no line of these units) the caller's log file is read instead
when it names one, in the format of the ``kiosk`` command's logging
(``2026-01-02 10:11:12,345 WARNING kiosk.capture: ...``); otherwise the answer
is an empty list with the reason, never an error.

The service screen shows these lines to a technician who already holds the
badge: they are the services' own logs, which hold no personal data (the
project logs deposit numbers and device states, never a citizen's words).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

#: The units whose lines are shown (systemd/).
UNITS = ("kiosk.service", "kiosk-uploader.service")
DEFAULT_LINES = 200
#: How much of the end of a log file is read at most (a line is far shorter).
FILE_TAIL_BYTES = 1024 * 1024
_FILE_LINE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:,(\d{3}))? "
                        r"(CRITICAL|ERROR|WARNING|INFO|DEBUG) (\S+?): (.*)")


class Priority(IntEnum):
    """syslog priorities, as the journal numbers them (lower is more severe)."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


_LEVELS = {"CRITICAL": Priority.CRIT, "ERROR": Priority.ERR, "WARNING": Priority.WARNING,
           "INFO": Priority.INFO, "DEBUG": Priority.DEBUG}


class Source(StrEnum):
    """Where the lines came from."""

    JOURNAL = "journal"
    FILE = "file"
    NONE = "none"


@dataclass(frozen=True)
class LogLine:
    time: datetime | None      # UTC; None for a file line without a time (a traceback's)
    unit: str                  # the systemd unit, or the log file's name
    priority: Priority
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"time": None if self.time is None else self.time.isoformat(),
                "unit": self.unit, "priority": self.priority.name.lower(),
                "message": self.message}


@dataclass(frozen=True)
class LogExcerpt:
    """Lines oldest first; ``reason`` says why there are none (or why the file was read)."""

    lines: tuple[LogLine, ...]
    source: Source
    reason: str = ""


def recent_lines(count: int = DEFAULT_LINES, *, priority: Priority | None = None,
                 text: str = "", units: Sequence[str] = UNITS, log_file: Path | None = None,
                 journalctl: str = "journalctl", timeout: float = 10.0) -> LogExcerpt:
    """The last ``count`` lines of the kiosk's units, at ``priority`` or more severe and
    holding ``text`` (case-insensitive) when given. Never raises."""
    lines, why = _from_journal(count, priority, units, journalctl, timeout)
    if lines is not None:
        return LogExcerpt(tuple(_filtered(lines, priority, text)), Source.JOURNAL)
    if log_file is not None:
        try:
            from_file = _from_file(log_file)
        except OSError as exc:
            return LogExcerpt((), Source.NONE, f"{why}; the log file {log_file} cannot be read "
                                               f"({exc})")
        kept = list(_filtered(from_file, priority, text))[-count:] if count > 0 else []
        return LogExcerpt(tuple(kept), Source.FILE, f"{why}; read {log_file}")
    return LogExcerpt((), Source.NONE, f"{why}, and no log file is configured")


def _filtered(lines: Iterable[LogLine], priority: Priority | None,
              text: str) -> Iterable[LogLine]:
    needle = text.casefold()
    for line in lines:
        if priority is not None and line.priority > priority:
            continue
        if needle and needle not in line.message.casefold():
            continue
        yield line


def _from_journal(count: int, priority: Priority | None, units: Sequence[str],
                  journalctl: str, timeout: float) -> tuple[list[LogLine] | None, str]:
    """The journal's lines, or None and why they cannot be had."""
    program = shutil.which(journalctl)
    if program is None:
        return None, f"{journalctl} not found"
    command = [program, *(arg for unit in units for arg in ("-u", unit)), "-n", str(count),
               "-o", "json", "--no-pager"]
    if priority is not None:
        command.append(f"--priority={int(priority)}")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"journalctl failed ({exc})"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, f"journalctl failed ({why[0] if why else f'exit status {done.returncode}'})"
    lines = []
    for raw in done.stdout.splitlines():
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            log.warning("journalctl printed a line that is not JSON: %r", raw[:120])
            continue
        if isinstance(entry, dict):
            lines.append(_journal_line(entry))
    if not lines:
        return None, f"the journal holds no line of {', '.join(units)}"
    return lines, ""


def _journal_line(entry: dict[str, object]) -> LogLine:
    stamp = entry.get("__REALTIME_TIMESTAMP")
    when = None
    if isinstance(stamp, str) and stamp.isdigit():
        when = datetime.fromtimestamp(int(stamp) / 1_000_000, UTC)
    unit = entry.get("_SYSTEMD_UNIT") or entry.get("UNIT") or entry.get("SYSLOG_IDENTIFIER")
    raw_priority = entry.get("PRIORITY")
    try:
        priority = Priority(int(raw_priority)) if isinstance(raw_priority, str) \
            else Priority.INFO
    except ValueError:
        priority = Priority.INFO
    return LogLine(when, str(unit or "?"), priority, _message(entry.get("MESSAGE")))


def _message(value: object) -> str:
    """MESSAGE is a string, or an array of bytes when it is not valid UTF-8, or null."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return ""


def _from_file(path: Path) -> list[LogLine]:
    """The lines of the end of a log file written by the ``kiosk`` command's logging."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - FILE_TAIL_BYTES))
        data = f.read()
    text = data.decode("utf-8", "replace")
    if size > FILE_TAIL_BYTES:
        text = text.partition("\n")[2]       # the first line read is likely cut
    lines: list[LogLine] = []
    for raw in text.splitlines():
        match = _FILE_LINE.fullmatch(raw)
        if match is None:
            if raw.strip():      # a traceback's or a continued message's line
                priority = lines[-1].priority if lines else Priority.INFO
                lines.append(LogLine(None, path.name, priority, raw))
            continue
        stamp, millis, level, _name, message = match.groups()
        # The logging module writes local time.
        when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").astimezone(UTC)
        if millis:
            when = when.replace(microsecond=int(millis) * 1000)
        lines.append(LogLine(when, path.name, _LEVELS[level], f"{_name}: {message}"))
    return lines
