"""What the staff API reads and sends: the inbox query from URL parameters, a dossier row as
JSON, a CSV cell a spreadsheet will not run.

Kept apart from the endpoints (backoffice/staffapi.py) so that the rules of
the inbox's parameters (names, values, what each refuses with which words)
are in one place, tested alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backoffice import procedures
from backoffice.roles import NAME
from backoffice.status import DossierStatus
from backoffice.store.staffdb import UNASSIGNED, InboxQuery, InboxRow, SortKey
from deposit import manifest as manifestmod


def iso(when: datetime | None) -> str | None:
    """A time as the staff API sends it (the manifest's form: UTC, whole seconds), or None."""
    return manifestmod.rfc3339(when) if when else None


def procedure_name(code: str) -> str:
    """A procedure's French name from the catalog; its code when the catalog does not know it."""
    info = procedures.shipped().get(code)
    return info.name if info else code


def row_dict(r: InboxRow) -> dict[str, Any]:
    return {"deposit_id": r.deposit_id, "kiosk_id": r.kiosk_id, "procedure": r.procedure,
            "procedure_name": procedure_name(r.procedure),
            "received": iso(r.received_at), "due": iso(r.due_at), "status": r.status.value,
            "message": r.status_message, "status_at": iso(r.status_at),
            "assignee": r.assignee, "envelope_size": r.envelope_size}


CSV_COLUMNS = ("deposit_id", "procedure", "procedure_name", "kiosk_id", "received", "due",
               "status", "assignee", "status_at", "message", "envelope_size")


def _date(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def parse_query(params: Any, me: str) -> InboxQuery:
    """An :class:`InboxQuery` from query parameters; ValueError naming the bad one."""
    known = {"procedure", "status", "kiosk", "assignee", "due_before", "due_after", "sort",
             "order", "page", "per_page"}
    unknown = sorted(set(params.keys()) - known)
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} (valid: {', '.join(sorted(known))})")

    def text(name: str) -> str | None:
        value = params.get(name, "").strip()
        return value or None

    status = text("status")
    assignee = text("assignee")
    if assignee == "@me":
        assignee = me
    elif assignee not in (None, UNASSIGNED) and not NAME.fullmatch(assignee or ""):
        raise ValueError(f"assignee must be an account name, @me or {UNASSIGNED}")
    try:
        sort = SortKey(params.get("sort") or SortKey.RECEIVED)
    except ValueError:
        raise ValueError(f"sort must be one of {', '.join(k.value for k in SortKey)}") from None
    order = params.get("order") or "asc"
    if order not in ("asc", "desc"):
        raise ValueError("order must be asc or desc")
    try:
        page = int(params.get("page") or 1)
        per_page = int(params.get("per_page") or 50)
    except ValueError:
        raise ValueError("page and per_page are whole numbers") from None
    try:
        status_value = DossierStatus(status) if status else None
    except ValueError:
        raise ValueError(f"status must be one of "
                         f"{', '.join(s.value for s in DossierStatus)}") from None
    due_before, due_after = text("due_before"), text("due_after")
    return InboxQuery(
        procedure=text("procedure"), status=status_value, kiosk=text("kiosk"),
        assignee=assignee, due_before=_date(due_before, "due_before") if due_before else None,
        due_after=_date(due_after, "due_after") if due_after else None, sort=sort,
        descending=order == "desc", page=page, per_page=per_page)



def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (CWE-1236)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
