"""The real interface on simulated devices, for the demo, the UI tests and the screenshots.

:func:`start_kiosk` opens a :class:`~kiosk.runtime.Runtime` from a configuration
(simulated camera and printer) and a :class:`~devtools.harness.UiDriver` on it;
a :class:`~devtools.citizen.Citizen` plays a person at it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devtools.citizen import CameraSocket
from devtools.harness import UiDriver
from kiosk.audio import HeadsetWatch
from kiosk.config import Config
from kiosk.receipts import spoken_receipt
from kiosk.runtime import Runtime, SealingKeys, build_runtime
from kiosk.speech import Speaker, build_speech
from kiosk.theme import Theme
from kiosk.ui.app import KioskApp
from kiosk.ui.screens import UiContext


@dataclass
class Kiosk:
    """A running kiosk: the driver (taps, frames) and the runtime (devices, outbox)."""

    driver: UiDriver
    runtime: Runtime
    clock: Callable[[], float]
    camera: CameraSocket
    speaker: Speaker
    headset: HeadsetWatch
    app: KioskApp = field(init=False)

    def __post_init__(self) -> None:
        self.app = self.driver.app

    def close(self) -> None:
        try:
            self.driver.stop()
        finally:
            self.speaker.close()
            self.headset.close()
            self.runtime.close()


def start_kiosk(config: Config, keys: SealingKeys | None, *, clock: Callable[[], float]
                = time.monotonic, theme: Theme | None = None, code_reader: bool = True,
                wipe_pause: float = 1.5) -> Kiosk:
    """Open the runtime and start the app on it (the window must be prepared: kiosk.ui.boot)."""
    socket = CameraSocket(config.devices.camera)
    runtime = build_runtime(config, keys, clock=clock, code_reader=code_reader,
                            camera_factory=socket)
    ctx = UiContext(runtime.catalog, runtime.session, runtime.journey, clock,
                    receipt_png=lambda: runtime.controller.current.screen_png,
                    receipt_speech=lambda: spoken_receipt(
                        runtime.controller.current.receipt),
                    languages=tuple(config.kiosk.languages))
    speaker, headset = build_speech(config.speech)
    app = KioskApp(runtime.controller, ctx, speaker=speaker,
                   theme=theme or Theme(dpi=config.ui.dpi or 96.0,
                                        viewing_distance_mm=config.ui.viewing_distance_mm),
                   agent_sound=False, device_check=runtime.check_devices,
                   wipe_pause=wipe_pause, panel_bottom_mm=config.ui.panel_bottom_mm,
                   service=runtime.service,
                       service_preview=runtime.service_camera.preview
                       if runtime.service_camera else None)
    headset.listen(app.headset)          # plugged in: voice guidance on
    from kivy.core.window import Window

    Window.size = (config.ui.width, config.ui.height)     # whatever an earlier test left
    try:
        driver = UiDriver(app).start()
    except BaseException:
        speaker.close()
        headset.close()
        runtime.close()
        raise
    return Kiosk(driver, runtime, clock, socket, speaker, headset)
