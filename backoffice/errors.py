"""Exceptions of the back office.

::

    BackofficeError              anything the back office reports to a person
    └── SetupError               data folder missing, not initialised, or unusable
"""

from __future__ import annotations


class BackofficeError(Exception):
    """Base class of the back office's own errors."""


class SetupError(BackofficeError):
    """The data folder is missing, not initialised, or cannot be used."""
