"""What every screen shares: rendering a journey state, the bottom bar's main button,
clearing itself at the wipe, and describing itself as text (for speech)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.catalog import Catalog, Procedure
from kiosk.journey import Action, Journey, JourneyState, Step
from kiosk.session import Session
from kiosk.ui.i18n import _
from kiosk.ui.texts import NOTICES
from kiosk.ui.widgets import ImageSurface, Tappable


@dataclass(frozen=True)
class Primary:
    """The main button of the bottom bar: one obvious next step."""

    text: str
    action: Action
    enabled: bool = True
    kind: str = "primary"


@dataclass
class UiContext:
    """What screens need besides the state: the catalog, the session's pages, the clock."""

    catalog: Catalog
    session: Session
    journey: Journey
    clock: Callable[[], float]
    receipt_png: Callable[[], bytes | None] = lambda: None
    #: The receipt as sentences to speak (EN 301 549 5.1.3.16), empty before it exists.
    receipt_speech: Callable[[], tuple[str, ...]] = lambda: ()
    languages: tuple[str, ...] = ("fr", "en")

    def procedure(self, state: JourneyState) -> Procedure | None:
        return self.catalog.get(state.procedure) if state.procedure else None


class KioskScreen(Screen):  # type: ignore[misc]  # Kivy ships no types
    """One screen per journey step; ``name`` is the step's value."""

    step: ClassVar[Step]
    notice = StringProperty("")
    #: The screen needs the top and bottom bars' room for now (the contact screen's
    #: keyboard on a small panel): the bars hide, the assistance bar stays.
    wants_window = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(name=self.step.value, **kwargs)
        self._defaults = {name: self.property(name).defaultvalue
                          for name in self._own_properties()}

    def _own_properties(self) -> list[str]:
        """Kivy properties declared by this screen's classes (not Screen's own)."""
        names = []
        for cls in type(self).__mro__:
            if cls is Screen:
                break
            for name, value in vars(cls).items():
                if type(value).__name__.endswith("Property"):
                    names.append(name)
        return names

    # ------------------------------------------------------------ to override

    def render(self, state: JourneyState, ctx: UiContext) -> None:
        """Show ``state``; called on every change while this screen is on display."""
        self.notice = _(NOTICES[state.notice]) if state.notice else ""

    def primary(self, state: JourneyState, ctx: UiContext) -> Primary | None:
        """The bottom bar's main button for ``state`` (None: no main button)."""
        return None

    def arg_for(self, action: Action) -> Any:
        """The argument a tap of ``action`` carries (typed text, for instance)."""
        return None

    def clear(self) -> None:
        """Forget everything shown (the wipe): properties back to defaults, pictures blanked."""
        for name, default in self._defaults.items():
            setattr(self, name, default)
        for widget in self.walk(restrict=True):
            if isinstance(widget, ImageSurface):
                widget.blank()

    # ------------------------------------------------------------ speech

    def describe(self) -> str:
        """What the screen shows, in reading order, as plain text (one line per item)."""
        return "\n".join(describe_widgets(self))


def visible_widgets(root: Widget) -> Iterator[Widget]:
    """Widgets a person can see under ``root``, top to bottom, left to right; the inside of a
    button is not walked (the button is read as one item)."""
    def visible(widget: Widget) -> bool:
        return bool(widget.opacity > 0.05 and widget.width > 1 and widget.height > 1)

    def walk(widget: Widget) -> Iterator[Widget]:
        if not visible(widget):
            return
        yield widget
        if isinstance(widget, Tappable) or callable(getattr(widget, "spoken", None)):
            return
        for child in reading_order(widget.children):
            yield from walk(child)

    yield from walk(root)


def reading_order(widgets: list[Widget]) -> list[Widget]:
    """Top to bottom; widgets side by side (one's middle within the other's height) form a row,
    read left to right."""
    rows: list[list[Widget]] = []
    for widget in sorted(widgets, key=lambda w: -w.top):
        row = rows[-1] if rows else None
        if row is not None and any(other.y <= widget.center_y <= other.top or
                                   widget.y <= other.center_y <= widget.top for other in row):
            row.append(widget)
        else:
            rows.append([widget])
    return [w for row in rows for w in sorted(row, key=lambda w: w.x)]


def describe_widgets(root: Widget) -> list[str]:
    """The text of what ``root`` shows, one item per line; buttons say they are buttons."""
    lines = []
    for widget in visible_widgets(root):
        spoken = getattr(widget, "spoken", None)
        if callable(spoken):
            line = spoken()
            if line:
                lines.append(line)
        elif isinstance(widget, Tappable):
            label = " ".join(" ".join(str(getattr(widget, name, "")) for name in
                                      ("text", "detail")).split())
            if label:
                line = _("Button: {label}").format(label=label)
                unavailable = getattr(widget, "disabled", False)
                lines.append(line + (_(" (unavailable)") if unavailable else ""))
        elif isinstance(widget, Label) and widget.text.strip():
            lines.append(" ".join(widget.text.split()))
    return lines
