"""The simulator answers DLE EOT in real time, as a printer does, even while a receipt renders."""

from __future__ import annotations

import threading
from pathlib import Path

from drivers.printer.profiles import load_profile
from drivers.printer.simulator import PrinterSimulator, render

JOB_THEN_STATUS = (b"\x1b@\x1bt\x10" + "Récépissé\n".encode("cp1252") + b"\x1dV\x00"
                   + b"\x10\x04\x04")


def test_status_is_answered_while_the_previous_job_is_still_rendering(tmp_path: Path) -> None:
    may_render = threading.Event()

    def slow_render(job, profile):      # the real renderer, held back until the test says so
        assert may_render.wait(30)
        return render(job, profile)

    simulator = PrinterSimulator(load_profile(), out_dir=tmp_path, renderer=slow_render)
    try:
        replies: list[bytes] = []
        feeder = threading.Thread(target=lambda: replies.append(simulator.feed(JOB_THEN_STATUS)))
        feeder.start()
        feeder.join(10)
        assert not feeder.is_alive(), "the status reply waited for the receipt's rendering"
        assert replies == [bytes([0x12])]             # DLE EOT 4: paper adequate
        assert not (tmp_path / "receipt-0001.png").exists()
        may_render.set()
        [job] = simulator.jobs                          # waits for the renderer
        assert job.text.strip() == "Récépissé" and job.png == tmp_path / "receipt-0001.png"
        assert job.png.read_bytes().startswith(b"\x89PNG")
    finally:
        may_render.set()
        simulator.close()
