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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec

import httpx

from deposit.bundle import Enrollment
from deposit.errors import DepositError, OutboxError
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
from kiosk.enrollment import bundle_folder, load_bundle
from kiosk.errors import KioskError
from kiosk.uploading import open_uploader, outbox_folder
from printer.service import conditions

log = logging.getLogger(__name__)

_P = ParamSpec("_P")

MIB = 1024 * 1024
#: The uploader polls every few seconds and retries a failed deposit with a backoff capped
#: at ``[upload] max_backoff_s`` (600 s by default): a dossier still waiting after an hour
#: has been through several capped retries, so something a technician can fix (network,
#: certificate, a refused kiosk) is likely wrong. A queue never FAILs: deposits are safe
#: on the disk while they wait.
QUEUE_WARN_AFTER_S = 3600.0
#: The kiosk's certificate should be renewed before this (the fleet view alerts at the same
#: mark, so the two agree).
CERTIFICATE_WARN_DAYS = 30
#: Clock skew against the back office. TLS refuses certificates "not yet valid" or expired
#: by the kiosk's clock, and receipts and manifests carry the kiosk's time as the legal time
#: of the deposit (the accusé d'enregistrement): a minute is already worth fixing, five
#: minutes make receipts' times wrong enough to be disputed and start to matter for TLS.
CLOCK_WARN_S = 60.0
CLOCK_FAIL_S = 300.0
#: One probe (HEAD) is a TLS handshake and one round trip; slower than this, uploads of
#: several MiB will crawl.
SLOW_NETWORK_S = 2.0
#: Storage warns while fewer than this many dossiers (``[outbox] dossier_estimate_mb``)
#: fit above the reserve: a day or two of deposits on a busy kiosk with no network.
STORAGE_WARN_DOSSIERS = 10
#: The kiosk's systemd units (systemd/).
UNITS = ("kiosk.service", "kiosk-uploader.service")


class Outcome(StrEnum):
    """A check's verdict (``kiosk diag --json`` "result"; exit status 1 on any FAIL)."""

    OK = "ok"
    WARN = "warn"      # works, needs attention soon
    FAIL = "fail"      # does not work


class CheckName(StrEnum):
    """The checks, in the order ``kiosk diag`` runs them (``--only`` takes these values)."""

    PRINTER = "printer"
    CAMERA = "camera"
    CODE_READER = "code_reader"
    OUTBOX = "outbox"
    NETWORK = "network"
    CERTIFICATE = "certificate"
    CLOCK = "clock"
    STORAGE = "storage"
    ENROLLMENT = "enrollment"
    VERSION = "version"
    SERVICE = "service"


@dataclass(frozen=True)
class CheckResult:
    """One check's answer: ``detail`` for a technician, ``data`` the figures (JSON-ready)."""

    check: CheckName
    result: Outcome
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check.value, "result": self.result.value, "detail": self.detail,
                "data": self.data}


def _never_raises(name: CheckName) -> Callable[[Callable[_P, CheckResult]],
                                               Callable[_P, CheckResult]]:
    """A check that raises anything is a FAIL naming the exception (and it is logged)."""
    def wrap(check: Callable[_P, CheckResult]) -> Callable[_P, CheckResult]:
        @wraps(check)
        def guarded(*args: _P.args, **kwargs: _P.kwargs) -> CheckResult:
            try:
                return check(*args, **kwargs)
            except Exception as exc:  # a check never raises (module docstring)
                log.exception("check %s failed unexpectedly", name)
                return CheckResult(name, Outcome.FAIL, f"{type(exc).__name__}: {exc}")
        return guarded
    return wrap


def _failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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


@_never_raises(CheckName.PRINTER)
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
        return CheckResult(CheckName.PRINTER, Outcome.FAIL, _failure(exc), data)
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


@_never_raises(CheckName.CAMERA)
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
        return CheckResult(CheckName.CAMERA, Outcome.FAIL, _failure(exc), data)
    data.update(state=str(status.state), message=status.message, frames=status.frames,
                fps=round(status.fps, 1),
                resolution=list(status.resolution) if status.resolution else None)
    if frame is None:
        return CheckResult(CheckName.CAMERA, Outcome.FAIL, f"no frame within {timeout:g} s", data)
    height, width = frame.image.shape[:2]
    data["resolution"] = [width, height]
    return CheckResult(CheckName.CAMERA, Outcome.OK, f"ready, {width}x{height}", data)


