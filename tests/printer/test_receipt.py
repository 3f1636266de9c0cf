"""The receipt as data: what it refuses, the tracking URL, the date of the answer."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from deposit.ids import DepositId
from printer.errors import LayoutError
from printer.receipt import DocumentEntry, ProcessingTime, tracking_url
from printer.samples import sample_receipt

ID = DepositId("D3M0", 59_756_220)


def test_the_tracking_url_holds_the_deposit_number_and_the_token() -> None:
    url = tracking_url("https://suivi.example.fr/", ID, "q3Vd8kR2x-N7_pL0")
    assert url == "https://suivi.example.fr/suivi/D3M0-01RZ-KNWS?t=q3Vd8kR2x-N7_pL0"


@pytest.mark.parametrize("base", ["http://suivi.example.fr", "ftp://x", "suivi.example.fr", ""])
def test_a_tracking_url_that_is_not_https_is_refused(base: str) -> None:
    with pytest.raises(LayoutError, match="https"):
        tracking_url(base, ID, "token")


def test_plain_http_is_accepted_on_a_loopback_host_for_the_demo() -> None:
    assert tracking_url("http://127.0.0.1:8080", ID, "t").startswith("http://127.0.0.1:8080/suivi/")
    assert tracking_url("http://localhost:8080", ID, "t").startswith("http://localhost")


@pytest.mark.parametrize("token", ["", "a b"])
def test_an_empty_or_spaced_token_is_refused(token: str) -> None:
    with pytest.raises(LayoutError, match="token"):
        tracking_url("https://suivi.example.fr", ID, token)


def test_a_receipt_refuses_what_would_mislead_the_citizen() -> None:
    receipt = sample_receipt("fr")
    with pytest.raises(LayoutError, match="time zone"):
        dataclasses.replace(receipt, created=datetime(2025, 11, 22, 15, 0))
    with pytest.raises(LayoutError, match="at least one document"):
        dataclasses.replace(receipt, documents=())
    with pytest.raises(LayoutError, match="does not hold"):
        dataclasses.replace(receipt, deposit_id=DepositId("K012", 1))
    with pytest.raises(LayoutError, match="time zone"):
        dataclasses.replace(receipt, timezone="Europe/Atlantis")
    with pytest.raises(LayoutError, match="pages"):
        DocumentEntry("Pièce d’identité", 0)
    with pytest.raises(LayoutError, match="days or a text"):
        ProcessingTime()


def test_the_answer_date_counts_calendar_or_working_days() -> None:
    friday = date(2025, 11, 21)
    assert ProcessingTime(days=3).due_date(friday) == date(2025, 11, 24)
    assert ProcessingTime(days=3, working_days=True).due_date(friday) == date(2025, 11, 26)
    christmas = frozenset({date(2025, 12, 25)})
    assert ProcessingTime(days=1, working_days=True).due_date(
        date(2025, 12, 24), christmas) == date(2025, 12, 26)
    assert ProcessingTime(text="deux mois").due_date(friday) is None


def test_the_date_is_shown_in_the_kiosk_time_zone() -> None:
    receipt = sample_receipt("fr")   # 14:57 UTC in November: 15:57 in Paris
    assert receipt.local_created.hour == 15
    assert receipt.total_pages == 8
    assert receipt.due_date == date(2025, 12, 22)


def test_a_complements_receipt_names_the_dossier_it_adds_to_and_follows_it() -> None:
    from printer.content import Paragraph, receipt_blocks
    from printer.speech import receipt_speech

    original = sample_receipt("fr")
    complement = dataclasses.replace(original, deposit_id=DepositId("D3M0", 59_800_000),
                                     complement_of=original.deposit_id)
    assert complement.status_url == original.status_url     # the same follow-up QR code
    assert complement.due_date is None and original.due_date is not None
    said = [b.text for b in receipt_blocks(complement) if isinstance(b, Paragraph)]
    assert f"Ces documents sont ajoutés au dossier {original.deposit_id}." in said
    answer_by = [b.text for b in receipt_blocks(original) if isinstance(b, Paragraph)
                 and "au plus tard" in b.text]
    assert answer_by and not any(text in said for text in answer_by)
    assert any("dossier D, 3, M, 0. 0, 1, R, Z. K, N, W, S" in line
               for line in receipt_speech(complement))
    with pytest.raises(LayoutError, match="does not hold"):
        dataclasses.replace(complement, complement_of=DepositId("K012", 1))
