"""The kiosk's health, one check at a time: devices, queue, back office, certificate, clock, disk.

``kiosk diag`` runs them all (kiosk/commands/diag.py), ``kiosk devices`` the
three device checks, and the service screens one at a time. Each check returns
a :class:`CheckResult`, an :class:`Outcome` and a line for a technician, with
the figures behind it in ``data`` (JSON-ready); **a check never raises**: a
device that cannot be opened, a bundle that is missing or a back office that
does not answer is a FAIL saying why, never a traceback.

What each check says and why its thresholds are what they are:

===========  ===============================================================  ==================
check        FAIL                                                             WARN
===========  ===============================================================  ==================
printer      paper out, cover open, offline, cutter error, fault, no answer   paper near end,
                                                                              status unreadable
camera       cannot be opened, no frame within the timeout                    —
code_reader  cannot be opened                                                 —
outbox       the database cannot be read (never because of the queue)         oldest waiting
                                                                              deposit too old
network      not enrolled, back office unreachable, refuses this kiosk,       slow answer
             answers with an error
certificate  not enrolled, unreadable, expired                                < 30 days left
clock        skew > 300 s                                                     skew > 60 s,
                                                                              cannot compare
storage      free space below the outbox's reserve + one dossier (the kiosk   < 10 dossiers fit
             then refuses deposits)
enrollment   bundle missing, unusable, or for another kiosk                   —
version      —                                                                —
service      a kiosk unit is installed but not running                        no systemd here
===========  ===============================================================  ==================

The network and clock checks share one request when run together
(:func:`probe_back_office`): the uploader's own probe (a tus ``HEAD`` of an
upload that does not exist, over mutual TLS with the kiosk's certificate: 404
to an accepted kiosk, refused to a revoked one), whose ``Date`` header gives
the back office's clock.

Values that cross a boundary (``kiosk diag --json``, the service screens, the
heartbeat sender may read them) are the enums below; keep their values stable.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from deposit.errors import OutboxError
from deposit.heartbeat import DeviceHealth, PaperLevel
from deposit.outbox_storage import free_bytes
from deposit.outboxview import read_queue
from deposit.status import Standing
from drivers import KINDS, open_camera, open_code_reader, open_printer
from drivers.errors import DeviceError
from drivers.printer.base import PrinterStatus
from drivers.url import split_url
from kiosk import __version__
from kiosk.config import Config
from kiosk.service.netchecks import (
    BackOfficeProbe,
    check_certificate,
    check_clock,
    check_enrollment,
    check_network,
    probe_back_office,
)
from kiosk.service.results import CheckName, CheckResult, Outcome, failure, never_raises
from kiosk.uploading import outbox_folder
from printer.service import conditions

log = logging.getLogger(__name__)


MIB = 1024 * 1024
#: The uploader polls every few seconds and retries a failed deposit with a backoff capped
#: at ``[upload] max_backoff_s`` (600 s by default): a dossier still waiting after an hour
#: has been through several capped retries, so something a technician can fix (network,
#: certificate, a refused kiosk) is likely wrong. A queue never FAILs: deposits are safe
#: on the disk while they wait.
QUEUE_WARN_AFTER_S = 3600.0
#: The kiosk's certificate should be renewed before this (the fleet view alerts at the same
#: mark, so the two agree).
#: Storage warns while fewer than this many dossiers (``[outbox] dossier_estimate_mb``)
#: fit above the reserve: a day or two of deposits on a busy kiosk with no network.
STORAGE_WARN_DOSSIERS = 10
#: The kiosk's systemd units (systemd/).
UNITS = ("kiosk.service", "kiosk-uploader.service")


# ------------------------------------------------------------------ devices

def device_backend(kind: str, url: str) -> str:
    """The module of the backend ``url`` selects (``drivers.printer.sim_backend``)."""
    scheme, _location, _pairs = split_url(kind, url, list(KINDS[kind]))
    return KINDS[kind][scheme]


def paper_level(status: PrinterStatus) -> PaperLevel:
    """The paper roll as the heartbeat and the service screen name it."""
    if not status.known:
        return PaperLevel.UNKNOWN
    if status.paper_out:
        return PaperLevel.OUT
    return PaperLevel.NEAR_END if status.paper_near_end else PaperLevel.OK


@never_raises(CheckName.PRINTER)
def check_printer(url: str) -> CheckResult:
    """Open the printer, read its status (DLE EOT 1-4), close it."""
    data: dict[str, Any] = {"url": url, "backend": device_backend("printer", url)}
    try:
        printer = open_printer(url)
        try:
            status = printer.status()
            data.update(profile=printer.profile.name,
                        paper_width_mm=printer.profile.paper_width_mm,
                        native_qr=printer.profile.native_qr, **asdict(status))
        finally:
            printer.close()
    except DeviceError as exc:
        return CheckResult(CheckName.PRINTER, Outcome.FAIL, failure(exc), data)
    # printer.service's conditions: "offline" only when no more specific cause is known (a
    # printer out of paper also says it is offline), the cause that stops printing first.
    named = [str(c) for c in conditions(status)]
    if not status.known:
        named.append("status_unknown")
    data["paper"] = paper_level(status)
    data["conditions"] = named
    if not status.can_print:
        return CheckResult(CheckName.PRINTER, Outcome.FAIL, ", ".join(named), data)
    if named:     # paper near end, or a printer that cannot report its condition
        return CheckResult(CheckName.PRINTER, Outcome.WARN, ", ".join(named), data)
    return CheckResult(CheckName.PRINTER, Outcome.OK, "ready", data)


@never_raises(CheckName.CAMERA)
def check_camera(url: str, timeout: float = 5.0) -> CheckResult:
    """Open the camera, wait up to ``timeout`` s for a frame, close it."""
    data: dict[str, Any] = {"url": url, "backend": device_backend("camera", url)}
    try:
        camera = open_camera(url)
        try:
            camera.start()
            deadline = time.monotonic() + timeout
            frame = None
            while frame is None and time.monotonic() < deadline:
                frame = camera.latest(timeout=min(0.2, timeout))
            status = camera.status()
        finally:
            camera.close()
    except DeviceError as exc:
        return CheckResult(CheckName.CAMERA, Outcome.FAIL, failure(exc), data)
    data.update(state=str(status.state), message=status.message, frames=status.frames,
                fps=round(status.fps, 1),
                resolution=list(status.resolution) if status.resolution else None)
    if frame is None:
        return CheckResult(CheckName.CAMERA, Outcome.FAIL, f"no frame within {timeout:g} s", data)
    height, width = frame.image.shape[:2]
    data["resolution"] = [width, height]
    return CheckResult(CheckName.CAMERA, Outcome.OK, f"ready, {width}x{height}", data)


@never_raises(CheckName.CODE_READER)
def check_code_reader(url: str) -> CheckResult:
    """Open the code reader and close it (reading a code is the service screen's live test)."""
    data: dict[str, Any] = {"url": url, "backend": device_backend("code_reader", url)}
    try:
        open_code_reader(url).close()
    except DeviceError as exc:
        return CheckResult(CheckName.CODE_READER, Outcome.FAIL, failure(exc), data)
    return CheckResult(CheckName.CODE_READER, Outcome.OK, "ready (opened)", data)


# ------------------------------------------------------------------ queue and disk

@never_raises(CheckName.OUTBOX)
def check_outbox(folder: Path, *, now: float,
                 warn_after: float = QUEUE_WARN_AFTER_S) -> CheckResult:
    """The queue, read-only (:mod:`deposit.outboxview`): it never takes a write lock."""
    try:
        view = read_queue(folder, limit=0)
    except OutboxError as exc:
        return CheckResult(CheckName.OUTBOX, Outcome.FAIL, str(exc), {"folder": str(folder)})
    if not view.exists:
        return CheckResult(CheckName.OUTBOX, Outcome.OK, "empty (nothing sealed yet)",
                           {"folder": str(folder), "queued": 0, "refused": 0,
                            "queued_bytes": 0, "oldest_age_s": None})
    age = view.oldest_age(now)
    data: dict[str, Any] = {
        "folder": str(folder), "queued": view.pending, "refused": view.refused,
        "queued_bytes": view.queued_bytes, "oldest_sealed_at": view.oldest_sealed_at,
        "oldest_age_s": None if age is None else round(age),
        "by_state": {str(s): n for s, n in view.by_state.items()},
        "standing": view.standing.standing, "standing_reason": view.standing.reason,
        "last_contact": view.standing.last_contact}
    parts = [f"{view.pending} waiting" + (f" ({view.queued_bytes / MIB:.1f} MiB, oldest "
                                           f"{_duration(age)})" if age is not None else "")]
    if view.refused:
        parts.append(f"{view.refused} refused by the back office (kept)")
    if view.standing.standing is not Standing.UNKNOWN:
        parts.append(f"back office {view.standing.standing}")
    detail = ", ".join(parts)
    if age is not None and age > warn_after:
        return CheckResult(CheckName.OUTBOX, Outcome.WARN,
                           f"{detail}: waiting longer than {_duration(warn_after)}", data)
    return CheckResult(CheckName.OUTBOX, Outcome.OK, detail, data)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the data folder may not exist yet)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@never_raises(CheckName.STORAGE)
