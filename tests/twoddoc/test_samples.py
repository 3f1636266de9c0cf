"""Every 2D-Doc of ../shared/data/2ddoc parses to its expected fields: the barcodes read by
zxing-cpp from their PNG, their raw payloads (.txt), and the 22 messages of the ANTS
examples (spec/test_list.json), whose decoded fields the list gives."""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import twoddoc
from drivers.codes import decode_image
from drivers.codes.decode import read_image_file
from tests.twoddoc.kit import DATA, fr00_trust
from twoddoc import Outcome, Reason
from twoddoc.spec import days_date

#: The one sample not among the ANTS examples: its fields, read off the code by hand.
V2_FIELDS = {"26": "FR", "24": "75000", "10": "MME/SPECIMEN/NATACHA",
             "22": "145 AVENUE DES SPECIMENS"}


def _raw(message: str) -> bytes:
    return message.replace("<GS>", "\x1d").replace("<US>", "\x1f").replace("<RS>",
                                                                           "\x1e").encode()


def examples() -> list[dict[str, Any]]:
    path = DATA / "spec" / "test_list.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else []


def expected_value(text: str) -> str:
    """The list's value as the code holds it: '<vide>' is empty, and an explanation in
    brackets ("12071973 (ce qui correspond au 12 juillet 1973)", "F (Féminin)") is dropped."""
    if text == "<vide>":
        return ""
    return re.sub(r" \(.*$", "", text, flags=re.DOTALL).strip()


def expected_fields(example: dict[str, Any]) -> dict[str, str]:
    items = example.get("mandatoryData", []) + example.get("facultativeData", [])
    return {item["key"]: expected_value(item["value"]) for item in items}


def by_payload() -> dict[bytes, dict[str, Any]]:
    return {_raw(e["message"]): e for e in examples()}


def check(doc: twoddoc.TwoDDoc, example: dict[str, Any] | None) -> None:
    got = {k: v.strip() for k, v in doc.field_texts().items()}
    if example is None:
        assert got == V2_FIELDS
        return
    assert got == expected_fields(example)
    header = doc.header
    assert header.document_type == example["documentTypeId"]
    assert header.perimeter == example["perimeterId"]
    assert header.signed == days_date(example["signatureDateHex"])
    assert header.issued == days_date(example["creationDateHex"])
    # the list gives the signature r || s in hex or as the code's base32 (one entry with a
    # stray suffix after it)
    listed = example["signature"].upper()
    assert listed.startswith((doc.signature.hex().upper(),
                              base64.b32encode(doc.signature).decode().rstrip("=")))


def test_the_22_ants_examples_parse_to_their_listed_fields(twoddoc_data: Path) -> None:
    cases = examples()
    assert len(cases) == 22
    for example in cases:
        check(twoddoc.parse(_raw(example["message"])), example)


@pytest.mark.parametrize("name", ["barcode_c40_mrz_v3", "barcode_c40_v2", "barcode_c40_v3",
                                  "barcode_c40_v4"])
def test_each_sample_parses_from_its_raw_payload_and_from_its_barcode(
        twoddoc_data: Path, name: str) -> None:
    known = by_payload()
    raw = (twoddoc_data / f"{name}.txt").read_bytes().rstrip(b"\n")
    from_text = twoddoc.parse(raw)
    check(from_text, known.get(raw))
    codes = decode_image(read_image_file(twoddoc_data / f"{name}.png"),
                         formats=["DataMatrix"])
    assert len(codes) == 1 and codes[0].raw is not None
    from_picture = twoddoc.parse(codes[0].raw)
    check(from_picture, known.get(codes[0].raw))
    # and every sample was signed by the test authority's key: the signature holds
    for doc in (from_text, from_picture):
        verdict = twoddoc.verify(doc, fr00_trust())
        assert verdict.reason in (Reason.VERIFIED, Reason.CERTIFICATE_EXPIRED)


def test_every_sample_signed_by_the_test_authority_is_valid_even_after_its_certificate_ended(
        twoddoc_data: Path) -> None:
    """The test certificate ran from 2012-11-01 to 2015-11-01; ANTS signed most of its
    examples with its key later. A test-only entry is judged on the signature alone."""
    trust = fr00_trust()
    late = 0
    for example in examples():
        doc = twoddoc.parse(_raw(example["message"]))
        assert doc.header.signed is not None
        late += doc.header.signed > date(2015, 11, 1)
        assert twoddoc.verify(doc, trust).outcome is Outcome.VALID, example["message"][:40]
    assert late > 0          # the rule is exercised, not only in-period samples
