"""The last lines of the kiosk's logs (kiosk/service/journal.py).

``journalctl`` is an external program: a stand-in script on PATH prints real journal
export lines (``-o json``, as systemd 252 writes them, a non-UTF-8 message as an array
of bytes) and records the arguments it was given. Without a journal, the log file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.service.journal import Priority, Source, recent_lines

T0 = 1_764_930_615_123_456     # 2025-12-05 10:30:15.123456 UTC, in microseconds

JOURNAL = [
    {"__CURSOR": "s=3c1f;i=1a2;b=9e0d;m=1f;t=62c;x=7a", "__REALTIME_TIMESTAMP": str(T0),
     "__MONOTONIC_TIMESTAMP": "31000123", "_BOOT_ID": "9e0d41", "PRIORITY": "6",
     "SYSLOG_FACILITY": "3", "_UID": "998", "_GID": "998", "_COMM": "python3",
     "_SYSTEMD_UNIT": "kiosk.service", "SYSLOG_IDENTIFIER": "kiosk", "_PID": "812",
     "_TRANSPORT": "stdout", "_HOSTNAME": "kiosk-12",
     "MESSAGE": "kiosk.runtime: receipt DEMO-0000042 printed"},
    {"__CURSOR": "s=3c1f;i=1a3", "__REALTIME_TIMESTAMP": str(T0 + 2_000_000),
     "PRIORITY": "4", "_SYSTEMD_UNIT": "kiosk-uploader.service",
     "SYSLOG_IDENTIFIER": "kiosk", "_TRANSPORT": "stdout",
     "MESSAGE": "deposit.delivery: deposit DEMO-0000042 not delivered this time: cannot reach"},
    {"__CURSOR": "s=3c1f;i=1a4", "__REALTIME_TIMESTAMP": str(T0 + 3_000_000),
     "PRIORITY": "3", "_SYSTEMD_UNIT": "kiosk.service", "_TRANSPORT": "stdout",
     "MESSAGE": [112, 97, 112, 105, 101, 114, 32, 233, 99, 114, 97, 115, 233]},
]


def fake_journalctl(folder: Path, lines: list[dict[str, object]], *, status: int = 0,
                    stderr: str = "") -> Path:
    """A ``journalctl`` on PATH that prints ``lines`` and writes its argv to ``args.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "journal.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    script = folder / "journalctl"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(folder / 'args.json')!r}, 'w'))\n"
        f"sys.stdout.write(open({str(folder / 'journal.jsonl')!r}).read())\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({status})\n")
    script.chmod(0o755)
    return folder


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def put(lines: list[dict[str, object]], **kwargs: object) -> Path:
        folder = fake_journalctl(tmp_path / "bin", lines, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        return folder
    return put


def kiosk_log(path: Path) -> Path:
    path.write_text(
        "2026-12-05 10:30:15,123 INFO kiosk.runtime: printer: simulator on /dev/pts/3\n"
        "2026-12-05 10:30:16,004 ERROR kiosk.receipts: receipt DEMO-0000042 not printed\n"
        "Traceback (most recent call last):\n"
        '  File "kiosk/receipts.py", line 80, in print\n'
        "2026-12-05 10:30:17,500 WARNING deposit.delivery: back office unreachable\n",
        encoding="utf-8")
    return path


def test_journal_lines_are_parsed_with_time_unit_priority_and_message(on_path) -> None:
    folder = on_path(JOURNAL)
    excerpt = recent_lines(50)
    assert excerpt.source is Source.JOURNAL and excerpt.reason == ""
    first, second, third = excerpt.lines
    assert first.time == datetime(2025, 12, 5, 10, 30, 15, 123456, tzinfo=UTC)
    assert (first.unit, first.priority) == ("kiosk.service", Priority.INFO)
    assert second.unit == "kiosk-uploader.service" and second.priority is Priority.WARNING
    assert third.message == "papier \ufffdcras\ufffd"     # latin-1 bytes, shown, not lost
    args = json.loads((folder / "args.json").read_text())
    assert args == ["-u", "kiosk.service", "-u", "kiosk-uploader.service", "-n", "50",
                    "-o", "json", "--no-pager"]


def test_priority_and_text_filter_the_lines_and_the_priority_goes_to_journalctl(
        on_path) -> None:
    folder = on_path(JOURNAL)
    warnings = recent_lines(20, priority=Priority.WARNING)
    assert [line.priority for line in warnings.lines] == [Priority.WARNING, Priority.ERR]
    assert "--priority=4" in json.loads((folder / "args.json").read_text())
    found = recent_lines(20, text="DEMO-0000042")
    assert [line.unit for line in found.lines] == ["kiosk.service", "kiosk-uploader.service"]
    assert recent_lines(20, text="demo-0000042").lines == found.lines   # case-insensitive


def test_a_failing_journalctl_falls_back_to_the_log_file(on_path, tmp_path: Path) -> None:
    on_path([], status=1, stderr="System has not been booted with systemd as init system "
                                 "(PID 1). Can't operate.\n")
    excerpt = recent_lines(10, log_file=kiosk_log(tmp_path / "kiosk.log"))
    assert excerpt.source is Source.FILE
    assert "System has not been booted with systemd" in excerpt.reason
    assert [line.priority for line in excerpt.lines] == [
        Priority.INFO, Priority.ERR, Priority.ERR, Priority.ERR, Priority.WARNING]
    assert excerpt.lines[1].message == "kiosk.receipts: receipt DEMO-0000042 not printed"
    assert excerpt.lines[2].time is None      # a traceback's line keeps its error's priority
    errors = recent_lines(10, priority=Priority.ERR, text="not printed",
                          log_file=tmp_path / "kiosk.log")
    assert [line.message for line in errors.lines] == [
        "kiosk.receipts: receipt DEMO-0000042 not printed"]
    assert len(recent_lines(2, log_file=tmp_path / "kiosk.log").lines) == 2   # the last 2


def test_an_empty_journal_without_a_log_file_is_an_empty_list_with_the_reason(
        on_path) -> None:
    on_path([])
    excerpt = recent_lines(10)
    assert excerpt.lines == () and excerpt.source is Source.NONE
    assert "no line of kiosk.service, kiosk-uploader.service" in excerpt.reason
    assert "no log file is configured" in excerpt.reason


def test_no_journalctl_at_all_says_so(tmp_path: Path) -> None:
    excerpt = recent_lines(10, journalctl=str(tmp_path / "absent" / "journalctl"),
                           log_file=tmp_path / "missing.log")
    assert excerpt.lines == () and excerpt.source is Source.NONE
    assert "journalctl not found" in excerpt.reason and "cannot be read" in excerpt.reason
