"""Fixtures of the dossier tests: keys, a sealer, an outbox in a temporary folder, a deposit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deposit import envelope
from deposit import manifest as mf
from deposit.outbox import Outbox, Sealer

BACKOFFICE_ID, BACKOFFICE_RCPT = envelope.generate_identity()
KIOSK_KEY = mf.generate_signing_key()
KIOSK_ID = "DEMO-01"


def deposit_json(deposit_id: str, **extra: Any) -> dict[str, Any]:
    """A ``deposit.json`` shaped as docs/contracts.md says."""
    data: dict[str, Any] = {
        "version": 1, "deposit_id": deposit_id, "kiosk_id": KIOSK_ID,
        "kiosk_place": "Mairie de Démonstration",
        "procedure": {"code": "carte-grise", "title": "Certificat d'immatriculation"},
        "case_reference": None, "language": "fr", "created": "2025-11-22T15:04:05Z",
        "documents": [{"code": "identity", "title": "Pièce d'identité", "pages": 2}],
        "contact": {"email": "jeanne.dupont@example.org"},
        "consent": {"notice_version": "2025-01", "accepted": True, "at": "2025-11-22T15:04:00Z"},
    }
    data.update(extra)
    return data


def fake_pdf(size: int = 200_000) -> bytes:
    """Bytes that start like a PDF; random, as compressed page images are."""
    head = b"%PDF-1.7\n"
    return head + os.urandom(size - len(head))


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(recipients=(BACKOFFICE_RCPT,), kiosk_id=KIOSK_ID, signing_key=KIOSK_KEY)


@pytest.fixture
def outbox(tmp_path: Path, sealer: Sealer) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox", sealer=sealer, reserve_bytes=0,
                 dossier_estimate_bytes=1024 * 1024, recover=True)
    yield box
    box.close()


def queue_one(box: Outbox, deposit_id: str, pdf: bytes | None = None) -> Any:
    return box.seal_and_queue(deposit_id=deposit_id, procedure="carte-grise",
                              deposit_json=deposit_json(deposit_id), pdf=pdf or fake_pdf(),
                              tracking_token=mf.new_tracking_token(),
                              created=datetime(2025, 11, 22, 15, 4, 5, tzinfo=UTC))
