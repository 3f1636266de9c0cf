"""Write ``twoddoc/tables.json`` from the ANTS specification tables: ``python -m
devtools.twoddoc_tables [SPEC_DIR]`` (default ``../shared/data/2ddoc/spec``).

The parser needs, for every data identifier, its name, type and lengths (a
fixed-length field has no GS after it), and the names of the document types;
the kiosk has no network and no copy of the specification, so the package ships
this digest. Only what the parser uses is kept (ids, descriptions, types,
lengths; document types' names). ``tests/twoddoc/test_tables.py`` checks that
the digest says what the specification's tables say.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO.parent / "shared" / "data" / "2ddoc" / "spec"
OUT = REPO / "twoddoc" / "tables.json"


def _length(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None        # "Aucune": no limit


def _type(text: str) -> str:
    """The spec's type column, cleaned of what its extraction glued to it."""
    if "Type " in text:                       # "de lettreTaille Min. 0 ... Type Alphanumérique"
        text = text.rsplit("Type ", 1)[1]
    return text.strip()


def digest(spec: Path) -> dict[str, Any]:
    identifiers = json.loads((spec / "data_identifier.json").read_text("utf-8"))
    documents = json.loads((spec / "document_type.json").read_text("utf-8"))
    return {
        "source": "ANTS, 2D-Doc technical specification: data identifiers and document types",
        "identifiers": {
            key: {"name": item["shortDesc"].strip(), "type": _type(item["type"]),
                  "min": _length(item["min"]) or 0, "max": _length(item["max"])}
            for key, item in sorted(identifiers.items())},
        "document_types": {
            key: {"user": item["userType"].strip(), "issuer": item["creatorType"].strip()}
            for key, item in sorted(documents.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    args = parser.parse_args(argv)
    if not (args.spec / "data_identifier.json").is_file():
        print(f"no data_identifier.json in {args.spec}", file=sys.stderr)
        return 2
    OUT.write_text(json.dumps(digest(args.spec), ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
