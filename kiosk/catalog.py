"""The catalog of procedures (démarches) and the convocation QR code.

One TOML file per procedure in ``assets/catalog/`` (the file is named after
the procedure's code)::

    code = "caf-aide-logement"
    order = 10                                  # position in the list on screen
    processing_days = 30                        # processing time committed, in days
    icon = "housing-aid"                        # assets/icons/housing-aid.png
    [reviewed]                                  # who checked which language (see below)
    fr = true
    en = true
    es = false
    [name]                                      # every text: one value per language
    fr = "Aide au logement de la Caisse d'allocations familiales (CAF)"
    en = "Housing benefit from the family allowance fund (CAF)"
    es = "..."
    ar = "..."
    fr-falc = "..."                             # easy-read French (FALC)
    [summary]
    fr = "..."
    [service]
    name = { fr = "...", en = "..." }
    contact = "3230 (service gratuit + prix d'un appel) · caf.fr"  # the line screens show
    postal_address = "[à compléter : adresse postale de la CAF du département]"
    email = "[à compléter : adresse électronique de la CAF du département]"
    phone = "3230 (service gratuit + prix d'un appel)"
    [legal]                                     # what the accusé de réception states
    silence = "rejection"                       # acceptance | rejection | none
    decision_delay = "2 months"                 # "N days" or "N months"
    appeal_delay = "2 months"                   # time limit of the first appeal
    appeal = { fr = "...", en = "..." }         # the means of appeal, before whom
    [[documents]]
    code = "identity"
    required = true
    icon = "identity"                           # assets/icons/identity.png
    max_pages = 2
    name = { fr = "...", en = "..." }
    hint = { fr = "...", en = "..." }

Languages. A text is a table of language codes (``fr``, ``es``, ``fr-falc``:
two or three lowercase letters, optionally ``-`` and a variant). French is the
base language: every text must have it, and a text without the language a
citizen chose shows its French. So a kiosk may offer any languages
(``load_catalog(languages=...)`` accepts any list, even a language no file has
a word of): a missing translation is logged and falls back, it never stops the
kiosk. :meth:`Catalog.missing` lists what falls back, for a test or a report.

Review. ``[reviewed]`` says, per file and per language, whether someone who
reads that language natively (for ``fr-falc``: readers the text is written
for) has checked the file's texts. It is per file, not per text, because a
reviewer reads a procedure as a whole, and a file is what a pull request
changes. A language with texts but no ``[reviewed]`` entry counts as
unreviewed. The kiosk shows nothing of it to the citizen;
:meth:`Catalog.unreviewed` lists what is left (``docs/languages.md``).

Legal facts (``[legal]``, the service's channels) are what the accusé de
réception states (CRPA R112-5; values in kiosk/legalfacts.py): what the
service's silence for ``decision_delay`` means, the means and time limit of
appeal, the service's postal address, e-mail and phone. ``silence = "none"``:
not a request that silence decides, or texts that do not say (each file's
comments give the rule and its source). ``decision_delay`` is required unless
silence is "none"; ``appeal`` and ``appeal_delay`` when it means rejection.
Local contacts are placeholders, ``[à compléter : …]``, listed by
:meth:`Catalog.placeholders` and in a warning (``kiosk config check``).

Loading checks every file and stops at the first problem with one line naming
the file and the key (``caf-aide-logement.toml: documents[2].icon: no icon
'bail' in assets/icons``); a kiosk never starts with half a catalog. Problems
are real mistakes (bad code, bad language code, missing French, unknown
icon, unknown key), never a translation not written yet.

The convocation QR code (documented in ``docs/journey.md``) is a URL::

    https://HOST/convocation?v=1&p=PROCEDURE&r=REFERENCE[&d=DOC,DOC]

``v`` the format version (1), ``p`` the procedure code, ``r`` the case
reference the service gave, ``d`` the documents still expected (all of the
procedure's when absent). :meth:`Catalog.parse_convocation` accepts exactly
that and raises :class:`ConvocationError` for anything else, without ever
raising something else on garbage.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import assets
from deposit.legal import Delay, Silence
from kiosk.errors import CatalogError
from kiosk.legalfacts import Legal, contact_problem, is_placeholder

log = logging.getLogger(__name__)

CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
#: A language code of the catalog: ``fr``, ``es``, ``ar``, ``fr-falc``.
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
#: Every text has this language; the others fall back to it.
BASE_LANGUAGE = "fr"
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")
CONVOCATION_VERSION = "1"
MAX_CODE_TEXT = 512


@dataclass(frozen=True)
class Texts:
    """One text in every language of the catalog."""

    values: Mapping[str, str]

    def get(self, language: str, fallback: str = BASE_LANGUAGE) -> str:
        """The text in ``language``; else in ``fallback`` (French); else the first one."""
        return self.values.get(language) or self.values.get(fallback) or next(
            iter(self.values.values()), "")

    def has(self, language: str) -> bool:
        """True when the text was written in ``language`` (no fallback)."""
        return bool(self.values.get(language))


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
    contact: str                        # one line for screens and the receipt
    postal_address: str                 # each may be a PLACEHOLDER, to set per deployment
    email: str
    phone: str

    def placeholders(self) -> list[str]:
        """Keys (``service.email``) whose value is still a placeholder."""
        return [f"service.{key}" for key in ("postal_address", "email", "phone")
                if is_placeholder(getattr(self, key))]


@dataclass(frozen=True)
class Procedure:
    code: str
    name: Texts
    summary: Texts
    processing_days: int
    service: Service
    documents: tuple[DocumentSpec, ...]
    icon: str
    legal: Legal
    order: int = 0
    #: Languages of this file whose texts a native reader has checked (``[reviewed]``).
    reviewed: frozenset[str] = frozenset()

    def document(self, code: str) -> DocumentSpec | None:
        return next((d for d in self.documents if d.code == code), None)

    def texts(self) -> Iterator[tuple[str, Texts]]:
        """(key, text) for every text of the procedure, keys named as in its file."""
        yield "name", self.name
        yield "summary", self.summary
        yield "service.name", self.service.name
        if self.legal.appeal is not None:
            yield "legal.appeal", self.legal.appeal
        for index, doc in enumerate(self.documents):
            yield f"documents[{index}].name", doc.name
            yield f"documents[{index}].hint", doc.hint

    def languages(self) -> set[str]:
        """Every language at least one text of the procedure is written in."""
        return {lang for _key, text in self.texts() for lang in text.values}


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

    def missing(self, language: str) -> list[str]:
        """``procedure: key`` of every text not written in ``language`` (shown in French)."""
        return [f"{p.code}: {key}" for p in self for key, text in p.texts()
                if not text.has(language)]

    def placeholders(self) -> list[str]:
        """``procedure: key`` of every service channel still to set per deployment."""
        return [f"{p.code}: {key}" for p in self for key in p.service.placeholders()]

    def unreviewed(self, language: str) -> list[str]:
        """Codes of the procedures with texts in ``language`` that nobody has reviewed yet."""
        return [p.code for p in self if language in p.languages() and language not in p.reviewed]

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

    def __init__(self, where: str, icons: Path) -> None:
        self.where = where
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
        for lang, text in value.items():
            self.language(lang, name)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{name}.{lang}", "must be a non-empty string")
        if BASE_LANGUAGE not in value:
            raise self.fail(name, f"no text in French ({BASE_LANGUAGE}), which every text "
                                  "needs: the other languages fall back to it")
        return Texts(dict(value))

    def language(self, lang: str, table: str) -> None:
        if not LANGUAGE.fullmatch(lang):
            raise self.fail(f"{table}.{lang}", f"{lang!r} is not a language code (2-3 lowercase "
                                               "letters, optionally '-' and a variant: "
                                               "fr, es, fr-falc)")

    def icon(self, table: Mapping[str, Any], prefix: str) -> str:
        icon: str = self.get(table, "icon", prefix, str)
        if not (self.icons / f"{icon}.png").is_file():
            raise self.fail(f"{prefix}icon", f"no icon {icon!r} in {self.icons}")
        return icon

    def reviewed(self, data: Mapping[str, Any]) -> frozenset[str]:
        table = self.get(data, "reviewed", "", dict, {})
        for lang, value in table.items():
            self.language(lang, "reviewed")
            if not isinstance(value, bool):
                raise self.fail(f"reviewed.{lang}", f"must be true or false, not {value!r}")
        return frozenset(lang for lang, value in table.items() if value)

    def unknown(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(f"{prefix}{extra[0]}",
                            f"unknown key (valid: {', '.join(sorted(allowed))})")


_KIND_NAMES = {str: "a string", bool: "true or false", dict: "a table", list: "a list"}
_PROCEDURE_KEYS = {"code", "order", "processing_days", "icon", "reviewed", "name", "summary",
                   "service", "legal", "documents"}
_SERVICE_KEYS = {"name", "contact", "postal_address", "email", "phone"}
_LEGAL_KEYS = {"silence", "decision_delay", "appeal", "appeal_delay"}
_DOCUMENT_KEYS = {"code", "required", "icon", "max_pages", "name", "hint"}


def parse_procedure(text: str, where: str, icons: Path | None = None) -> Procedure:
    """One procedure from the text of its TOML file (CatalogError names file and key)."""
    r = _Reader(where, icons or assets.path("icons"))
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
    icon = r.icon(data, "")
    reviewed = r.reviewed(data)
    service = _service(r, r.get(data, "service", "", dict))
    legal = _legal(r, r.get(data, "legal", "", dict))
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
        doc_icon = r.icon(doc, prefix)
        max_pages = r.get(doc, "max_pages", prefix, int, 10)
        if not 1 <= max_pages <= 50:
            raise r.fail(f"{prefix}max_pages", f"{max_pages} is not from 1 to 50")
        documents.append(DocumentSpec(
            code=doc_code, name=r.texts(doc, "name", prefix), hint=r.texts(doc, "hint", prefix),
            required=r.get(doc, "required", prefix, bool), icon=doc_icon,
            max_pages=max_pages))
    if not any(d.required for d in documents):
        raise r.fail("documents", "at least one document must be required")
    return Procedure(code=code, name=r.texts(data, "name", ""),
                     summary=r.texts(data, "summary", ""), processing_days=days,
                     service=service, documents=tuple(documents), icon=icon, legal=legal,
                     order=r.get(data, "order", "", int, 0), reviewed=reviewed)


def _service(r: _Reader, table: Mapping[str, Any]) -> Service:
    r.unknown(table, _SERVICE_KEYS, "service.")
    channels: dict[str, str] = {}
    for key in ("postal_address", "email", "phone"):
        value: str = r.get(table, key, "service.", str)
        problem = contact_problem(key, value)
        if problem:
            raise r.fail(f"service.{key}", problem)
        channels[key] = value.strip()
    return Service(name=r.texts(table, "name", "service."),
                   contact=r.get(table, "contact", "service.", str), **channels)


def _delay(r: _Reader, table: Mapping[str, Any], key: str) -> Delay | None:
    text = r.get(table, key, "legal.", str, None)
    if text is None:
        return None
    try:
        return Delay.parse(text)
    except ValueError as exc:
        raise r.fail(f"legal.{key}", str(exc)) from None


def _legal(r: _Reader, table: Mapping[str, Any]) -> Legal:
    r.unknown(table, _LEGAL_KEYS, "legal.")
    value = r.get(table, "silence", "legal.", str)
    try:
        silence = Silence(value)
    except ValueError:
        raise r.fail("legal.silence", f"{value!r} is not one of "
                                      f"{', '.join(s.value for s in Silence)}") from None
    decision_delay = _delay(r, table, "decision_delay")
    appeal_delay = _delay(r, table, "appeal_delay")
    appeal = r.texts(table, "appeal", "legal.") if "appeal" in table else None
    if decision_delay is None and silence is not Silence.NONE:
        raise r.fail("legal.decision_delay", f"missing: silence means {silence} only after "
                                             "a delay")
    if silence is Silence.REJECTION:
        for key, given in (("appeal", appeal), ("appeal_delay", appeal_delay)):
            if given is None:
                raise r.fail(f"legal.{key}", "missing: an implicit rejection must state the "
                                             "means and time limit of appeal (CRPA R112-5)")
    if appeal_delay is not None and appeal is None:
        raise r.fail("legal.appeal", "missing: appeal_delay is given without the means "
                                     "of appeal")
    return Legal(silence=silence, decision_delay=decision_delay, appeal=appeal,
                 appeal_delay=appeal_delay)


def load_catalog(folder: Path | None = None, languages: Sequence[str] = ("fr", "en"),
                 icons: Path | None = None) -> Catalog:
    """Every ``*.toml`` of ``folder`` (default ``assets/catalog``), checked.

    ``languages`` are the languages the kiosk offers, any of them: a text
    without one shows its French, and one warning per language says how many
    texts do. Raises CatalogError naming the file and key of the first
    problem, or when the folder holds no procedure at all.
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
        procedure = parse_procedure(text, str(file), icons)
        if procedure.code != file.stem:
            raise CatalogError(f"{file}: code: {procedure.code!r} differs from the file name "
                               f"({file.stem!r})")
        procedures.append(procedure)
    catalog = Catalog(procedures)
    for language in dict.fromkeys(languages):
        missing = catalog.missing(language)
        if missing:
            log.warning("catalog: %d text(s) not written in %r show their French, e.g. %s",
                        len(missing), language, missing[0])
    placeholders = catalog.placeholders()
    if placeholders:
        log.warning("catalog: %d service contact(s) still '[à compléter : …]', to set for "
                    "this deployment: %s", len(placeholders), ", ".join(placeholders))
    return catalog