def check_storage(config: Config) -> CheckResult:
    """Free space on the data disk against what a new deposit needs (``[outbox]``)."""
    folder = outbox_folder(config)
    reserve = config.outbox.reserve_mb * MIB
    dossier = config.outbox.dossier_estimate_mb * MIB
    # As deposit.outbox.Outbox.needed_bytes: the reserve plus one dossier.
    needed = reserve + dossier
    try:
        free = free_bytes(_existing(folder))
    except OSError as exc:
        return CheckResult(CheckName.STORAGE, Outcome.FAIL,
                           f"cannot measure the free space of {folder}: {exc}",
                           {"folder": str(folder)})
    fit = max(0, (free - reserve) // dossier)
    data = {"folder": str(folder), "free_bytes": free, "needed_bytes": needed,
            "reserve_bytes": reserve, "dossier_estimate_bytes": dossier, "dossiers_that_fit": fit}
    detail = f"{free / MIB:.0f} MiB free, room for {fit} dossier(s) above the " \
             f"{reserve / MIB:.0f} MiB reserve"
    if free < needed:
        return CheckResult(CheckName.STORAGE, Outcome.FAIL,
                           f"{detail}: new deposits are refused; free space on the data disk "
                           "or restore the network so the queue drains", data)
    if fit < STORAGE_WARN_DOSSIERS:
        return CheckResult(CheckName.STORAGE, Outcome.WARN, detail, data)
    return CheckResult(CheckName.STORAGE, Outcome.OK, detail, data)


# ------------------------------------------------------------------ software and services

@never_raises(CheckName.VERSION)
def check_version() -> CheckResult:
    """The software's version (always OK: it is there to be read)."""
    return CheckResult(CheckName.VERSION, Outcome.OK, f"kiosk {__version__}",
                       {"version": __version__, "python": platform.python_version(),
                        "platform": platform.platform(), "executable": sys.executable})


@never_raises(CheckName.SERVICE)
def check_service(systemctl: str = "systemctl", units: Iterable[str] = UNITS,
                  timeout: float = 5.0) -> CheckResult:
    """Whether the kiosk's systemd units run (``systemctl show``).

    A unit not installed (a development machine) or no systemd at all is a WARN:
    nothing to say. Installed but not running is a FAIL: the uploader down means
    the queue never drains; the application down means no citizen is served.
    """
    program = shutil.which(systemctl)
    if program is None:
        return CheckResult(CheckName.SERVICE, Outcome.WARN,
                           f"{systemctl} not found: cannot tell whether the kiosk's units run",
                           {"units": {}})
    states: dict[str, str] = {}
    for unit in units:
        try:
            done = subprocess.run([program, "show", "--property=LoadState,ActiveState,SubState",
                                   unit], capture_output=True, text=True, timeout=timeout,
                                  check=False, env={**os.environ, "SYSTEMD_PAGER": ""})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckResult(CheckName.SERVICE, Outcome.WARN,
                               f"systemd cannot be asked here: {exc}", {"units": states})
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or ["no answer"])[0]
            return CheckResult(CheckName.SERVICE, Outcome.WARN,
                               f"systemd cannot be asked here: {why}", {"units": states})
        props = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
        if props.get("LoadState") == "not-found":
            states[unit] = "not installed"
        else:
            states[unit] = f"{props.get('ActiveState', '?')} ({props.get('SubState', '?')})"
    data = {"units": states}
    detail = ", ".join(f"{u} {s}" for u, s in states.items())
    if any(s != "not installed" and not s.startswith("active") for s in states.values()):
        return CheckResult(CheckName.SERVICE, Outcome.FAIL, detail, data)
    if any(s == "not installed" for s in states.values()):
        return CheckResult(CheckName.SERVICE, Outcome.WARN, detail, data)
    return CheckResult(CheckName.SERVICE, Outcome.OK, detail, data)


