"""The back office's log lines: one event per line, whatever a client sent.

Messages often quote what a client sent (a deposit id, a metadata key, a path).
A newline there would forge a second log line, and an escape sequence would
repaint a technician's terminal: :class:`SafeFormatter` escapes every control
character of the message (C0, DEL, C1, and the Unicode line separators) as
``\\xNN``/``\\uNNNN``. Tracebacks, which are ours, keep their lines.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape."""
    def visible(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(visible, text)


class SafeFormatter(logging.Formatter):
    """A formatter whose messages cannot hold control characters (tracebacks excepted)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def configure(level: int) -> None:
    """Log to stderr (the journal under systemd) at ``level``, control characters escaped."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
