"""One thin Screen subclass and one .kv file per journey step (``Step``)."""

from __future__ import annotations

from kiosk.ui.screens.base import KioskScreen, Primary, UiContext
from kiosk.ui.screens.capture import CaptureScreen
from kiosk.ui.screens.checklist import ChecklistScreen
from kiosk.ui.screens.confirm import ConfirmScreen
from kiosk.ui.screens.contact import ContactScreen
from kiosk.ui.screens.lookup import LookupScreen
from kiosk.ui.screens.procedure import ProcedureScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.review import ReviewScreen
from kiosk.ui.screens.satisfaction import SatisfactionScreen
from kiosk.ui.screens.sealing import SealingScreen
from kiosk.ui.screens.welcome import WelcomeScreen
from kiosk.ui.screens.wipe import WipeScreen

SCREENS: tuple[type[KioskScreen], ...] = (
    WelcomeScreen, LookupScreen, ProcedureScreen, ChecklistScreen, CaptureScreen, ReviewScreen,
    ContactScreen, ConfirmScreen, SealingScreen, ReceiptScreen, SatisfactionScreen, WipeScreen,
)

__all__ = ["SCREENS", "KioskScreen", "Primary", "UiContext"]