@_never_raises(CheckName.CODE_READER)
def check_code_reader(url: str) -> CheckResult:
    """Open the code reader and close it (reading a code is the service screen's live test)."""
    data: dict[str, Any] = {"url": url, "backend": device_backend("code_reader", url)}
    try:
        open_code_reader(url).close()
    except DeviceError as exc:
        return CheckResult(CheckName.CODE_READER, Outcome.FAIL, _failure(exc), data)
    return CheckResult(CheckName.CODE_READER, Outcome.OK, "ready (opened)", data)


# ------------------------------------------------------------------ queue and disk

@_never_raises(CheckName.OUTBOX)
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


@_never_raises(CheckName.STORAGE)
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


# ------------------------------------------------------------------ enrollment and back office

def _bundle(config: Config) -> Enrollment:
    """The enrollment bundle, or KioskError saying why not (kiosk.runtime.load_bundle)."""
    try:
        return load_bundle(config)
    except KioskError as exc:
        # load_bundle names the folder, and so does the bundle's own error: once is enough.
        folder = f"{bundle_folder(config)}: "
        raise KioskError(str(exc).replace(folder + folder, folder)) from None


@_never_raises(CheckName.ENROLLMENT)
def check_enrollment(config: Config) -> CheckResult:
    """The bundle is there, is this kiosk's, and its keys can be used."""
    folder = bundle_folder(config)
    try:
        bundle = _bundle(config)
        bundle.recipients()
        bundle.signing_key()
        bundle.ack_key()
        bundle.ssl_context()
    except (KioskError, DepositError, OSError) as exc:
        return CheckResult(CheckName.ENROLLMENT, Outcome.FAIL, f"not enrolled: {exc}",
                           {"bundle": str(folder)})
    return CheckResult(CheckName.ENROLLMENT, Outcome.OK,
                       f"kiosk {bundle.kiosk_id} (fleet code {bundle.fleet_code})",
                       {"bundle": str(folder), "kiosk_id": bundle.kiosk_id,
                        "fleet_code": bundle.fleet_code, "upload_url": bundle.upload_url,
                        "public_url": bundle.public_url})


