"""The accessibility tests drive the real interface: the UI tests' kiosk fixtures."""

from tests.ui.conftest import display, kiosk_data, make_kiosk  # noqa: F401 - fixtures
