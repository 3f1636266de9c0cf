"""The kiosk's configuration: one TOML file, every key checked before anything starts.

Each ``[section]`` of the file is a frozen dataclass below; each field is a key,
with its type, default and, where plain typing is not enough, a check in the
field's metadata. Loading refuses an unknown section or key, a value of the
wrong type, and a device URL whose scheme or options the drivers do not know,
with one line naming the file, the key and what is accepted::

    kiosk: /etc/kiosk/kiosk.toml: [devices] printer = 'lpt://x': unknown scheme 'lpt'
    (accepted: serial, file, tcp, sim)          <- one line, folded here

Defaults select the simulators, so ``kiosk`` runs on a laptop with no file at all.
``kiosk.example.toml`` at the top of the repository documents every key; a test
keeps it in step with this module.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from drivers import check_device_url
from drivers.errors import DeviceURLError
from kiosk.errors import ConfigError

#: Where ``kiosk`` looks when ``--config`` is not given and $KIOSK_CONFIG is unset.
SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")

Check = Callable[[Any], None]  # raises ValueError("accepted values") when the value is bad


def _check(check: Check, accepted: str) -> dict[str, Any]:
    return {"check": check, "accepted": accepted}


def _pattern(regex: str, accepted: str) -> dict[str, Any]:
    compiled = re.compile(regex)

    def check(value: Any) -> None:
        if not compiled.fullmatch(value):
            raise ValueError(accepted)

    return _check(check, accepted)


def _between(low: float, high: float) -> dict[str, Any]:
    accepted = f"a number from {low:g} to {high:g}"

    def check(value: Any) -> None:
        if not low <= value <= high:
            raise ValueError(accepted)

    return _check(check, accepted)


def _device(kind: str) -> dict[str, Any]:
    def check(value: Any) -> None:
        try:
            check_device_url(kind, value)
        except DeviceURLError as exc:
            # The driver's message names the URL, which the config error names already.
            detail = str(exc).removeprefix(f"{kind} URL {value!r}").lstrip(": ")
            raise ValueError(detail) from None

    return {"check": check, "accepted": f"a {kind} URL", "device": kind}


#: A language code as the catalog of procedures spells it (kiosk.catalog.LANGUAGE): fr, fr-falc.
_LANGUAGE = r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?"


def _language_list(value: Any) -> None:
    if not value or not all(re.fullmatch(_LANGUAGE, code) for code in value):
        raise ValueError("a non-empty list of language codes (fr, es, fr-falc)")


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "deposit-kiosk"


@dataclass(frozen=True)
class KioskSection:
    """``[kiosk]``: who this kiosk is and where it keeps its data."""

    id: str = field(default="DEMO-01", metadata=_pattern(
        r"[A-Z0-9][A-Z0-9-]{0,31}", "1 to 32 capital letters, digits or '-'"))
    code: str = field(default="D3M0", metadata=_pattern(
        r"[0-9A-HJKMNP-TV-Z]{4}", "4 Crockford base32 characters (0-9, A-Z without I, L, O, U)"))
    place: str = "Démonstration"
    data_dir: Path = field(default_factory=_default_data_dir)
    languages: list[str] = field(default_factory=lambda: ["fr", "en", "es", "ar", "fr-falc"],
                                 metadata=_check(
        _language_list, "a non-empty list of language codes (fr, es, fr-falc)"))
    default_language: str = field(default="fr", metadata=_pattern(
        _LANGUAGE, "a language code (fr, es, fr-falc)"))


@dataclass(frozen=True)
class DevicesSection:
    """``[devices]``: one URL per device; the scheme picks the backend."""

    printer: str = field(default="sim://", metadata=_device("printer"))
    camera: str = field(default="sim://", metadata=_device("camera"))
    code_reader: str = field(default="sim://", metadata=_device("code_reader"))


@dataclass(frozen=True)
class SessionSection:
    """``[session]``: how long a citizen may stay without touching the screen."""

    inactivity: float = field(default=120.0, metadata=_between(30, 1800))
    capture_inactivity: float = field(default=240.0, metadata=_between(30, 1800))
    satisfaction: float = field(default=45.0, metadata=_between(31, 600))
    warning: float = field(default=30.0, metadata=_between(10, 120))
    max_pages: int = field(default=60, metadata=_between(1, 200))
    #: Seconds taps are ignored after the screen changed (EN 301 549 5.8 asks for a
    #: double-strike rejection adjustable up to 0.5 s; the citizen's "more time" setting
    #: multiplies it).
    input_guard: float = field(default=0.5, metadata=_between(0, 2))


def _speech_engine(value: Any) -> None:
    if value not in ("espeak-ng", "none"):
        raise ValueError


def _theme_name(value: Any) -> None:
    if value not in ("standard", "large", "contrast", "large-contrast"):
        raise ValueError


@dataclass(frozen=True)
class UiSection:
    """``[ui]``: the touchscreen: window, physical size of pixels, theme."""

    fullscreen: bool = True
    width: int = field(default=1280, metadata=_between(480, 7680))
    height: int = field(default=800, metadata=_between(480, 7680))
    dpi: float = field(default=0.0, metadata=_between(0, 600))
    theme: str = field(default="standard", metadata=_check(
        _theme_name, "one of standard, large, contrast, large-contrast"))
    touch_target_mm: float = field(default=15.0, metadata=_between(9, 30))
    agent_sound: bool = True
    #: Height of the panel's lower edge above the floor, for the lowered layout (every
    #: control under 1220 mm, EN 301 549 8.3), and the distance the text sizes are computed
    #: for (a capital H of 0.7 degree there in large text, 5.1.4).
    panel_bottom_mm: float = field(default=900.0, metadata=_between(380, 1200))
    viewing_distance_mm: float = field(default=500.0, metadata=_between(300, 1000))


@dataclass(frozen=True)
class OutboxSection:
    """``[outbox]``: the durable queue of sealed dossiers in ``{data_dir}/outbox/``."""

    reserve_mb: int = field(default=200, metadata=_between(0, 1_000_000))
    dossier_estimate_mb: int = field(default=30, metadata=_between(1, 100_000))
    lease_seconds: int = field(default=600, metadata=_between(10, 86_400))
    busy_timeout_ms: int = field(default=5000, metadata=_between(100, 600_000))


@dataclass(frozen=True)
class UploadSection:
    """``[upload]``: delivery of the outbox to the back office (``kiosk uploader``)."""

    bundle: Path | None = None          # None: {data_dir}/enrollment
    chunk_mib: int = field(default=4, metadata=_between(1, 8))
    # Under half the uploader unit's WatchdogSec (600 s): a request waits at most this long
    # without a byte moving, and the watchdog is fed only while the loop moves.
    timeout_s: int = field(default=30, metadata=_between(5, 240))
    poll_s: int = field(default=15, metadata=_between(1, 3600))
    max_backoff_s: int = field(default=600, metadata=_between(1, 86_400))
    # Seconds between two heartbeats to the back office (kiosk/heartbeat.py); one at start.
    heartbeat_s: int = field(default=300, metadata=_between(1, 3600))


def _regex_list(value: Any) -> None:
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error:
            raise ValueError from None


@dataclass(frozen=True)
class SpeechSection:
    """``[speech]``: the kiosk reading its screens aloud (EN 301 549 5.1.3), :mod:`kiosk.speech`."""

    # The values of kiosk.speech.Engine (tests/accessibility/test_speech.py keeps them in step).
    engine: str = field(default="espeak-ng", metadata=_check(
        _speech_engine, "one of espeak-ng, none"))
    espeak: str = "espeak-ng"           # the program (a path, or a name looked up in PATH)
    device: str = ""                    # ALSA device of the loudspeaker; "": the default one
    record_dir: Path | None = None      # write each utterance there instead of playing it
    volume: int = field(default=100, metadata=_between(20, 160))   # espeak-ng amplitude
    rate: int = field(default=160, metadata=_between(80, 400))     # words per minute
    falc_rate: int = field(default=130, metadata=_between(80, 400))
    timeout_s: float = field(default=10.0, metadata=_between(1, 120))
    headset_patterns: list[str] = field(
        default_factory=lambda: [r"(?i)\bUSB-Audio\b.*\bhead(set|phone)s?\b"],
        metadata=_check(_regex_list, "a list of regular expressions"))
    cards: Path = Path("/proc/asound/cards")


@dataclass(frozen=True)
class TwoDDocSection:
    """``[twoddoc]``: checking the 2D-Doc of captured pages (kiosk/twoddocs.py, docs/2ddoc.md)."""

    enabled: bool = True
    # Trust the ANTS *test* authority FR00 (assets/twoddoc/test-authority.xml): never in
    # production. With no configuration file at all (the simulators on a laptop) it is.
    test_authority: bool = False
    # One more trust list (ETSI TS 119 612 XML, as ANTS publishes it) read at start, on top
    # of the one the back office sends with the fleet state.
    trust_list: Path | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``path`` is the file it came from, if any."""

    kiosk: KioskSection = field(default_factory=KioskSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    session: SessionSection = field(default_factory=SessionSection)
    ui: UiSection = field(default_factory=UiSection)
    outbox: OutboxSection = field(default_factory=OutboxSection)
    upload: UploadSection = field(default_factory=UploadSection)
    speech: SpeechSection = field(default_factory=SpeechSection)
    twoddoc: TwoDDocSection = field(default_factory=TwoDDocSection)
    path: Path | None = field(default=None, metadata={"internal": True})


S = TypeVar("S")


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             Path: "a path (string)"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return f"a list of {_type_name(item).removeprefix('a ').removeprefix('an ')}s"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    return str(tp)


def _convert(tp: Any, value: Any) -> Any:
    """Convert a TOML value to ``tp`` or raise ValueError with what is accepted."""
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str) and value:
            return Path(value).expanduser()
    elif typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, list):
            return [_convert(item, v) for v in value]
    elif typing.get_origin(tp) in (types.UnionType, typing.Union):
        for alt in typing.get_args(tp):
            if alt is type(None):
                continue
            try:
                return _convert(alt, value)
            except ValueError:
                pass
    raise ValueError(_type_name(tp))


