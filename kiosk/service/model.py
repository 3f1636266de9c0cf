"""What the service panel shows, as plain data: phases, pages, rows, buttons, the view.

Shared by the service mode (kiosk/service/mode.py), the pages' contents
(kiosk/service/pages.py) and the panel that draws them (kiosk/ui/service.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.service.texts import OutOfOrderReason


class Phase(StrEnum):
    CLOSED = "closed"
    PIN = "pin"
    OPEN = "open"


class Page(StrEnum):
    HOME = "home"
    DEVICES = "devices"
    PRINTER = "printer"
    CAMERA = "camera"
    CODES = "codes"
    OUTBOX = "outbox"
    NETWORK = "network"
    STORAGE = "storage"
    LOGS = "logs"
    VERSION = "version"
    OUT_OF_ORDER = "out_of_order"


#: The pages' titles, on the panel and its menu.
PAGE_TITLES: dict[Page, str] = {
    Page.HOME: "Mode maintenance",
    Page.DEVICES: "Périphériques",
    Page.PRINTER: "Imprimante",
    Page.CAMERA: "Caméra",
    Page.CODES: "Lecteur de codes",
    Page.OUTBOX: "File d'envoi",
    Page.NETWORK: "Réseau",
    Page.STORAGE: "Stockage",
    Page.LOGS: "Journal",
    Page.VERSION: "Version",
    Page.OUT_OF_ORDER: "Hors service",
}


class Level(StrEnum):
    """How a row reads: the panel colours it (and the checks' ok/warn/fail map onto it)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"


class Act(StrEnum):
    """What a panel button does (the panel sends these with :meth:`ServiceMode.press`)."""

    DIGIT = "digit"
    ERASE = "erase"
    VALIDATE = "validate"
    CLOSE = "close"              # the PIN panel closed without entering
    PAGE = "page"                # arg: a Page
    REFRESH = "refresh"          # the page's rows again
    RUN = "run"                  # arg: the name of one of the page's actions
    FILTER = "filter"            # arg: the logs' filter
    OUT_OF_ORDER = "out_of_order"  # arg: an OutOfOrderReason, or "" to put back in service
    LEAVE = "leave"


@dataclass(frozen=True)
class Row:
    label: str
    value: str = ""
    level: Level = Level.INFO
    #: 0..1 for a gauge drawn as a bar (the camera's focus and exposure)
    gauge: float | None = None


@dataclass(frozen=True)
class Button:
    act: Act
    label: str
    arg: str = ""
    primary: bool = False


@dataclass(frozen=True)
class View:
    """Everything the panel draws, as of now."""

    phase: Phase
    page: Page = Page.HOME
    title: str = ""
    holder: str = ""
    rows: tuple[Row, ...] = ()
    buttons: tuple[Button, ...] = ()
    notice: str = ""
    notice_level: Level = Level.INFO
    pin_length: int = 0
    busy: bool = False
    out_of_order: OutOfOrderReason | None = None
    #: The badge is being read by the camera (the code reader's fallback): show its preview.
    scanning: bool = False


@dataclass(frozen=True)
class Action:
    """A test a page offers (print a test receipt, record the empty tray...): its label, and
    what it does, returning the line that says how it went (raises: it failed, said why)."""

    name: str
    label: str
    run: Callable[[], Row]


@dataclass
class Pages:
    """What each page shows and offers (kiosk/service/pages.py fills it from the kiosk's parts).

    ``rows[page]`` computes the page's rows (on the worker thread); ``actions[page]`` its
    tests; ``live`` pages are refreshed every ``live_every`` seconds while shown (the
    devices, the camera's gauges); ``on_show``/``on_hide`` start and stop what a page needs
    (the camera's preview).
    """

    rows: Mapping[Page, Callable[[], list[Row]]] = field(default_factory=dict)
    actions: Mapping[Page, tuple[Action, ...]] = field(default_factory=dict)
    live: Mapping[Page, float] = field(default_factory=dict)
    on_show: Mapping[Page, Callable[[], None]] = field(default_factory=dict)
    on_hide: Mapping[Page, Callable[[], None]] = field(default_factory=dict)
    #: The logs' rows for a filter ("all", "warning", "error").
    logs: Callable[[str], list[Row]] | None = None
    #: The badge read by the camera when the code reader is broken: start (given what to
    #: call with each code's text) and stop.
    badge_scan: tuple[Callable[[Callable[[str], None]], None], Callable[[], None]] | None = None
