"""2D-Doc, the signed DataMatrix of French documents (ANTS): parse it and check its signature.

A pure package: standard library and ``cryptography`` only (no Kivy, OpenCV or
zxing-cpp), so the kiosk, the back office, the command line and the tests read
a code the same way, and it can be checked on any machine. It finds no
barcode itself: :mod:`drivers.codes` does (zxing-cpp), and hands over the raw
bytes.

- :mod:`twoddoc.parse` reads the header (versions 01 to 04), the message (the
  fields of the ANTS tables, fixed or GS-ended), the signature (base32 after
  US in C40 mode, raw bytes in binary mode) and the annex (after RS).
- :mod:`twoddoc.trustlist` reads the ANTS trust list (ETSI TS 119 612 XML):
  the authorities FR00, FR01... and their certificates.
- :mod:`twoddoc.verify` checks the ECDSA signature against that list:
  ``VALID``, ``INVALID`` (the code was changed, or not signed by the key its
  header names) or ``NOT_VERIFIABLE`` (an authority or certificate the list
  does not hold, or a certificate not valid on the signing date: never called
  forged).

This package and ``deposit/`` are the only ones with ``cryptography.hazmat``
(tests/test_layering.py allows it): the signature check is ECDSA over raw
``r || s``, which only the hazmat layer offers; every other use of
cryptography stays in ``deposit/``.
"""

from __future__ import annotations

from twoddoc.errors import ParseProblem, TwoDDocError
from twoddoc.parse import Field, Header, Mode, TwoDDoc, looks_like_2ddoc, parse
from twoddoc.trustlist import TrustedCertificate, TrustList, TrustListError
from twoddoc.verify import Outcome, Reason, Verification, verify

__all__ = [
    "Field", "Header", "Mode", "Outcome", "ParseProblem", "Reason", "TrustList",
    "TrustListError", "TrustedCertificate", "TwoDDoc", "TwoDDocError", "Verification",
    "looks_like_2ddoc", "parse", "verify",
]
