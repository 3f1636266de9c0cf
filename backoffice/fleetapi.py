"""The staff API's fleet view: ``GET /staff/v1/fleet``, for supervisors and administrators.

::

    GET  /staff/v1/fleet     {"generated_at", "weeks", "kiosks": [...], "alerts": [...]}

The same document as ``backoffice fleet --json`` (backoffice/fleethealth.py,
:func:`~backoffice.fleethealth.fleet_view`): every enrolled kiosk's last
heartbeat, devices, paper, queue, disk, version, out-of-order switch and
ratings of the last four ISO weeks, and the alerts that hold now. It holds no
dossier and nothing of a citizen, so the administrator, who reads no dossier,
may read it; instructors may not (:attr:`~backoffice.roles.Permission.FLEET`).
Each read leaves an audit entry (:attr:`~backoffice.roles.Action.FLEET`), a
refusal too, like every route of the staff API (backoffice/staffbase.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backoffice.alerting import thresholds
from backoffice.fleethealth import fleet_view, recent_weeks
from backoffice.roles import Action, Outcome, Permission
from backoffice.settings import FleetSettings
from backoffice.staffbase import PREFIX, Handler, StaffBase, _json
from backoffice.store.alertsdb import AlertStore
from backoffice.store.metadata import MetadataStore
from backoffice.store.objects import ObjectStore
from backoffice.store.staffdb import StaffRecord


class FleetEndpoints(StaffBase):
    """``GET /fleet`` with the staff API's accounts, roles and audit."""

    def __init__(self, metadata: MetadataStore, objects: ObjectStore,
                 clock: Callable[[], datetime], fleet: FleetSettings) -> None:
        super().__init__(metadata, objects, clock)
        self.alerts = AlertStore(metadata)
        self.limits = thresholds(fleet)

    def routes(self) -> list[Route]:
        return [Route(PREFIX + "/fleet", self._wrap(self.fleet), methods=["GET"])]

    def _action_of(self, handler: Handler) -> Action:
        return Action.FLEET

    def view(self) -> dict[str, Any]:
        now = self.clock()
        return fleet_view(self.alerts.fleet(), self.alerts.ratings(recent_weeks(now)), now,
                          self.limits)

    async def fleet(self, request: Request, actor: StaffRecord) -> Response:
        self.need(actor, Permission.FLEET)
        view = await run_in_threadpool(self.view)
        await self._record(actor, Action.FLEET, Outcome.DONE, None,
                           f"{len(view['kiosks'])} kiosks, {len(view['alerts'])} alerts")
        return _json(view)
