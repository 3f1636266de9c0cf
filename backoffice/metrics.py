"""Counters of one ingest process, rendered in the Prometheus text exposition format (0.0.4).

Counters are per process (Prometheus scrapes each instance and sums); the
gauges (deposits by status, conflicts, open uploads, kiosks, free space,
health) are counted in the background every 15 s (backoffice/server.py) and a
scrape only renders them: sixteen scrapers in a loop once slowed an upload
from 0.11 s to 23-30 s when every scrape counted the deposits table inside a
write transaction. Hand-written: a dozen lines of a stable text format do not
justify a dependency and its multi-process mode.
"""

from __future__ import annotations

import threading
from collections import Counter

#: name -> help text; every counter is declared here.
COUNTERS = {
    "backoffice_uploads_created_total": "tus uploads created",
    "backoffice_upload_bytes_total": "envelope bytes received and made durable",
    "backoffice_deposits_stored_total": "new dossiers stored",
    "backoffice_complements_stored_total": "documents brought in answer to a request, stored",
    "backoffice_deposits_replayed_total": "deposits sent again and answered with their first "
                                          "acknowledgement",
    "backoffice_conflicts_total": "different envelopes received under a known deposit id",
    "backoffice_envelopes_refused_total": "complete uploads refused at verification",
    "backoffice_requests_refused_total": "requests refused, by reason",
    "backoffice_uploads_expired_total": "unfinished uploads dropped after expiry",
    "backoffice_uploads_taken_over_total": "stalled uploads taken over by a newer request",
    "backoffice_requests_stalled_total": "request bodies ended for inactivity",
}


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        if name not in COUNTERS:
            raise KeyError(f"undeclared counter {name}")
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] += amount

    def value(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._values[(name, tuple(sorted(labels.items())))]

    def render(self, gauges: dict[str, int]) -> str:
        lines: list[str] = []
        with self._lock:
            values = dict(self._values)
        for name, help_text in COUNTERS.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} counter")
            series = sorted((k, v) for k, v in values.items() if k[0] == name)
            if not series:
                lines.append(f"{name} 0")
            for (_, labels), v in series:
                lines.append(f"{name}{_labels(labels)} {v}")
        lines.append("# HELP backoffice_deposits dossiers stored, by status")
        lines.append("# TYPE backoffice_deposits gauge")
        for key, v in sorted(gauges.items()):
            if key.startswith("deposits:"):
                lines.append(f'backoffice_deposits{{status="{key.split(":", 1)[1]}"}} {v}')
        for key, name, help_text in (
            ("conflicts", "backoffice_conflicts", "conflicting envelopes kept apart for staff"),
            ("uploads:open", "backoffice_uploads_open", "unfinished uploads"),
            ("kiosks:active", "backoffice_kiosks_active", "enrolled kiosks not revoked"),
            ("kiosks:revoked", "backoffice_kiosks_revoked", "revoked kiosks"),
            ("objects:free_bytes", "backoffice_objects_free_bytes",
             "free bytes on the envelope store"),
            ("health:ok", "backoffice_healthy", "1 when every health check passes"),
        ):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {gauges.get(key, 0)}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        .replace("\n", "\\n")
        for k, v in labels)
    return "{" + inner + "}"