def _build_section(cls: type[S], table: Mapping[str, Any], where: str,
                   section: str) -> S:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, raw in table.items():
        f = known.get(key)
        if f is None:
            raise ConfigError(
                f"{where}: [{section}] unknown key {key!r} (valid: {', '.join(sorted(known))})"
            )
        try:
            value = _convert(hints[key], raw)
        except ValueError as exc:
            raise ConfigError(
                f"{where}: [{section}] {key} = {raw!r} is not {exc}"
            ) from None
        check = f.metadata.get("check")
        if check is not None:
            try:
                check(value)
            except ValueError as exc:
                detail = str(exc) or f.metadata.get("accepted", "valid")
                if f.metadata.get("device"):
                    raise ConfigError(f"{where}: [{section}] {key} = {raw!r}: {detail}") from None
                raise ConfigError(
                    f"{where}: [{section}] {key} = {raw!r} is not {f.metadata['accepted']}"
                ) from None
        values[key] = value
    return cls(**values)


def _section_fields() -> dict[str, Any]:
    return {f.name: f for f in fields(Config) if not f.metadata.get("internal")}


def parse_config(text: str, where: str = "<config>", path: Path | None = None) -> Config:
    """Parse and check a whole configuration from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    sections = _section_fields()
    hints = typing.get_type_hints(Config)
    built: dict[str, Any] = {}
    for name, table in data.items():
        if name not in sections:
            raise ConfigError(
                f"{where}: unknown section [{name}] (valid: {', '.join(sorted(sections))})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {name} must be a [{name}] table")
        built[name] = _build_section(hints[name], table, where, name)
    # Sections left out still get their defaults checked (device URLs from the defaults).
    for name, f in sections.items():
        if name not in built:
            built[name] = f.default_factory() if f.default is MISSING else f.default
    config = Config(path=path, **built)
    _check_cross_fields(config, where)
    return config


def _check_cross_fields(config: Config, where: str) -> None:
    if config.kiosk.default_language not in config.kiosk.languages:
        raise ConfigError(
            f"{where}: [kiosk] default_language = {config.kiosk.default_language!r} is not one "
            f"of languages ({', '.join(config.kiosk.languages)})"
        )


def config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """The file to read: ``--config``, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml if present."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("KIOSK_CONFIG")
    if env:
        return Path(env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.exists() else None


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration the command line or environment names; defaults when none."""
    path = config_path(explicit)
    if path is None:
        return parse_config("", where="<defaults>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse_config(text, where=str(path), path=path)
