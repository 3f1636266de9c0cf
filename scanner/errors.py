"""Errors of the page pipeline.

    ScannerError                 anything the pipeline refuses to do
     ├── BadImageError           not an image it can work on (empty, wrong shape or type)
     └── EncodeError             a page could not be compressed (codec missing or failing)

A frame in which no page is found is not an error: ``detect`` returns None and
``assess`` says ``no_page``.
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base of the scanner's errors."""


class BadImageError(ScannerError, ValueError):
    """The array is not an image the pipeline can use."""


class EncodeError(ScannerError):
    """A page could not be encoded."""
