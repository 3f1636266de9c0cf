"""A citizen at a kiosk on simulated devices, with or without the real interface.

:class:`Citizen` does what a person does: taps buttons, shows a convocation's
QR code to the code reader, lays a page on the simulated tray, takes it away
when the screen says so, and moves it again when the screen says the page is
cut off or too far. It acts through a :class:`Driver`: the real Kivy interface
(devtools/kit.py) or the controller alone (devtools/headless.py). No Kivy is
imported here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from kiosk.config import (
    Config,
    DevicesSection,
    KioskSection,
    SessionSection,
    SpeechSection,
    UiSection,
)
from kiosk.journey import CapturePhase, JourneyState, Step
from kiosk.runtime import Runtime, SealingKeys

#: Pages of the camera simulator a citizen can lay on the tray (assets/pages).
SAMPLE_PAGES = ("tax-notice", "payslip", "proof-of-address", "convocation", "text")


class UiError(AssertionError):
    """The kiosk did not do what the script expected (with what it showed instead)."""


class OffsetClock:
    """The real monotonic clock plus an offset that tests move forward (inactivity timers)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._held: float | None = None

    def __call__(self) -> float:
        return (time.monotonic() if self._held is None else self._held) + self.offset

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Stop the real time for a while (only :meth:`advance` moves the clock): two taps
        "100 ms apart" stay 100 ms apart however slow the machine is."""
        self._held = time.monotonic()
        try:
            yield
        finally:
            self.offset += self._held - time.monotonic()   # no jump back when time resumes
            self._held = None

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def local_keys(kind: str = "x25519",
               public_url: str = "https://suivi.example.fr") -> tuple[SealingKeys, str]:
    """Sealing keys with a fresh age identity and signing key (no back office): returns them
    and the identity that decrypts what the kiosk seals."""
    from deposit.envelope import generate_identity
    from deposit.manifest import generate_signing_key

    identity, recipient = generate_identity(kind)
    return SealingKeys((recipient,), generate_signing_key(), public_url), identity


def sim_config(data_dir: Path, *, seed: int = 1, printer: str = "", size: tuple[int, int] =
               (1280, 800), dpi: float = 96.0, session: SessionSection | None = None,
               code_reader: str = "sim://") -> Config:
    """A configuration on simulators, keeping everything under ``data_dir``."""
    return Config(
        kiosk=KioskSection(data_dir=data_dir),
        devices=DevicesSection(
            camera=f"sim://?seed={seed}&placed=false",
            printer=printer or f"sim://?out={data_dir / 'receipts'}",
            code_reader=code_reader),
        session=session or SessionSection(),
        ui=UiSection(fullscreen=False, width=size[0], height=size[1], dpi=dpi),
        speech=SpeechSection(record_dir=data_dir / "speech"))


class CameraSocket:
    """Where the simulated camera is plugged in: :meth:`unplug` closes it and makes every
    attempt to open it fail (as an unplugged USB camera does) until :meth:`plug`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.plugged = True
        self.current: Any = None

    def __call__(self) -> Any:
        from drivers import open_camera
        from drivers.errors import DeviceUnavailableError

        if not self.plugged:
            raise DeviceUnavailableError(f"camera {self.url}: unplugged")
        self.current = open_camera(self.url)
        return self.current

    def unplug(self) -> None:
        self.plugged = False
        if self.current is not None:
            self.current.close()

    def plug(self) -> None:
        self.plugged = True


class Driver(Protocol):
    """What a citizen acts through: the real interface (devtools.harness.UiDriver) or the
    controller alone (devtools.headless.HeadlessDriver)."""

    taps: int

    @property
    def state(self) -> JourneyState: ...

    def tap_action(self, action: str, arg: Any = None) -> None: ...

    def idle(self, frames: int = 1) -> None: ...

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20.0,
                   what: str = "the condition") -> None: ...

    def wait_for_step(self, step: Step, timeout: float = 20.0) -> None: ...

    def describe(self) -> str: ...


class AtTheKiosk(Protocol):
    """A running kiosk a citizen stands at: its driver and its runtime."""

    @property
    def driver(self) -> Driver: ...

    @property
    def runtime(self) -> Runtime: ...


