"""A kiosk's heartbeat: how its devices, queue and disk are, signed by the kiosk, never personal.

The uploader (the process holding the kiosk's client certificate) posts one
every few minutes to the back office's kiosk listener, over mutual TLS::

    POST /kiosk/v1/heartbeats     the signed blob below   -> 204 stored (a replay too)

The blob is canonical JSON (:func:`deposit.manifest.canonical_json`)::

    {"heartbeat": {...fields of Heartbeat...}, "signature": "<86 characters of base64>"}

signed with the kiosk's manifest-signing key (Ed25519) under its own context,
so a signature made for a manifest never passes for a heartbeat. The back
office checks that the kiosk of the TLS identity is the kiosk named and that
the signature is that kiosk's; it keeps the latest heartbeat per kiosk and
their history (backoffice/heartbeats.py), and raises the fleet's alerts from
them (backoffice/fleethealth.py).

What travels is the machine's state only: device states with a short
technical detail, paper level, queue depth, oldest age and bytes, free disk,
software version, whether an agent call waits, the time of the last citizen
activity, the out-of-order switch, the kiosk certificate's expiry, and the
satisfaction ratings as running counts per procedure, ISO week and rating
(never per deposit, never a deposit id, never a citizen's word).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deposit.errors import DepositError
from deposit.manifest import canonical_json

#: The collection of heartbeats on the back office's kiosk listener.
HEARTBEATS_PATH = "/kiosk/v1/heartbeats"
VERSION = 1
#: What is signed: this context, then the heartbeat's canonical JSON.
SIGNING_CONTEXT = b"deposit-kiosk heartbeat v1\n"
#: A heartbeat is small; anything larger is refused before it is parsed.
MAX_BLOB = 64 * 1024
#: Free text (a device's detail, the out-of-order message) is short and technical.
MAX_TEXT = 200
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_WEEK = re.compile(r"\d{4}-W\d{2}")
_PROCEDURE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_E = TypeVar("_E", bound=StrEnum)


class HeartbeatError(DepositError):
    """A heartbeat that is malformed, or whose signature does not hold."""


class DeviceKind(StrEnum):
    PRINTER = "printer"
    CAMERA = "camera"
    CODE_READER = "code_reader"


class DeviceHealth(StrEnum):
    """A device as the kiosk last saw it."""

    OK = "ok"
    WARN = "warn"          # works, needs attention soon (paper near its end)
    FAIL = "fail"          # does not work (paper out, cover open, unplugged)
    UNKNOWN = "unknown"    # not asked yet, or the kiosk application is not running


class PaperLevel(StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeviceState:
    kind: DeviceKind
    health: DeviceHealth
    detail: str = ""                 # short, technical: "paper near end", "no frame in 5 s"
    since: str | None = None         # when it entered this health (UTC, seconds)


@dataclass(frozen=True)
class Queue:
    depth: int = 0                   # deposits waiting in the outbox
    bytes: int = 0                   # their envelopes' size
    oldest_at: str | None = None     # when the oldest waiting deposit was sealed


@dataclass(frozen=True)
class Disk:
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class Rating:
    """A running count: how many citizens gave ``rating`` for ``procedure`` in ``week``."""

    procedure: str                   # catalog code, or "-" when none was chosen
    week: str                        # ISO week, "2026-W49"
    rating: int                      # 1 (bad) .. 3 (good), as the satisfaction screen offers
    count: int


@dataclass(frozen=True)
class Heartbeat:
    kiosk_id: str
    sent_at: str                                 # UTC, "YYYY-MM-DDTHH:MM:SSZ"
    software: str                                # the kiosk's version
    devices: tuple[DeviceState, ...]
    paper: PaperLevel
    queue: Queue
    disk: Disk
    certificate_not_after: str | None = None     # the kiosk's TLS certificate's expiry
    agent_call_since: str | None = None          # an agent call no one has seen yet
    last_activity_at: str | None = None          # the last citizen session's end
    out_of_order: bool = False
    out_of_order_message: str = ""
    ratings: tuple[Rating, ...] = field(default=())
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["devices"] = [asdict(d) for d in self.devices]
        data["ratings"] = [asdict(r) for r in self.ratings]
        return data

    def canonical(self) -> bytes:
        return canonical_json(self.to_dict())

    def sent(self) -> datetime:
        return parse_time(self.sent_at)

    def device(self, kind: DeviceKind) -> DeviceState | None:
        return next((d for d in self.devices if d.kind is kind), None)


def utc(moment: datetime) -> str:
    """The heartbeat's time format (UTC, to the second)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def sign(heartbeat: Heartbeat, key: Ed25519PrivateKey) -> bytes:
    """The signed, canonical blob of ``heartbeat``."""
    signature = key.sign(SIGNING_CONTEXT + heartbeat.canonical())
    return canonical_json({"heartbeat": heartbeat.to_dict(),
                           "signature": base64.b64encode(signature).rstrip(b"=").decode()})


