"""Write the 2D-Doc trust lists the kiosk ships: ``python -m devtools.twoddoc_tsl``.

- ``assets/twoddoc/trust-list.xml``: the production list, in the ANTS format
  (ETSI TS 119 612). It lists no authority: this project was built without
  network access and could not fetch the ANTS list, and it will not invent
  certificates. A deployment puts the ANTS list in the back office's data folder
  (``{data}/twoddoc/trust-list.xml``), which sends it to every kiosk with the
  fleet state (docs/2ddoc.md).
- ``assets/twoddoc/test-authority.xml``: the ANTS test authority FR00 and its
  certificate 0001 (from ``../shared/data/2ddoc/test_cert.pem``), marked
  test-only: a kiosk trusts it only with ``[twoddoc] test_authority = true``,
  or with no configuration file at all (the simulators' development setup).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

import assets
from twoddoc.trustlist import to_xml

DEFAULT_CERT = assets.ROOT.parent.parent / "shared" / "data" / "2ddoc" / "test_cert.pem"
ISSUED = datetime(2026, 12, 5, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test-cert", type=Path, default=DEFAULT_CERT)
    args = parser.parse_args(argv)
    folder = assets.path("twoddoc")
    folder.mkdir(exist_ok=True)
    production = to_xml([], issued=ISSUED, operator="deposit-kiosk (no authority: see "
                        "docs/2ddoc.md)")
    (folder / "trust-list.xml").write_text(production, "utf-8")
    if not args.test_cert.is_file():
        print(f"no test certificate at {args.test_cert}", file=sys.stderr)
        return 2
    certificate = x509.load_pem_x509_certificate(args.test_cert.read_bytes())
    test = to_xml([("FR00", "AC DE TEST (ANTS test authority: TEST ONLY)", certificate, True)],
                  issued=ISSUED, operator="deposit-kiosk: ANTS test authority, TEST ONLY")
    (folder / "test-authority.xml").write_text(test, "utf-8")
    print(f"wrote {folder}/trust-list.xml and test-authority.xml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
