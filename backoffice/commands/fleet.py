"""``backoffice fleet``: every kiosk's health and the alerts that hold, read on the server.

One line per enrolled kiosk (revoked ones are left out): its last heartbeat's
age, version, paper, devices, queue (depth and the oldest deposit's age), free
disk and whether it is out of order; then the alerts; then the satisfaction
ratings of the last four ISO weeks (count and mean per kiosk and procedure).

``--json`` prints one document, ``{"kiosks": [...], "alerts": [...]}``, each alert
``{"kiosk", "kind", "subject", "detail", "since"}`` (docs/fleet.md): what a
monitoring system reads. The exit status is 0 whatever the fleet's state; 2 only
when the data folder or its store cannot be used.

**Reading changes nothing.** The alerts shown are worked out from the heartbeats
at the moment of reading (backoffice/fleethealth.py), so they are right even when
no round ran, and a monitoring probe never writes to the store nor sends a mail.
``--notify`` also runs one round, as ``backoffice serve`` does every ``[fleet]
interval_seconds``: occurrences reconciled, new and cleared ones sent by e-mail and
webhook once (backoffice/alerting.py); the round's summary goes to the standard
error, the view to the standard output.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backoffice.alerting import AlertRound, thresholds
from backoffice.fleethealth import AlertKind, fleet_view, recent_weeks
from backoffice.settings import load_settings
from backoffice.store.alertsdb import AlertStore
from backoffice.store.engines import open_metadata


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("fleet", parents=parents,
                            help="the kiosks' health, alerts and ratings",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, metavar="DIR")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument("--notify", action="store_true",
                        help="also run one round: record the alerts' occurrences and send the "
                             "new and cleared ones (e-mail, webhook)")
    parser.set_defaults(func=run)


def age(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def format_view(view: dict[str, Any]) -> str:
    kiosks, alerts = view["kiosks"], view["alerts"]
    if not kiosks:
        return "no kiosk enrolled (backoffice enroll)"
    header = ("KIOSK", "CODE", "HEARTBEAT", "VERSION", "PAPER", "PRINTER", "CAMERA", "READER",
              "QUEUE", "DISK FREE", "STATE")
    rows = []
    for k in kiosks:
        devices = {d["kind"]: d["health"] for d in k["devices"]}
        queue = k["queue"]
        queued = "-" if queue is None else (
            f"{queue['depth']}" + (f" (oldest {age(queue['oldest_age_seconds'])})"
                                   if queue["depth"] and queue["oldest_age_seconds"] is not None
                                   else ""))
        silent = any(a["kind"] == AlertKind.SILENT for a in k["alerts"])
        state = "out of order" if k["out_of_order"] else "no news" if silent else "in service"
        if k["alerts"]:
            state += f", {len(k['alerts'])} alert(s)"
        rows.append((k["kiosk"], k["fleet_code"], age(k["last_heartbeat_age_seconds"]),
                     k["software"] or "-", k["paper"] or "-",
                     devices.get("printer", "-"), devices.get("camera", "-"),
                     devices.get("code_reader", "-"), queued,
                     size(k["disk"]["free_bytes"]) if k["disk"] else "-", state))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.append("")
    if alerts:
        lines.append(f"ALERTS ({len(alerts)})")
        for a in alerts:
            what = a["kind"] + (f" ({a['subject']})" if a["subject"] else "")
            lines.append(f"  {a['kiosk']}  {what}  since {a['since'] or '?'}  {a['detail']}")
    else:
        lines.append("no alert")
    lines.append("")
    weeks = view["weeks"]
    rated = [(k["kiosk"], r) for k in kiosks for r in k["ratings"]]
    lines.append(f"RATINGS ({weeks[-1]} to {weeks[0]})" if rated
                 else f"no rating from {weeks[-1]} to {weeks[0]}")
    for kiosk, r in rated:
        lines.append(f"  {kiosk}  {r['procedure']}  {r['count']} rating(s), mean "
                     f"{r['mean']:.1f} of 3")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.data)
    store = open_metadata(settings.metadata)
    try:
        store.init_schema()
        if args.notify:
            report = AlertRound.from_settings(settings, store, lambda: datetime.now(UTC)
                                              ).run_once()
            print(f"fleet: {report}", file=sys.stderr)
        now = datetime.now(UTC)
        db = AlertStore(store)
        view = fleet_view(db.fleet(), db.ratings(recent_weeks(now)), now,
                          thresholds(settings.fleet))
    finally:
        store.close()
    if args.json:
        print(json.dumps(view, indent=2, ensure_ascii=False))
    else:
        print(format_view(view))
    return 0
