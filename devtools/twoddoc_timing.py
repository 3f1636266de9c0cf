"""What reading 2D-Docs adds per captured page: ``python -m devtools.twoddoc_timing [N]``.

The camera simulator photographs N pages (1080p stills, as the kiosk's simulated
camera gives), the scanner processes each still as the capture worker does
(``scanner.process_still``), then the 2D-Doc reader runs on the rectified page
at full resolution as :class:`kiosk.twoddocs.PageChecker` does: pages with a
signed 2D-Doc (35 mm wide), and pages without any. Prints one JSON document:
the median and 90th percentile of each, in milliseconds. The reader runs on its
own thread in the kiosk: these milliseconds are *not* added to the capture
loop; they are how long after a page is taken its "authenticated" mark comes.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec

import scanner
from devtools.twoddoc_samples import authority, encode, page_with_code
from drivers import open_camera
from kiosk.twoddocs import read_codes
from twoddoc import TrustList
from twoddoc.trustlist import to_xml


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    count = int(args[0]) if args else 10
    key, certificate = authority("FR99", "0001", ec.SECP256R1())
    from datetime import UTC, datetime
    trust = TrustList.from_xml(to_xml([("FR99", "AC MESURE", certificate, False)],
                                      issued=datetime(2026, 1, 1, tzinfo=UTC)))
    fields = {"10": "MME/SPECIMEN/NATACHA", "22": "145 AVENUE DES SPECIMENS", "24": "75000",
              "25": "PARIS", "26": "FR"}
    with_code = page_with_code(encode(key, fields, authority="FR99", certificate="0001",
                                      signed=date(2025, 6, 1)))
    import assets
    without = cv2.imread(str(assets.path("pages", "payslip.png")))
    figures: dict[str, list[float]] = {"still_ms": [], "with_code_ms": [], "without_code_ms": []}
    verdicts: list[str] = []
    camera: Any = open_camera("sim://?seed=3&placed=false")     # the simulator's own tray
    camera.start()
    try:
        for index in range(count):
            page = with_code if index % 2 == 0 else without
            camera.simulator.place(np.ascontiguousarray(page), size_mm=(210.0, 297.0))
            time.sleep(0.3)
            still = camera.capture_still(timeout=3.0)
            started = time.perf_counter()
            result = scanner.process_still(still.image)
            figures["still_ms"].append((time.perf_counter() - started) * 1000)
            if result.page is None:
                continue
            started = time.perf_counter()
            reading = read_codes(result.page.image, trust, thorough=False)  # as the kiosk
            elapsed = (time.perf_counter() - started) * 1000
            figures["with_code_ms" if index % 2 == 0 else "without_code_ms"].append(elapsed)
            if index % 2 == 0:
                verdicts += [c.outcome.value for c in reading.codes] or ["none read"]
    finally:
        camera.stop()
        camera.close()
    out: dict[str, Any] = {name: {"pages": len(v), "median": round(statistics.median(v), 1),
                                  "p90": round(_percentile(v, 0.9), 1)}
                           for name, v in figures.items() if v}
    out["verdicts_on_pages_with_a_code"] = {v: verdicts.count(v) for v in sorted(set(verdicts))}
    out["still_size"] = list(still.image.shape[:2]) if count else []
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
