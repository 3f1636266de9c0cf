"""The 2D-Doc of a dossier's pages, as the staff workspace shows them beside each page.

The kiosk read each captured page's 2D-Doc and sealed what it found into
``deposit.json`` (kiosk/twoddocs.py): per document, a ``twoddoc`` list of
records, each with the page of the document it was on (1-based) and the
verdict on its signature. The workspace numbers pages across the dossier
(dossier.pdf after its cover), so a document's page *n* is the dossier's
page (pages of the documents before it) + *n*.

What a verdict means for the agent (docs/2ddoc.md):

- ``valid``: the fields shown were signed by the issuer the trust list names,
  on the date given: compare them with the page;
- ``invalid``: the code was changed after it was signed, or was not signed by
  the key its header names: the document is flagged;
- ``not_verifiable``: the kiosk did not know the issuer's certificate, or the
  certificate was not valid on the signing date: nothing is proven either
  way; check the paper as before.

Nothing here trusts the kiosk beyond what the dossier's signature already
covers (the envelope was authenticated before this is read); a record that
does not have the expected shape is left out, never shown half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twoddoc import Outcome
from twoddoc.spec import document_types

LABELS = {
    Outcome.VALID: "Signature valide : document authentifié",
    Outcome.INVALID: "Signature INVALIDE : le code a été modifié ou ne vient pas de l'émetteur",
    Outcome.NOT_VERIFIABLE: "Non vérifiable : émetteur ou certificat inconnu de la liste de "
                            "confiance, ou certificat hors validité à la date de signature",
}


@dataclass(frozen=True)
class CodeView:
    outcome: Outcome
    reason: str
    authority: str
    certificate: str
    issued: str | None
    signed: str | None
    document_type: str
    document_type_name: str
    fields: list[tuple[str, str, str]]        # (id, name, value)
    annex: dict[str, str]

    @property
    def label(self) -> str:
        return LABELS[self.outcome]

    @property
    def css(self) -> str:
        return self.outcome.value


def _view(record: Any) -> CodeView | None:
    if not isinstance(record, dict):
        return None
    try:
        outcome = Outcome(record["signature"])
        named = record.get("named_fields")
        if isinstance(named, list):
            fields = [(str(f["id"]), str(f["name"]), str(f["value"])) for f in named]
        else:
            fields = [(str(k), "", str(v)) for k, v in dict(record["fields"]).items()]
        doc_type = str(record["document_type"])
        known = document_types().get(doc_type)
        return CodeView(
            outcome=outcome, reason=str(record.get("reason", "")),
            authority=str(record["authority"]), certificate=str(record["certificate"]),
            issued=record.get("issued"), signed=record.get("signed"),
            document_type=doc_type,
            document_type_name=str(record.get("document_type_name") or
                                   (known.issuer if known else "")),
            fields=fields, annex={str(k): str(v) for k, v in
                                  dict(record.get("annex") or {}).items()})
    except (KeyError, TypeError, ValueError):
        return None


def page_codes(deposit: dict[str, Any]) -> dict[int, list[CodeView]]:
    """Dossier page number (1-based, cover excluded) -> the 2D-Docs read on that page."""
    out: dict[int, list[CodeView]] = {}
    first = 1
    for document in deposit.get("documents") or []:
        if not isinstance(document, dict):
            continue
        pages = document.get("pages")
        count = pages if isinstance(pages, int) and pages >= 0 else 0
        for record in document.get("twoddoc") or []:
            view = _view(record)
            page = record.get("page") if isinstance(record, dict) else None
            if view is not None and isinstance(page, int) and 1 <= page <= count:
                out.setdefault(first + page - 1, []).append(view)
        first += count
    return out


def invalid_documents(deposit: dict[str, Any]) -> list[str]:
    """The titles of the documents one of whose codes is INVALID (flagged on the dossier)."""
    flagged = []
    for document in deposit.get("documents") or []:
        if isinstance(document, dict) and any(
                (v := _view(r)) is not None and v.outcome is Outcome.INVALID
                for r in document.get("twoddoc") or []):
            flagged.append(str(document.get("title") or document.get("code")))
    return flagged
