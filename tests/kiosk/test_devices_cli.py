"""``kiosk devices``: each configured device, its backend and status, through the real drivers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_the_default_simulated_devices_are_all_ready() -> None:
    result = run_cli("kiosk", ["devices", "--json"])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    devices = {d["kind"]: d for d in report["devices"]}
    assert set(devices) == {"printer", "camera", "code_reader"}
    assert all(d["ready"] for d in devices.values())
    assert devices["printer"]["backend"] == "drivers.printer.sim_backend"
    assert devices["printer"]["details"]["paper_out"] is False
    assert devices["camera"]["status"] == "ready, 1920x1080"


def test_a_printer_without_paper_and_a_missing_camera_are_named_and_fail(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[devices]\nprinter = "sim://?paper=out"\n'
                      f'camera = "opencv://{tmp_path}/absent.avi"\n', encoding="utf-8")
    result = run_cli("kiosk", ["devices", "--json", "--config", str(config),
                               "--camera-timeout", "1"])
    assert result.returncode == 1
    devices = {d["kind"]: d for d in json.loads(result.stdout)["devices"]}
    assert not devices["printer"]["ready"] and "paper_out" in devices["printer"]["status"]
    assert devices["printer"]["details"]["paper_out"] is True
    assert not devices["camera"]["ready"]
    assert "DeviceUnavailableError" in devices["camera"]["status"]
    assert "absent.avi" in devices["camera"]["status"]
    assert devices["code_reader"]["ready"]


def test_lines_for_a_technician_say_ok_or_err_per_device(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[devices]\nprinter = "sim://?cover=open"\n', encoding="utf-8")
    result = run_cli("kiosk", ["devices", "--config", str(config)])
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and len(lines) == 3
    printer_line = next(x for x in lines if " printer " in x)
    assert printer_line.startswith("ERR") and "cover_open" in printer_line
    assert all(x.startswith("ok ") for x in lines if x is not printer_line)
