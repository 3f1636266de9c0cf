"""Exceptions of the kiosk application.

::

    KioskError                   anything the kiosk application reports to a person
    ├── ConfigError              the configuration cannot be used (one line: file, key, accepted)
    └── CatalogError             a procedure catalog file cannot be used (file, key, problem)

Device trouble arrives as :class:`drivers.errors.DeviceError`; the application
catches it where it can act on it (show "out of order", offer a reprint).
"""

from __future__ import annotations


class KioskError(Exception):
    """Base class of the kiosk application's own errors."""


class ConfigError(KioskError):
    """A configuration file that cannot be used; the message is one line for a technician."""


class CatalogError(KioskError):
    """A procedure catalog file that cannot be used; the message names the file and the key."""
