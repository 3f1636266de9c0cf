"""The accessibility tests drive the real interface: the UI tests' fixtures."""

from tests.ui_fixtures import display, kiosk_data, make_kiosk  # noqa: F401 - fixtures
