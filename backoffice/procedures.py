"""What the back office knows of the procedures of the catalog: names, delays, legal facts.

The catalog (``assets/catalog/*.toml``) is the kiosks' source of truth, read and
checked strictly by ``kiosk/catalog.py``; the back office must not import the
kiosk's code (DESIGN.md), so it reads the keys it needs here: the code, the
French name staff see in the inbox, ``processing_days``, the delay the receipt
commits to, from which a dossier's due date is computed, and what the accusé
de réception must state (CRPA R112-5): the service's name in each language,
its postal address, e-mail and phone, what its silence means (deposit/legal.py's
:class:`Silence`, shared with the kiosk),
the decision delay, and the means and time limit of appeal in each language;
and the procedure's documents (``[[documents]]``: code and name by language),
from which staff pick the missing ones of a request for documents
(backoffice/docrequests.py). The keys are documented in ``kiosk/catalog.py`` and
``docs/journey.md``.

Reading is lenient: a file without code, name or processing_days is logged and
left out; a file whose legal keys are missing or malformed keeps its due date
and gets no legal facts (``silence`` None, the texts empty), logged, so that
the accusé de réception can refuse to state what it does not know instead of
stating something wrong. A document without a code or a French name is logged
and left out of the list, the others kept. The kiosk refuses such a file; the back office may
run with an older or newer catalog than its kiosks.

A deposit for a procedure the catalog does not know (a kiosk with a newer
catalog than the back office) has no due date rather than a wrong one.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import assets
from deposit.legal import Delay, Silence

log = logging.getLogger(__name__)


#: A service channel the shipped catalog cannot know, to set per deployment.
PLACEHOLDER = re.compile(r"\[à compléter\b[^\]]*\]")


@dataclass(frozen=True)
class DocumentInfo:
    """One document of a procedure: its code (stable, what a request for documents stores)
    and its name by language ("fr" always)."""

    code: str
    names: Mapping[str, str]

    def name(self, lang: str) -> str:
        """The name in ``lang``, else in French (a catalog may lack a translation)."""
        return self.names.get(lang) or self.names["fr"]


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    name: str                 # in French, as staff read it
    processing_days: int      # the delay the receipt commits to
    #: The name in every language the file has ("fr" always): what the status page shows.
    names: Mapping[str, str] = field(default_factory=dict)
    #: The service's name by language ("fr" always, when the file has legal facts at all).
    service_name: Mapping[str, str] = field(default_factory=dict)
    postal_address: str | None = None   # None: not in the file, or a placeholder
    email: str | None = None
    phone: str | None = None
    silence: Silence | None = None      # None: the file states no (valid) legal facts
    decision_delay: Delay | None = None  # None when silence means nothing and no delay is set
    appeal: Mapping[str, str] = field(default_factory=dict)   # means of appeal by language
    appeal_delay: Delay | None = None   # time limit of the first appeal
    documents: tuple[DocumentInfo, ...] = ()   # in the catalog's order

    def document(self, code: str) -> DocumentInfo | None:
        return next((d for d in self.documents if d.code == code), None)


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
            names = data.get("name", {})
            name = names.get("fr", code)
            if not isinstance(code, str) or not isinstance(days, int) or \
                    isinstance(days, bool) or not isinstance(name, str):
                raise TypeError("code, processing_days or name.fr has the wrong type")
            names = {k: v for k, v in names.items() if isinstance(k, str) and isinstance(v, str)}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError,
                TypeError, AttributeError) as exc:
            log.warning("procedure catalog: %s left out (%s)", path, exc)
            continue
        out[code] = ProcedureInfo(code, name, days, names=names, documents=_documents(path, data),
                                  **_legal_facts(path, data))
    return out


def _documents(path: Path, data: Mapping[str, Any]) -> tuple[DocumentInfo, ...]:
    """The ``[[documents]]`` of one file with a code and a French name; the others logged."""
    raw = data.get("documents")
    out: list[DocumentInfo] = []
    for index, doc in enumerate(raw if isinstance(raw, list) else []):
        try:
            code = doc["code"]
            if not isinstance(code, str) or not code or any(d.code == code for d in out):
                raise TypeError("no code, or one seen already")
            names = _texts(doc.get("name"))
        except (KeyError, TypeError, AttributeError) as exc:
            log.warning("procedure catalog: %s documents[%d] left out (%s)", path, index, exc)
            continue
        out.append(DocumentInfo(code, names))
    return tuple(out)


def _texts(value: object) -> dict[str, str]:
    """A per-language table of non-empty strings with French in it; TypeError otherwise."""
    if not isinstance(value, dict) or not isinstance(value.get("fr"), str) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items()):
        raise TypeError("not a table of texts by language with French")
    return dict(value)


def _channel(service: Mapping[str, Any], key: str) -> str | None:
    value = service.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"service.{key} is missing or not a string")
    return None if PLACEHOLDER.fullmatch(value.strip()) else value.strip()


def _delay(legal: Mapping[str, Any], key: str) -> Delay | None:
    value = legal.get(key)
    try:
        return None if value is None else Delay.parse(value)
    except ValueError as exc:
        raise TypeError(f"legal.{key}: {exc}") from None


def _legal_facts(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    """The legal keys of one file as ProcedureInfo fields; {} (logged) when they are unusable."""
    try:
        service = data.get("service")
        legal = data.get("legal")
        if not isinstance(service, dict) or not isinstance(legal, dict):
            raise TypeError("no [service] or no [legal] table")
        facts: dict[str, Any] = {
            "service_name": _texts(service.get("name")),
            **{key: _channel(service, key) for key in ("postal_address", "email", "phone")},
            "silence": Silence(str(legal.get("silence"))),
            "decision_delay": _delay(legal, "decision_delay"),
            "appeal": _texts(legal["appeal"]) if "appeal" in legal else {},
            "appeal_delay": _delay(legal, "appeal_delay"),
        }
        if facts["silence"] is not Silence.NONE and facts["decision_delay"] is None:
            raise TypeError(f"silence means {facts['silence']} but legal.decision_delay is "
                            "missing")
    except (TypeError, ValueError) as exc:
        log.warning("procedure catalog: %s has no usable legal facts (%s)", path, exc)
        return {}
    return facts


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
