"""The real interface on simulated devices, for the demo, the UI tests, the screenshots and
the benchmark: one place that builds it and plays a citizen at the tray.

:func:`start_kiosk` opens a :class:`~kiosk.app.Runtime` from a configuration
(simulated camera and printer) and a :class:`~devtools.harness.UiDriver` on
it. :class:`Citizen` does what a person does: taps buttons, lays a page on
the simulated tray, takes it away when the screen says so, and moves it again
when the screen says the page is cut off or too far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.harness import UiDriver, UiError
from kiosk.app import Enrollment, Runtime, build_runtime
from kiosk.config import Config, DevicesSection, KioskSection, SessionSection, UiSection
from kiosk.journey import CapturePhase, Step
from kiosk.theme import Theme
from kiosk.ui.app import KioskApp
from kiosk.ui.screens import UiContext

#: Pages of the camera simulator a citizen can lay on the tray (assets/pages).
SAMPLE_PAGES = ("tax-notice", "payslip", "proof-of-address", "convocation", "text")


class OffsetClock:
    """The real monotonic clock plus an offset that tests move forward (inactivity timers)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def local_enrollment(kind: str = "x25519",
                     public_url: str = "https://suivi.example.fr") -> tuple[Enrollment, str]:
    """An enrollment with a fresh age identity and signing key (no back office): returns it
    and the identity that decrypts what the kiosk seals."""
    from deposit.envelope import generate_identity
    from deposit.manifest import generate_signing_key

    identity, recipient = generate_identity(kind)
    return Enrollment((recipient,), generate_signing_key(), public_url), identity


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
        ui=UiSection(fullscreen=False, width=size[0], height=size[1], dpi=dpi))


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


@dataclass
class Kiosk:
    """A running kiosk: the driver (taps, frames) and the runtime (devices, outbox)."""

    driver: UiDriver
    runtime: Runtime
    clock: Callable[[], float]
    camera: CameraSocket
    app: KioskApp = field(init=False)

    def __post_init__(self) -> None:
        self.app = self.driver.app

    def close(self) -> None:
        try:
            self.driver.stop()
        finally:
            self.runtime.close()


def start_kiosk(config: Config, enrollment: Enrollment | None, *, clock: Callable[[], float]
                = time.monotonic, theme: Theme | None = None, code_reader: bool = True,
                wipe_pause: float = 1.5) -> Kiosk:
    """Open the runtime and start the app on it (the window must be prepared: kiosk.ui.boot)."""
    socket = CameraSocket(config.devices.camera)
    runtime = build_runtime(config, enrollment, clock=clock, code_reader=code_reader,
                            camera_factory=socket)
    ctx = UiContext(runtime.catalog, runtime.session, runtime.journey, clock,
                    receipt_png=lambda: runtime.controller.current.screen_png,
                    languages=tuple(config.kiosk.languages))
    app = KioskApp(runtime.controller, ctx, theme=theme or Theme(dpi=config.ui.dpi or 96.0),
                   agent_sound=False, device_check=runtime.check_devices,
                   wipe_pause=wipe_pause)
    try:
        driver = UiDriver(app).start()
    except BaseException:
        runtime.close()
        raise
    return Kiosk(driver, runtime, clock, socket)


class Citizen:
    """Plays a person at the kiosk, through taps on the real widgets and the camera tray."""

    def __init__(self, kiosk: Kiosk, *, patience: float = 12.0) -> None:
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
        reader.reader.simulator.inject_text(text)

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

    def lay_page(self, page: str) -> None:
        """Lay ``page`` on the tray and wait until it is taken; move it again when the screen
        says it cannot be taken where it lies (the way a person reacts to the guidance)."""
        doc_before = self.state.current
        pages_before = len(self.state.documents[doc_before].pages)
        tray = self.tray
        tray.place(page)
        placed_at = time.monotonic()
        end = placed_at + 6 * self.patience

        def taken() -> bool:
            state = self.state
            return (state.step is not Step.CAPTURE or state.capture is CapturePhase.TAKEN) and \
                len(state.documents[doc_before].pages) > pages_before

        while not taken():
            if time.monotonic() > end:
                raise UiError(f"page {page!r} was never taken; the screen shows:\n"
                              f"{self.driver.describe()}")
            if self.state.capture is CapturePhase.AIMING and \
                    time.monotonic() - placed_at > self.patience:
                tray.place(page)              # lay it again, elsewhere on the tray
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
        screen = self.driver.app.root.current_screen
        if email:
            self.driver.tap(screen.ids.email_field)
            self.driver.type_text(email)
        if phone:
            self.driver.tap(screen.ids.phone_field)
            self.driver.type_text(phone)
