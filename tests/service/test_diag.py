"""``kiosk diag`` and the checks it runs: one test per failing device, the JSON shape, exit codes.

Devices are the real drivers: the printer simulator driven into faults by its URL
(``sim://?paper=out``), a serial port that does not exist, a pseudo-terminal that never
answers, a camera that opens but never gives a frame. At least one run goes through
the real command in a subprocess, as a monitoring script would run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from deposit.heartbeat import DeviceHealth
from kiosk.config import load_config
from kiosk.service.checks import (
    check_camera,
    check_code_reader,
    check_printer,
    check_service,
    check_storage,
    check_version,
    device_health,
    failed,
    run_checks,
)
from kiosk.service.results import CheckName, Outcome
from tests.conftest import run_cli

DEVICES = ["printer", "camera", "code_reader"]


def write_config(folder: Path, devices: str = "", extra: str = "") -> Path:
    """A kiosk.toml with its data in ``folder/data`` (never the user's own)."""
    path = folder / "kiosk.toml"
    path.write_text(f"[kiosk]\ndata_dir = {json.dumps(str(folder / 'data'))}\n"
                    f"[devices]\n{devices}\n{extra}\n", encoding="utf-8")
    return path


def by_check(stdout: str) -> dict[str, dict[str, object]]:
    return {r["check"]: r for r in json.loads(stdout)}


@pytest.fixture
def silent_pty() -> Iterator[str]:
    """A pseudo-terminal whose other end never answers (a printer switched off on its cable)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


# ---------------------------------------------------------------- through the command

def test_a_printer_out_of_paper_fails_and_diag_exits_non_zero(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'printer = "sim://?paper=out"')
    done = run_cli("kiosk", ["diag", "--json", "--config", str(config)])
    assert done.returncode == 1, done.stderr
    results = json.loads(done.stdout)
    assert isinstance(results, list)
    assert [r["check"] for r in results] == [n.value for n in CheckName]
    for r in results:
        assert set(r) == {"check", "result", "detail", "data"}
        assert r["result"] in ("ok", "warn", "fail") and isinstance(r["detail"], str)
        assert isinstance(r["data"], dict)
    printer = by_check(done.stdout)["printer"]
    # The cause, not the "offline" every printer out of paper also reports.
    assert printer["result"] == "fail" and printer["detail"] == "paper_out"
    assert printer["data"]["paper"] == "out"   # type: ignore[index]
    assert "Traceback" not in done.stderr


def test_human_lines_start_with_the_outcome_then_the_check(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'printer = "sim://?cover=open"')
    done = run_cli("kiosk", ["diag", "--config", str(config), "--only", *DEVICES])
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["fail", "printer"], ["ok", "camera"], ["ok", "code_reader"]]
    assert "cover_open" in lines[0]


def test_a_warning_alone_exits_zero(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'printer = "sim://?paper=near-end"')
    done = run_cli("kiosk", ["diag", "--json", "--config", str(config), "--only", "printer",
                             "version"])
    assert done.returncode == 0, done.stdout + done.stderr
    results = by_check(done.stdout)
    assert set(results) == {"printer", "version"}
    assert results["printer"]["result"] == "warn"
    assert results["printer"]["detail"] == "paper_near_end"
    assert device_health(check_printer("sim://?paper=near-end")) is DeviceHealth.WARN


def test_an_unknown_check_name_is_refused_with_the_valid_ones(tmp_path: Path) -> None:
    done = run_cli("kiosk", ["diag", "--only", "coffee"])
    assert done.returncode == 2 and "code_reader" in done.stderr


def test_kiosk_devices_uses_the_same_checks(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'printer = "sim://?paper=near-end"')
    done = run_cli("kiosk", ["devices", "--json", "--config", str(config)])
    assert done.returncode == 0
    printer = {d["kind"]: d for d in json.loads(done.stdout)["devices"]}["printer"]
    assert printer["ready"] and printer["status"] == "paper_near_end"
    assert printer["details"]["paper"] == "near_end"


# ---------------------------------------------------------------- one failing device each

@pytest.mark.parametrize(("query", "problem"), [
    ("paper=out", "paper_out"), ("cover=open", "cover_open"), ("online=false", "offline"),
    ("cutter=error", "cutter_error")])
def test_each_printer_condition_that_stops_printing_fails_the_check(query: str,
                                                                    problem: str) -> None:
    result = check_printer(f"sim://?{query}")
    assert (result.check, result.result) == (CheckName.PRINTER, Outcome.FAIL)
    assert problem in result.detail and result.data[problem.replace("offline", "online")] \
        is (problem != "offline")


def test_a_printer_on_a_serial_port_that_does_not_exist_fails_with_the_reason() -> None:
    result = check_printer("serial:///dev/kiosk-no-such-printer")
    assert result.result is Outcome.FAIL
    assert "/dev/kiosk-no-such-printer" in result.detail
    assert result.detail.startswith("PrinterUnavailableError")
    assert result.data["backend"] == "drivers.printer.serial_backend"


def test_a_printer_that_cannot_report_its_condition_only_warns(tmp_path: Path) -> None:
    """A one-way device (a printer-class USB node, here a plain file) prints, blind."""
    device = tmp_path / "usb-lp0"
    device.touch()
    result = check_printer(f"file://{device}")
    assert (result.result, result.detail) == (Outcome.WARN, "status_unknown")
    assert result.data["paper"] == "unknown"


def test_a_printer_that_never_answers_fails_as_a_timeout(silent_pty: str) -> None:
    result = check_printer(f"serial://{silent_pty}?timeout=0.3")
    assert result.result is Outcome.FAIL and "Timeout" in result.detail


def test_a_camera_that_opens_but_gives_no_frame_fails_within_the_timeout(
        tmp_path: Path) -> None:
    unreadable = tmp_path / "frame.jpg"
    unreadable.write_bytes(b"not a JPEG at all" * 64)
    result = check_camera(f"sim://{unreadable}", timeout=0.5)
    assert result.result is Outcome.FAIL and result.detail == "no frame within 0.5 s"
    assert result.data["frames"] == 0


def test_a_camera_that_cannot_be_opened_fails_with_the_reason(tmp_path: Path) -> None:
    result = check_camera(f"opencv://{tmp_path}/absent.avi", timeout=0.5)
    assert result.result is Outcome.FAIL and "absent.avi" in result.detail
    assert result.detail.startswith("DeviceUnavailableError")


def test_the_simulated_camera_reports_its_resolution_and_rate() -> None:
    result = check_camera("sim://?width=640&height=480", timeout=5)
    assert result.result is Outcome.OK and result.data["resolution"] == [640, 480]
    assert result.data["frames"] >= 1


def test_a_code_reader_that_cannot_be_opened_fails_with_the_reason() -> None:
    result = check_code_reader("serial:///dev/kiosk-no-such-scanner")
    assert result.result is Outcome.FAIL and "/dev/kiosk-no-such-scanner" in result.detail
    assert check_code_reader("sim://").result is Outcome.OK


# ---------------------------------------------------------------- the others

def test_storage_fails_when_the_reserve_and_one_dossier_do_not_fit(tmp_path: Path) -> None:
    fits = check_storage(load_config(write_config(tmp_path, extra="[outbox]\nreserve_mb = 0\n"
                                                               "dossier_estimate_mb = 1\n")))
    assert fits.result is Outcome.OK and fits.data["dossiers_that_fit"] >= 10
    full = check_storage(load_config(write_config(
        tmp_path, extra="[outbox]\nreserve_mb = 1000000\n")))
    assert full.result is Outcome.FAIL and "new deposits are refused" in full.detail


def test_the_version_check_is_always_ok_and_names_the_software() -> None:
    result = check_version()
    assert result.result is Outcome.OK
    assert set(result.data) >= {"version", "python", "platform"}


def fake_systemctl(folder: Path, states: dict[str, str]) -> str:
    """A ``systemctl`` answering ``show`` with the given ActiveState per unit (else
    not-found): a stand-in for systemd, which does not run here."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "systemctl"
    script.write_text(
        "#!/usr/bin/env python3\nimport sys\n"
        f"states = {states!r}\nunit = sys.argv[-1]\n"
        "if unit in states:\n"
        "    print('LoadState=loaded'); print('ActiveState=' + states[unit])\n"
        "    print('SubState=' + ('running' if states[unit] == 'active' else 'dead'))\n"
        "else:\n    print('LoadState=not-found'); print('ActiveState=inactive')\n")
    script.chmod(0o755)
    return str(script)


def test_a_kiosk_unit_installed_but_stopped_fails_the_service_check(tmp_path: Path) -> None:
    systemctl = fake_systemctl(tmp_path, {"kiosk.service": "active",
                                          "kiosk-uploader.service": "failed"})
    result = check_service(systemctl)
    assert result.result is Outcome.FAIL
    assert result.data["units"] == {"kiosk.service": "active (running)",
                                    "kiosk-uploader.service": "failed (dead)"}
    running = fake_systemctl(tmp_path / "ok", {"kiosk.service": "active",
                                               "kiosk-uploader.service": "active"})
    assert check_service(running).result is Outcome.OK


def test_without_systemd_or_the_units_the_service_check_only_warns(tmp_path: Path) -> None:
    assert check_service(fake_systemctl(tmp_path, {})).result is Outcome.WARN
    assert check_service(str(tmp_path / "absent" / "systemctl")).result is Outcome.WARN


def test_run_checks_with_only_runs_those_in_order_and_never_raises(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, 'printer = "serial:///dev/kiosk-nothing"'))
    results = run_checks(config, only=[CheckName.VERSION, CheckName.PRINTER],
                         camera_timeout=0.5)
    assert [r.check for r in results] == [CheckName.PRINTER, CheckName.VERSION]
    assert failed(results) and not failed(results[1:])
