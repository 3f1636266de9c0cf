"""What the back office knows of the procedures of the catalog: names and committed delays.

The catalog (``assets/catalog/*.toml``) is the kiosks' source of truth, read and
checked strictly by ``kiosk/catalog.py``; the back office must not import the
kiosk's code (DESIGN.md), so it reads the few keys it needs here: the code,
the French name staff see in the inbox, and ``processing_days``, the delay
the receipt commits to, from which a dossier's due date is computed.

A deposit for a procedure the catalog does not know (a kiosk with a newer
catalog than the back office) has no due date rather than a wrong one.
"""

from __future__ import annotations

import functools
import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import assets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    name: str                 # in French, as staff read it
    processing_days: int      # the delay the receipt commits to


def load(folder: Path | None = None) -> dict[str, ProcedureInfo]:
    """Every procedure of ``folder`` (default: the shipped catalog) by code.

    A file that cannot be read is logged and left out: the inbox still works,
    its dossiers only lack a due date.
    """
    folder = folder or assets.path("catalog")
    out: dict[str, ProcedureInfo] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            code = data["code"]
            days = data["processing_days"]
            name = data.get("name", {}).get("fr", code)
            if not isinstance(code, str) or not isinstance(days, int) or \
                    isinstance(days, bool) or not isinstance(name, str):
                raise TypeError("code, processing_days or name.fr has the wrong type")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError,
                TypeError, AttributeError) as exc:
            log.warning("procedure catalog: %s left out (%s)", path, exc)
            continue
        out[code] = ProcedureInfo(code, name, days)
    return out


@functools.cache
def shipped() -> dict[str, ProcedureInfo]:
    """The shipped catalog, read once."""
    return load()


def due_at(code: str, received_at: datetime) -> datetime | None:
    """When a dossier of ``code`` received at ``received_at`` is due: the committed delay in
    calendar days after receipt (the legal deemed-decision date, with its suspensions, is
    another matter); None for a procedure the catalog does not know."""
    info = shipped().get(code)
    return received_at + timedelta(days=info.processing_days) if info else None
