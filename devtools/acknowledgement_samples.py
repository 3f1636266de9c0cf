"""Sample accusés de réception for the docs: ``python -m devtools.acknowledgement_samples``.

Renders the accusé de réception of an RSA deposit (shipped catalog: silence means
rejection) made in French and one made in Arabic, and writes their first pages as PNG
(``pdftoppm -png -r 80``, poppler-utils) into docs/legal-chain/, where docs/legal-chain.md
shows them. The deposit is made up; the catalog's facts are the shipped ones.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from backoffice import acknowledgement, procedures
from backoffice.store.metadata import DepositRecord

OUT = Path(__file__).resolve().parents[1] / "docs" / "legal-chain"
RECEIVED = datetime(2026, 12, 4, 23, 41, tzinfo=UTC)


def sample(language: str | None) -> bytes:
    record = DepositRecord(
        deposit_id="MAIR-E01A-0042", kiosk_id="MAIRIE-01", procedure="rsa",
        created_at=datetime(2026, 12, 4, 23, 30, tzinfo=UTC), received_at=RECEIVED,
        envelope_sha256="0" * 64, envelope_size=1, tracking_token_sha256="0" * 64,
        manifest=b"{}", object_key="-", ack=b"", language=language)
    facts = acknowledgement.facts_for(record, procedures.shipped()["rsa"], RECEIVED)
    return acknowledgement.render_pdf(
        facts, acknowledgement.status_url("https://suivi.example.fr", record.deposit_id))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for language, name in ((None, "accuse-de-reception-rsa"),
                           ("ar", "accuse-de-reception-rsa-ar")):
        with tempfile.TemporaryDirectory() as tmp:
            pdf = Path(tmp) / f"{name}.pdf"
            pdf.write_bytes(sample(language))
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1",
                            "-singlefile", str(pdf), str(OUT / name)], check=True)
        print(OUT / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
