"""The back office: ingest service, kiosk enrollment, ciphertext storage, staff tools, status page.

It imports :mod:`deposit` only, never ``kiosk``, ``drivers`` or ``scanner``.
"""

__version__ = "0.1.0"
