"""The digest the package ships (twoddoc/tables.json) says what the ANTS tables say."""

from __future__ import annotations

from pathlib import Path

from devtools.twoddoc_tables import digest
from twoddoc.spec import _tables as shipped
from twoddoc.spec import document_types, identifiers


def test_the_shipped_tables_are_the_digest_of_the_spec_tables(twoddoc_data: Path) -> None:
    assert shipped() == digest(twoddoc_data / "spec")


def test_every_identifier_and_document_type_of_the_spec_is_known(twoddoc_data: Path) -> None:
    import json
    spec = twoddoc_data / "spec"
    ids = json.loads((spec / "data_identifier.json").read_text("utf-8"))
    types = json.loads((spec / "document_type.json").read_text("utf-8"))
    assert set(identifiers()) == set(ids) and len(ids) == 188
    assert set(document_types()) == set(types)
    assert identifiers()["65"].type == "Alphanumérique"        # cleaned of its glued column
    assert identifiers()["0C"].max is None                      # "Aucune": no maximum