# ------------------------------------------------------------------ all of them

@dataclass(frozen=True)
class CheckOptions:
    """What the checks take besides the configuration (tests drive the clock)."""

    clock: Callable[[], float] = time.time
    camera_timeout: float = 5.0
    network_timeout: float = 5.0
    queue_warn_after: float = QUEUE_WARN_AFTER_S
    systemctl: str = "systemctl"


def run_check(name: CheckName, config: Config, options: CheckOptions = CheckOptions(), *,
              probe: BackOfficeProbe | None = None) -> CheckResult:
    """Run one check (``probe``: a back-office probe already made, for network and clock)."""
    match name:
        case CheckName.PRINTER:
            return check_printer(config.devices.printer)
        case CheckName.CAMERA:
            return check_camera(config.devices.camera, options.camera_timeout)
        case CheckName.CODE_READER:
            return check_code_reader(config.devices.code_reader)
        case CheckName.OUTBOX:
            return check_outbox(outbox_folder(config), now=options.clock(),
                                warn_after=options.queue_warn_after)
        case CheckName.NETWORK | CheckName.CLOCK:
            if probe is None:
                probe = probe_back_office(config, timeout=options.network_timeout,
                                          clock=options.clock)
            return check_network(probe) if name is CheckName.NETWORK else check_clock(probe)
        case CheckName.CERTIFICATE:
            return check_certificate(config, now=options.clock())
        case CheckName.STORAGE:
            return check_storage(config)
        case CheckName.ENROLLMENT:
            return check_enrollment(config)
        case CheckName.VERSION:
            return check_version()
        case CheckName.SERVICE:
            return check_service(options.systemctl)
    raise AssertionError(f"unknown check {name!r}")   # pragma: no cover (exhaustive match)