@_never_raises(CheckName.CERTIFICATE)
def check_certificate(config: Config, *, now: float) -> CheckResult:
    """The kiosk's TLS certificate: FAIL expired, WARN within 30 days of its end."""
    try:
        expiry = _bundle(config).certificate_expiry()
    except (KioskError, DepositError) as exc:
        return CheckResult(CheckName.CERTIFICATE, Outcome.FAIL, f"no certificate: not enrolled "
                           f"({exc})",
                           {"bundle": str(bundle_folder(config))})
    left = expiry.timestamp() - now
    days = left / 86400
    data = {"not_after": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": round(days, 1)}
    when = expiry.strftime("%Y-%m-%d %H:%M UTC")
    if left <= 0:
        return CheckResult(CheckName.CERTIFICATE, Outcome.FAIL,
                           f"expired on {when}: the back office refuses this kiosk; enroll it "
                           "again", data)
    if days < CERTIFICATE_WARN_DAYS:
        return CheckResult(CheckName.CERTIFICATE, Outcome.WARN,
                           f"expires in {days:.0f} day(s), on {when}: renew it", data)
    return CheckResult(CheckName.CERTIFICATE, Outcome.OK, f"valid until {when}", data)


@dataclass(frozen=True)
class BackOfficeProbe:
    """One probe of the back office (the uploader's tus HEAD, mutual TLS), as it went.

    ``answered``: the back office answered and accepts this kiosk; otherwise
    ``problem`` says why (not enrolled, unreachable, kiosk refused, server error).
    ``server_date`` is the answer's ``Date`` header (to the second) and ``kiosk_time``
    the kiosk's clock when it arrived.
    """

    url: str | None
    answered: bool
    problem: str = ""
    latency_s: float | None = None
    status: int | None = None
    server_date: datetime | None = None
    kiosk_time: float | None = None
    standing: Standing = Standing.UNKNOWN


def probe_back_office(config: Config, *, timeout: float = 5.0,
                      clock: Callable[[], float] = time.time) -> BackOfficeProbe:
    """Ask the back office whether it accepts this kiosk, as the uploader does (never raises).

    The uploader's own probe (:meth:`deposit.delivery.Uploader.probe`): a HEAD of an upload
    that does not exist, answered 404 to an accepted kiosk and refused (403, or in the TLS
    handshake) to a revoked one. A tus OPTIONS would not do: it is answered to any
    certificate of the fleet, revoked or not.
    """
    try:
        bundle = _bundle(config)
        uploader = open_uploader(config, bundle)
    except KioskError as exc:
        return BackOfficeProbe(None, False, f"not enrolled: {exc}")
    url = bundle.upload_url
    seen: list[httpx.Response] = []
    client = uploader.tus.client
    client.timeout = httpx.Timeout(timeout)
    client.event_hooks = {"request": [], "response": [seen.append]}
    started = time.monotonic()
    try:
        with uploader:
            standing, reason = uploader.probe()
    except Exception as exc:  # the probe answers for what it knows; anything else is a FAIL
        log.exception("probing the back office failed unexpectedly")
        return BackOfficeProbe(url, False, _failure(exc), standing=Standing.UNKNOWN)
    latency = time.monotonic() - started
    kiosk_time = clock()
    if standing is Standing.ONLINE:
        problem = ""
    elif standing is Standing.UNREACHABLE:
        # An answer that is not a working back office's (5xx...), or no answer at all.
        problem = f"the back office answers with an error: {reason}" if seen else \
            f"the back office cannot be reached: {reason}"
    else:
        problem = reason
    if not seen:
        return BackOfficeProbe(url, standing is Standing.ONLINE, problem, standing=standing)
    response = seen[-1]
    server_date = None
    if "Date" in response.headers:
        try:
            server_date = parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
        except (TypeError, ValueError):
            log.warning("the back office's Date header %r is not a date",
                        response.headers["Date"])
    return BackOfficeProbe(url, standing is Standing.ONLINE, problem, latency,
                           response.status_code, server_date, kiosk_time, standing)


@_never_raises(CheckName.NETWORK)
def check_network(probe: BackOfficeProbe) -> CheckResult:
    """Whether the back office answered this kiosk, and how fast."""
    data: dict[str, Any] = {"url": probe.url, "status": probe.status,
                            "latency_ms": None if probe.latency_s is None
                            else round(probe.latency_s * 1000),
                            "standing": probe.standing}
    if not probe.answered:
        return CheckResult(CheckName.NETWORK, Outcome.FAIL, probe.problem, data)
    latency = probe.latency_s or 0.0
    detail = f"back office answered in {latency * 1000:.0f} ms"
    if latency > SLOW_NETWORK_S:
        return CheckResult(CheckName.NETWORK, Outcome.WARN, f"{detail}: slow", data)
    return CheckResult(CheckName.NETWORK, Outcome.OK, detail, data)


@_never_raises(CheckName.CLOCK)
def check_clock(probe: BackOfficeProbe) -> CheckResult:
    """The kiosk's clock against the back office's ``Date`` (positive skew: the kiosk is ahead)."""
    if probe.server_date is None or probe.kiosk_time is None:
        why = probe.problem.partition(":")[0] if probe.problem else \
            "the back office's answer has no Date header"
        return CheckResult(CheckName.CLOCK, Outcome.WARN, f"cannot compare the clock: {why}",
                           {"skew_s": None})
    skew = probe.kiosk_time - probe.server_date.timestamp()
    # Date is whole seconds, taken somewhere during the request: within that much, no skew.
    margin = 1.0 + (probe.latency_s or 0.0)
    if 0 <= skew <= margin:
        skew = 0.0
    data = {"skew_s": round(skew, 1),
            "kiosk_time": datetime.fromtimestamp(probe.kiosk_time, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "back_office_time": probe.server_date.strftime("%Y-%m-%dT%H:%M:%SZ")}
    side = "ahead of" if skew > 0 else "behind"
    detail = f"{abs(skew):.0f} s {side} the back office" if skew else "in step with the back office"
    if abs(skew) > CLOCK_FAIL_S:
        return CheckResult(CheckName.CLOCK, Outcome.FAIL,
                           f"{detail}: receipts carry a wrong time and TLS may fail; fix NTP",
                           data)
    if abs(skew) > CLOCK_WARN_S:
        return CheckResult(CheckName.CLOCK, Outcome.WARN, f"{detail}: check NTP", data)
    return CheckResult(CheckName.CLOCK, Outcome.OK, detail, data)


# ------------------------------------------------------------------ software and services

@_never_raises(CheckName.VERSION)
def check_version() -> CheckResult:
    """The software's version (always OK: it is there to be read)."""
    return CheckResult(CheckName.VERSION, Outcome.OK, f"kiosk {__version__}",
                       {"version": __version__, "python": platform.python_version(),
                        "platform": platform.platform(), "executable": sys.executable})


@_never_raises(CheckName.SERVICE)
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
