"""What a check answers (``kiosk diag``, the service screens, the heartbeat read them): its
name, its outcome, a line for a technician and the figures behind it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import wraps
from typing import Any, ParamSpec

log = logging.getLogger(__name__)

_P = ParamSpec("_P")


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


def never_raises(name: CheckName) -> Callable[[Callable[_P, CheckResult]],
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


def failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
