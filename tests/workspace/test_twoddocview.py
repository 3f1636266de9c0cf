"""deposit.json's 2D-Doc records placed on the dossier's pages: numbering across documents,
invalid documents flagged, and a record of the wrong shape left out rather than shown half."""

from __future__ import annotations

from typing import Any

from backoffice.workspace.twoddocview import invalid_documents, page_codes
from twoddoc import Outcome


def record(page: int, signature: str = "valid", **extra: Any) -> dict[str, Any]:
    return {"page": page, "version": 4, "authority": "FR00", "certificate": "0001",
            "issued": None, "signed": "2014-06-02", "document_type": "01",
            "fields": {"10": "M/X"}, "signature": signature, **extra}


def test_a_documents_page_n_is_the_dossiers_page_after_the_documents_before_it() -> None:
    deposit = {"documents": [
        {"code": "identity", "title": "Pièce d'identité", "pages": 2},
        {"code": "address", "title": "Justificatif de domicile", "pages": 3,
         "twoddoc": [record(2), record(3, "not_verifiable")]},
        {"code": "income", "title": "Avis d'imposition", "pages": 1,
         "twoddoc": [record(1, "invalid")]},
    ]}
    codes = page_codes(deposit)
    assert {page: [c.outcome for c in views] for page, views in codes.items()} == {
        4: [Outcome.VALID], 5: [Outcome.NOT_VERIFIABLE], 6: [Outcome.INVALID]}
    assert codes[4][0].fields == [("10", "", "M/X")]
    assert codes[4][0].document_type_name.startswith("Factures de fournisseur")
    assert invalid_documents(deposit) == ["Avis d'imposition"]


def test_records_of_the_wrong_shape_are_left_out() -> None:
    deposit = {"documents": [
        {"code": "address", "title": "Justificatif", "pages": 1, "twoddoc": [
            record(1, "forged"),              # not a verdict
            record(2),                        # beyond the document's pages
            {"page": 1, "signature": "valid"},  # fields missing
            "nonsense",
        ]},
        "nonsense",
    ]}
    assert page_codes(deposit) == {}
    assert invalid_documents(deposit) == []
    assert page_codes({}) == {} and page_codes({"documents": None}) == {}
