"""The catalog of procedures (démarches) and the convocation QR code.

One TOML file per procedure in ``assets/catalog/`` (the file is named after
the procedure's code)::

    code = "caf-aide-logement"
    order = 10                                  # position in the list on screen
    processing_days = 30                        # processing time committed, in days
    [name]                                      # every text: one value per language
    fr = "Aide au logement (CAF)"
    en = "Housing benefit (CAF)"
    [summary]
    fr = "..."
    en = "..."
    [service]
    name = { fr = "...", en = "..." }
    contact = "3230 (service gratuit + prix d'un appel) · caf.fr"
    [[documents]]
    code = "identity"
    required = true
    icon = "identity"                           # assets/icons/identity.png
    max_pages = 2
    name = { fr = "...", en = "..." }
    hint = { fr = "...", en = "..." }

Loading checks every file and stops at the first problem with one line naming
the file and the key (``caf-aide-logement.toml: documents[2].icon: no icon
'bail' in assets/icons``); a kiosk never starts with half a catalog.

The convocation QR code (documented in ``docs/journey.md``) is a URL::

    https://HOST/convocation?v=1&p=PROCEDURE&r=REFERENCE[&d=DOC,DOC]

``v`` the format version (1), ``p`` the procedure code, ``r`` the case
reference the service gave, ``d`` the documents still expected (all of the
procedure's when absent). :meth:`Catalog.parse_convocation` accepts exactly
that and raises :class:`ConvocationError` for anything else, without ever
raising something else on garbage.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import assets
from kiosk.errors import CatalogError

CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")
CONVOCATION_VERSION = "1"
MAX_CODE_TEXT = 512


@dataclass(frozen=True)
class Texts:
    """One text in every language of the catalog."""

    values: Mapping[str, str]

    def get(self, language: str, fallback: str = "fr") -> str:
        return self.values.get(language) or self.values.get(fallback) or next(
            iter(self.values.values()), "")


@dataclass(frozen=True)
class DocumentSpec:
    code: str
    name: Texts
    hint: Texts
    required: bool
    icon: str
    max_pages: int


@dataclass(frozen=True)
class Service:
    name: Texts
    contact: str


@dataclass(frozen=True)
class Procedure:
    code: str
    name: Texts
    summary: Texts
    processing_days: int
    service: Service
    documents: tuple[DocumentSpec, ...]
    order: int = 0

    def document(self, code: str) -> DocumentSpec | None:
        return next((d for d in self.documents if d.code == code), None)


@dataclass(frozen=True)
class Convocation:
    procedure: str
    case_reference: str
    documents: tuple[str, ...] = ()      # empty: all the procedure's documents


class ConvocationError(ValueError):
    """The code read is not a convocation this kiosk can use.

    ``procedure_unknown`` is true when the code is a well-formed convocation
    for a procedure this kiosk's catalog does not hold (the screen says so,
    instead of "not a convocation").
    """

    def __init__(self, message: str, *, procedure_unknown: bool = False) -> None:
        super().__init__(message)
        self.procedure_unknown = procedure_unknown


class Catalog:
    """The procedures a kiosk offers, in display order."""

    def __init__(self, procedures: Sequence[Procedure]) -> None:
        self._procedures = {p.code: p for p in sorted(procedures, key=lambda p: (p.order, p.code))}

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._procedures.values())

    def __len__(self) -> int:
        return len(self._procedures)

    def get(self, code: str) -> Procedure | None:
        return self._procedures.get(code)

    def parse_convocation(self, text: str) -> Convocation:
        """The convocation a code holds; ConvocationError for anything else, never another error."""
        if not isinstance(text, str) or not text or len(text) > MAX_CODE_TEXT \
                or not text.isascii() or not text.isprintable():
            raise ConvocationError("not a convocation (empty, too long or not plain text)")
        try:
            parts = urlsplit(text.strip())
        except ValueError:
            raise ConvocationError("not a convocation (not a URL)") from None
        if parts.scheme.lower() != "https" or not parts.netloc \
                or not parts.path.rstrip("/").endswith("/convocation"):
            raise ConvocationError("not a convocation (not an https://…/convocation URL)")
        try:
            pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True,
                              max_num_fields=16)
        except ValueError:
            raise ConvocationError("not a convocation (garbled query)") from None
        query: dict[str, str] = {}
        for key, value in pairs:
            if key in query:
                raise ConvocationError(f"not a convocation ({key!r} given twice)")
            query[key] = value
        if query.get("v") != CONVOCATION_VERSION:
            raise ConvocationError(f"not a convocation (version {query.get('v')!r}, "
                                   f"expected {CONVOCATION_VERSION})")
        code = query.get("p", "")
        reference = query.get("r", "")
        if not CODE.fullmatch(code):
            raise ConvocationError("not a convocation (bad procedure code)")
        if not REFERENCE.fullmatch(reference):
            raise ConvocationError("not a convocation (bad case reference)")
        procedure = self.get(code)
        if procedure is None:
            raise ConvocationError(f"convocation for {code!r}, not in this kiosk's catalog",
                                   procedure_unknown=True)
        documents: tuple[str, ...] = ()
        if query.get("d"):
            documents = tuple(query["d"].split(","))
            unknown = [d for d in documents if procedure.document(d) is None]
            if unknown or len(set(documents)) != len(documents):
                raise ConvocationError(f"not a convocation (documents {unknown or documents} "
                                       f"do not match {code!r})")
        return Convocation(procedure=code, case_reference=reference, documents=documents)


def convocation_url(host: str, procedure: str, reference: str,
                    documents: Sequence[str] = ()) -> str:
    """The text of a convocation QR code (what a service prints on its letters)."""
    url = f"https://{host}/convocation?v={CONVOCATION_VERSION}&p={procedure}&r={reference}"
    if documents:
        url += "&d=" + ",".join(documents)
    return url


# ----------------------------------------------------------------------------- loading


class _Reader:
    """Typed access to one parsed file, raising CatalogError naming the file and key."""

    def __init__(self, where: str, languages: Sequence[str], icons: Path) -> None:
        self.where = where
        self.languages = languages
        self.icons = icons

    def fail(self, key: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.where}: {key}: {problem}")

    def get(self, table: Mapping[str, Any], key: str, prefix: str, kind: type,
            default: Any = ...) -> Any:
        name = f"{prefix}{key}"
        if key not in table:
            if default is ...:
                raise self.fail(name, "missing")
            return default
        value = table[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(name, f"must be an integer, not {value!r}")
        if not isinstance(value, kind):
            raise self.fail(name, f"must be {_KIND_NAMES.get(kind, kind.__name__)}, "
                                  f"not {value!r}")
        return value

    def texts(self, table: Mapping[str, Any], key: str, prefix: str) -> Texts:
        value = self.get(table, key, prefix, dict)
        name = f"{prefix}{key}"
        missing = [lang for lang in self.languages if not value.get(lang)]
        if missing:
            raise self.fail(name, f"no text for language(s) {', '.join(missing)}")
        for lang, text in value.items():
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{name}.{lang}", "must be a non-empty string")
        return Texts(dict(value))

    def unknown(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(f"{prefix}{extra[0]}",
                            f"unknown key (valid: {', '.join(sorted(allowed))})")


_KIND_NAMES = {str: "a string", bool: "true or false", dict: "a table", list: "a list"}
_PROCEDURE_KEYS = {"code", "order", "processing_days", "name", "summary", "service", "documents"}
_DOCUMENT_KEYS = {"code", "required", "icon", "max_pages", "name", "hint"}


def parse_procedure(text: str, where: str, languages: Sequence[str] = ("fr", "en"),
                    icons: Path | None = None) -> Procedure:
    """One procedure from the text of its TOML file (CatalogError names file and key)."""
    r = _Reader(where, languages, icons or assets.path("icons"))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where}: not valid TOML ({exc})") from None
    r.unknown(data, _PROCEDURE_KEYS, "")
    code = r.get(data, "code", "", str)
    if not CODE.fullmatch(code):
        raise r.fail("code", f"{code!r} is not 1-40 lowercase letters, digits or '-'")
    days = r.get(data, "processing_days", "", int)
    if not 1 <= days <= 365:
        raise r.fail("processing_days", f"{days} is not from 1 to 365")
    service_table = r.get(data, "service", "", dict)
    r.unknown(service_table, {"name", "contact"}, "service.")
    service = Service(name=r.texts(service_table, "name", "service."),
                      contact=r.get(service_table, "contact", "service.", str))
    raw_docs = r.get(data, "documents", "", list)
    if not raw_docs:
        raise r.fail("documents", "a procedure needs at least one document")
    documents: list[DocumentSpec] = []
    for index, doc in enumerate(raw_docs):
        prefix = f"documents[{index}]."
        if not isinstance(doc, dict):
            raise r.fail(f"documents[{index}]", "must be a table ([[documents]])")
        r.unknown(doc, _DOCUMENT_KEYS, prefix)
        doc_code = r.get(doc, "code", prefix, str)
        if not CODE.fullmatch(doc_code):
            raise r.fail(f"{prefix}code", f"{doc_code!r} is not 1-40 lowercase letters, "
                                          "digits or '-'")
        if any(d.code == doc_code for d in documents):
            raise r.fail(f"{prefix}code", f"{doc_code!r} appears twice")
        icon = r.get(doc, "icon", prefix, str)
        if not (r.icons / f"{icon}.png").is_file():
            raise r.fail(f"{prefix}icon", f"no icon {icon!r} in {r.icons}")
        max_pages = r.get(doc, "max_pages", prefix, int, 10)
        if not 1 <= max_pages <= 50:
            raise r.fail(f"{prefix}max_pages", f"{max_pages} is not from 1 to 50")
        documents.append(DocumentSpec(
            code=doc_code, name=r.texts(doc, "name", prefix), hint=r.texts(doc, "hint", prefix),
            required=r.get(doc, "required", prefix, bool), icon=icon, max_pages=max_pages))
    if not any(d.required for d in documents):
        raise r.fail("documents", "at least one document must be required")
    return Procedure(code=code, name=r.texts(data, "name", ""),
                     summary=r.texts(data, "summary", ""), processing_days=days,
                     service=service, documents=tuple(documents),
                     order=r.get(data, "order", "", int, 0))


def load_catalog(folder: Path | None = None, languages: Sequence[str] = ("fr", "en"),
                 icons: Path | None = None) -> Catalog:
    """Every ``*.toml`` of ``folder`` (default ``assets/catalog``), checked.

    Raises CatalogError naming the file and key of the first problem, or when
    the folder holds no procedure at all.
    """
    folder = folder or assets.path("catalog")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise CatalogError(f"{folder}: no procedure (*.toml) in the catalog folder")
    procedures: list[Procedure] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{file}: cannot be read ({exc})") from None
        procedure = parse_procedure(text, str(file), languages, icons)
        if procedure.code != file.stem:
            raise CatalogError(f"{file}: code: {procedure.code!r} differs from the file name "
                               f"({file.stem!r})")
        procedures.append(procedure)
    return Catalog(procedures)
