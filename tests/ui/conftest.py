"""The UI tests' fixtures live in :mod:`tests.ui_fixtures`, shared with tests/accessibility (a
conftest imported from two folders would run its set-up twice)."""

from tests.ui_fixtures import display, kiosk_data, make_kiosk  # noqa: F401 - fixtures
