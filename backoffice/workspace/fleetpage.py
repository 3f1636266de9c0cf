"""The workspace's fleet page: every kiosk's health, its alerts and its ratings, in French.

It shows what ``GET /staff/v1/fleet`` answers (backoffice/fleetapi.py), for the
supervisors and administrators whose role allows it; the others get the API's
refusal said in French. The page does not refresh itself: a page that reloaded
on its own would keep the session awake and defeat the idle lock
(backoffice/workspace/web.py), so the staff member reloads it (the time it was
read is shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from backoffice.fleethealth import AlertKind
from backoffice.staffclient import StaffAPIError
from backoffice.workspace.texts import in_french
from deposit.heartbeat import DeviceHealth, DeviceKind, PaperLevel

if TYPE_CHECKING:
    from backoffice.workspace.web import Workspace

ALERT_LABELS = {
    AlertKind.PAPER_NEAR_END: "Papier bientôt épuisé",
    AlertKind.PAPER_OUT: "Plus de papier",
    AlertKind.DEVICE_FAILED: "Périphérique en panne",
    AlertKind.SILENT: "Borne muette",
    AlertKind.QUEUE_OLD: "Dépôts en attente d'envoi",
    AlertKind.CERTIFICATE_EXPIRING: "Certificat bientôt expiré",
    AlertKind.AGENT_CALL_WAITING: "Appel d'un agent en attente",
    AlertKind.OUT_OF_ORDER: "Hors service (information)",
}
DEVICE_LABELS = {DeviceKind.PRINTER: "Imprimante", DeviceKind.CAMERA: "Caméra",
                 DeviceKind.CODE_READER: "Lecteur de codes"}
HEALTH_LABELS = {DeviceHealth.OK: "en état", DeviceHealth.WARN: "à surveiller",
                 DeviceHealth.FAIL: "en panne", DeviceHealth.UNKNOWN: "inconnu"}
PAPER_LABELS = {PaperLevel.OK: "suffisant", PaperLevel.NEAR_END: "bientôt épuisé",
                PaperLevel.OUT: "épuisé", PaperLevel.UNKNOWN: "inconnu"}


def ago(seconds: int | None) -> str:
    """An age as staff read it: ``il y a 4 min``; ``jamais`` for none."""
    if seconds is None:
        return "jamais"
    if seconds < 60:
        return "il y a moins d'une minute"
    if seconds < 2 * 3600:
        return f"il y a {seconds // 60} min"
    if seconds < 2 * 86400:
        return f"il y a {seconds // 3600} h"
    return f"il y a {seconds // 86400} jours"


def gib(n: int | None) -> str:
    return "—" if n is None else f"{n / 2**30:.1f} Gio".replace(".", ",")


def label(table: dict[str, str], value: str | None) -> str:
    """The French label of an enum's value; the value itself if this page does not know it
    (a newer back office), "—" for none."""
    if value is None:
        return "—"
    return table.get(value, value)


async def show(workspace: Workspace, request: Request) -> Response:
    _session, client = workspace._signed_in(request)
    try:
        view = await run_in_threadpool(client.get, "/fleet")
    except StaffAPIError as exc:
        return workspace.page("fleet.html", status=exc.status, view=None, error=in_french(exc))
    return workspace.page("fleet.html", view=view, error=None, alert_labels=ALERT_LABELS,
                          device_labels=DEVICE_LABELS, health_labels=HEALTH_LABELS,
                          paper_labels=PAPER_LABELS, ago=ago, gib=gib, label=label)