class Citizen:
    """Plays a person at the kiosk, through taps (on the real widgets or to the controller)
    and the simulated camera tray."""

    def __init__(self, kiosk: AtTheKiosk, *, patience: float = 12.0) -> None:
        self.kiosk = kiosk
        self.driver = kiosk.driver
        self.patience = patience

    @property
    def state(self) -> Any:
        return self.driver.state

    def tap(self, action: str, arg: Any = None) -> None:
        self.driver.tap_action(action, arg)

    def show_code(self, text: str) -> None:
        """Hold a code (a convocation letter's QR code) under the code reader."""
        reader = self.kiosk.runtime.code_reader
        if reader is None:
            raise UiError("this kiosk has no code reader")
        getattr(reader.reader, "simulator").inject_text(text)  # noqa: B009 - the sim's own

    @property
    def tray(self) -> Any:
        """The simulated tray (the camera's simulator), once the camera is open."""
        capture = self.kiosk.runtime.controller.capture
        self.driver.wait_until(lambda: capture is not None and capture._camera is not None,
                               20, "the camera to open")
        assert capture is not None and capture._camera is not None
        return getattr(capture._camera, "simulator")  # noqa: B009 - only the sim has one

    def _preview(self) -> Any:
        capture = self.kiosk.runtime.controller.capture
        return capture.latest_preview() if capture is not None else None

    def clear_tray(self) -> None:
        """Take the page away and wait until the kiosk sees an empty tray, ready for the next."""
        self.tray.remove()

        def ready() -> bool:
            frame = self._preview()
            return frame is not None and frame.corners is None and \
                frame.capture_state == "searching"

        self.driver.wait_until(ready, 30, "the kiosk to see the empty tray")

    def lay_page(self, page: str | Any, size_mm: tuple[float, float] | None = None) -> None:
        """Lay ``page`` on the tray and wait until it is taken; move it again when the screen
        says it cannot be taken where it lies (the way a person reacts to the guidance).
        ``page``: a sample page's name, or a BGR picture of a page ``size_mm`` large."""
        doc_before = self.state.current
        pages_before = len(self.state.documents[doc_before].pages)
        tray = self.tray
        if size_mm is None:
            tray.place(page)
        else:
            tray.place(page, size_mm=size_mm)
        name = page if isinstance(page, str) else "(a picture)"
        placed_at = time.monotonic()
        end = placed_at + 6 * self.patience

        def taken() -> bool:
            state = self.state
            return (state.step is not Step.CAPTURE or state.capture is CapturePhase.TAKEN) and \
                len(state.documents[doc_before].pages) > pages_before

        while not taken():
            if time.monotonic() > end:
                raise UiError(f"page {name!r} was never taken; the screen shows:\n"
                              f"{self.driver.describe()}")
            if self.state.capture is CapturePhase.AIMING and \
                    time.monotonic() - placed_at > self.patience:
                tray.place(None)              # lay it again, elsewhere on the tray
                placed_at = time.monotonic()
            self.driver.idle()
        self.driver.idle(2)

    def capture_document(self, pages: list[str], *, last: bool = False) -> None:
        """Photograph every page of the current document, then go on (one tap per page
        added, one for the next document)."""
        for number, page in enumerate(pages):
            if number:
                self.tap("add_page")
                self.clear_tray()
            self.lay_page(page)
        self.tap("next")
        if not last:
            self.clear_tray()

    def type_contact(self, email: str = "", phone: str = "") -> None:
        """Type on the on-screen keyboard (the real interface only)."""
        screen = self.driver.app.root.current_screen  # type: ignore[attr-defined]
        if email:
            self.driver.tap(screen.ids.email_field)  # type: ignore[attr-defined]
            self.driver.type_text(email)  # type: ignore[attr-defined]
        if phone:
            self.driver.tap(screen.ids.phone_field)  # type: ignore[attr-defined]
            self.driver.type_text(phone)  # type: ignore[attr-defined]


def printer_simulator(runtime: Runtime) -> Any:
    """The simulated printer of a runtime (its PNGs, its paper); raises if it is not one."""
    sim = getattr(runtime.printer, "simulator", None)
    if sim is None:
        raise UiError(f"the printer of this kiosk is not the simulator: {runtime.printer!r}")
    return sim
