"""Device URLs: the scheme picks the backend module, the query string carries options.

A device kind (printer, camera, code reader) declares a table of backends,
``{scheme: "dotted.module"}``. Each backend module declares its options as a
tuple ``OPTIONS`` of :class:`Option` and a function ``open(url)`` taking a
:class:`DeviceURL` whose options are already parsed and checked. Backend
modules are imported only when a URL names them, so nothing is probed and no
optional library (picamera2) is needed at import time.

Validation never opens the device: :func:`check_url` parses the URL and its
options exactly as :func:`open_device` would, which is what configuration
loading uses to refuse a bad file before anything starts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from drivers.errors import DeviceURLError

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Option(Generic[T]):
    """One query-string option of a backend.

    ``parse`` turns the text into a value or raises ``ValueError``; ``accepted``
    says in words what is accepted, for error messages ("an integer", "one of
    ok, near-end, out").
    """

    name: str
    parse: Callable[[str], T]
    default: T
    accepted: str
    help: str = ""

    @staticmethod
    def integer(name: str, default: int, *, minimum: int | None = None,
                maximum: int | None = None, help: str = "") -> Option[int]:
        def parse(text: str) -> int:
            value = int(text, 10)
            if minimum is not None and value < minimum:
                raise ValueError(text)
            if maximum is not None and value > maximum:
                raise ValueError(text)
            return value

        bounds = ""
        if minimum is not None and maximum is not None:
            bounds = f" from {minimum} to {maximum}"
        elif minimum is not None:
            bounds = f" >= {minimum}"
        return Option(name, parse, default, f"an integer{bounds}", help)

    @staticmethod
    def number(name: str, default: float, *, minimum: float | None = None,
               maximum: float | None = None, help: str = "") -> Option[float]:
        def parse(text: str) -> float:
            value = float(text)
            if value != value or (minimum is not None and value < minimum) or (
                maximum is not None and value > maximum
            ):
                raise ValueError(text)
            return value

        bounds = ""
        if minimum is not None and maximum is not None:
            bounds = f" from {minimum:g} to {maximum:g}"
        elif minimum is not None:
            bounds = f" >= {minimum:g}"
        return Option(name, parse, default, f"a number{bounds}", help)

    @staticmethod
    def boolean(name: str, default: bool, *, help: str = "") -> Option[bool]:
        truth = {"1": True, "true": True, "yes": True, "on": True,
                 "0": False, "false": False, "no": False, "off": False}

        def parse(text: str) -> bool:
            return truth[text.lower()]  # KeyError is turned into the same message

        return Option(name, parse, default, "true or false", help)

    @staticmethod
    def choice(name: str, default: str, choices: Sequence[str], *,
               help: str = "") -> Option[str]:
        def parse(text: str) -> str:
            if text not in choices:
                raise ValueError(text)
            return text

        return Option(name, parse, default, "one of " + ", ".join(choices), help)

    @staticmethod
    def text(name: str, default: str, *, help: str = "") -> Option[str]:
        return Option(name, str, default, "any text", help)


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL: ``scheme://location?name=value&...``.

    ``location`` is what stands between ``scheme://`` and ``?``: a device path
    (``/dev/ttyUSB0``), ``host:port``, a file or folder, or nothing.
    """

    kind: str
    raw: str
    scheme: str
    location: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.raw


class BackendModule:
    """What a backend module provides (documented here; checked when loaded)."""

    OPTIONS: tuple[Option[Any], ...]

    @staticmethod
    def open(url: DeviceURL) -> Any:  # pragma: no cover - documentation only
        raise NotImplementedError


def split_url(kind: str, raw: str,
              schemes: Sequence[str]) -> tuple[str, str, list[tuple[str, str]]]:
    """Split ``raw`` into scheme, location and raw option pairs, or raise DeviceURLError."""
    if not isinstance(raw, str) or "://" not in raw:
        raise DeviceURLError(
            f"{kind} URL {raw!r} is not of the form scheme://location?options "
            f"(schemes: {', '.join(schemes)})"
        )
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise DeviceURLError(
            f"{kind} URL {raw!r}: unknown scheme {scheme!r} (accepted: {', '.join(schemes)})"
        )
    if parts.fragment:
        raise DeviceURLError(f"{kind} URL {raw!r}: a '#' fragment is not allowed")
    location = raw.split("://", 1)[1].split("?", 1)[0]
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise DeviceURLError(f"{kind} URL {raw!r}: malformed query string ({exc})") from None
    return scheme, location, pairs


def parse_options(kind: str, raw: str, pairs: Sequence[tuple[str, str]],
                  options: Sequence[Option[Any]]) -> dict[str, Any]:
    """Check option names and values against ``options``; fill in defaults."""
    by_name = {opt.name: opt for opt in options}
    values: dict[str, Any] = {opt.name: opt.default for opt in options}
    seen: set[str] = set()
    for name, text in pairs:
        opt = by_name.get(name)
        if opt is None:
            valid = ", ".join(sorted(by_name)) or "none"
            raise DeviceURLError(f"{kind} URL {raw!r}: unknown option {name!r} (valid: {valid})")
        if name in seen:
            raise DeviceURLError(f"{kind} URL {raw!r}: option {name!r} given twice")
        seen.add(name)
        try:
            values[name] = opt.parse(text)
        except (ValueError, KeyError):
            raise DeviceURLError(
                f"{kind} URL {raw!r}: option {name}={text!r} is not {opt.accepted}"
            ) from None
    return values


def _load_backend(kind: str, scheme: str, backends: Mapping[str, str]) -> ModuleType:
    module = importlib.import_module(backends[scheme])
    if not hasattr(module, "OPTIONS") or not hasattr(module, "open"):
        raise TypeError(f"{module.__name__} is not a {kind} backend (needs OPTIONS and open)")
    return module


def parse_url(kind: str, raw: str, backends: Mapping[str, str]) -> tuple[DeviceURL, ModuleType]:
    """Parse and check ``raw`` for a device ``kind``; return it with its backend module."""
    scheme, location, pairs = split_url(kind, raw, list(backends))
    module = _load_backend(kind, scheme, backends)
    values = parse_options(kind, raw, pairs, module.OPTIONS)
    url = DeviceURL(kind=kind, raw=raw, scheme=scheme, location=location, options=values)
    checker = getattr(module, "check", None)
    if checker is not None:
        checker(url)  # backend-specific checks of the location; raises DeviceURLError
    return url, module


def check_url(kind: str, raw: str, backends: Mapping[str, str]) -> DeviceURL:
    """Validate a device URL without opening anything."""
    url, _module = parse_url(kind, raw, backends)
    return url


def open_device(kind: str, raw: str, backends: Mapping[str, str]) -> Any:
    """Open the device named by ``raw`` with the backend its scheme selects."""
    url, module = parse_url(kind, raw, backends)
    device = module.open(url)
    log.info("%s: opened %s with backend %s", kind, raw, module.__name__)
    return device
