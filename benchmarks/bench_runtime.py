"""The kiosk's runtime over many deposits, headless: memory, and "Send" to receipt.

The runtime ``kiosk run`` builds (outbox, scanner, printer simulator, camera
simulator, controller) is driven without its interface (devtools.headless) by
a citizen showing a convocation's QR code (one document asked for), laying one
page, leaving a phone number and sending; the real uploader (``kiosk
uploader``, its own process) delivers to a real back office on 127.0.0.1.

- ``memory``: resident set size of this process (the runtime's) after each of
  ``deposits`` consecutive deposits (200; 30 with ``--quick``); the growth is
  given from the 20th deposit (after warm-up: caches, the scanner's first
  allocations) to the last.
- ``send_to_receipt``: seconds from the "Send" tap to the receipt step, over
  those deposits (the queue kept empty by the uploader), and then over
  ``backlog_deposits`` more with a backlog of 20 dossiers queued and a back
  office that accepts connections and never answers, the uploader stuck on it.
- ``reference``: sealing and queuing the same dossier with the outbox directly
  (``Outbox.seal_and_queue``, the floor of what "Send" must do), measured in
  the same run; the ratios are the receipt's latency against that floor.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from benchmarks.common import Context, rss_mib
from deposit.outbox import Sealer
from devtools import processes

#: The scripted deposit: a convocation asking for one document, one page laid for it.
PROCEDURE = "rsa"
DOCUMENT = "rib"
PAGE = "text"


def latency(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2)}


def run(ctx: Context) -> dict[str, Any]:
    from devtools.headless import deposit, start_headless
    from kiosk.catalog import convocation_url
    from kiosk.config import load_config
    from kiosk.runtime import sealing_keys
    from tests.backoffice.harness import RunningServer
    from tests.e2e.fleet import enrolled, kiosk_config, kiosk_outbox, point_bundle_at, queue
    from tests.netfaults import BlackHole

    deposits = 30 if ctx.quick else 200
    backlog_deposits = 10 if ctx.quick else 30
    root = ctx.scratch / "runtime"
    office = enrolled(root, "BENCH-RT")
    bundle = office.bundle
    config_path = kiosk_config(root / "kiosk", bundle, upload="poll_s = 5\ntimeout_s = 60")
    config = load_config(config_path)
    server = RunningServer(office.data, office.port).start()
    uploader = processes.start_uploader(config_path, root / "uploader.log")
    kiosk = start_headless(config, sealing_keys(config))
    code = convocation_url("rdv.example.fr", PROCEDURE, "BENCH-1", [DOCUMENT])
    rss: list[float] = []
    quiet: list[float] = []
    try:
        for _ in range(deposits):
            made = deposit(kiosk, PROCEDURE, {DOCUMENT: [PAGE]}, convocation=code)
            quiet.append(made.send_to_receipt)
            rss.append(rss_mib())
        deadline = time.monotonic() + 60          # the last ones may still be on their way
        while len(server.bo.metadata.deposits()) < deposits and time.monotonic() < deadline:
            time.sleep(0.2)
        delivered = len(server.bo.metadata.deposits())
    finally:
        processes.stop(uploader)
        server.stop()
    # A silent back office and 20 dossiers queued: the uploader is stuck on the first.
    silent = BlackHole()
    point_bundle_at(bundle, silent.port)
    outbox = kiosk.runtime.outbox
    assert outbox is not None
    made_ids = {e.deposit_id for e in outbox.list()}
    # The kiosk numbers its deposits by the second; these small numbers never meet them.
    with kiosk_outbox(config_path, bundle) as box:
        queue(box, office.fleet_code, [400_000] * 20)
    stuck = processes.start_uploader(config_path, root / "uploader-stuck.log")
    backlog: list[float] = []
    try:
        while not silent.accepted:
            time.sleep(0.1)
        for _ in range(backlog_deposits):
            made = deposit(kiosk, PROCEDURE, {DOCUMENT: [PAGE]}, convocation=code)
            backlog.append(made.send_to_receipt)
        waiting = len(outbox.pending())
        sizes = [e.envelope_size for e in outbox.list() if e.deposit_id in made_ids]
        sealer = outbox.sealer
    finally:
        processes.stop(stuck)
        silent.close()
        kiosk.close()
    assert sealer is not None
    floor = _reference(ctx, sealer, int(statistics.median(sizes)), office.fleet_code)
    warm = min(20, len(rss)) - 1
    growth = (rss[-1] - rss[warm]) / rss[warm]
    quiet_l, backlog_l = latency(quiet), latency(backlog)
    return {
        "deposits": deposits, "delivered_by_the_uploader": delivered,
        "memory": {"rss_mib_after_1st": round(rss[0], 1),
                   f"rss_mib_after_{warm + 1}th": round(rss[warm], 1),
                   "rss_mib_after_last": round(rss[-1], 1),
                   "growth_from_20th_to_last": round(growth, 4),
                   "meets_under_5_percent": growth < 0.05},
        "send_to_receipt": {"queue_empty": quiet_l,
                            "backlog_of_20_back_office_silent": {**backlog_l,
                                                                 "still_queued": waiting}},
        "reference": {"seal_and_queue_same_dossier": floor},
        "ratios_to_reference": {
            "queue_empty_median": round(quiet_l["median_ms"] / floor["median_ms"], 2),
            "backlog_median": round(backlog_l["median_ms"] / floor["median_ms"], 2),
            "backlog_p99": round(backlog_l["p99_ms"] / floor["median_ms"], 2)},
    }


def _reference(ctx: Context, sealer: Sealer, size: int, fleet_code: str) -> dict[str, float]:
    """``seal_and_queue`` of a dossier of the benchmark's size, straight into an outbox."""
    from deposit import manifest as mf
    from deposit.ids import DepositId
    from deposit.outbox import Outbox

    box = Outbox(ctx.scratch / "reference-outbox", sealer=sealer, reserve_bytes=0,
                 dossier_estimate_bytes=1024 * 1024)
    times = []
    try:
        for n in range(1, 31):
            deposit_id = str(DepositId(fleet_code, 9_000_000 + n))
            pdf = b"%PDF-1.7\n" + os.urandom(size)
            started = time.perf_counter()
            box.seal_and_queue(deposit_id=deposit_id, procedure=PROCEDURE,
                               deposit_json={"version": 1, "deposit_id": deposit_id},
                               pdf=pdf, tracking_token=mf.new_tracking_token())
            times.append(time.perf_counter() - started)
    finally:
        box.close()
    return {**latency(times), "dossier_bytes": size}
