"""The errors of reading a 2D-Doc: one exception, its problem an enum.

::

    ValueError
     └── TwoDDocError          .problem: ParseProblem
"""

from __future__ import annotations

from enum import StrEnum


class ParseProblem(StrEnum):
    """Why a code is not a readable 2D-Doc (logged, and in ``kiosk codes``' warnings)."""

    NOT_2DDOC = "not_2ddoc"              # does not start with the DC marker
    VERSION = "version"                  # a header version other than 01-04
    HEADER = "header"                    # header too short or a field of the wrong shape
    FIELD = "field"                      # a data identifier unknown, or a value that breaks
    SIGNATURE = "signature"              # no US, or a signature that is not base32 / bytes
    UNSUPPORTED = "unsupported"          # a form this parser knows of but does not read


class TwoDDocError(ValueError):
    """A code that cannot be read as a 2D-Doc; ``problem`` says which part broke."""

    def __init__(self, problem: ParseProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