def parse_unverified(blob: bytes) -> tuple[Heartbeat, bytes]:
    """The heartbeat and its signature, the format checked (not the signature)."""
    if len(blob) > MAX_BLOB:
        raise HeartbeatError(f"heartbeat larger than {MAX_BLOB} bytes")
    try:
        data = json.loads(blob.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HeartbeatError(f"heartbeat is not UTF-8 JSON with integers ({exc})") from None
    if not isinstance(data, dict) or sorted(data) != ["heartbeat", "signature"]:
        raise HeartbeatError("a heartbeat blob has exactly 'heartbeat' and 'signature'")
    heartbeat = _heartbeat(data["heartbeat"])
    signature = data["signature"]
    try:
        raw = base64.b64decode(str(signature) + "==", validate=True)
    except (binascii.Error, ValueError):
        raise HeartbeatError("signature is not base64") from None
    if not isinstance(signature, str) or len(raw) != 64:
        raise HeartbeatError("signature is not 64 bytes of base64")
    if canonical_json(data) != blob:
        raise HeartbeatError("heartbeat is not in canonical form (sorted keys, no whitespace)")
    return heartbeat, raw


def verify(blob: bytes, key: Ed25519PublicKey, *, kiosk_id: str | None = None) -> Heartbeat:
    """Check a signed heartbeat (and, with ``kiosk_id``, that it names that kiosk)."""
    heartbeat, signature = parse_unverified(blob)
    try:
        key.verify(signature, SIGNING_CONTEXT + heartbeat.canonical())
    except InvalidSignature:
        raise HeartbeatError("the heartbeat's signature does not match the kiosk's key") from None
    if kiosk_id is not None and heartbeat.kiosk_id != kiosk_id:
        raise HeartbeatError(f"heartbeat signed for kiosk {heartbeat.kiosk_id!r}, "
                             f"sent by {kiosk_id!r}")
    return heartbeat


def from_json(text: str) -> Heartbeat:
    """A heartbeat as stored by the back office (its ``to_dict`` as JSON), checked again."""
    try:
        return _heartbeat(json.loads(text))
    except ValueError as exc:
        raise HeartbeatError(f"stored heartbeat is not JSON ({exc})") from None


# ------------------------------------------------------------------ checking fields

def _no_float(text: str) -> Any:
    raise ValueError(f"non-integer number {text!r}")


def _obj(value: Any, what: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise HeartbeatError(f"{what} is not an object")
    missing = keys - set(value)
    extra = set(value) - keys
    if missing or extra:
        raise HeartbeatError(f"{what}: fields missing {sorted(missing)} or unexpected "
                             f"{sorted(extra)}")
    return value


def _int(value: Any, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HeartbeatError(f"{what} is not an integer from {low} to {high}")
    return value


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit or \
            any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in value):
        raise HeartbeatError(f"{what} is not text of at most {limit} printable characters")
    return value


def _time(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise HeartbeatError(f"{what} is not a UTC time YYYY-MM-DDTHH:MM:SSZ")
    try:
        parse_time(value)
    except ValueError:
        raise HeartbeatError(f"{what} is not a valid date") from None
    return value


def _enum(kind: type[_E], value: Any, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise HeartbeatError(f"{what} is not one of {', '.join(kind)}") from None


def _heartbeat(value: Any) -> Heartbeat:
    keys = set(Heartbeat.__dataclass_fields__)
    data = _obj(value, "heartbeat", keys)
    if data["version"] != VERSION:
        raise HeartbeatError(f"unknown heartbeat version {data['version']!r}")
    kiosk_id = _text(data["kiosk_id"], "kiosk_id", 64)
    if not kiosk_id:
        raise HeartbeatError("kiosk_id is empty")
    devices = data["devices"]
    if not isinstance(devices, list) or len(devices) > len(DeviceKind):
        raise HeartbeatError("devices is not a list of at most one state per kind")
    states = []
    for i, item in enumerate(devices):
        d = _obj(item, f"devices[{i}]", {"kind", "health", "detail", "since"})
        states.append(DeviceState(_enum(DeviceKind, d["kind"], f"devices[{i}].kind"),
                                  _enum(DeviceHealth, d["health"], f"devices[{i}].health"),
                                  _text(d["detail"], f"devices[{i}].detail"),
                                  _time(d["since"], f"devices[{i}].since", optional=True)))
    if len({s.kind for s in states}) != len(states):
        raise HeartbeatError("devices names a kind twice")
    q = _obj(data["queue"], "queue", {"depth", "bytes", "oldest_at"})
    disk = _obj(data["disk"], "disk", {"free_bytes", "total_bytes"})
    ratings_in = data["ratings"]
    if not isinstance(ratings_in, list) or len(ratings_in) > 2000:
        raise HeartbeatError("ratings is not a list of at most 2000 counts")
    ratings = []
    for i, item in enumerate(ratings_in):
        r = _obj(item, f"ratings[{i}]", {"procedure", "week", "rating", "count"})
        procedure = _text(r["procedure"], f"ratings[{i}].procedure", 64)
        if procedure != "-" and not _PROCEDURE.fullmatch(procedure):
            raise HeartbeatError(f"ratings[{i}].procedure is not a catalog code")
        week = _text(r["week"], f"ratings[{i}].week", 8)
        if not _WEEK.fullmatch(week):
            raise HeartbeatError(f"ratings[{i}].week is not an ISO week YYYY-Www")
        ratings.append(Rating(procedure, week, _int(r["rating"], f"ratings[{i}].rating", 1, 5),
                              _int(r["count"], f"ratings[{i}].count")))
    if not isinstance(data["out_of_order"], bool):
        raise HeartbeatError("out_of_order is not true or false")
    return Heartbeat(
        kiosk_id=kiosk_id,
        sent_at=_time(data["sent_at"], "sent_at") or "",
        software=_text(data["software"], "software", 64),
        devices=tuple(states),
        paper=_enum(PaperLevel, data["paper"], "paper"),
        queue=Queue(_int(q["depth"], "queue.depth"), _int(q["bytes"], "queue.bytes"),
                    _time(q["oldest_at"], "queue.oldest_at", optional=True)),
        disk=Disk(_int(disk["free_bytes"], "disk.free_bytes"),
                  _int(disk["total_bytes"], "disk.total_bytes")),
        certificate_not_after=_time(data["certificate_not_after"], "certificate_not_after",
                                    optional=True),
        agent_call_since=_time(data["agent_call_since"], "agent_call_since", optional=True),
        last_activity_at=_time(data["last_activity_at"], "last_activity_at", optional=True),
        out_of_order=data["out_of_order"],
        out_of_order_message=_text(data["out_of_order_message"], "out_of_order_message"),
        ratings=tuple(ratings),
        version=VERSION,
    )
