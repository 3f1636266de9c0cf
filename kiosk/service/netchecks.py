"""The checks of the kiosk's link to its back office: enrollment, certificate, reachability,
clock (kiosk/service/checks.py runs them with the others).

The network and clock checks share one request when run together
(:func:`probe_back_office`): the uploader's own probe (a tus ``HEAD`` of an
upload that does not exist, over mutual TLS with the kiosk's certificate: 404
to an accepted kiosk, refused to a revoked one), whose ``Date`` header gives
the back office's clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from deposit.bundle import Enrollment
from deposit.errors import DepositError
from deposit.status import Standing
from kiosk.config import Config
from kiosk.enrollment import bundle_folder, load_bundle
from kiosk.errors import KioskError
from kiosk.service.results import CheckName, CheckResult, Outcome, failure, never_raises
from kiosk.uploading import open_uploader

log = logging.getLogger(__name__)

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


def _bundle(config: Config) -> Enrollment:
    """The enrollment bundle, or KioskError saying why not (kiosk.runtime.load_bundle)."""
    try:
        return load_bundle(config)
    except KioskError as exc:
        # load_bundle names the folder, and so does the bundle's own error: once is enough.
        folder = f"{bundle_folder(config)}: "
        raise KioskError(str(exc).replace(folder + folder, folder)) from None


@never_raises(CheckName.ENROLLMENT)
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


@never_raises(CheckName.CERTIFICATE)
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
        return BackOfficeProbe(url, False, failure(exc), standing=Standing.UNKNOWN)
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


@never_raises(CheckName.NETWORK)
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


@never_raises(CheckName.CLOCK)
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
