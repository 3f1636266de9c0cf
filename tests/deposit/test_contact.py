"""The contact card the kiosk seals for the back office's notifier, and its way through the outbox.

Sealed only for a citizen who gave a contact and consented; opened only with the
notifier's identity and for its own deposit; kept sealed in the outbox until the
deposit is acknowledged; never in clear on the kiosk's disk.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deposit import contact, envelope
from deposit import manifest as mf
from deposit.bundle import Enrollment
from deposit.errors import BundleError
from deposit.ids import DepositIdGenerator
from deposit.outbox import DB_NAME, Outbox, Sealer
from deposit.outbox_schema import DEPOSITS_TABLE, SCHEMA_VERSION
from kiosk.catalog import Catalog
from kiosk.journey import PRIVACY_NOTICE_VERSION, Contact, Seal
from kiosk.sealing import DepositService
from tests.conftest import REPO
from tests.deposit.test_no_plaintext_on_disk import files_containing

EMAIL = "jeanne.dupont@example.org"
PHONE = "+33612345678"
LINK = "https://suivi.example/suivi/D3M0-0000-0001?t=TOKEN"


def card(deposit_id: str = "D3M0-0000-0001", **changes: str | None) -> contact.ContactCard:
    values: dict[str, str | None] = {"email": EMAIL, "phone": PHONE, "language": "ar",
                                     "status_url": LINK, "notice_version": "2025-01"}
    values.update(changes)
    return contact.ContactCard(deposit_id=deposit_id, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def notifier() -> tuple[str, str]:
    return envelope.generate_identity()


def test_a_sealed_card_opens_with_the_notifier_identity_for_its_own_deposit(
        notifier: tuple[str, str]) -> None:
    identity, recipient = notifier
    sealed = contact.seal(card(), recipient)
    assert EMAIL.encode() not in sealed and PHONE.encode() not in sealed
    assert len(sealed) <= contact.MAX_SEALED_BYTES
    assert contact.open_sealed(sealed, [identity], deposit_id="D3M0-0000-0001") == card()


def test_a_card_does_not_open_for_another_deposit_nor_with_another_key(
        notifier: tuple[str, str]) -> None:
    identity, recipient = notifier
    sealed = contact.seal(card(), recipient)
    with pytest.raises(contact.ContactError, match="another deposit"):
        contact.open_sealed(sealed, [identity], deposit_id="D3M0-0000-0002")
    stranger, _ = envelope.generate_identity()
    with pytest.raises(contact.ContactError, match="cannot be opened"):
        contact.open_sealed(sealed, [stranger], deposit_id="D3M0-0000-0001")
    tampered = bytearray(sealed)
    tampered[-5] ^= 1
    with pytest.raises(contact.ContactError, match="cannot be opened"):
        contact.open_sealed(bytes(tampered), [identity], deposit_id="D3M0-0000-0001")


def test_a_card_needs_an_address_and_never_shows_it_in_its_repr() -> None:
    with pytest.raises(contact.ContactError, match="e-mail address or a phone"):
        card(email=None, phone=None)
    shown = repr(card()) + str(card())
    assert EMAIL not in shown and PHONE not in shown


def service(box: Outbox | None, notifier: str | None) -> DepositService:
    return DepositService(box, DepositIdGenerator("D3M0", time.time), Catalog([]),  # type: ignore[arg-type]
                          kiosk_id="DEMO-01", kiosk_place="Mairie",
                          public_url="https://suivi.example", notifier=notifier)


def seal_request(contact_given: Contact | None, consent: bool) -> Seal:
    return Seal(procedure="rsa", case_reference=None, language="es", documents=(),
                contact=contact_given, consent=consent, at=0.0)


def test_sealing_makes_a_card_only_for_a_contact_given_with_consent(
        notifier: tuple[str, str]) -> None:
    identity, recipient = notifier
    kiosk = service(None, recipient)
    given = Contact(email=EMAIL, phone=PHONE)
    assert kiosk.sealed_contact(seal_request(given, consent=False), "D3M0-0000-0001",
                                LINK) is None
    assert kiosk.sealed_contact(seal_request(None, consent=True), "D3M0-0000-0001",
                                LINK) is None
    sealed = kiosk.sealed_contact(seal_request(given, consent=True), "D3M0-0000-0001", LINK)
    assert sealed is not None
    opened = contact.open_sealed(sealed, [identity], deposit_id="D3M0-0000-0001")
    assert (opened.email, opened.phone, opened.language, opened.status_url,
            opened.notice_version) == (EMAIL, PHONE, "es", LINK, PRIVACY_NOTICE_VERSION)


def test_a_kiosk_without_the_notifier_recipient_seals_no_card_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    kiosk = service(None, None)
    request = seal_request(Contact(email=EMAIL), consent=True)
    with caplog.at_level(logging.WARNING, logger="kiosk.sealing"):
        assert kiosk.sealed_contact(request, "D3M0-0000-0001", LINK) is None
        assert kiosk.sealed_contact(request, "D3M0-0000-0002", LINK) is None
    assert len([r for r in caplog.records if "no notifier recipient" in r.getMessage()]) == 1


def test_a_bundle_without_notifier_txt_has_no_recipient_and_a_bad_one_is_refused(
        tmp_path: Path, notifier: tuple[str, str]) -> None:
    bundle = Enrollment(folder=tmp_path, kiosk_id="DEMO-01", fleet_code="D3M0",
                        upload_url="https://bo.example/files/", public_url="https://suivi.example")
    assert bundle.notifier_recipient() is None
    (tmp_path / Enrollment.NOTIFIER).write_text(f"# notifier\n{notifier[1]}\n")
    assert bundle.notifier_recipient() == notifier[1]
    (tmp_path / Enrollment.NOTIFIER).write_text("age1notakey\n")
    with pytest.raises(BundleError, match=r"notifier\.txt"):
        bundle.notifier_recipient()


def outbox(folder: Path) -> Outbox:
    _, staff = envelope.generate_identity()
    sealer = Sealer(recipients=(staff,), kiosk_id="DEMO-01", signing_key=mf.generate_signing_key())
    return Outbox(folder, sealer=sealer, reserve_bytes=0, dossier_estimate_bytes=1024 * 1024)


def raw_contact(folder: Path, deposit_id: str) -> bytes | None:
    with sqlite3.connect(folder / DB_NAME) as db:
        row = db.execute("SELECT contact FROM deposits WHERE deposit_id = ?",
                         (deposit_id,)).fetchone()
    return None if row[0] is None else bytes(row[0])


def test_the_outbox_keeps_the_sealed_card_for_the_upload_until_acknowledged(
        tmp_path: Path, notifier: tuple[str, str]) -> None:
    sealed = contact.seal(card(), notifier[1])
    with outbox(tmp_path / "outbox") as box:
        for n, kept in ((1, sealed), (2, None)):
            box.seal_and_queue(deposit_id=f"D3M0-0000-000{n}", procedure="rsa",
                               deposit_json={"version": 1}, pdf=b"%PDF-1.7\n",
                               tracking_token=mf.new_tracking_token(), sealed_contact=kept)
        first = box.claim_next("uploader")
        box.release("D3M0-0000-0001", "uploader")
        second = box.claim("D3M0-0000-0002", "uploader")
        assert first is not None and first.contact == sealed and second.contact is None
        assert raw_contact(tmp_path / "outbox", "D3M0-0000-0001") == sealed
        box.mark_acknowledged("D3M0-0000-0001", b"ack")
        assert raw_contact(tmp_path / "outbox", "D3M0-0000-0001") is None


def test_an_outbox_of_version_2_gains_the_contact_column_and_keeps_its_rows(
        tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    with sqlite3.connect(folder / DB_NAME) as db:
        db.execute(DEPOSITS_TABLE)
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '2')")
        db.execute("INSERT INTO deposits (deposit_id, manifest, envelope_size, envelope_sha256, "
                   "state, queued_at) VALUES ('D3M0-0000-0009', x'00', 1, 'ab', 'acknowledged', "
                   "'2026-01-01T00:00:00Z')")
    with outbox(folder) as box:
        [entry] = box.list()
    assert entry.deposit_id == "D3M0-0000-0009"
    with sqlite3.connect(folder / DB_NAME) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == \
            str(SCHEMA_VERSION) == "3"
        assert db.execute("SELECT contact FROM deposits").fetchone()[0] is None


SENTINEL = "sentinel-7d1a-dupont-jeanne"

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from deposit import contact, envelope, manifest as mf
    from deposit.outbox import Outbox, Sealer

    data_dir, sentinel = Path(sys.argv[1]), sys.argv[2]
    _, staff = envelope.generate_identity()
    _, notifier = envelope.generate_identity()
    box = Outbox(data_dir / "outbox", sealer=Sealer((staff,), "DEMO-01", mf.generate_signing_key()),
                 reserve_bytes=0, recover=True)
    card = contact.ContactCard(deposit_id="D3M0-0000-0001", email=sentinel + "@example.org",
                               phone="+33612345678", language="fr",
                               status_url="https://suivi.example/suivi/D3M0-0000-0001?t=T",
                               notice_version="2025-01")
    box.seal_and_queue(deposit_id="D3M0-0000-0001", procedure="rsa",
                       deposit_json={"version": 1, "contact": {"email": sentinel}},
                       pdf=b"%PDF-1.7\\n", tracking_token=mf.new_tracking_token(),
                       sealed_contact=contact.seal(card, notifier))
    claim = box.claim_next("uploader")
    assert claim.contact is not None
    box.release(claim.deposit_id, "uploader", error="network down")
    print("sealed", flush=True)
    sys.stdin.readline()        # the test scans the folders now, the database still open
""")


def test_the_contact_is_in_no_file_of_the_kiosk_data_or_temp_folder(tmp_path: Path) -> None:
    data_dir, tmpdir = tmp_path / "data", tmp_path / "tmp"
    data_dir.mkdir()
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir), SQLITE_TMPDIR=str(tmpdir),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(data_dir), SENTINEL],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=REPO)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "sealed", proc.stderr
        scanned, found = [], []
        for folder in (data_dir, tmpdir):
            for pattern in (SENTINEL.encode(), b"+33612345678", b"33612345678"):
                seen, hits = files_containing(folder, pattern)
                scanned += seen
                found += hits
    finally:
        proc.communicate("\n", timeout=30)
    assert any(p.name == DB_NAME for p in scanned)
    assert found == []