def device_health(result: CheckResult) -> DeviceHealth:
    """A device check's outcome as the heartbeat names a device's health."""
    return {Outcome.OK: DeviceHealth.OK, Outcome.WARN: DeviceHealth.WARN,
            Outcome.FAIL: DeviceHealth.FAIL}[result.result]


def run_checks(config: Config, *, only: Iterable[CheckName] | None = None,
               clock: Callable[[], float] = time.time, camera_timeout: float = 5.0,
               network_timeout: float = 5.0, queue_warn_after: float = QUEUE_WARN_AFTER_S,
               systemctl: str = "systemctl") -> list[CheckResult]:
    """Every check (or those in ``only``), in :class:`CheckName` order; never raises."""
    options = CheckOptions(clock, camera_timeout, network_timeout, queue_warn_after, systemctl)
    wanted = set(CheckName) if only is None else {CheckName(n) for n in only}
    probe = None
    if {CheckName.NETWORK, CheckName.CLOCK} <= wanted:    # one request for both
        probe = probe_back_office(config, timeout=options.network_timeout, clock=options.clock)
    return [run_check(name, config, options, probe=probe) for name in CheckName if name in wanted]


def failed(results: Iterable[CheckResult]) -> bool:
    """True when any result is a FAIL (``kiosk diag`` then exits 1)."""
    return any(r.result is Outcome.FAIL for r in results)
