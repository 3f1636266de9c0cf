"""Reading a 2D-Doc's bytes: header, message fields, signature, annex.

The layout (ANTS, "Spécifications techniques des codes à barres 2D-Doc")::

    header | message | US signature | [RS annex]

- **Header**, text: ``DC`` + version (2 digits) + authority (4, ``FR00``) +
  certificate id (4) + issue date (4) + signing date (4) + document type (2);
  version 03 adds the perimeter (2), version 04 the perimeter and the issuing
  country (2). Lengths 22 (01, 02), 24 (03), 26 (04). Dates are 4 hex digits
  counting days since 2000-01-01, ``FFFF`` for none.
- **Message**: fields one after the other, each a 2-character data identifier
  then its value. A fixed-length field (minimum = maximum in the ANTS table)
  is exactly that long, with nothing after it; any other ends with GS (0x1D),
  or at its maximum length, or where the message ends. An identifier the
  tables do not hold cannot be skipped (its length is unknown): a parse error.
- **Signature**, after US (0x1F): in C40 mode (the DataMatrix text the codes
  carry today) base32 without padding; in binary mode the raw bytes. Either
  way ``r || s`` of ECDSA, 64, 96 or 132 bytes (P-256, P-384, P-521). It signs
  every byte before the US: :attr:`TwoDDoc.signed_bytes`.
- **Annex**, after RS (0x1E) following the signature: more fields, read like
  the message's but *not signed*: kept apart (:attr:`TwoDDoc.annex`), never
  shown as verified.

Any input, however broken, gives a :class:`TwoDDoc` or a
:class:`~twoddoc.errors.TwoDDocError` naming what broke, never another
exception: the parser reads what a stranger printed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from twoddoc import spec
from twoddoc.errors import ParseProblem, TwoDDocError

GS, RS, US = "\x1d", "\x1e", "\x1f"
MARKER = "DC"
#: Header length per version.
HEADER_LENGTHS = {1: 22, 2: 22, 3: 24, 4: 26}
#: ECDSA signature length (r || s) -> curve size in bits, the one hash each goes with.
SIGNATURE_LENGTHS = {64: 256, 96: 384, 132: 521}
#: The first byte of a header in the binary form of the later specification.
BINARY_MARKER = 0xDC
_BASE32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_UPPER_DIGITS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Mode(StrEnum):
    """How the signature is carried (the rest of the code is text in both)."""

    C40 = "c40"          # base32 text after US
    BINARY = "binary"    # raw bytes after US


@dataclass(frozen=True)
class Header:
    version: int
    authority: str                 # certification authority id, "FR00"
    certificate: str               # certificate id, "0001"
    issued: date | None            # issue date of the document (None: FFFF)
    signed: date | None            # signing date (None: FFFF)
    document_type: str             # "01", "A3"...
    perimeter: str | None = None   # version 03 and later ("01": ANTS)
    country: str | None = None     # version 04: issuing country ("FR")

    @property
    def length(self) -> int:
        return HEADER_LENGTHS[self.version]

    @property
    def document_type_name(self) -> str | None:
        known = spec.document_types().get(self.document_type)
        return known.issuer if known else None


@dataclass(frozen=True)
class Field:
    id: str                        # the data identifier, "10"
    text: str                      # the value as the code holds it
    name: str                      # the ANTS table's description

    @property
    def value(self) -> date | datetime | str | None:
        """Decoded where the table says how (dates), else the text: :mod:`twoddoc.spec`."""
        identifier = spec.identifiers().get(self.id)
        return self.text if identifier is None else spec.decode_value(identifier, self.text)

    def display(self) -> str:
        """The value as a person reads it: dates as DD/MM/YYYY, the rest as text."""
        value = self.value
        if isinstance(value, datetime):
            return value.strftime("%d/%m/%Y %H:%M")
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y")
        return "" if value is None else value


@dataclass(frozen=True)
class TwoDDoc:
    header: Header
    fields: tuple[Field, ...]
    signature: bytes               # r || s
    signed_bytes: bytes            # what the signature covers: header and message
    mode: Mode
    annex: tuple[Field, ...] = ()  # after RS: not signed

    def field_texts(self) -> dict[str, str]:
        """Data identifier -> text, in the order of the code (``kiosk codes --2ddoc``)."""
        return {f.id: f.text for f in self.fields}


def looks_like_2ddoc(data: bytes | str) -> bool:
    """Whether a decoded code means to be a 2D-Doc (so a parse error is worth reporting)."""
    raw = data.encode("latin-1", "replace") if isinstance(data, str) else data
    return (raw[:2] == b"DC" and raw[2:4].isdigit()) or raw[:1] == bytes([BINARY_MARKER])


def parse(data: bytes | str) -> TwoDDoc:
    """The 2D-Doc ``data`` holds (a code reader's raw bytes, or its text).

    Raises :class:`TwoDDocError` (with its :class:`ParseProblem`) for anything
    that is not a readable 2D-Doc.
    """
    raw = _as_bytes(data)
    if raw[:1] == bytes([BINARY_MARKER]):
        raise TwoDDocError(ParseProblem.UNSUPPORTED,
                           "a 2D-Doc whose header is binary (first byte 0xDC): this reader "
                           "reads the text header (DC01 to DC04) only")
    us = raw.find(US.encode())
    head = raw if us < 0 else raw[:us]
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError as exc:
        raise TwoDDocError(ParseProblem.HEADER if exc.start < 26 else ParseProblem.FIELD,
                           f"byte 0x{head[exc.start]:02X} at {exc.start} is not text "
                           "(a 2D-Doc's header and message are ASCII)") from None
    header = _header(text)
    if us < 0:
        raise TwoDDocError(ParseProblem.SIGNATURE, "no US (0x1F) before a signature")
    fields = _fields(text[header.length:], "message")
    signature, mode, annex_raw = _signature(raw[us + 1:])
    annex: tuple[Field, ...] = ()
    if annex_raw is not None:
        try:
            annex = _fields(annex_raw.decode("ascii"), "annex")
        except UnicodeDecodeError:
            raise TwoDDocError(ParseProblem.FIELD, "the annex (after RS) is not text") from None
    return TwoDDoc(header, fields, signature, raw[:us], mode, annex)


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if not isinstance(data, str):
        raise TwoDDocError(ParseProblem.NOT_2DDOC, f"not text or bytes: {type(data).__name__}")
    try:
        return data.encode("latin-1")
    except UnicodeEncodeError:
        raise TwoDDocError(ParseProblem.FIELD, "characters outside Latin-1 (a 2D-Doc is ASCII"
                           " text and a signature's bytes)") from None


def _header(text: str) -> Header:
    if not text.startswith(MARKER):
        raise TwoDDocError(ParseProblem.NOT_2DDOC, f"does not start with {MARKER}: "
                           f"{text[:8]!r}")
    digits = text[2:4]
    version = int(digits) if digits.isdigit() else 0
    if version not in HEADER_LENGTHS:
        raise TwoDDocError(ParseProblem.VERSION, f"header version {digits!r} (known: 01 to 04)")
    length = HEADER_LENGTHS[version]
    if len(text) < length:
        raise TwoDDocError(ParseProblem.HEADER, f"a version {version:02d} header has "
                           f"{length} characters, this code {len(text)} before its signature")
    authority, certificate = text[4:8], text[8:12]
    for name, value in (("authority", authority), ("certificate", certificate)):
        if not set(value) <= _UPPER_DIGITS:
            raise TwoDDocError(ParseProblem.HEADER, f"{name} id {value!r} is not 4 capitals "
                               "or digits")
    try:
        issued, signed = spec.days_date(text[12:16]), spec.days_date(text[16:20])
    except ValueError as exc:
        raise TwoDDocError(ParseProblem.HEADER, f"header date: {exc}") from None
    except OverflowError:
        raise TwoDDocError(ParseProblem.HEADER, "header date beyond the calendar") from None
    document_type = text[20:22]
    if not set(document_type) <= _UPPER_DIGITS:
        raise TwoDDocError(ParseProblem.HEADER, f"document type {document_type!r}")
    perimeter = text[22:24] if version >= 3 else None
    country = text[24:26] if version >= 4 else None
    if perimeter is not None and not set(perimeter) <= _UPPER_DIGITS:
        raise TwoDDocError(ParseProblem.HEADER, f"perimeter {perimeter!r}")
    if country is not None and not (country.isalpha() and country.isupper()):
        raise TwoDDocError(ParseProblem.HEADER, f"country {country!r} is not 2 capitals")
    return Header(version, authority, certificate, issued, signed, document_type,
                  perimeter, country)


def _fields(text: str, part: str) -> tuple[Field, ...]:
    known = spec.identifiers()
    fields: list[Field] = []
    pos = 0
    while pos < len(text):
        if text[pos] == GS:                 # a stray separator (some issuers double them)
            pos += 1
            continue
        key = text[pos:pos + 2]
        identifier = known.get(key)
        if identifier is None:
            raise TwoDDocError(ParseProblem.FIELD, f"{part}: data identifier {key!r} at "
                               f"{pos} is not in the ANTS tables")
        start = pos + 2
        if identifier.fixed:
            assert identifier.max is not None
            end = start + identifier.max
            if end > len(text):
                raise TwoDDocError(ParseProblem.FIELD, f"{part}: field {key} has "
                                   f"{identifier.max} characters, the code {len(text) - start}")
            value, pos = text[start:end], end
        else:
            gs = text.find(GS, start)
            stop = len(text) if gs < 0 else gs
            if identifier.max is not None and stop - start > identifier.max:
                value, pos = text[start:start + identifier.max], start + identifier.max
            else:
                value, pos = text[start:stop], stop + (1 if gs >= 0 else 0)
        if GS in value or RS in value or US in value:
            raise TwoDDocError(ParseProblem.FIELD, f"{part}: field {key} holds a separator")
        fields.append(Field(key, value, identifier.name))
    return tuple(fields)


def _signature(after_us: bytes) -> tuple[bytes, Mode, bytes | None]:
    """(r || s, mode, the annex's bytes or None) from what follows the US."""
    rs = RS.encode()
    # In C40 mode the signature is base32 text: its RS is the first; in binary mode the
    # signature's own bytes may hold 0x1E, so its length decides where it ends.
    text_part, _, annex = after_us.partition(rs)
    candidate = text_part.strip(b"\r\n ")
    if candidate and set(candidate.decode("latin-1")) <= _BASE32:
        try:
            padded = candidate + b"=" * (-len(candidate) % 8)
            signature = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            signature = b""
        if len(signature) in SIGNATURE_LENGTHS:
            return signature, Mode.C40, annex if rs in after_us else None
        raise TwoDDocError(ParseProblem.SIGNATURE, f"a base32 signature of {len(signature)} "
                           f"bytes (expected {', '.join(map(str, SIGNATURE_LENGTHS))})")
    for length in SIGNATURE_LENGTHS:
        rest = after_us[length:]
        if len(after_us) == length or (rest[:1] == rs and len(after_us) > length):
            return after_us[:length], Mode.BINARY, rest[1:] if rest else None
    raise TwoDDocError(ParseProblem.SIGNATURE, f"{len(after_us)} bytes after US: neither a "
                       "base32 signature nor a binary one of 64, 96 or 132 bytes")
