"""``kiosk run``: the citizen application on the touchscreen (``--windowed`` to try it).

It loads the configuration and the enrollment bundle (``[upload] bundle``, else
``{data_dir}/enrollment``), opens the devices, and shows the welcome screen.
Without a usable bundle it still starts, and the welcome screen refuses
deposits (nothing could be sealed for the back office). Under systemd it says
READY=1 once the first screen is drawn and pings the watchdog from the
interface's own clock for as long as the UI thread turns, so a frozen
interface is restarted.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kiosk.config import Config, load_config
from kiosk.errors import KioskError
from kiosk.runtime import Runtime, SealingKeys, build_runtime, sealing_keys

log = logging.getLogger("kiosk.run")

#: Builds the runtime the UI runs on (the demo passes its own to keep hold of it).
Build = Callable[[Config, SealingKeys | None], Runtime]


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", parents=parents, help="run the citizen application",
                            description="The citizen application, full screen.")
    parser.add_argument("--windowed", action="store_true",
                        help="a window of [ui] width x height instead of the full screen")
    parser.add_argument("--size", metavar="WxH", help="window size (default: [ui] width x "
                        "height)")
    parser.add_argument("--bundle", type=Path, metavar="DIR",
                        help="enrollment bundle (default: [upload] bundle, else "
                             "{data_dir}/enrollment)")
    parser.set_defaults(func=run)


def window_size(config: Config, size: str | None) -> tuple[int, int]:
    if not size:
        return config.ui.width, config.ui.height
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise KioskError(f"--size {size!r} is not WIDTHxHEIGHT (e.g. 1280x800)") from None
    if not (320 <= width <= 7680 and 320 <= height <= 7680):
        raise KioskError(f"--size {size!r} is out of range (320 to 7680 pixels a side)")
    return width, height


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    width, height = window_size(config, args.size)
    keys: SealingKeys | None
    try:
        keys = sealing_keys(config, args.bundle)
    except KioskError as exc:
        log.error("%s; deposits are refused until the kiosk is enrolled", exc)
        keys = None
    return run_app(config, keys, width=width, height=height,
                   fullscreen=config.ui.fullscreen and not args.windowed)


def run_app(config: Config, keys: SealingKeys | None, *, width: int, height: int,
            fullscreen: bool, build: Build = build_runtime) -> int:
    """Prepare Kivy, build the runtime, run the app until it is closed; close everything."""
    from kiosk.ui import boot

    kivy_home = Path(os.environ.get("KIVY_HOME") or config.kiosk.data_dir / "kivy")
    boot.prepare(width=width, height=height, fullscreen=fullscreen, kivy_home=kivy_home,
                 console_log=log.isEnabledFor(logging.INFO))
    from kiosk.receipts import spoken_receipt
    from kiosk.speech import build_speech
    from kiosk.systemd import Notifier
    from kiosk.theme import theme_from_config
    from kiosk.ui.app import KioskApp
    from kiosk.ui.screens import UiContext

    runtime = build(config, keys)
    notifier = Notifier.from_environment()
    closing: list[Callable[[], None]] = []
    try:
        theme = replace(theme_from_config(config.ui.dpi, boot.reported_dpi(), config.ui.theme),
                        min_target_mm=config.ui.touch_target_mm,
                        viewing_distance_mm=config.ui.viewing_distance_mm)
        log.info("display: %dx%d, %.0f dpi, touch targets %.0f px (%.0f mm)", width, height,
                 theme.dpi, theme.target, config.ui.touch_target_mm)
        ctx = UiContext(runtime.catalog, runtime.session, runtime.journey,
                        runtime.controller.clock,
                        receipt_png=lambda: runtime.controller.current.screen_png,
                    receipt_speech=lambda: spoken_receipt(
                        runtime.controller.current.receipt),
                        languages=tuple(config.kiosk.languages))
        # The heartbeat runs a few times per allowed gap, so that jitter never spaces pings
        # further apart than the watchdog allows (kiosk/systemd.py).
        interval = notifier.ping_interval
        speaker, headset = build_speech(config.speech)
        closing.append(speaker.close)
        closing.append(headset.close)
        app = KioskApp(runtime.controller, ctx, theme=theme, agent_sound=config.ui.agent_sound,
                       speaker=speaker,
                       on_ready=lambda: notifier.ready("kiosk ready"),
                       heartbeat=notifier.watchdog,
                       heartbeat_every=min(1.0, interval / 4) if interval else 1.0,
                       device_check=runtime.check_devices,
                       panel_bottom_mm=config.ui.panel_bottom_mm,
                       service=runtime.service,
                       service_preview=runtime.service_camera.preview
                       if runtime.service_camera else None)
        headset.listen(app.headset)             # plugged in: voice guidance on
        started = time.monotonic()
        app.run()
        log.info("interface closed after %.0f s", time.monotonic() - started)
    finally:
        notifier.stopping()
        for close in closing:
            close()
        runtime.close()
    return 0
